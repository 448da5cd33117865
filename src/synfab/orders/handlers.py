"""How production follows its demand and its engineering: order line changes, cancellations and additions
(`service.propagation`) and BOM and routing revisions coming into effect (`service.revisions`) reach the work
orders in the same transaction."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from synfab.catalog.choices import DocumentStatus
from synfab.catalog.events import (
    BomRevisionObsoleted, BomRevisionReleased, BomRevisionSaved, RoutingRevisionObsoleted, RoutingRevisionReleased,
    RoutingRevisionSaved,
)
from synfab.core import clock
from synfab.core.bus import Event, MessageBus
from synfab.core.db import Database
from synfab.core.i18n import LazyText, _l
from synfab.core.live import LiveMessage
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import ReviewReason
from synfab.orders.events import (
    ProductionReleased, SalesOrderLineAdded, SalesOrderLineCancelled, SalesOrderLineChanged, WorkOrderCancelled,
    WorkOrderChanged, WorkOrderNeedsReview, WorkOrderRevised,
)
from synfab.orders.models import WorkOrder
from synfab.orders.service import propagation, revisions
from synfab.orders.service.work_orders import production_line_of
from synfab.plant.models import PlantNode

# Who plans: told of every change to the work orders in their scope.
PLANNERS = frozenset({"manager"})


def _plain(value: object) -> str:
    return format(Decimal(str(value)).normalize(), "f")


def follow_line_change(uow: UnitOfWork, event: SalesOrderLineChanged) -> None:
    note = f"{event.order_code}/{event.line_no}: {_plain(event.old_quantity)} → {_plain(event.new_quantity)}"
    propagation.line_changed(uow, event.line_id, note)


def follow_line_cancellation(uow: UnitOfWork, event: SalesOrderLineCancelled) -> None:
    propagation.line_cancelled(uow, event.line_id, f"{event.order_code}/{event.line_no}")


def release_added_line(uow: UnitOfWork, event: SalesOrderLineAdded) -> None:
    propagation.line_added(uow, event.order_id, event.line_id)


def follow_revision(uow: UnitOfWork, event: BomRevisionReleased | BomRevisionObsoleted | RoutingRevisionReleased
                    | RoutingRevisionObsoleted) -> None:
    """A revision released (or taken out of use) may change which one is in effect today: the material's open work
    orders follow. One released for a later day changes nothing yet (the daily turn applies it, `orders.jobs`)."""
    revisions.apply_effective_revisions(uow, material_id=event.material_id)


def follow_revision_dates(uow: UnitOfWork, event: BomRevisionSaved | RoutingRevisionSaved) -> None:
    """A released revision's dates changed (signed): which one is in effect today may have changed with them."""
    if event.status == DocumentStatus.RELEASED.value and not event.created:
        revisions.apply_effective_revisions(uow, material_id=event.material_id)


def _revised(event: WorkOrderRevised) -> LazyText:
    bom = event.new_bom_revision if event.new_bom_id != event.old_bom_id else None
    routing = event.new_routing_revision if event.new_routing_id != event.old_routing_id else None
    if bom is not None and routing is not None:
        return _l("Work order {code} now follows BOM revision {bom} and routing revision {routing}.",
                  code=event.code, bom=bom, routing=routing)
    if bom is not None:
        return _l("Work order {code} now follows BOM revision {revision}.", code=event.code, revision=bom)
    return _l("Work order {code} now follows routing revision {revision}.", code=event.code, revision=routing or "—")


def _what(event: Event) -> LazyText:
    if isinstance(event, WorkOrderNeedsReview):
        return _l("Work order {code} needs your decision: {reason} ({note}).", code=event.code,
                  reason=ReviewReason(event.reason).label, note=event.note or "—")
    if isinstance(event, WorkOrderChanged):
        return _l("Work order {code} changed: quantity {old_qty} → {new_qty}, due {old_due} → {new_due}.",
                  code=event.code, old_qty=_plain(event.old_quantity), new_qty=_plain(event.new_quantity),
                  old_due=event.old_due_date.isoformat(), new_due=event.new_due_date.isoformat())
    if isinstance(event, WorkOrderCancelled):
        return _l("Work order {code} was cancelled.", code=event.code)
    if isinstance(event, WorkOrderRevised):
        return _revised(event)
    assert isinstance(event, ProductionReleased)
    return _l("Production released: work order {code} and {n} for its components.", code=event.code,
              n=len(event.work_order_ids) - 1)


def tell_live(db: Database, event: Event) -> None:
    """After commit: the planners and the operators on shift at the work order's work centers see it at once."""
    from synfab.people.skills.service import people_on_shift

    with db.session() as s:
        wo = s.scalar(select(WorkOrder).where(WorkOrder.id == event.work_order_id))  # type: ignore[attr-defined]
        if wo is None:
            return
        place = s.get(PlantNode, wo.production_line_id or wo.site_id)
        lines = {production_line_of(s, op.work_center_id) for op in wo.operations} - {None}
        now = clock.now()
        on_shift = frozenset(name for line in lines for name in people_on_shift(s, line, now))  # type: ignore[arg-type]
        db.live.publish(LiveMessage(
            topic="work_order", object_type="work_order", path=place.path if place else None, text=_what(event),
            link=f"/orders/work-orders/{wo.id}", event_id=event.id, causation_id=event.causation_id,
            correlation_id=event.correlation_id, roles=PLANNERS, usernames=on_shift))


def register(bus: MessageBus) -> None:
    bus.on(SalesOrderLineChanged, follow_line_change)
    bus.on(SalesOrderLineCancelled, follow_line_cancellation)
    bus.on(SalesOrderLineAdded, release_added_line)
    for revised in (BomRevisionReleased, BomRevisionObsoleted, RoutingRevisionReleased, RoutingRevisionObsoleted):
        bus.on(revised, follow_revision, name=f"orders.follow_{revised.__name__}")
    for saved in (BomRevisionSaved, RoutingRevisionSaved):
        bus.on(saved, follow_revision_dates, name=f"orders.follow_{saved.__name__}")
    for told in (WorkOrderNeedsReview, WorkOrderChanged, WorkOrderCancelled, WorkOrderRevised, ProductionReleased):
        bus.deliver(told, tell_live, name=f"orders.live.{told.__name__}")
