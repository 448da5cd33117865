"""The schedule follows production by itself: every change to released work rebuilds it, in the same
transaction as the change (only what changed is read again and written).

The first change in a transaction records `ScheduleRebuildRequested`; later ones only add their work orders to
it. The request is handled after the events recorded before it — those of the change itself and of the handlers
that propagate it — so one transaction rebuilds the schedule once.
"""

from __future__ import annotations

from typing import Any

from synfab.core.bus import Event, MessageBus
from synfab.core.db import Database
from synfab.core.i18n import _l
from synfab.core.live import LiveMessage
from synfab.core.uow import UnitOfWork
from synfab.orders import events as orders
from synfab.orders.handlers import PLANNERS
from synfab.orders.models import WorkOrder
from synfab.planning.schedule import service
from synfab.planning.schedule.events import BreakdownReported, ScheduleRebuildRequested, WorkOrderAtRisk
from synfab.plant.models import PlantNode
from synfab.plant import events as plant_events

# Everything that moves released work: released, changed, revised (operations replaced), cancelled, started,
# paused, resumed, reported, done.
TRIGGERS: tuple[type[Event], ...] = (
    orders.ProductionReleased, orders.WorkOrderChanged, orders.WorkOrderCancelled, orders.OperationStarted,
    orders.OperationPaused, orders.OperationResumed, orders.OperationCompleted, orders.WorkOrderCompleted,
    orders.SalesOrderLineChanged, orders.ProductionReported, orders.WorkOrderRevised,
)
# Working time changed: the calendars kept in memory are dropped and the schedule rebuilt.
CALENDAR_TRIGGERS: tuple[type[Event], ...] = (
    plant_events.ShiftCalendarChanged, plant_events.PlantNodeChanged, plant_events.PlantNodeMoved,
)
PENDING = "planning.schedule.pending"


def touched_work_orders(uow: UnitOfWork, event: Event) -> list[int] | None:
    """The work orders an event changed (None: unknown, read everything again)."""
    if isinstance(event, orders.ProductionReleased):
        return list(event.work_order_ids)
    if isinstance(event, orders.SalesOrderLineChanged):
        return service.work_orders_of_line(uow.session, event.line_id)
    work_order_id = getattr(event, "work_order_id", None)
    return [work_order_id] if isinstance(work_order_id, int) else None


def _request(uow: UnitOfWork, event: Event, ids: list[int] | None) -> None:
    pending: dict[str, Any] | None = uow.session.info.get(PENDING)
    if pending is None:
        pending = uow.session.info[PENDING] = {"ids": set(), "all": False}
        uow.record(ScheduleRebuildRequested(trigger=event.type_name))
    if ids is None:
        pending["all"] = True
    else:
        pending["ids"].update(ids)


def request_after_change(uow: UnitOfWork, event: Event) -> None:
    _request(uow, event, touched_work_orders(uow, event))


def request_after_calendar_change(uow: UnitOfWork, event: Event) -> None:
    service.forget_calendars(uow.session)
    _request(uow, event, None)


def rebuild_requested(uow: UnitOfWork, event: ScheduleRebuildRequested) -> None:
    pending = uow.session.info.pop(PENDING, None)
    # None: a retry from the outbox, in a transaction of its own — everything is read again.
    ids = None if pending is None or pending["all"] else pending["ids"]
    service.reschedule(uow, event.trigger, ids)


def tell_live(db: Database, event: Event) -> None:
    """After commit: the planners of the place (and, for a breakdown, everyone who may see it) are told at once."""
    with db.session() as s:
        if isinstance(event, BreakdownReported):
            node = s.get(PlantNode, event.work_center_id)
            text = _l("{center} is down: {reason}. {n} work orders re-planned.", center=event.work_center_code,
                      reason=event.reason, n=len(event.affected_work_order_ids))
            link, roles = f"/terminal/work-centers/{event.work_center_id}", frozenset()
        else:
            wo = s.get(WorkOrder, event.work_order_id)  # type: ignore[attr-defined]
            node = s.get(PlantNode, wo.production_line_id or wo.site_id) if wo is not None else None
            text = _l("Work order {code} is at risk: about {minutes} minutes late for {due}.", code=event.code,
                      minutes=event.lateness_minutes, due=event.due_date.isoformat())  # type: ignore[attr-defined]
            link, roles = f"/orders/work-orders/{event.work_order_id}", PLANNERS  # type: ignore[attr-defined]
        if node is None:
            return
        db.live.publish(LiveMessage(topic="schedule", object_type="work_order", path=node.path, text=text, link=link,
                                    event_id=event.id, causation_id=event.causation_id,
                                    correlation_id=event.correlation_id, roles=roles))


MACHINE_REASON = "machine signal"  # how a breakdown this module reports from a machine's state is told apart
MACHINE_EXPECTED_MINUTES = 30


def machine_down(db: Database, event: Event) -> None:
    """A machine stopped unplanned: its work center is reported down (once), so the schedule moves its work."""
    from synfab.core.context import SYSTEM, acting_as
    from synfab.telemetry.events import MachineDown

    assert isinstance(event, MachineDown)
    if event.work_center_id is None:
        return
    with acting_as(SYSTEM), db.uow() as uow:
        if service.open_breakdowns(uow.session, [event.work_center_id]):
            return  # already reported (by a person, or by an earlier delivery of this event)
        service.report_breakdown(uow, event.work_center_id, f"{event.equipment_code}: {MACHINE_REASON}",
                                 MACHINE_EXPECTED_MINUTES)
        uow.commit()


def machine_back(db: Database, event: Event) -> None:
    """A machine left `down`: the breakdown reported from its signal ends (one a person reported stays theirs)."""
    from synfab.core.context import SYSTEM, acting_as
    from synfab.telemetry.events import MachineStateChanged

    assert isinstance(event, MachineStateChanged)
    if event.previous != "down" or event.state in ("down", "offline"):
        return
    with acting_as(SYSTEM), db.uow() as uow:
        from synfab.plant.models import PlantNode as Node

        node = uow.session.get(Node, event.equipment_id)
        center = node.id if node is None or node.level.value == "work_center" else node.parent_id
        for outage in service.open_breakdowns(uow.session, [center] if center else []):
            if outage.reason.endswith(MACHINE_REASON):
                service.end_breakdown(uow, outage.id)
        uow.commit()


def register(bus: MessageBus) -> None:
    from synfab.telemetry.events import MachineDown, MachineStateChanged

    bus.deliver(MachineDown, machine_down, name=f"{__name__}.machine_down")
    bus.deliver(MachineStateChanged, machine_back, name=f"{__name__}.machine_back")
    for told in (BreakdownReported, WorkOrderAtRisk):
        bus.deliver(told, tell_live, name=f"{__name__}.live.{told.__name__}")
    for event_type in TRIGGERS:
        bus.on(event_type, request_after_change, name=f"{__name__}.request_after_{event_type.__name__}")
    for event_type in CALENDAR_TRIGGERS:
        bus.on(event_type, request_after_calendar_change, name=f"{__name__}.request_after_{event_type.__name__}")
    bus.on(ScheduleRebuildRequested, rebuild_requested)
