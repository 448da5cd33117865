"""What happens to the dispatch schedule: rebuilt, work orders falling behind or back on track, breakdowns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class ScheduleRebuilt(Event):
    """The schedule was rebuilt: `trigger` names the event (or "manual"); only changed rows were written."""

    trigger: str
    full: bool
    operations: int
    changed_operations: int
    changed_work_order_ids: list[int]
    milliseconds: int


@dataclass(frozen=True, kw_only=True)
class WorkOrderAtRisk(Event):
    """A work order is now projected to finish after its due date (or cannot be planned at all)."""

    work_order_id: int
    code: str
    due_date: date
    projected_end: datetime | None
    lateness_minutes: int


@dataclass(frozen=True, kw_only=True)
class WorkOrderBackOnTrack(Event):
    """A work order at risk is projected to finish on time again."""

    work_order_id: int
    code: str
    due_date: date
    projected_end: datetime | None


@dataclass(frozen=True, kw_only=True)
class BreakdownReported(Event):
    outage_id: int
    work_center_id: int
    work_center_code: str
    reason: str
    expected_until: datetime
    reported_by: str
    affected_work_order_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class BreakdownEnded(Event):
    outage_id: int
    work_center_id: int
    work_center_code: str
    ended_by: str


@dataclass(frozen=True, kw_only=True)
class ScheduleRebuildRequested(Event):
    """Released work changed in this transaction: the schedule is rebuilt once, after the events recorded so far
    (several changes in one transaction — an order and its component work orders — make one rebuild)."""

    trigger: str
