"""Planned operation time from shift calendars, worked out by hand (Asia/Shanghai, no daylight saving)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from synfab.plant.calendar import BreakPattern, ShiftPattern, WorkingTime

SH = ZoneInfo("Asia/Shanghai")
THREE_SHIFTS = [
    ShiftPattern("A", "早班", time(6), time(14), "123456", (BreakPattern(time(10), time(10, 30)),)),
    ShiftPattern("B", "中班", time(14), time(22), "123456", (BreakPattern(time(18), time(18, 30)),)),
    ShiftPattern("C", "夜班", time(22), time(6), "123456", (BreakPattern(time(2), time(2, 30)),)),
]


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def hours(td: timedelta) -> float:
    return td.total_seconds() / 3600


def test_a_working_day_of_three_shifts_with_breaks() -> None:
    wt = WorkingTime(SH, THREE_SHIFTS)
    # Monday 23 Nov 00:00–24:00: the tail of Sunday's night shift does not exist (Sunday has no shift C),
    # A and B run fully (7.5 h each), C runs 22:00–24:00 of Monday's (2 h, its break is after midnight).
    assert hours(wt.planned_time(at(23), at(24))) == 7.5 + 7.5 + 2
    # Tuesday: Monday night's shift runs 00:00–06:00 with its 02:00 break (5.5 h), then A, B and C's first 2 h.
    assert hours(wt.planned_time(at(24), at(25))) == 5.5 + 7.5 + 7.5 + 2


def test_a_shift_crossing_midnight_belongs_to_the_day_it_started() -> None:
    wt = WorkingTime(SH, THREE_SHIFTS)
    windows = wt.windows(at(28, 20), at(29, 8))  # Saturday evening to Sunday morning
    assert [(w.shift_code, w.day) for w in windows] == [("B", date(2026, 11, 28)), ("C", date(2026, 11, 28))]
    night = windows[1]
    assert night.start == at(28, 22) and night.end == at(29, 6)
    assert night.breaks == ((at(29, 2), at(29, 2, 30)),)
    # Sunday has no shift starting: from 06:00 Sunday to 06:00 Monday nothing is planned.
    assert wt.planned_time(at(29, 6), at(30, 6)) == timedelta(0)


def test_clipping_to_the_asked_range_and_breaks_inside_it() -> None:
    wt = WorkingTime(SH, THREE_SHIFTS)
    assert hours(wt.planned_time(at(23, 9), at(23, 11))) == 1.5  # 09–11 minus the 10:00–10:30 break
    assert hours(wt.planned_time(at(23, 10, 15), at(23, 10, 20))) == 0
    assert wt.planned_time(at(23, 11), at(23, 9)) == timedelta(0)  # an empty range


def test_holidays_and_extra_working_days() -> None:
    holiday, make_up = date(2026, 11, 25), date(2026, 11, 29)  # a Wednesday off, a Sunday worked
    wt = WorkingTime(SH, THREE_SHIFTS, {holiday: False, make_up: True})
    # Wednesday: only Tuesday's night shift spills in (5.5 h); no shift starts on the holiday.
    assert hours(wt.planned_time(at(25), at(26))) == 5.5
    # Thursday morning gets no night shift from the holiday.
    assert hours(wt.planned_time(at(26), at(26, 6))) == 0
    # The make-up Sunday runs every shift (after Saturday's night shift has ended at 06:00).
    assert [(w.shift_code, w.day.day) for w in wt.windows(at(29), at(30))] == [("C", 28), ("A", 29), ("B", 29),
                                                                              ("C", 29)]


def test_a_week_and_the_shift_running_at_an_instant() -> None:
    wt = WorkingTime(SH, THREE_SHIFTS)
    # Mon 23 to Mon 30: 6 days × 3 shifts × 7.5 h = 135 h.
    assert hours(wt.planned_time(at(23), at(30))) == 135
    assert wt.shift_at(at(23, 10, 10)).shift_code == "A"  # a break still belongs to its shift
    assert wt.shift_at(at(24, 3)).shift_code == "C" and wt.shift_at(at(24, 3)).day == date(2026, 11, 23)
    assert wt.shift_at(at(29, 12)) is None


def test_no_calendar_means_always_planned() -> None:
    wt = WorkingTime(SH, [])
    assert hours(wt.planned_time(at(23), at(25))) == 48


def test_overlapping_shifts_are_counted_once() -> None:
    overlapping = [ShiftPattern("D", "白班", time(8), time(17), "1234567"),
                   ShiftPattern("X", "加班", time(16), time(20), "1234567")]
    assert hours(WorkingTime(SH, overlapping).planned_time(at(23), at(24))) == 12


@pytest.mark.parametrize("zone, hours_on_change_day", [("Europe/Berlin", 23), ("America/New_York", 23)])
def test_a_daylight_saving_change_shortens_a_24h_shift_day(zone: str, hours_on_change_day: int) -> None:
    tz = ZoneInfo(zone)
    wt = WorkingTime(tz, [ShiftPattern("D", "全天", time(0), time(0), "1234567")])
    day = date(2026, 3, 29) if zone == "Europe/Berlin" else date(2026, 3, 8)
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    assert hours(wt.planned_time(start, end)) == hours_on_change_day
