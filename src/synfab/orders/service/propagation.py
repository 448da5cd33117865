"""Order changes reach production by themselves: what the in-transaction handlers (`orders.handlers`) do.

- A line's quantity changes: its work order and, under it, every component's work order take the new quantity
  (BOM quantities per parent) — unless its work has started: then it keeps its quantity and waits for the planner
  (`review_reason`, event `WorkOrderNeedsReview`). Due date and priority always follow (the schedule re-plans).
- A line is cancelled: its work orders not started are cancelled, component work orders first; started ones wait
  for the planner.
- A line is added to an order already in production: it is released too.

A BOM or routing revision coming into effect reaches the work orders the same way (`service.revisions`).

Reservations, shortages, suggestions and the schedule follow from the work order events these changes record
(their contexts' handlers), all in the same transaction and with the causation chain kept.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.choices import Sourcing
from synfab.catalog.models import Bom
from synfab.core.db import check_version
from synfab.core.errors import Invalid
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import (
    CANCELLABLE_WORK_ORDER_STATUSES, NOT_STARTED_OPERATION_STATUSES, OPEN_WORK_ORDER_STATUSES, LineStatus, Priority,
    ReviewReason, WorkOrderStatus,
)
from synfab.orders.events import WorkOrderNeedsReview, WorkOrderReviewed
from synfab.orders.models import SalesOrderLine, WorkOrder
from synfab.orders.schemas import WorkOrderUpdate
from synfab.orders.service.release import QTY_STEP, component_quantity, release_sales_order_line
from synfab.orders.service.work_orders import cancel_work_order, change_work_order, get_work_order


def started(wo: WorkOrder) -> bool:
    """Work has begun: the work order is in progress or any operation left its not-started states."""
    return wo.status == WorkOrderStatus.IN_PROGRESS or any(
        op.status not in NOT_STARTED_OPERATION_STATUSES for op in wo.operations)


def open_children(s: Session, wo: WorkOrder) -> list[WorkOrder]:
    """The component work orders under this one still open."""
    return list(s.scalars(select(WorkOrder).where(
        WorkOrder.parent_id == wo.id, WorkOrder.status.in_([st.value for st in OPEN_WORK_ORDER_STATUSES]))
        .order_by(WorkOrder.id)))


def line_work_order(uow: UnitOfWork, line_id: int) -> WorkOrder | None:
    """The line's own open work order (not a component's)."""
    return uow.session.scalar(select(WorkOrder).where(
        WorkOrder.sales_order_line_id == line_id, WorkOrder.parent_id.is_(None),
        WorkOrder.status.in_([s.value for s in OPEN_WORK_ORDER_STATUSES])).order_by(WorkOrder.id).limit(1))


def flag_for_review(uow: UnitOfWork, wo: WorkOrder, reason: ReviewReason, note: str, *,
                    new_bom_id: int | None = None, new_routing_id: int | None = None) -> None:
    """Leave the decision to the planner: the work order shows why (`review_reason`, `review_note`) and the
    planners are told (event WorkOrderNeedsReview, with the revisions it did not take, if that is why)."""
    wo.review_reason, wo.review_note = reason, note[:200]
    uow.flush()
    uow.record(WorkOrderNeedsReview(work_order_id=wo.id, code=wo.code, reason=reason.value, note=wo.review_note,
                                    production_line_id=wo.production_line_id, new_bom_id=new_bom_id,
                                    new_routing_id=new_routing_id))


def _component_needs(uow: UnitOfWork, wo: WorkOrder, quantity: Decimal) -> dict[int, Decimal]:
    """What `quantity` of the work order's product needs of each component it makes (in the component's unit)."""
    if wo.bom_id is None:
        return {}
    return make_component_needs(uow.session, uow.session.get(Bom, wo.bom_id), quantity)


def make_component_needs(s: Session, bom: Bom, quantity: Decimal) -> dict[int, Decimal]:
    """What `quantity` of a BOM's product needs of each component the plant makes (in the component's unit)."""
    needs: dict[int, Decimal] = {}
    for line in bom.lines:
        component = line.component
        if component.sourcing != Sourcing.MAKE:
            continue
        qty = catalog.convert(s, component_quantity(bom, quantity, line.quantity, line.scrap_factor), line.unit_id,
                              component.unit_id, component.id)
        needs[component.id] = needs.get(component.id, Decimal(0)) + qty
    return needs


def share_needs(children: list[WorkOrder], needs: dict[int, Decimal]) -> list[tuple[WorkOrder, Decimal | None]]:
    """Each component work order's part of what its parent now needs of its material (None: no longer needed).
    A component on several BOM lines has one work order per line: the need is shared in proportion to their
    quantities (the last takes the rounding). The materials shared out are taken off `needs`."""
    by_material: dict[int, list[WorkOrder]] = {}
    for child in children:
        by_material.setdefault(child.material_id, []).append(child)
    shares: list[tuple[WorkOrder, Decimal | None]] = []
    for material_id, group in by_material.items():
        need = needs.pop(material_id, None)
        if need is None:
            shares += [(child, None) for child in group]
            continue
        total, left = sum((c.quantity for c in group), Decimal(0)), Decimal(need)
        for i, child in enumerate(group):
            part = left if i == len(group) - 1 else (
                (Decimal(need) * child.quantity / total).quantize(QTY_STEP) if total > 0 else Decimal(0))
            shares.append((child, part))
            left -= part
    return shares


def follow(uow: UnitOfWork, wo: WorkOrder, quantity: Decimal, due: object, priority: Priority, note: str,
           reason: ReviewReason = ReviewReason.QUANTITY_CHANGED) -> None:
    """Let a work order (and the component work orders under it) take a new quantity, due date and priority;
    one whose work has started keeps its quantity and is flagged with `reason`."""
    new_quantity = quantity
    if Decimal(quantity) != wo.quantity and started(wo):
        flag_for_review(uow, wo, reason, note)
        new_quantity = wo.quantity
    if (Decimal(new_quantity), due, priority) != (wo.quantity, wo.due_date, wo.priority):
        change_work_order(uow, wo.id, WorkOrderUpdate(version=wo.version, quantity=new_quantity, due_date=due,
                                                      priority=priority))
    needs = _component_needs(uow, wo, wo.quantity)
    for child, need in share_needs(open_children(uow.session, wo), needs):
        if need is not None:
            follow(uow, child, need, due, priority, note, reason)


def cancel_tree(uow: UnitOfWork, wo: WorkOrder, note: str, reason: ReviewReason = ReviewReason.CANCELLED) -> None:
    """Cancel a work order and the component work orders under it, children first; started ones are flagged
    with `reason`."""
    for child in open_children(uow.session, wo):
        cancel_tree(uow, child, note, reason)
    if wo.status in CANCELLABLE_WORK_ORDER_STATUSES and not started(wo):
        cancel_work_order(uow, wo.id)
    else:
        flag_for_review(uow, wo, reason, note)


def line_changed(uow: UnitOfWork, line_id: int, note: str) -> None:
    line = uow.session.scalar(select(SalesOrderLine).where(SalesOrderLine.id == line_id))
    wo = line_work_order(uow, line_id)
    if line is None or wo is None:
        return
    follow(uow, wo, line.quantity, line.due_date, line.priority, note)


def line_cancelled(uow: UnitOfWork, line_id: int, note: str) -> None:
    wo = line_work_order(uow, line_id)
    if wo is not None:
        cancel_tree(uow, wo, note)


def line_added(uow: UnitOfWork, order_id: int, line_id: int) -> None:
    """A line added to an order whose other lines are released is released too."""
    line = uow.session.scalar(select(SalesOrderLine).where(SalesOrderLine.id == line_id))
    if line is None or line.status != LineStatus.OPEN:
        return
    siblings = [ln for ln in line.order.lines if ln.id != line.id]
    if any(ln.status == LineStatus.RELEASED for ln in siblings) and \
            catalog.effective_routing(uow.session, line.material_id, line.due_date) is not None:
        release_sales_order_line(uow, order_id, line_id)


def mark_reviewed(uow: UnitOfWork, work_order_id: int, version: int | None = None) -> WorkOrder:
    """The planner has decided about a flagged work order (changed or cancelled it by hand, or kept it): the flag
    goes, with the decision in the record's history (event WorkOrderReviewed)."""
    wo = get_work_order(uow.session, work_order_id)
    check_version(wo, version)
    if wo.review_reason is None:
        raise Invalid("work_order_not_flagged", _l("Work order {code} is not waiting for a decision.", code=wo.code))
    reason = wo.review_reason
    wo.review_reason, wo.review_note = None, None
    uow.flush()
    uow.record(WorkOrderReviewed(work_order_id=wo.id, code=wo.code, reason=reason.value))
    return wo
