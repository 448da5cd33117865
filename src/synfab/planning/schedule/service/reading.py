"""Reading the schedule within the reader's scope: the schedule, dispatch lists, a work order's schedule and
projection, the work orders at risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.errors import NotFound
from synfab.core.i18n import _l
from synfab.orders.choices import OperationStatus, Priority
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.planning.schedule.models import ScheduledOperation, ScheduleRun, WorkOrderProjection
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode


@dataclass(frozen=True)
class ScheduledLine:
    """One operation on the schedule, with what an operator or planner needs to see about it."""

    operation_id: int
    work_order_id: int
    work_order_code: str
    material_id: int
    material_code: str
    material_name: str
    seq: int
    name: str
    work_center_id: int | None
    work_center_code: str | None
    sequence: int
    quantity: Decimal
    good_qty: Decimal
    scrap_qty: Decimal
    status: OperationStatus
    planned_minutes: Decimal
    planned_start: datetime | None
    planned_end: datetime | None
    due_date: date
    priority: Priority
    at_risk: bool
    version: int  # the operation's, for the terminal's optimistic lock


def _lines(session: Session, stmt: Any) -> list[ScheduledLine]:
    rows = session.execute(stmt).all()
    centers = plant.nodes_by_id(session, {r[0].work_center_id for r in rows if r[0].work_center_id})
    found = []
    for sched, op, wo, at_risk in rows:
        wc = centers.get(sched.work_center_id) if sched.work_center_id else None
        found.append(ScheduledLine(
            operation_id=op.id, work_order_id=wo.id, work_order_code=wo.code, material_id=wo.material_id,
            material_code=wo.material.code, material_name=wo.material.name, seq=op.seq, name=op.name,
            work_center_id=sched.work_center_id, work_center_code=wc.code if wc else None, sequence=sched.sequence,
            quantity=wo.quantity, good_qty=op.good_qty, scrap_qty=op.scrap_qty, status=op.status,
            planned_minutes=op.planned_minutes, planned_start=sched.planned_start, planned_end=sched.planned_end,
            due_date=wo.due_date, priority=wo.priority, at_risk=bool(at_risk), version=op.version))
    return found


def _base() -> Any:
    return (select(ScheduledOperation, WorkOrderOperation, WorkOrder, WorkOrderProjection.at_risk)
            .join(WorkOrderOperation, WorkOrderOperation.id == ScheduledOperation.operation_id)
            .join(WorkOrder, WorkOrder.id == ScheduledOperation.work_order_id)
            .outerjoin(WorkOrderProjection, WorkOrderProjection.work_order_id == WorkOrder.id))


def schedule_node(session: Session, node_id: int) -> PlantNode:
    """A plant node whose schedule the reader may see (a work center, or a line, area or site above them)."""
    node = session.scalar(select(PlantNode).where(PlantNode.id == node_id))
    restriction = session.info.get("restriction")
    if node is None or (restriction is not None and not restriction.allows_node("work_order", "view", node.path)):
        raise NotFound("plant_node_not_found", _l("There is no plant node {id} whose schedule you may see.",
                                                  id=node_id))
    return node


def list_schedule(session: Session, *, node_id: int | None = None, date_from: datetime | None = None,
                  date_to: datetime | None = None, at_risk: bool | None = None, limit: int = 1000,
                  offset: int = 0) -> list[ScheduledLine]:
    """Scheduled operations in the reader's scope by planned start: on the work centers at or under `node_id`,
    overlapping [`date_from`, `date_to`), only those of work orders at risk when asked."""
    stmt = _base()
    if node_id is not None:
        node = schedule_node(session, node_id)
        centers = select(PlantNode.id).where(or_(PlantNode.id == node.id, PlantNode.path.startswith(node.path)))
        stmt = stmt.where(ScheduledOperation.work_center_id.in_(centers))
    if date_from is not None:
        stmt = stmt.where(ScheduledOperation.planned_end >= clock.as_utc(date_from))
    if date_to is not None:
        stmt = stmt.where(ScheduledOperation.planned_start < clock.as_utc(date_to))
    if at_risk is not None:
        stmt = stmt.where(WorkOrderProjection.at_risk.is_(at_risk))
    stmt = stmt.order_by(ScheduledOperation.planned_start.is_(None), ScheduledOperation.planned_start,
                         ScheduledOperation.work_center_id, ScheduledOperation.sequence)
    return _lines(session, stmt.limit(limit).offset(offset))


def dispatch_list(session: Session, work_center_id: int) -> list[ScheduledLine]:
    """The operations planned on a work center (or on every work center under a line) in the order they are to
    run: started ones first, then by planned start. What the operator terminal shows."""
    node = schedule_node(session, work_center_id)
    if node.level == Level.WORK_CENTER:
        where: Any = ScheduledOperation.work_center_id == node.id
    else:
        where = ScheduledOperation.work_center_id.in_(select(PlantNode.id).where(PlantNode.path.startswith(node.path)))
    stmt = _base().where(where).order_by(ScheduledOperation.work_center_id, ScheduledOperation.sequence)
    return _lines(session, stmt)


@dataclass(frozen=True)
class WorkOrderSchedule:
    work_order_id: int
    code: str
    due_date: date
    due_at: datetime | None
    projected_start: datetime | None
    projected_end: datetime | None
    at_risk: bool
    lateness_minutes: int
    scheduled: bool  # False: not released, or nothing left to do
    operations: list[ScheduledLine]


def schedule_for_work_order(session: Session, work_order_id: int) -> WorkOrderSchedule:
    """A work order's planned operations and its projected completion against the due date."""
    wo = session.scalar(select(WorkOrder).where(WorkOrder.id == work_order_id))
    if wo is None:
        raise NotFound("work_order_not_found", _l("Work order {id} does not exist.", id=work_order_id))
    projection = session.scalar(select(WorkOrderProjection).where(WorkOrderProjection.work_order_id == wo.id))
    lines = _lines(session, _base().where(ScheduledOperation.work_order_id == wo.id).order_by(WorkOrderOperation.seq))
    if projection is None:
        return WorkOrderSchedule(wo.id, wo.code, wo.due_date, None, None, None, False, 0, False, lines)
    return WorkOrderSchedule(wo.id, wo.code, wo.due_date, projection.due_at, projection.projected_start,
                             projection.projected_end, projection.at_risk, projection.lateness_minutes, True, lines)


@dataclass(frozen=True)
class AtRiskWorkOrder:
    work_order_id: int
    code: str
    material_code: str
    priority: Priority
    due_date: date
    projected_end: datetime | None
    lateness_minutes: int


def at_risk_work_orders(session: Session, limit: int = 500) -> list[AtRiskWorkOrder]:
    """Released work orders projected to finish after their due date (the latest first)."""
    stmt = (select(WorkOrderProjection, WorkOrder).join(WorkOrder, WorkOrder.id == WorkOrderProjection.work_order_id)
            .where(WorkOrderProjection.at_risk.is_(True))
            .order_by(WorkOrderProjection.lateness_minutes.desc(), WorkOrder.code).limit(limit))
    return [AtRiskWorkOrder(wo.id, wo.code, wo.material.code, wo.priority, wo.due_date, p.projected_end,
                            p.lateness_minutes) for p, wo in session.execute(stmt)]


def last_run(session: Session) -> ScheduleRun | None:
    return session.scalar(select(ScheduleRun).order_by(ScheduleRun.id.desc()).limit(1))


def work_centers(session: Session) -> list[PlantNode]:
    """The work centers whose schedule the reader may see, in plant order."""
    restriction = session.info.get("restriction")
    return [n for n in plant.list_nodes(session, levels=[Level.WORK_CENTER])
            if restriction is None or restriction.allows_node("work_order", "view", n.path)]
