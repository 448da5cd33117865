"""Working time: which shifts run when, and how much planned operation time lies between two instants.

Pure (no database): `plant.service.working_time_for` loads one for a node; the scheduler and the
metrics engine keep it and ask it many times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from synfab.core.clock import as_utc


@dataclass(frozen=True)
class BreakPattern:
    start: time
    end: time


@dataclass(frozen=True)
class ShiftPattern:
    code: str
    name: str
    start: time
    end: time
    weekdays: str  # ISO weekdays the shift starts on, "12345"
    breaks: tuple[BreakPattern, ...] = ()


@dataclass(frozen=True)
class ShiftWindow:
    """One occurrence of a shift, clipped to the asked range; breaks are clipped too. Times in UTC."""

    shift_code: str
    shift_name: str
    day: date  # the local date the shift started on
    start: datetime
    end: datetime
    breaks: tuple[tuple[datetime, datetime], ...]

    @property
    def planned(self) -> timedelta:
        return (self.end - self.start) - sum((b[1] - b[0] for b in self.breaks), timedelta())


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


class WorkingTime:
    """Shift patterns of one calendar, in one time zone, with its holidays and extra working days.

    With no shifts at all, the time is always planned (24/7): a node without a calendar is not idle.
    """

    def __init__(self, tz: str | ZoneInfo, shifts: list[ShiftPattern], exceptions: dict[date, bool] | None = None,
                 always: bool = False) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.shifts = shifts
        self.exceptions = exceptions or {}
        self.always = always or not shifts

    def _runs(self, shift: ShiftPattern, day: date) -> bool:
        exception = self.exceptions.get(day)
        if exception is False:
            return False
        return exception is True or str(day.isoweekday()) in shift.weekdays

    def windows(self, start: datetime, end: datetime) -> list[ShiftWindow]:
        """Shift occurrences overlapping [start, end), clipped to it, in time order."""
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            return []
        if self.always:
            return [ShiftWindow("24x7", "24x7", start.astimezone(self.tz).date(), start, end, ())]
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        found: list[ShiftWindow] = []
        day = first
        while day <= last:
            for shift in self.shifts:
                if not self._runs(shift, day):
                    continue
                s_start = _local(day, shift.start, self.tz)
                s_end = _local(day if shift.end > shift.start else day + timedelta(days=1), shift.end, self.tz)
                lo, hi = max(as_utc(s_start), start), min(as_utc(s_end), end)
                if lo >= hi:
                    continue
                breaks = []
                for b in shift.breaks:
                    # A break earlier on the clock than the shift start lies after midnight.
                    b_day = day if b.start >= shift.start else day + timedelta(days=1)
                    b_start = _local(b_day, b.start, self.tz)
                    b_end = _local(b_day if b.end > b.start else b_day + timedelta(days=1), b.end, self.tz)
                    b_lo, b_hi = max(as_utc(b_start), lo), min(as_utc(b_end), hi)
                    if b_lo < b_hi:
                        breaks.append((b_lo, b_hi))
                found.append(ShiftWindow(shift.code, shift.name, day, lo, hi, tuple(breaks)))
            day += timedelta(days=1)
        found.sort(key=lambda w: w.start)
        return found

    def planned_time(self, start: datetime, end: datetime) -> timedelta:
        """Planned operation time between two instants: shift time minus breaks (overlaps counted once)."""
        spans: list[tuple[datetime, datetime]] = []
        for w in self.windows(start, end):
            cursor = w.start
            for b_lo, b_hi in sorted(w.breaks):
                if cursor < b_lo:
                    spans.append((cursor, b_lo))
                cursor = max(cursor, b_hi)
            if cursor < w.end:
                spans.append((cursor, w.end))
        spans.sort()
        total, reach = timedelta(), None
        for lo, hi in spans:  # union, in case two shifts of one calendar overlap
            if reach is not None and lo < reach:
                lo = reach
            if hi > lo:
                total += hi - lo
                reach = hi
        return total

    def shift_at(self, at: datetime) -> ShiftWindow | None:
        """The shift running at an instant (None between shifts); a break still belongs to its shift."""
        at = as_utc(at)
        for w in self.windows(at - timedelta(days=1), at + timedelta(days=1)):
            if w.start <= at < w.end:
                return w
        return None
