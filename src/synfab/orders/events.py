"""What happens to customers, sales orders and work orders.

Every sales order event carries `order_id` and every work order event `work_order_id`, so the timeline of
an order (and the orders loop) can find them. Creating an order records `SalesOrderCreated` and one
`SalesOrderLineAdded` per line, so a consumer handles lines the same way however they arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from synfab.core.bus import Event
from synfab.orders.schemas import QtyOut


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(Event):
    customer_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class CustomerChanged(Event):
    customer_id: int
    code: str
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class SalesOrderCreated(Event):
    order_id: int
    code: str
    customer_id: int
    site_id: int
    line_count: int


@dataclass(frozen=True, kw_only=True)
class SalesOrderChanged(Event):
    """The header changed, or the status that follows the lines: `changes` is field → [old, new]."""

    order_id: int
    code: str
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class SalesOrderCancelled(Event):
    order_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class SalesOrderLineAdded(Event):
    order_id: int
    order_code: str
    line_id: int
    line_no: int
    material_id: int
    quantity: QtyOut
    due_date: date
    priority: str
    site_id: int


@dataclass(frozen=True, kw_only=True)
class SalesOrderLineChanged(Event):
    """Old and new values of all three fields people change (equal when that one did not change)."""

    order_id: int
    order_code: str
    line_id: int
    line_no: int
    material_id: int
    old_quantity: QtyOut
    new_quantity: QtyOut
    old_due_date: date
    new_due_date: date
    old_priority: str
    new_priority: str


@dataclass(frozen=True, kw_only=True)
class SalesOrderLineCancelled(Event):
    order_id: int
    order_code: str
    line_id: int
    line_no: int
    material_id: int
    quantity: QtyOut
    due_date: date


@dataclass(frozen=True, kw_only=True)
class WorkOrderCreated(Event):
    work_order_id: int
    code: str
    material_id: int
    quantity: QtyOut
    due_date: date
    site_id: int
    production_line_id: int | None
    sales_order_line_id: int | None
    parent_id: int | None
    bom_id: int | None
    routing_id: int


@dataclass(frozen=True, kw_only=True)
class WorkOrderChanged(Event):
    """Old and new quantity, due date and priority (equal when that one did not change)."""

    work_order_id: int
    code: str
    material_id: int
    old_quantity: QtyOut
    new_quantity: QtyOut
    old_due_date: date
    new_due_date: date
    old_priority: str
    new_priority: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderCancelled(Event):
    work_order_id: int
    code: str
    material_id: int
    quantity: QtyOut
    sales_order_line_id: int | None


@dataclass(frozen=True, kw_only=True)
class SalesOrdersImported(Event):
    """Many new orders entered at once (a spreadsheet, an ERP sync): their ids, instead of one event each."""

    order_ids: list[int]
    line_count: int
    source: str  # the file name, or the system that sent them


@dataclass(frozen=True, kw_only=True)
class ProductionReleased(Event):
    """Production of a sales order line (or of stock) was released: its work order and, under it, a child work
    order for every make component of the BOM, all levels."""

    work_order_id: int
    code: str
    sales_order_line_id: int | None
    work_order_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class OperationStarted(Event):
    """An operator started an operation at the terminal (`overridden`: on a supervisor's signed override)."""

    work_order_id: int
    code: str
    operation_id: int
    seq: int
    work_center_id: int | None
    operator: str
    overridden: bool


@dataclass(frozen=True, kw_only=True)
class OperationPaused(Event):
    """A running operation was paused at the terminal, with the reason the operator chose."""

    work_order_id: int
    code: str
    operation_id: int
    seq: int
    work_center_id: int | None
    reason: str
    operator: str


@dataclass(frozen=True, kw_only=True)
class OperationResumed(Event):
    work_order_id: int
    code: str
    operation_id: int
    seq: int
    work_center_id: int | None
    operator: str


@dataclass(frozen=True, kw_only=True)
class ProductionReported(Event):
    """Quantities reported on an operation (good, scrap with its reason, rework), in the material's base unit."""

    work_order_id: int
    code: str
    operation_id: int
    seq: int
    work_center_id: int | None
    good: QtyOut
    scrap: QtyOut
    rework: QtyOut
    scrap_reason: str | None
    operator: str


@dataclass(frozen=True, kw_only=True)
class OperationCompleted(Event):
    """An operation is done; `last` when it was the work order's last open operation."""

    work_order_id: int
    code: str
    operation_id: int
    seq: int
    work_center_id: int | None
    good_qty: QtyOut
    scrap_qty: QtyOut
    last: bool
    operator: str


@dataclass(frozen=True, kw_only=True)
class MaterialConsumed(Event):
    """A lot (or stock without a lot) was consumed into a work order at an operation: scanned, or backflushed."""

    work_order_id: int
    code: str
    operation_id: int | None
    material_id: int
    lot_id: int | None
    location_id: int
    quantity: QtyOut
    backflushed: bool


@dataclass(frozen=True, kw_only=True)
class OutputLotProduced(Event):
    """A work order put good output into a lot (its WIP location, or finished goods at the last operation)."""

    work_order_id: int
    code: str
    operation_id: int
    material_id: int
    lot_id: int
    location_id: int
    quantity: QtyOut


@dataclass(frozen=True, kw_only=True)
class WorkOrderCompleted(Event):
    work_order_id: int
    code: str
    material_id: int
    good_qty: QtyOut
    sales_order_line_id: int | None


@dataclass(frozen=True, kw_only=True)
class WorkOrderNeedsReview(Event):
    """A change could not be applied to a work order by itself (its work has started): the planner decides.

    For a revision coming into effect, `new_bom_id` / `new_routing_id` name the revisions it did not take, so
    that it is flagged once per revision (not again every day after the planner has decided)."""

    work_order_id: int
    code: str
    reason: str  # a ReviewReason
    note: str | None
    production_line_id: int | None
    new_bom_id: int | None = None
    new_routing_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class WorkOrderReviewed(Event):
    work_order_id: int
    code: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class WorkOrderRevised(Event):
    """A work order not started took the BOM or routing revision now in effect (old and new ids and revisions,
    equal when that one did not change): its component work orders and material follow the new BOM, its
    operations were replaced by the new routing's."""

    work_order_id: int
    code: str
    material_id: int
    old_bom_id: int | None
    new_bom_id: int | None
    old_bom_revision: str | None
    new_bom_revision: str | None
    old_routing_id: int | None
    new_routing_id: int | None
    old_routing_revision: str | None
    new_routing_revision: str | None
    production_line_id: int | None


@dataclass(frozen=True, kw_only=True)
class RevisionsTookEffect(Event):
    """The daily turn (or `synfab revisions apply`) found BOM or routing revisions in effect that open work
    orders of these materials do not follow yet: the cause of what it changes. `on`: the day asked for (None:
    each site's today)."""

    on: date | None
    material_ids: list[int]
