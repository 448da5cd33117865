"""Work orders with operations copied from the routing in effect; the home page's figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.sql.elements import ColumnElement

from synfab.catalog import service as catalog
from synfab.catalog.models import Material, RoutingOperation
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import (
    CANCELLABLE_WORK_ORDER_STATUSES,
    CHANGEABLE_LINE_STATUSES,
    NOT_STARTED_OPERATION_STATUSES,
    OPEN_LINE_STATUSES,
    OPEN_ORDER_STATUSES,
    OPEN_WORK_ORDER_STATUSES,
    OperationStatus,
    Priority,
    WorkOrderStatus,
)
from synfab.orders.events import (
    WorkOrderCancelled,
    WorkOrderChanged,
    WorkOrderCreated,
)
from synfab.orders.models import SalesOrder, SalesOrderLine, WorkOrder, WorkOrderOperation
from synfab.orders.schemas import (
    WorkOrderCreate,
    WorkOrderUpdate,
)
from synfab.orders.service.common import (
    _apply,
    _choice_values,
    _date_filter,
    _insert_with_code,
    _int_filter,
    _material,
    _site,
    site_today,
)
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode

# -- work orders --------------------------------------------------------------------------------------------


def get_work_order(session: Session, work_order_id: int) -> WorkOrder:
    wo = session.scalar(
        select(WorkOrder).where(WorkOrder.id == work_order_id).options(selectinload(WorkOrder.operations))
    )
    if wo is None:
        raise NotFound("work_order_not_found", _l("Work order {id} does not exist.", id=work_order_id))
    return wo


def work_order_by_code(session: Session, code: str) -> WorkOrder:
    wo = session.scalar(select(WorkOrder).where(WorkOrder.code == code).options(selectinload(WorkOrder.operations)))
    if wo is None:
        raise NotFound("work_order_not_found", _l("There is no work order with code {code}.", code=code))
    return wo


def work_orders_for_lines(session: Session, line_ids: Iterable[int]) -> dict[int, list[WorkOrder]]:
    """The work orders made for each of these sales order lines (directly or under a parent), by code."""
    ids = list(line_ids)
    found: dict[int, list[WorkOrder]] = {i: [] for i in ids}
    if ids:
        for wo in session.scalars(select(WorkOrder).where(WorkOrder.sales_order_line_id.in_(ids))
                                  .order_by(WorkOrder.code)):
            found[wo.sales_order_line_id].append(wo)  # type: ignore[index]
    return found


def production_line_of(session: Session, node_id: int | None) -> int | None:
    """The production line a work center (or machine) belongs to, if it sits in one."""
    if node_id is None:
        return None
    node = session.get(PlantNode, node_id)
    if node is None:
        return None
    for candidate in [node, *reversed(plant.ancestors(session, node))]:
        if candidate.level == Level.LINE:
            return candidate.id
    return None


def _planned_minutes(setup: Decimal, run: Decimal, quantity: Decimal) -> Decimal:
    """setup + quantity × run, to the 6 places minutes are stored with."""
    return (Decimal(setup) + Decimal(quantity) * Decimal(run)).quantize(Decimal("0.000001"))


def operations_from_routing(steps: Iterable[RoutingOperation], quantity: Decimal) -> list[WorkOrderOperation]:
    """A work order's copy of routing steps, not started: each keeps the step's work center, equipment class,
    times and skill, with planned minutes = setup + quantity × run."""
    return [
        WorkOrderOperation(
            seq=op.seq, name=op.name, work_center_id=op.work_center_id, equipment_class_id=op.equipment_class_id,
            setup_minutes=op.setup_minutes or Decimal(0), run_minutes=op.run_minutes or Decimal(0),
            planned_minutes=_planned_minutes(op.setup_minutes or 0, op.run_minutes or 0, quantity),
            required_skill=op.required_skill, required_skill_level=op.required_skill_level,
            status=OperationStatus.PENDING,
        )
        for op in sorted(steps, key=lambda op: op.seq)
    ]


def _production_line(session: Session, line_id: int, site: PlantNode) -> int:
    try:
        node = plant.get_node(session, line_id)
    except NotFound:
        raise Invalid("production_line_not_found", _l("Production line {id} does not exist.", id=line_id)) from None
    if node.level != Level.LINE:
        raise Invalid("not_a_production_line", _l("{code} is a {level}, not a production line.",
                                                  code=node.code, level=node.level.label))
    if not node.path.startswith(site.path):
        raise Invalid("production_line_in_other_site", _l("Production line {code} is not in site {site}.",
                                                          code=node.code, site=site.code))
    return node.id


def _work_order_ref(session: Session, work_order_id: int) -> WorkOrder:
    wo = session.get(WorkOrder, work_order_id)
    if wo is None:
        raise Invalid("work_order_not_found", _l("Work order {id} does not exist.", id=work_order_id))
    return wo


def _line_ref(session: Session, line_id: int) -> SalesOrderLine:
    line = session.get(SalesOrderLine, line_id)
    if line is None:
        raise Invalid("sales_order_line_not_found", _l("Sales order line {id} does not exist.", id=line_id))
    return line


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def create_work_order(uow: UnitOfWork, data: WorkOrderCreate) -> WorkOrder:
    """Create a planned work order and copy the operations of the routing in effect on its due date.

    For a sales order line, for a parent work order, or for stock (neither). Each operation keeps the
    routing step's work center, equipment class, times and skill, with planned minutes = setup + quantity
    × run. Without a production line, the line of the first operation's work center is taken. Refused with
    `no_routing` when no released routing of the material is in effect on the due date.
    """
    s = uow.session
    parent = _work_order_ref(s, data.parent_id) if data.parent_id is not None else None
    line = _line_ref(s, data.sales_order_line_id) if data.sales_order_line_id is not None else None
    if parent is not None and parent.status not in OPEN_WORK_ORDER_STATUSES:
        raise Invalid("parent_work_order_not_open", _l(
            "Work order {code} is {status}; no work order can be added under it.",
            code=parent.code, status=parent.status.label))
    if parent is not None and line is not None and parent.sales_order_line_id != line.id:
        raise Invalid("work_order_line_mismatch", _l(
            "Work order {code} was not made for this sales order line; leave the line out or choose its parent.",
            code=parent.code))
    if line is not None and line.status not in CHANGEABLE_LINE_STATUSES:
        raise Invalid("sales_order_line_not_open", _l(
            "Line {line_no} of sales order {code} is {status}; only open lines can be changed or cancelled.",
            line_no=line.line_no, code=line.order.code, status=line.status.label))
    for_line = line if parent is None else None  # the line's own product, not a component under a parent
    material_id = _first(data.material_id, for_line.material_id if for_line else None)
    if material_id is None:
        raise Invalid("material_required", _l("Say which material the work order makes."))
    material = _material(s, material_id)
    if for_line is not None and material.id != for_line.material_id:
        raise Invalid("work_order_material_mismatch", _l(
            "A work order for line {line_no} of sales order {code} makes the line's material {material}; "
            "make components under a parent work order.",
            line_no=for_line.line_no, code=for_line.order.code, material=for_line.material.code))
    quantity = _first(data.quantity, for_line.quantity if for_line else None)
    if quantity is None:
        raise Invalid("quantity_required", _l("Say how many the work order makes."))
    due = _first(data.due_date, parent.due_date if parent else None, line.due_date if line else None)
    if due is None:
        raise Invalid("due_date_required", _l("Give the work order a due date."))
    site_id = _first(data.site_id, parent.site_id if parent else None, line.order.site_id if line else None)
    if site_id is None:
        raise Invalid("site_required", _l("Say which site makes the work order."))
    site = _site(s, site_id)
    priority = _first(data.priority, parent.priority if parent else None, line.priority if line else None,
                      Priority.NORMAL)
    if data.code is not None and s.scalar(select(WorkOrder.id).where(WorkOrder.code == data.code)) is not None:
        raise Conflict("work_order_code_taken", _l("The work order code {code} is already used.", code=data.code))

    routing = catalog.effective_routing(s, material.id, due)
    if routing is None:
        raise Invalid("no_routing", _l(
            "No released routing of {material} is in effect on {date}; release one in the catalog or change the "
            "due date.", material=f"{material.code} {material.name}", date=due.isoformat()))
    steps = sorted(routing.operations, key=lambda op: op.seq)
    if not steps:
        raise Invalid("routing_without_operations", _l(
            "Routing {revision} of {material} has no operations; add them in the catalog first.",
            revision=routing.revision, material=material.code))
    bom = catalog.effective_bom(s, material.id, due)
    if data.production_line_id is not None:
        production_line_id: int | None = _production_line(s, data.production_line_id, site)
    else:
        production_line_id = production_line_of(s, steps[0].work_center_id)

    wo = WorkOrder(
        material_id=material.id, quantity=quantity, site_id=site.id, production_line_id=production_line_id,
        sales_order_line_id=line.id if line else (parent.sales_order_line_id if parent else None),
        parent_id=parent.id if parent else None, bom_id=bom.id if bom else None, routing_id=routing.id,
        due_date=due, priority=priority, status=WorkOrderStatus.PLANNED, note=data.note,
        operations=operations_from_routing(steps, quantity),
    )
    _insert_with_code(s, wo, f"WO-{site_today(s, site):%Y%m%d}-", data.code)
    uow.record(WorkOrderCreated(
        work_order_id=wo.id, code=wo.code, material_id=wo.material_id, quantity=wo.quantity, due_date=wo.due_date,
        site_id=wo.site_id, production_line_id=wo.production_line_id, sales_order_line_id=wo.sales_order_line_id,
        parent_id=wo.parent_id, bom_id=wo.bom_id, routing_id=routing.id,
    ))
    return wo


def change_work_order(uow: UnitOfWork, work_order_id: int, data: WorkOrderUpdate) -> WorkOrder:
    """Change quantity, due date, priority or note of an open work order.

    Planned minutes of operations not started follow the new quantity; the routing copied at creation
    stays. Records WorkOrderChanged with old and new values; a stale `version` gets 409.
    """
    wo = get_work_order(uow.session, work_order_id)
    check_version(wo, data.version)
    if wo.status not in OPEN_WORK_ORDER_STATUSES:
        raise Invalid("work_order_not_open", _l("Work order {code} is {status} and can no longer be changed.",
                                                code=wo.code, status=wo.status.label))
    old_qty, old_due, old_priority = wo.quantity, wo.due_date, wo.priority
    fields = {k: v for k, v in data.model_dump(exclude={"version"}).items() if v is not None}
    if "quantity" in fields and Decimal(fields["quantity"]) == old_qty:
        del fields["quantity"]
    changes = _apply(wo, fields)
    if "quantity" in changes:
        for op in wo.operations:
            if op.status in NOT_STARTED_OPERATION_STATUSES:
                op.planned_minutes = _planned_minutes(op.setup_minutes, op.run_minutes, wo.quantity)
    if changes.keys() & {"quantity", "due_date", "priority"}:
        uow.session.flush()
        uow.record(WorkOrderChanged(
            work_order_id=wo.id, code=wo.code, material_id=wo.material_id, old_quantity=old_qty,
            new_quantity=wo.quantity, old_due_date=old_due, new_due_date=wo.due_date,
            old_priority=old_priority.value, new_priority=wo.priority.value,
        ))
    return wo


def cancel_work_order(uow: UnitOfWork, work_order_id: int, version: int | None = None) -> WorkOrder:
    """Cancel a planned or released work order and its operations not done.

    Work orders under it stay as they are (each is cancelled on its own).
    """
    wo = get_work_order(uow.session, work_order_id)
    check_version(wo, version)
    if wo.status not in CANCELLABLE_WORK_ORDER_STATUSES:
        raise Invalid("work_order_not_cancellable", _l(
            "Work order {code} is {status}; only planned or released work orders can be cancelled.",
            code=wo.code, status=wo.status.label))
    wo.status = WorkOrderStatus.CANCELLED
    for op in wo.operations:
        if op.status != OperationStatus.DONE:
            op.status = OperationStatus.CANCELLED
    uow.record(WorkOrderCancelled(work_order_id=wo.id, code=wo.code, material_id=wo.material_id,
                                  quantity=wo.quantity, sales_order_line_id=wo.sales_order_line_id))
    return wo


def work_order_query(
    status: Any = None, material_id: Any = None, production_line_id: Any = None, site_id: Any = None,
    due_from: Any = None, due_to: Any = None, sales_order_id: Any = None, q: str | None = None,
) -> Select[Any]:
    """Work orders (with their material) for the list, the API and the export.

    Filters: `status` (one or several, comma-separated), `material_id`, `production_line_id`, `site_id`,
    `due_from` / `due_to` (the work order's due date), `sales_order_id` (made for a line of that order,
    directly or under a parent), `q` (part of the work order code, material code or name, or the code of
    the sales order it is for). Sort keys: `WORK_ORDER_SORTS`.
    """
    stmt = select(WorkOrder).join(WorkOrder.material).options(
        contains_eager(WorkOrder.material),
        selectinload(WorkOrder.sales_order_line).selectinload(SalesOrderLine.order),
    )
    if statuses := _choice_values(WorkOrderStatus, status, "status"):
        stmt = stmt.where(WorkOrder.status.in_(statuses))
    for column, value, name in ((WorkOrder.material_id, material_id, "material_id"),
                                (WorkOrder.production_line_id, production_line_id, "production_line_id"),
                                (WorkOrder.site_id, site_id, "site_id")):
        if (number := _int_filter(value, name)) is not None:
            stmt = stmt.where(column == number)
    if start := _date_filter(due_from, "due_from"):
        stmt = stmt.where(WorkOrder.due_date >= start)
    if end := _date_filter(due_to, "due_to"):
        stmt = stmt.where(WorkOrder.due_date <= end)
    if (so_id := _int_filter(sales_order_id, "sales_order_id")) is not None:
        stmt = stmt.where(WorkOrder.sales_order_line_id.in_(
            select(SalesOrderLine.id).where(SalesOrderLine.order_id == so_id)))
    text = (q or "").strip()
    if text:
        order_lines = select(SalesOrderLine.id).join(SalesOrderLine.order).where(
            SalesOrder.code.icontains(text, autoescape=True))
        stmt = stmt.where(or_(
            WorkOrder.code.icontains(text, autoescape=True), Material.code.icontains(text, autoescape=True),
            Material.name.icontains(text, autoescape=True), WorkOrder.sales_order_line_id.in_(order_lines),
        ))
    return stmt


# -- figures ------------------------------------------------------------------------------------------------


def open_figures(session: Session, today: date, days_ahead: int = 7) -> dict[str, int]:
    """Counts for the home page: open sales orders, open lines due within `days_ahead` days (overdue ones
    included: they are the most urgent), open work orders."""
    def count(model: type[Any], *where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "open_sales_orders": count(SalesOrder, SalesOrder.status.in_([st.value for st in OPEN_ORDER_STATUSES])),
        "lines_due_soon": count(
            SalesOrderLine, SalesOrderLine.status.in_([st.value for st in OPEN_LINE_STATUSES]),
            SalesOrderLine.due_date <= today + timedelta(days=days_ahead)),
        "open_work_orders": count(WorkOrder, WorkOrder.status.in_([st.value for st in OPEN_WORK_ORDER_STATUSES])),
    }
