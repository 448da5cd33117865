"""JSON shapes of the orders API (Create / Update / Read families)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from synfab.orders.choices import (
    LineStatus, OperationStatus, PauseReason, Priority, ReviewReason, SalesOrderStatus, ScrapReason, WorkOrderSource,
    WorkOrderStatus,
)


def _priority_text(value: Any) -> Any:
    """Priorities are "1" (urgent) to "4" (low); accept them as numbers too, by name ("urgent") or by label."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value and value not in {p.value for p in Priority}:
        by_name = Priority.__members__.get(value.strip().upper())
        if by_name is not None:
            return by_name
        try:
            return Priority.parse(value)
        except ValueError:
            return value
    return value


def _decimal_text(value: Decimal) -> str:
    """Quantities and minutes as plain decimal text without trailing zeros: "40", "12.5", "0.125"."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


PriorityIn = Annotated[Priority, BeforeValidator(_priority_text)]
PositiveQty = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6)]
# In JSON (responses and event payloads) a quantity reads the same however it was computed or stored.
QtyOut = Annotated[Decimal, PlainSerializer(_decimal_text, return_type=str, when_used="json")]
NonNegativeQty = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]
# A terminal's key for one submission: sent again (a retry, a double tap), it gets the first answer and no second move.
ClientKey = Annotated[str | None, Field(default=None, min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")]


# -- customers ------------------------------------------------------------------------------------------


class CustomerCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = None
    active: bool = True


class CustomerUpdate(BaseModel):
    """Fields left out stay as they are; `version` is the one the client loaded. The code does not change."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = None
    active: bool | None = None


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None
    contact: str | None
    phone: str | None
    email: str | None
    address: str | None
    active: bool
    version: int
    updated_at: datetime
    updated_by: str


# -- sales orders ---------------------------------------------------------------------------------------


class SalesOrderLineCreate(BaseModel):
    """A line: `line_no` defaults to the next free number, `priority` to the order's."""

    line_no: int | None = Field(default=None, ge=1)
    material_id: int
    quantity: PositiveQty
    due_date: date
    priority: PriorityIn | None = None


class SalesOrderCreate(BaseModel):
    """`code` defaults to a generated one (SO-YYYYMMDD-NNNN), `order_date` to today at the site."""

    code: str | None = Field(default=None, min_length=1, max_length=40)
    customer_id: int
    site_id: int
    order_date: date | None = None
    customer_po: str | None = Field(default=None, max_length=60)
    priority: PriorityIn = Priority.NORMAL
    note: str | None = None
    lines: list[SalesOrderLineCreate] = []


class SalesOrderUpdate(BaseModel):
    """Changes the header; fields left out stay as they are."""

    version: int
    customer_id: int | None = None
    site_id: int | None = None
    order_date: date | None = None
    customer_po: str | None = Field(default=None, max_length=60)
    priority: PriorityIn | None = None
    note: str | None = None


class SalesOrderLineUpdate(BaseModel):
    """Changes quantity, due date or priority of a line not yet shipped; `version` is the line's."""

    version: int
    quantity: PositiveQty | None = None
    due_date: date | None = None
    priority: PriorityIn | None = None


class VersionIn(BaseModel):
    """The version the client loaded, for commands such as cancel (optional: without it, no stale check)."""

    version: int | None = None


class SalesOrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    line_no: int
    material_id: int
    material_code: str
    quantity: QtyOut
    shipped_quantity: QtyOut = Decimal(0)
    unit: str
    due_date: date
    priority: Priority
    status: LineStatus
    version: int
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, line: Any) -> SalesOrderLineRead:
        return cls(
            id=line.id, order_id=line.order_id, line_no=line.line_no, material_id=line.material_id,
            material_code=line.material.code, quantity=line.quantity,
            shipped_quantity=line.shipped_quantity or Decimal(0), unit=line.material.unit.code,
            due_date=line.due_date, priority=line.priority, status=line.status, version=line.version,
            updated_at=line.updated_at, updated_by=line.updated_by,
        )


class SalesOrderSummary(BaseModel):
    """One row of the sales order list."""

    id: int
    code: str
    customer_id: int
    customer_code: str
    customer_name: str
    site_id: int
    order_date: date
    customer_po: str | None
    priority: Priority
    status: SalesOrderStatus
    earliest_due_date: date | None
    note: str | None
    version: int
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, order: Any) -> SalesOrderSummary:
        return cls(
            id=order.id, code=order.code, customer_id=order.customer_id, customer_code=order.customer.code,
            customer_name=order.customer.name, site_id=order.site_id, order_date=order.order_date,
            customer_po=order.customer_po, priority=order.priority, status=order.status,
            earliest_due_date=order.earliest_due_date, note=order.note, version=order.version,
            updated_at=order.updated_at, updated_by=order.updated_by,
        )


class SalesOrderRead(SalesOrderSummary):
    lines: list[SalesOrderLineRead]

    @classmethod
    def of(cls, order: Any) -> SalesOrderRead:
        return cls(**SalesOrderSummary.of(order).model_dump(),
                   lines=[SalesOrderLineRead.of(line) for line in order.lines])


# -- work orders ----------------------------------------------------------------------------------------


class WorkOrderCreate(BaseModel):
    """A work order for a sales order line, for a parent work order, or for stock.

    For a line, material, quantity, due date, site and priority default to the line's (the material must
    be the line's); for a parent, due date, site and priority default to the parent's. `code` defaults to
    a generated one (WO-YYYYMMDD-NNNN); `production_line_id` to the line of the first operation's work center.
    """

    code: str | None = Field(default=None, min_length=1, max_length=40)
    material_id: int | None = None
    quantity: PositiveQty | None = None
    due_date: date | None = None
    site_id: int | None = None
    production_line_id: int | None = None
    sales_order_line_id: int | None = None
    parent_id: int | None = None
    priority: PriorityIn | None = None
    note: str | None = None


class WorkOrderUpdate(BaseModel):
    """Changes quantity, due date, priority or note; planned minutes follow for operations not started."""

    version: int
    quantity: PositiveQty | None = None
    due_date: date | None = None
    priority: PriorityIn | None = None
    note: str | None = None


class WorkOrderOperationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int
    name: str
    work_center_id: int | None
    equipment_class_id: int | None
    setup_minutes: QtyOut
    run_minutes: QtyOut
    planned_minutes: QtyOut
    required_skill: str | None
    required_skill_level: int | None
    status: OperationStatus
    good_qty: QtyOut
    scrap_qty: QtyOut
    rework_qty: QtyOut
    planned_start: datetime | None
    planned_end: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None


class WorkOrderSummary(BaseModel):
    id: int
    code: str
    material_id: int
    material_code: str
    quantity: QtyOut
    unit: str
    site_id: int
    production_line_id: int | None
    sales_order_line_id: int | None
    sales_order_id: int | None
    parent_id: int | None
    source: WorkOrderSource
    bom_id: int | None
    routing_id: int | None
    due_date: date
    priority: Priority
    status: WorkOrderStatus
    planned_start: datetime | None
    planned_end: datetime | None
    note: str | None
    review_reason: ReviewReason | None = None
    review_note: str | None = None
    version: int
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, wo: Any) -> WorkOrderSummary:
        return cls(
            id=wo.id, code=wo.code, material_id=wo.material_id, material_code=wo.material.code,
            quantity=wo.quantity, unit=wo.material.unit.code, site_id=wo.site_id,
            production_line_id=wo.production_line_id, sales_order_line_id=wo.sales_order_line_id,
            sales_order_id=wo.sales_order_line.order_id if wo.sales_order_line is not None else None,
            parent_id=wo.parent_id, source=wo.source, bom_id=wo.bom_id, routing_id=wo.routing_id,
            due_date=wo.due_date, priority=wo.priority, status=wo.status, planned_start=wo.planned_start,
            planned_end=wo.planned_end, note=wo.note, review_reason=wo.review_reason, review_note=wo.review_note,
            version=wo.version, updated_at=wo.updated_at,
            updated_by=wo.updated_by,
        )


class WorkOrderRead(WorkOrderSummary):
    operations: list[WorkOrderOperationRead]

    @classmethod
    def of(cls, wo: Any) -> WorkOrderRead:
        return cls(**WorkOrderSummary.of(wo).model_dump(),
                   operations=[WorkOrderOperationRead.model_validate(op) for op in wo.operations])


# -- the operator terminal ------------------------------------------------------------------------------


class OperationCommand(BaseModel):
    """Start or resume: the version the terminal showed (optional) and its submission key."""

    version: int | None = None
    client_key: ClientKey = None


class PauseIn(OperationCommand):
    reason: PauseReason
    note: str | None = Field(default=None, max_length=200)


class ReportIn(OperationCommand):
    """Quantities made since the last report, in the material's base unit; `complete` ends the operation."""

    good: NonNegativeQty = Decimal(0)
    scrap: NonNegativeQty = Decimal(0)
    scrap_reason: ScrapReason | None = None
    rework: NonNegativeQty = Decimal(0)
    complete: bool = False
    new_output_lot: bool = False


class ConsumeIn(BaseModel):
    """A scanned lot and how much of it went into the work order."""

    lot_code: str = Field(min_length=1, max_length=60)
    quantity: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6)]
    client_key: ClientKey = None


class TerminalResult(BaseModel):
    """What a terminal submission did; a replayed submission answers the same, with `replayed` set."""

    work_order_id: int
    code: str
    operation_id: int
    seq: int
    status: OperationStatus
    work_order_status: WorkOrderStatus
    good_qty: QtyOut
    scrap_qty: QtyOut
    rework_qty: QtyOut
    version: int
    lot_id: int | None = None
    lot_code: str | None = None
    move_ids: list[int] = []
    replayed: bool = False


T = TypeVar("T")


class Paged(BaseModel, Generic[T]):
    """One page of a list: the rows and how many there are in all."""

    total: int
    page: int
    per_page: int
    items: list[T]
