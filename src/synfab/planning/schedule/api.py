"""Dispatch schedule JSON API: the schedule, a work center's dispatch list, a work order's planned operations and
projection, work orders at risk, rebuild, and breakdowns of work centers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from synfab.people.service import Principal
from synfab.planning.schedule import service
from synfab.planning.schedule.schemas import (
    AtRiskRead,
    BreakdownCreate,
    BreakdownEnd,
    BreakdownRead,
    RebuildRead,
    ScheduledOperationRead,
    WorkOrderScheduleRead,
)
from synfab.web.deps import SessionDep, UowDep, require

router = APIRouter(prefix="/api/v1", tags=["schedule"])

Viewer = Annotated[Principal, require("work_order.view")]
Changer = Annotated[Principal, require("work_order.change")]


def _lines(lines: list[service.ScheduledLine]) -> list[ScheduledOperationRead]:
    return [ScheduledOperationRead.model_validate(line) for line in lines]


@router.get("/schedule")
def get_schedule(session: SessionDep, user: Viewer, node_id: int | None = None,
                 date_from: datetime | None = None, date_to: datetime | None = None, at_risk: bool | None = None,
                 limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[ScheduledOperationRead]:
    """Scheduled operations by planned start: on the work centers at or under `node_id` (a work center, line,
    area or site), overlapping the period from `date_from` to `date_to`, of work orders at risk only if asked."""
    return _lines(service.list_schedule(session, node_id=node_id, date_from=date_from, date_to=date_to,
                                        at_risk=at_risk, limit=limit, offset=offset))


@router.get("/schedule/work-centers/{node_id}/dispatch-list")
def get_dispatch_list(node_id: int, session: SessionDep, user: Viewer) -> list[ScheduledOperationRead]:
    """The operations of a work center in the order they are to run (of every work center under a line)."""
    return _lines(service.dispatch_list(session, node_id))


@router.get("/schedule/work-orders/{work_order_id}")
def get_work_order_schedule(work_order_id: int, session: SessionDep, user: Viewer) -> WorkOrderScheduleRead:
    """A work order's planned operations and its projected completion against the due date."""
    found = service.schedule_for_work_order(session, work_order_id)
    return WorkOrderScheduleRead(
        work_order_id=found.work_order_id, code=found.code, due_date=found.due_date, due_at=found.due_at,
        projected_start=found.projected_start, projected_end=found.projected_end, at_risk=found.at_risk,
        lateness_minutes=found.lateness_minutes, scheduled=found.scheduled, operations=_lines(found.operations))


@router.get("/schedule/at-risk")
def get_at_risk(session: SessionDep, user: Viewer) -> list[AtRiskRead]:
    """Released work orders projected to finish after their due date, the latest first."""
    return [AtRiskRead.model_validate(w) for w in service.at_risk_work_orders(session)]


@router.post("/schedule/rebuild")
def rebuild(uow: UowDep, user: Changer) -> RebuildRead:
    """Rebuild the whole schedule from now (it also follows every change by itself)."""
    result = service.rebuild_schedule(uow, "manual", full=True)
    uow.commit()
    return RebuildRead.model_validate(result)


@router.get("/breakdowns")
def list_breakdowns(session: SessionDep, user: Viewer) -> list[BreakdownRead]:
    """Breakdowns of work centers not ended yet."""
    return [BreakdownRead.model_validate(o) for o in service.open_breakdowns(session)]


@router.post("/work-centers/{node_id}/breakdowns", status_code=201)
def report_breakdown(node_id: int, body: BreakdownCreate, uow: UowDep, user: Changer) -> BreakdownRead:
    """Report a work center down from now: its work moves past the expected end, late work orders are flagged."""
    outage = service.report_breakdown(uow, node_id, body.reason, body.expected_minutes, body.note)
    uow.commit()
    return BreakdownRead.model_validate(outage)


@router.post("/breakdowns/{outage_id}/end")
def end_breakdown(outage_id: int, uow: UowDep, user: Changer, body: BreakdownEnd | None = None) -> BreakdownRead:
    """The work center runs again: the schedule moves its work forward."""
    outage = service.end_breakdown(uow, outage_id, body.version if body else None)
    uow.commit()
    return BreakdownRead.model_validate(outage)
