"""Breakdowns of work centers: reported, ended, and the schedule rebuilt around them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.context import current_actor
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.planning.schedule.events import BreakdownEnded, BreakdownReported
from synfab.planning.schedule.models import WorkCenterOutage
from synfab.planning.schedule.service.rebuild import rebuild_schedule
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode

MAX_BREAKDOWN_MINUTES = 30 * 24 * 60


def _work_center(session: Session, node_id: int, action: str) -> PlantNode:
    node = session.scalar(select(PlantNode).where(PlantNode.id == node_id))
    restriction = session.info.get("restriction")
    if node is None or (restriction is not None and not restriction.allows_node("work_order", action, node.path)):
        raise NotFound("work_center_not_found", _l("There is no work center {id} you may plan.", id=node_id))
    if node.level != Level.WORK_CENTER:
        raise Invalid("not_a_work_center", _l("{code} is a {level}, not a work center.", code=node.code,
                                              level=node.level.label))
    return node


def report_breakdown(uow: UnitOfWork, work_center_id: int, reason: str, expected_minutes: int,
                     note: str | None = None) -> WorkCenterOutage:
    """Report a work center broken down from now for about `expected_minutes`: the schedule is rebuilt around it
    (its operations move past the expected end), the work orders that move are named on `BreakdownReported`,
    and those now late are flagged at risk. A work center already down is refused (end that breakdown first)."""
    s = uow.session
    node = _work_center(s, work_center_id, "change")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("breakdown_reason_required", _l("Say why the work center is down."))
    if len(reason) > 200:
        raise Invalid("breakdown_reason_too_long", _l("Keep the reason under 200 characters."))
    if not 1 <= expected_minutes <= MAX_BREAKDOWN_MINUTES:
        raise Invalid("breakdown_minutes_out_of_range", _l(
            "The expected duration must be between 1 and {max} minutes.", max=MAX_BREAKDOWN_MINUTES))
    already = s.scalar(select(WorkCenterOutage).where(WorkCenterOutage.work_center_id == node.id,
                                                      WorkCenterOutage.ended_at.is_(None)))
    if already is not None:
        raise Conflict("breakdown_already_open", _l(
            "{code} is already reported down since {at} UTC; end that breakdown first.", code=node.code,
            at=already.started_at.strftime("%Y-%m-%d %H:%M")))
    now = clock.now()
    outage = WorkCenterOutage(work_center_id=node.id, started_at=now,
                              expected_until=now + timedelta(minutes=expected_minutes), reason=reason, note=note,
                              reported_by=current_actor().username)
    # Whoever may change work at this work center may report it down (an operator): the outage is the schedule's
    # record, written as the system once that permission was checked above.
    with uow.as_system():
        s.add(outage)
        s.flush()
    result = rebuild_schedule(uow, "BreakdownReported", full=False)
    uow.record(BreakdownReported(outage_id=outage.id, work_center_id=node.id, work_center_code=node.code,
                                 reason=reason, expected_until=outage.expected_until,
                                 reported_by=outage.reported_by, affected_work_order_ids=result.changed_work_order_ids))
    return outage


def get_breakdown(session: Session, outage_id: int) -> WorkCenterOutage:
    outage = session.scalar(select(WorkCenterOutage).where(WorkCenterOutage.id == outage_id))
    if outage is None:
        raise NotFound("breakdown_not_found", _l("Breakdown {id} does not exist.", id=outage_id))
    return outage


def end_breakdown(uow: UnitOfWork, outage_id: int, version: int | None = None) -> WorkCenterOutage:
    """The work center runs again: the breakdown ends now and the schedule is rebuilt (its work moves forward)."""
    s = uow.session
    outage = get_breakdown(s, outage_id)
    check_version(outage, version)
    if outage.ended_at is not None:
        raise Conflict("breakdown_already_ended", _l("This breakdown already ended at {at} UTC.",
                                                     at=outage.ended_at.strftime("%Y-%m-%d %H:%M")))
    outage.ended_at = clock.now()
    outage.ended_by = current_actor().username
    s.flush()
    rebuild_schedule(uow, "BreakdownEnded", full=False)
    uow.record(BreakdownEnded(outage_id=outage.id, work_center_id=outage.work_center_id,
                              work_center_code=outage.work_center.code, ended_by=outage.ended_by))
    return outage


def open_breakdowns(session: Session, work_center_ids: Sequence[int] | None = None) -> list[WorkCenterOutage]:
    """Breakdowns not ended yet (the reader's scope), oldest first."""
    stmt = select(WorkCenterOutage).where(WorkCenterOutage.ended_at.is_(None))
    if work_center_ids is not None:
        stmt = stmt.where(WorkCenterOutage.work_center_id.in_(list(work_center_ids)))
    return list(session.scalars(stmt.order_by(WorkCenterOutage.started_at, WorkCenterOutage.id)))
