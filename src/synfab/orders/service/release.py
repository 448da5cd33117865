"""Release: a sales order line (or a replenishment of stock) becomes work orders.

The product's work order comes first; then its bill of materials in effect on the due date is exploded, all
levels: every component the plant makes (sourcing `make`) becomes a child work order under the one that needs
it, for the quantity needed (per BOM base quantity, with the line's scrap factor, in the component's unit).
Bought components are left to materials planning. Each work order takes the operations of its routing in effect
(`create_work_order`), so planned times are setup + quantity × run.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_UP, Decimal

from sqlalchemy import select

from synfab.catalog import service as catalog
from synfab.catalog.choices import Sourcing
from synfab.catalog.models import Bom
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import OPEN_WORK_ORDER_STATUSES, LineStatus, WorkOrderStatus
from synfab.orders.events import ProductionReleased
from synfab.orders.models import SalesOrderLine, WorkOrder
from synfab.orders.schemas import WorkOrderCreate
from synfab.orders.service.sales_orders import get_sales_order_line, refresh_sales_order_status
from synfab.orders.service.work_orders import create_work_order

MAX_LEVELS = 20  # deeper than any real product; a deeper BOM is a loop the catalog did not catch
QTY_STEP = Decimal("0.000001")


def component_quantity(bom: Bom, quantity: Decimal, line_quantity: Decimal, scrap_factor: Decimal) -> Decimal:
    """How much of a component `quantity` of the BOM's product needs: per base quantity, plus the scrap
    expected, rounded up to the stored precision."""
    needed = quantity * line_quantity / (bom.base_quantity or Decimal(1)) * (1 + (scrap_factor or Decimal(0)))
    return needed.quantize(QTY_STEP, rounding=ROUND_UP)


def _explode(uow: UnitOfWork, parent: WorkOrder, made: list[WorkOrder], path: tuple[int, ...]) -> None:
    s = uow.session
    if parent.bom_id is None:
        return
    bom = s.get(Bom, parent.bom_id)
    for line in sorted(bom.lines, key=lambda bl: bl.position):
        component = line.component
        if component.sourcing != Sourcing.MAKE:
            continue
        if component.id in path or len(path) >= MAX_LEVELS:
            raise Invalid("bom_loop", _l(
                "The bill of materials of {material} contains itself through {component}; correct the BOM first.",
                material=parent.material.code, component=component.code))
        quantity = component_quantity(bom, parent.quantity, line.quantity, line.scrap_factor)
        quantity = catalog.convert(s, quantity, line.unit_id, component.unit_id, component.id)
        child = create_work_order(uow, WorkOrderCreate(material_id=component.id, quantity=quantity,
                                                       parent_id=parent.id))
        made.append(child)
        _explode(uow, child, made, (*path, component.id))


def release_work_order(uow: UnitOfWork, data: WorkOrderCreate) -> list[WorkOrder]:
    """Create a work order (for a sales order line, or for stock) with child work orders for every make
    component of its BOM, all levels. Returns them parent first; nothing is written when any of them fails
    (no routing in effect, no unit conversion, a BOM loop)."""
    top = create_work_order(uow, data)
    made = [top]
    _explode(uow, top, made, (top.material_id,))
    for wo in made:
        wo.status = WorkOrderStatus.RELEASED
    uow.flush()
    uow.record(ProductionReleased(work_order_id=top.id, code=top.code, sales_order_line_id=top.sales_order_line_id,
                                  work_order_ids=[wo.id for wo in made]))
    return made


# Released before and all its work orders cancelled: a line can be released again.
RELEASABLE_LINE_STATUSES = frozenset({LineStatus.OPEN, LineStatus.RELEASED})


def _open_work_order(work_orders: Iterable[WorkOrder]) -> WorkOrder | None:
    """The line's own (top-level) work order still open, if any."""
    return next((wo for wo in work_orders if wo.parent_id is None and wo.status in OPEN_WORK_ORDER_STATUSES), None)


def line_releasable(line: SalesOrderLine, work_orders: Iterable[WorkOrder]) -> bool:
    """Whether `release_sales_order_line` would take the line, given the work orders made for it."""
    return line.status in RELEASABLE_LINE_STATUSES and _open_work_order(work_orders) is None


def release_sales_order_line(uow: UnitOfWork, order_id: int, line_id: int,
                             version: int | None = None) -> list[WorkOrder]:
    """Release production of an open sales order line: its work orders (see `release_work_order`); the line
    becomes `released`. A line with an open work order already is refused; one whose work orders were all
    cancelled can be released again."""
    line: SalesOrderLine = get_sales_order_line(uow.session, order_id, line_id)
    order = line.order
    if version is not None:
        check_version(line, version)
    open_work = _open_work_order(uow.session.scalars(select(WorkOrder).where(WorkOrder.sales_order_line_id == line.id)))
    if open_work is not None:
        raise Conflict("line_already_released", _l(
            "Line {line_no} of sales order {code} is already released ({work_order}); change its work orders "
            "instead.", line_no=line.line_no, code=order.code, work_order=open_work.code))
    if line.status not in RELEASABLE_LINE_STATUSES:
        raise Invalid("sales_order_line_not_open", _l(
            "Line {line_no} of sales order {code} is {status}; only open lines can be released.",
            line_no=line.line_no, code=order.code, status=line.status.label))
    made = release_work_order(uow, WorkOrderCreate(sales_order_line_id=line.id))
    line.status = LineStatus.RELEASED
    refresh_sales_order_status(uow, order)
    return made
