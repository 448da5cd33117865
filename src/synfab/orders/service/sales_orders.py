"""Sales orders and their lines: entry, changes, cancellation, status, lists and history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from synfab.catalog.models import Material
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.models import EventRecord
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import (
    CHANGEABLE_LINE_STATUSES,
    OPEN_LINE_STATUSES,
    OPEN_ORDER_STATUSES,
    OPEN_WORK_ORDER_STATUSES,
    LineStatus,
    SalesOrderStatus,
)
from synfab.orders.events import (
    SalesOrderCancelled,
    SalesOrderChanged,
    SalesOrderCreated,
    SalesOrderLineAdded,
    SalesOrderLineCancelled,
    SalesOrderLineChanged,
)
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine, WorkOrder
from synfab.orders.schemas import (
    SalesOrderCreate,
    SalesOrderLineCreate,
    SalesOrderLineUpdate,
    SalesOrderUpdate,
)
from synfab.orders.service.common import (
    _apply,
    _choice_values,
    _customer_for_order,
    _date_filter,
    _insert_with_code,
    _int_filter,
    _material,
    _search,
    _site,
    site_today,
)

# -- sales orders -------------------------------------------------------------------------------------------


def get_sales_order(session: Session, order_id: int) -> SalesOrder:
    order = session.scalar(
        select(SalesOrder).where(SalesOrder.id == order_id).options(selectinload(SalesOrder.lines))
    )
    if order is None:
        raise NotFound("sales_order_not_found", _l("Sales order {id} does not exist.", id=order_id))
    return order


def sales_order_by_code(session: Session, code: str) -> SalesOrder:
    order = session.scalar(select(SalesOrder).where(SalesOrder.code == code).options(selectinload(SalesOrder.lines)))
    if order is None:
        raise NotFound("sales_order_not_found", _l("There is no sales order with code {code}.", code=code))
    return order


def get_sales_order_line(session: Session, order_id: int, line_id: int) -> SalesOrderLine:
    """A line of an order (404 when the order has no such line)."""
    return _line_of(get_sales_order(session, order_id), line_id)


def _line_of(order: SalesOrder, line_id: int) -> SalesOrderLine:
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        raise NotFound("sales_order_line_not_found", _l("Sales order {code} has no line with id {id}.",
                                                        code=order.code, id=line_id))
    return line


def order_status_from_lines(current: SalesOrderStatus, lines: Iterable[SalesOrderLine]) -> SalesOrderStatus:
    """The status an order takes from its lines (a closed order stays closed; no lines: unchanged)."""
    statuses = [ln.status for ln in lines]
    if current == SalesOrderStatus.CLOSED or not statuses:
        return current
    live = [st for st in statuses if st != LineStatus.CANCELLED]
    if not live:
        return SalesOrderStatus.CANCELLED
    if all(st == LineStatus.SHIPPED for st in live):
        return SalesOrderStatus.SHIPPED
    if any(st in (LineStatus.SHIPPED, LineStatus.PARTIALLY_SHIPPED) for st in live):
        return SalesOrderStatus.PARTIALLY_SHIPPED
    if any(st == LineStatus.RELEASED for st in live):
        return SalesOrderStatus.IN_PRODUCTION
    return SalesOrderStatus.OPEN


def refresh_sales_order_status(uow: UnitOfWork, order: SalesOrder) -> None:
    """Let the order's status follow its lines, recording the change."""
    new = order_status_from_lines(order.status, order.lines)
    if new != order.status:
        changes = _apply(order, {"status": new})
        uow.record(SalesOrderChanged(order_id=order.id, code=order.code, changes=changes))
    # The earliest open due date is computed by the database: read it again when next shown.
    uow.session.flush()
    uow.session.expire(order, ["earliest_due_date"])


def _check_order_open(order: SalesOrder) -> None:
    if order.status not in OPEN_ORDER_STATUSES:
        raise Invalid("sales_order_not_open", _l("Sales order {code} is {status} and can no longer be changed.",
                                                 code=order.code, status=order.status.label))


def _check_line_open(order: SalesOrder, line: SalesOrderLine) -> None:
    if line.status not in CHANGEABLE_LINE_STATUSES:
        raise Invalid("sales_order_line_not_open", _l(
            "Line {line_no} of sales order {code} is {status}; only open lines can be changed or cancelled.",
            line_no=line.line_no, code=order.code, status=line.status.label))


def _check_due(order_date: date, line_no: int, due: date) -> None:
    if due < order_date:
        raise Invalid("due_before_order_date", _l(
            "Line {line_no}: the due date {due} is before the order date {ordered}.",
            line_no=line_no, due=due.isoformat(), ordered=order_date.isoformat()))


def _number_lines(code: str | None, taken: set[int], lines: list[SalesOrderLineCreate]) -> list[int]:
    """Line numbers for new lines: the given ones must be free; the others take the next free number."""
    used = set(taken)
    for no in (ln.line_no for ln in lines if ln.line_no is not None):
        if no in taken:
            raise Conflict("sales_order_line_no_taken", _l(
                "Sales order {code} already has a line {line_no}; each line needs its own number.",
                code=code, line_no=no))
        if no in used:
            raise Conflict("sales_order_line_no_taken", _l(
                "Line number {line_no} is given twice; each line of an order needs its own number.", line_no=no))
        used.add(no)
    # A line without a number follows the one before it (the existing lines, for a line added later).
    numbers, previous = [], max(taken, default=0)
    for ln in lines:
        no = ln.line_no
        if no is None:
            no = previous + 1
            while no in used:
                no += 1
            used.add(no)
        numbers.append(no)
        previous = no
    return numbers


def _new_line(session: Session, order: SalesOrder, no: int, data: SalesOrderLineCreate) -> SalesOrderLine:
    material = _material(session, data.material_id)
    _check_due(order.order_date, no, data.due_date)
    return SalesOrderLine(line_no=no, material_id=material.id, quantity=data.quantity, due_date=data.due_date,
                          priority=data.priority or order.priority, status=LineStatus.OPEN)


def _line_added(order: SalesOrder, line: SalesOrderLine) -> SalesOrderLineAdded:
    return SalesOrderLineAdded(
        order_id=order.id, order_code=order.code, line_id=line.id, line_no=line.line_no,
        material_id=line.material_id, quantity=line.quantity, due_date=line.due_date,
        priority=line.priority.value, site_id=order.site_id,
    )


def create_sales_order(uow: UnitOfWork, data: SalesOrderCreate) -> SalesOrder:
    """Enter a customer's order with its lines, all checked before anything is written.

    The code defaults to SO-YYYYMMDD-NNNN and the order date to today at the site; a line's priority
    defaults to the order's. Records SalesOrderCreated and one SalesOrderLineAdded per line.
    """
    s = uow.session
    customer = _customer_for_order(s, data.customer_id)
    site = _site(s, data.site_id)
    if data.code is not None:
        taken = s.scalar(select(SalesOrder).where(SalesOrder.code == data.code))
        if taken is not None:
            raise Conflict("sales_order_code_taken", _l(
                "The sales order code {code} is already used (customer {customer}).",
                code=data.code, customer=taken.customer.name))
    today = site_today(s, site)
    order = SalesOrder(customer_id=customer.id, site_id=site.id, order_date=data.order_date or today,
                       customer_po=data.customer_po, priority=data.priority, note=data.note,
                       status=SalesOrderStatus.OPEN)
    numbers = _number_lines(data.code, set(), data.lines)
    order.lines = [_new_line(s, order, no, ln) for no, ln in zip(numbers, data.lines, strict=True)]
    _insert_with_code(s, order, f"SO-{today:%Y%m%d}-", data.code)
    uow.record(SalesOrderCreated(order_id=order.id, code=order.code, customer_id=order.customer_id,
                                 site_id=order.site_id, line_count=len(order.lines)))
    for line in order.lines:
        uow.record(_line_added(order, line))
    return order


def update_sales_order(uow: UnitOfWork, order_id: int, data: SalesOrderUpdate) -> SalesOrder:
    """Change an open order's header (customer, site, order date, customer PO, priority, note).

    The site cannot move while work orders of the order are open; a stale `version` gets 409.
    """
    s = uow.session
    order = get_sales_order(s, order_id)
    check_version(order, data.version)
    _check_order_open(order)
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("customer_id", "site_id", "order_date", "priority"):
        if fields.get(required) is None:
            fields.pop(required, None)
    if fields.get("customer_id", order.customer_id) != order.customer_id:
        _customer_for_order(s, fields["customer_id"])
    if fields.get("site_id", order.site_id) != order.site_id:
        _site(s, fields["site_id"])
        busy = s.scalar(select(WorkOrder.code).join(SalesOrderLine, WorkOrder.sales_order_line_id == SalesOrderLine.id)
                        .where(SalesOrderLine.order_id == order.id,
                               WorkOrder.status.in_([st.value for st in OPEN_WORK_ORDER_STATUSES])).limit(1))
        if busy is not None:
            raise Invalid("sales_order_has_work_orders", _l(
                "Sales order {code} cannot move to another site while work order {work_order} is open.",
                code=order.code, work_order=busy))
    if "order_date" in fields:
        for line in order.lines:
            if line.status in OPEN_LINE_STATUSES:
                _check_due(fields["order_date"], line.line_no, line.due_date)
    changes = _apply(order, fields)
    if changes:
        uow.record(SalesOrderChanged(order_id=order.id, code=order.code, changes=changes))
    return order


def add_sales_order_line(uow: UnitOfWork, order_id: int, data: SalesOrderLineCreate) -> SalesOrderLine:
    """Add a line to an open order; its number defaults to the next free one."""
    s = uow.session
    order = get_sales_order(s, order_id)
    _check_order_open(order)
    [no] = _number_lines(order.code, {ln.line_no for ln in order.lines}, [data])
    line = _new_line(s, order, no, data)
    order.lines.append(line)
    s.flush()
    uow.record(_line_added(order, line))
    refresh_sales_order_status(uow, order)
    return line


def change_sales_order_line(uow: UnitOfWork, order_id: int, line_id: int,
                            data: SalesOrderLineUpdate) -> SalesOrderLine:
    """Change a line's quantity, due date or priority; records SalesOrderLineChanged with old and new values."""
    s = uow.session
    order = get_sales_order(s, order_id)
    line = _line_of(order, line_id)
    check_version(line, data.version)
    _check_line_open(order, line)
    old_qty, old_due, old_priority = line.quantity, line.due_date, line.priority
    fields = {k: v for k, v in data.model_dump(exclude={"version"}).items() if v is not None}
    if "due_date" in fields:
        _check_due(order.order_date, line.line_no, fields["due_date"])
    if "quantity" in fields and Decimal(fields["quantity"]) == old_qty:
        del fields["quantity"]  # 5 and 5.000000 are the same quantity
    if _apply(line, fields):
        s.flush()
        uow.record(SalesOrderLineChanged(
            order_id=order.id, order_code=order.code, line_id=line.id, line_no=line.line_no,
            material_id=line.material_id, old_quantity=old_qty, new_quantity=line.quantity,
            old_due_date=old_due, new_due_date=line.due_date,
            old_priority=old_priority.value, new_priority=line.priority.value,
        ))
        refresh_sales_order_status(uow, order)
    return line


def _cancel_line(uow: UnitOfWork, order: SalesOrder, line: SalesOrderLine) -> None:
    """Cancel what is still open of a line. A line with goods already shipped keeps its ordered quantity and
    becomes `shipped` (closed short): only its open part is cancelled, and the event carries that part."""
    shipped = line.shipped_quantity or Decimal(0)
    open_part = line.quantity - shipped
    line.status = LineStatus.SHIPPED if shipped > 0 else LineStatus.CANCELLED
    uow.record(SalesOrderLineCancelled(
        order_id=order.id, order_code=order.code, line_id=line.id, line_no=line.line_no,
        material_id=line.material_id, quantity=max(open_part, Decimal(0)), due_date=line.due_date,
    ))


def cancellation_note(line: SalesOrderLine) -> Any:
    """What a person is told after cancelling a line that had shipped goods (None for a whole line)."""
    shipped = line.shipped_quantity or Decimal(0)
    if line.status != LineStatus.SHIPPED or shipped <= 0 or shipped >= line.quantity:
        return None
    return _l("Line {line_no}: only the open part {open} was cancelled; {shipped} already shipped.",
              line_no=line.line_no, open=_number(line.quantity - shipped), shipped=_number(shipped))


def _number(value: Decimal) -> str:
    text = format(Decimal(value).normalize(), "f")
    return "0" if text == "-0" else text


def cancel_sales_order_line(uow: UnitOfWork, order_id: int, line_id: int,
                            version: int | None = None) -> SalesOrderLine:
    """Cancel a line, or only its open part once some of it has shipped (the line then counts as shipped,
    see `cancellation_note`); the order becomes cancelled when no other line is left.

    Work orders made for the line stay as they are: the orders loop decides what happens to them.
    """
    order = get_sales_order(uow.session, order_id)
    line = _line_of(order, line_id)
    check_version(line, version)
    if line.status != LineStatus.PARTIALLY_SHIPPED:
        _check_line_open(order, line)
    _cancel_line(uow, order, line)
    refresh_sales_order_status(uow, order)
    return line


def cancel_sales_order(uow: UnitOfWork, order_id: int, version: int | None = None) -> SalesOrder:
    """Cancel an order: every line still open is cancelled. Once goods of it have shipped, only the open
    parts are: partly shipped lines close short as shipped and the order takes its status from its lines
    (shipped), else the order is cancelled."""
    order = get_sales_order(uow.session, order_id)
    check_version(order, version)
    _check_order_open(order)
    for line in order.lines:
        if line.status in CHANGEABLE_LINE_STATUSES or line.status == LineStatus.PARTIALLY_SHIPPED:
            _cancel_line(uow, order, line)
    if any(ln.status == LineStatus.SHIPPED for ln in order.lines):
        refresh_sales_order_status(uow, order)
        return order
    order.status = SalesOrderStatus.CANCELLED
    uow.record(SalesOrderCancelled(order_id=order.id, code=order.code))
    uow.session.flush()
    uow.session.expire(order, ["earliest_due_date"])
    return order


def sales_order_query(
    status: Any = None, customer_id: Any = None, site_id: Any = None, due_from: Any = None, due_to: Any = None,
    q: str | None = None,
) -> Select[Any]:
    """Sales orders (with their customer) for the list, the API and the export.

    Filters: `status` (one or several, comma-separated), `customer_id`, `site_id`, `due_from` / `due_to`
    (an order is due in the range if any of its open lines is), `q` (part of the order code, customer code
    or name, or customer PO). Values may be given as text (query strings); bad ones raise Invalid.
    Sort keys: `SALES_ORDER_SORTS`.
    """
    stmt = select(SalesOrder).join(SalesOrder.customer).options(contains_eager(SalesOrder.customer))
    statuses = _choice_values(SalesOrderStatus, status, "status")
    if statuses:
        stmt = stmt.where(SalesOrder.status.in_(statuses))
    if (cid := _int_filter(customer_id, "customer_id")) is not None:
        stmt = stmt.where(SalesOrder.customer_id == cid)
    if (sid := _int_filter(site_id, "site_id")) is not None:
        stmt = stmt.where(SalesOrder.site_id == sid)
    start, end = _date_filter(due_from, "due_from"), _date_filter(due_to, "due_to")
    if start or end:
        line_due = [SalesOrderLine.order_id == SalesOrder.id,
                    SalesOrderLine.status.in_([st.value for st in OPEN_LINE_STATUSES])]
        if start:
            line_due.append(SalesOrderLine.due_date >= start)
        if end:
            line_due.append(SalesOrderLine.due_date <= end)
        stmt = stmt.where(exists().where(*line_due))
    cond = _search(q, SalesOrder.code, Customer.code, Customer.name, Customer.name_en, SalesOrder.customer_po)
    if cond is not None:
        stmt = stmt.where(cond)
    return stmt


def sales_order_line_query(
    status: Any = None, order_status: Any = None, customer_id: Any = None, site_id: Any = None,
    material_id: Any = None, sales_order_id: Any = None, due_from: Any = None, due_to: Any = None,
    q: str | None = None,
) -> Select[Any]:
    """Sales order lines, one row each with their order, customer and material (line export, import checks).

    Filters: `status` (line status), `order_status`, `customer_id`, `site_id`, `material_id`,
    `sales_order_id`, `due_from` / `due_to` (the line's due date), `q` (part of the order code, customer
    code or name, customer PO, or material code or name). Sort keys: `SALES_ORDER_LINE_SORTS`.
    """
    stmt = (
        select(SalesOrderLine)
        .join(SalesOrderLine.order).join(SalesOrder.customer).join(Material, SalesOrderLine.material_id == Material.id)
        .options(contains_eager(SalesOrderLine.order).contains_eager(SalesOrder.customer),
                 contains_eager(SalesOrderLine.material))
    )
    if statuses := _choice_values(LineStatus, status, "status"):
        stmt = stmt.where(SalesOrderLine.status.in_(statuses))
    if order_statuses := _choice_values(SalesOrderStatus, order_status, "order_status"):
        stmt = stmt.where(SalesOrder.status.in_(order_statuses))
    for column, value, name in ((SalesOrder.customer_id, customer_id, "customer_id"),
                                (SalesOrder.site_id, site_id, "site_id"),
                                (SalesOrderLine.material_id, material_id, "material_id"),
                                (SalesOrderLine.order_id, sales_order_id, "sales_order_id")):
        if (number := _int_filter(value, name)) is not None:
            stmt = stmt.where(column == number)
    if start := _date_filter(due_from, "due_from"):
        stmt = stmt.where(SalesOrderLine.due_date >= start)
    if end := _date_filter(due_to, "due_to"):
        stmt = stmt.where(SalesOrderLine.due_date <= end)
    cond = _search(q, SalesOrder.code, Customer.code, Customer.name, SalesOrder.customer_po, Material.code,
                   Material.name)
    if cond is not None:
        stmt = stmt.where(cond)
    return stmt


ORDER_EVENT_TYPES = ("SalesOrderCreated", "SalesOrderChanged", "SalesOrderCancelled", "SalesOrderLineAdded",
                     "SalesOrderLineChanged", "SalesOrderLineCancelled", "ShipmentShipped", "ShipmentCancelled")
WORK_ORDER_EVENT_TYPES = ("WorkOrderCreated", "WorkOrderChanged", "WorkOrderCancelled", "ProductionReleased",
                          "WorkOrderNeedsReview", "WorkOrderReviewed", "WorkOrderCompleted", "WorkOrderRevised")


# Events of other contexts an order's changes cause, shown under them in its timeline.
CONSEQUENCE_EVENT_TYPES = ("ScheduleRebuilt", "WorkOrderAtRisk", "WorkOrderBackOnTrack", "StockReserved",
                           "ReservationReleased", "ShortageRaised", "ShortageCovered", "PurchaseSuggestionsChanged",
                           "WorkOrderNeedsReview", "WorkOrderChanged", "WorkOrderCancelled", "WorkOrderCreated")


def _concerns(record: EventRecord, work_orders: set[int]) -> bool:
    """Whether a consequence is about this order's work orders (a chain may have touched several orders)."""
    p = record.payload
    if "work_order_id" in p:
        return p["work_order_id"] in work_orders
    if p.get("demand_kind") == "work_order":
        return p.get("demand_id") in work_orders
    if "changed_work_order_ids" in p:
        return bool(work_orders & set(p["changed_work_order_ids"]))
    return "material_id" in p  # a material's suggestions changed in this order's chain


def _chunked(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def order_timeline(session: Session, order: SalesOrder, limit: int = 200) -> list[EventRecord]:
    """The recorded events of an order, its lines and the work orders made for them, oldest first."""
    cond = and_(EventRecord.type.in_(ORDER_EVENT_TYPES), EventRecord.payload["order_id"].as_integer() == order.id)
    wo_ids = list(session.scalars(
        select(WorkOrder.id).join(SalesOrderLine, WorkOrder.sales_order_line_id == SalesOrderLine.id)
        .where(SalesOrderLine.order_id == order.id)))
    if wo_ids:
        cond = or_(cond, and_(EventRecord.type.in_(WORK_ORDER_EVENT_TYPES),
                              EventRecord.payload["work_order_id"].as_integer().in_(wo_ids)))
    stmt = select(EventRecord).where(cond).order_by(EventRecord.occurred_at, EventRecord.id).limit(limit)
    found = list(session.scalars(stmt))
    # What changed because of them: the consequences recorded in the same chains (same correlation).
    chains = {r.correlation_id for r in found if r.correlation_id}
    if chains:
        known = {r.id for r in found}
        for chunk in _chunked(sorted(chains), 500):
            found += [r for r in session.scalars(select(EventRecord).where(
                EventRecord.correlation_id.in_(chunk), EventRecord.type.in_(CONSEQUENCE_EVENT_TYPES)).limit(limit))
                if r.id not in known and _concerns(r, set(wo_ids))]
    # Orders entered in bulk share one event naming them all; few enough to look through here.
    imports = session.scalars(select(EventRecord).where(EventRecord.type == "SalesOrdersImported")
                              .order_by(EventRecord.occurred_at.desc()).limit(500))
    found += [r for r in imports if order.id in r.payload.get("order_ids", ())]
    return sorted(found, key=lambda r: (r.occurred_at, r.id))[:limit]
