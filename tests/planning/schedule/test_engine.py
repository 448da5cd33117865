"""Golden cases of the dispatch scheduler, computed by hand: calendars with breaks, a night shift, a weekend,
precedence within and across work orders, priority before due date, started work, gap filling, breakdowns."""

from __future__ import annotations

from datetime import UTC, datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st

from synfab.planning.schedule.engine import (
    STRIDE,
    CalendarIntervals,
    Dispatcher,
    OperationIn,
    WorkingAxis,
    WorkOrderIn,
    always,
    build_schedule,
    by_work_order,
    dispatch_order,
    subtract,
)
from synfab.plant.calendar import BreakPattern, ShiftPattern, WorkingTime

DAY_SHIFT = WorkingTime("UTC", [ShiftPattern("D", "Day", time(8), time(16), "12345",
                                             (BreakPattern(time(12), time(12, 30)),))])
NIGHT_SHIFT = WorkingTime("UTC", [ShiftPattern("N", "Night", time(22), time(6), "12345")])


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def iso(value: int | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).strftime("%a %m-%d %H:%M")


def op(op_id: int, wo: int, seq: int, wc: int | None, minutes: float, started: str | None = None) -> OperationIn:
    return OperationIn(op_id, wo, seq, wc, int(minutes * 60), ts(started) if started else None)


def wo(wo_id: int, priority: str = "3", due: str = "2026-12-31T00:00", parent: int | None = None) -> WorkOrderIn:
    return WorkOrderIn(wo_id, priority, ts(due), parent)


def run(ops: list[OperationIn], orders: list[WorkOrderIn], anchor: str, calendar: object = None,
        blocked: dict[int, list[tuple[str, str]]] | None = None) -> dict[int, tuple[str | None, str | None]]:
    source = CalendarIntervals(calendar) if isinstance(calendar, WorkingTime) else always
    origin = ts(anchor)
    centers = {o.work_center_id for o in ops if o.work_center_id is not None}
    axes = {wc: WorkingAxis(source, origin, [(ts(a), ts(b)) for a, b in (blocked or {}).get(wc, [])])
            for wc in centers}
    result = build_schedule(ops, {o.id: o for o in orders}, axes, origin)
    run.last = result  # type: ignore[attr-defined]
    return {i: (iso(p.start), iso(p.end)) for i, p in result.operations.items()}


# 2026-11-23 is a Monday.

def test_break_is_skipped_and_the_next_step_waits_for_the_previous() -> None:
    planned = run([op(1, 1, 10, 1, 240), op(2, 1, 20, 2, 60)], [wo(1)], "2026-11-23T07:00", DAY_SHIFT)
    # Four hours from the shift start end exactly at the break; the next step starts after the break.
    assert planned == {1: ("Mon 11-23 08:00", "Mon 11-23 12:00"), 2: ("Mon 11-23 12:30", "Mon 11-23 13:30")}


def test_an_operation_runs_on_over_the_break() -> None:
    planned = run([op(1, 1, 10, 1, 300)], [wo(1)], "2026-11-23T07:00", DAY_SHIFT)
    assert planned == {1: ("Mon 11-23 08:00", "Mon 11-23 13:30")}


def test_night_shift_crosses_midnight() -> None:
    planned = run([op(1, 1, 10, 1, 600)], [wo(1)], "2026-11-23T20:00", NIGHT_SHIFT)
    # 8 h Monday night (22:00–06:00), the last 2 h on Tuesday night.
    assert planned == {1: ("Mon 11-23 22:00", "Wed 11-25 00:00")}


def test_weekend_is_not_worked() -> None:
    planned = run([op(1, 1, 10, 1, 120)], [wo(1)], "2026-11-27T15:00", DAY_SHIFT)
    assert planned == {1: ("Fri 11-27 15:00", "Mon 11-30 09:00")}


def test_priority_beats_due_date_and_due_date_orders_within_a_priority() -> None:
    orders = [wo(1, "3", "2026-11-24T00:00"), wo(2, "1", "2026-12-20T00:00"), wo(3, "3", "2026-11-23T12:00")]
    planned = run([op(1, 1, 10, 1, 60), op(2, 2, 10, 1, 60), op(3, 3, 10, 1, 60)], orders, "2026-11-23T08:00")
    assert planned == {2: ("Mon 11-23 08:00", "Mon 11-23 09:00"), 3: ("Mon 11-23 09:00", "Mon 11-23 10:00"),
                       1: ("Mon 11-23 10:00", "Mon 11-23 11:00")}


def test_children_end_before_the_parent_starts_and_inherit_its_urgency() -> None:
    # Parent 1 (urgent) needs child 2 (low priority of its own); order 3 (high) competes with the child on WC1.
    orders = [wo(1, "1", "2026-11-30T00:00"), wo(2, "4", "2026-12-30T00:00", parent=1), wo(3, "2")]
    planned = run([op(1, 1, 10, 2, 30), op(2, 2, 10, 1, 120), op(3, 3, 10, 1, 60)], orders, "2026-11-23T08:00")
    assert planned == {2: ("Mon 11-23 08:00", "Mon 11-23 10:00"), 1: ("Mon 11-23 10:00", "Mon 11-23 10:30"),
                       3: ("Mon 11-23 10:00", "Mon 11-23 11:00")}
    assert dispatch_order({o.id: o for o in orders}) == [2, 1, 3]


def test_less_urgent_work_fills_an_idle_gap_without_delaying_urgent_work() -> None:
    orders = [wo(1, "1"), wo(2, "3")]
    planned = run([op(1, 1, 10, 1, 120), op(2, 1, 20, 2, 60), op(3, 2, 10, 2, 60), op(4, 2, 20, 2, 90)],
                  orders, "2026-11-23T08:00")
    assert planned == {1: ("Mon 11-23 08:00", "Mon 11-23 10:00"), 2: ("Mon 11-23 10:00", "Mon 11-23 11:00"),
                       3: ("Mon 11-23 08:00", "Mon 11-23 09:00"),  # in the gap before the urgent step
                       4: ("Mon 11-23 11:00", "Mon 11-23 12:30")}  # too long for the rest of the gap
    seq = {p.operation_id: p.sequence for p in run.last.operations.values()}  # type: ignore[attr-defined]
    assert (seq[3], seq[2], seq[4]) == (1, 2, 3)


def test_started_work_holds_its_work_center_first() -> None:
    orders = [wo(1, "1"), wo(2, "4")]
    planned = run([op(1, 1, 10, 1, 60), op(2, 2, 10, 1, 30, started="2026-11-23T07:00")], orders,
                  "2026-11-23T08:00")
    # The running operation keeps its actual start and finishes its remaining 30 min before anything else.
    assert planned == {2: ("Mon 11-23 07:00", "Mon 11-23 08:30"), 1: ("Mon 11-23 08:30", "Mon 11-23 09:30")}


def test_a_breakdown_blocks_the_work_center_and_work_resumes_after_it() -> None:
    planned = run([op(1, 1, 10, 1, 60), op(2, 2, 10, 2, 60)], [wo(1), wo(2)], "2026-11-23T08:00", DAY_SHIFT,
                  blocked={1: [("2026-11-23T07:00", "2026-11-23T10:15")]})
    assert planned == {1: ("Mon 11-23 10:15", "Mon 11-23 11:15"), 2: ("Mon 11-23 08:00", "Mon 11-23 09:00")}
    # A breakdown in the middle of an operation: it stops and goes on afterwards.
    planned = run([op(1, 1, 10, 1, 120)], [wo(1)], "2026-11-23T08:00", DAY_SHIFT,
                  blocked={1: [("2026-11-23T09:00", "2026-11-23T10:00")]})
    assert planned == {1: ("Mon 11-23 08:00", "Mon 11-23 11:00")}


def test_projection_against_the_due_date() -> None:
    run([op(1, 1, 10, 1, 240), op(2, 2, 10, 1, 240)], [wo(1, due="2026-11-23T13:00"), wo(2, due="2026-11-23T15:00")],
        "2026-11-23T07:00", DAY_SHIFT)
    projections = run.last.work_orders  # type: ignore[attr-defined]
    assert projections[1].at_risk is False and iso(projections[1].end) == "Mon 11-23 12:00"
    assert projections[1].lateness_seconds == -3600
    # The second waits for the first: 12:30–16:00 that day, the last 30 min on Tuesday 08:00–08:30.
    assert projections[2].at_risk is True and iso(projections[2].end) == "Tue 11-24 08:30"


def test_never_before_now_and_zero_length_work() -> None:
    planned = run([op(1, 1, 10, 1, 0), op(2, 1, 20, None, 30)], [wo(1)], "2026-11-23T09:10", DAY_SHIFT)
    assert planned == {1: ("Mon 11-23 09:10", "Mon 11-23 09:10"), 2: ("Mon 11-23 09:10", "Mon 11-23 09:40")}


def test_no_working_time_at_all_leaves_the_work_unplanned_and_at_risk() -> None:
    closed = WorkingTime("UTC", [ShiftPattern("X", "Never", time(8), time(9), "")])
    planned = run([op(1, 1, 10, 1, 60)], [wo(1)], "2026-11-23T08:00", closed)
    assert planned == {1: (None, None)}
    assert run.last.work_orders[1].at_risk is True  # type: ignore[attr-defined]


def test_subtract() -> None:
    assert subtract([(0, 10), (20, 30)], [(5, 25)]) == [(0, 5), (25, 30)]
    assert subtract([(0, 10)], [(0, 10)]) == []
    assert subtract([(0, 10)], [(2, 3), (4, 5)]) == [(0, 2), (3, 4), (5, 10)]


# -- invariants on random factories ------------------------------------------------------------------------------


@st.composite
def factories(draw: st.DrawFn) -> tuple[list[OperationIn], list[WorkOrderIn], dict[int, list[tuple[int, int]]]]:
    n_orders = draw(st.integers(1, 12))
    orders, ops = [], []
    for i in range(1, n_orders + 1):
        parent = draw(st.one_of(st.none(), st.integers(1, i - 1))) if i > 1 else None
        orders.append(WorkOrderIn(i, draw(st.sampled_from("1234")), ts("2026-11-23T08:00") + draw(
            st.integers(0, 10)) * 86_400, parent))
        for seq in range(draw(st.integers(1, 4))):
            started = seq == 0 and draw(st.booleans()) and draw(st.booleans())
            ops.append(OperationIn(i * 10 + seq, i, (seq + 1) * 10, draw(st.sampled_from([1, 2, 3, None])),
                                   draw(st.integers(0, 600)) * 60, ts("2026-11-23T07:00") if started else None))
    blocked = {1: [(ts("2026-11-23T09:00"), ts("2026-11-23T09:00") + draw(st.integers(0, 48)) * 1800)]}
    return ops, orders, blocked


@settings(max_examples=150, deadline=None)
@given(factories())
def test_no_overlap_precedence_and_working_time_hold(
        factory: tuple[list[OperationIn], list[WorkOrderIn], dict[int, list[tuple[int, int]]]]) -> None:
    ops, orders, blocked = factory
    anchor = ts("2026-11-23T07:30")
    axes = {wc: WorkingAxis(CalendarIntervals(DAY_SHIFT), anchor, blocked.get(wc, ())) for wc in (1, 2, 3)}
    result = build_schedule(ops, {o.id: o for o in orders}, axes, anchor)
    by_id = {o.id: o for o in ops}
    planned = result.operations
    assert set(planned) == set(by_id)
    for p in planned.values():
        op = by_id[p.operation_id]
        assert p.start is not None and p.end is not None and p.end >= p.start
        if op.started_at is None:
            assert p.start >= anchor  # never before now
        if op.work_center_id is not None and op.started_at is None:  # exactly its working time
            axis = axes[op.work_center_id]
            assert axis.offset(p.end) - axis.offset(p.start) == op.seconds
    for wc in (1, 2, 3):  # one operation at a time (in working time)
        # (started work shows its actual start: it occupies its remaining time from the anchor on)
        spans = sorted((axes[wc].offset(p.end) - by_id[p.operation_id].seconds, axes[wc].offset(p.end))
                       for p in planned.values() if by_id[p.operation_id].work_center_id == wc and p.end > p.start)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    for order in orders:  # steps in order, children before parents
        mine = sorted((by_id[i].seq, p) for i, p in planned.items() if by_id[i].work_order_id == order.id)
        assert all(a[1].end <= b[1].start or b[0] <= a[0] for a, b in zip(mine, mine[1:]))
        if order.parent_id is not None:
            parent_first = min((p.start for i, p in planned.items()
                                if by_id[i].work_order_id == order.parent_id and by_id[i].started_at is None),
                               default=None)
            child_end = max(p.end for i, p in planned.items() if by_id[i].work_order_id == order.id)
            assert parent_first is None or child_end <= parent_first


def _placed(schedule: object) -> tuple[dict[int, tuple[int | None, int | None, int]], dict[int, tuple[object, ...]]]:
    ops = {i: (p.start, p.end, p.sequence) for i, p in schedule.operations.items()}  # type: ignore[attr-defined]
    orders = {i: (p.start, p.end, p.at_risk, p.lateness_seconds)
              for i, p in schedule.work_orders.items()}  # type: ignore[attr-defined]
    return ops, orders


@st.composite
def changes(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    kinds = st.sampled_from(["seconds", "priority", "due", "remove", "add", "start"])
    return draw(st.lists(st.tuples(kinds, st.integers(1, 60), st.integers(0, 600)), min_size=1, max_size=8))


@settings(max_examples=100, deadline=None)
@given(st.integers(20, 60), st.randoms(use_true_random=False), changes())
def test_re_placing_after_a_change_gives_what_a_full_run_gives(
        n_orders: int, rng: object, steps: list[tuple[str, int, int]]) -> None:
    """The dispatcher re-places only from the first work order a change can move (snapshots every STRIDE work
    orders): after any sequence of changes its schedule is exactly a fresh full run's."""
    assert n_orders > STRIDE  # several snapshots in play
    anchor = ts("2026-11-23T07:30")
    orders = {i: WorkOrderIn(i, rng.choice("1234"), anchor + rng.randint(0, 20) * 86_400,  # type: ignore[attr-defined]
                             rng.choice([None, i - 1]) if i > 1 else None) for i in range(1, n_orders + 1)}  # type: ignore[attr-defined]
    ops = [OperationIn(i * 10 + k, i, (k + 1) * 10, rng.choice([1, 2, 3, None]), rng.randint(0, 300) * 60,  # type: ignore[attr-defined]
                       anchor - 600 if k == 0 and rng.random() < 0.05 else None)  # type: ignore[attr-defined]
           for i in orders for k in range(rng.randint(1, 3))]  # type: ignore[attr-defined]
    axes = {wc: WorkingAxis(CalendarIntervals(DAY_SHIFT), anchor) for wc in (1, 2, 3)}
    dispatcher = Dispatcher(axes, anchor)
    dispatcher.run(by_work_order(ops, orders), orders)
    next_id = n_orders + 1
    for kind, target, amount in steps:
        wo_id = (target - 1) % max(1, len(orders)) + 1 if orders else None
        wo_id = wo_id if wo_id in orders else next(iter(orders), None)
        changed = set()
        if kind == "add" or wo_id is None:
            wo_id, next_id = next_id, next_id + 1
            orders[wo_id] = WorkOrderIn(wo_id, "2", anchor + amount * 600, None)
            ops.append(OperationIn(wo_id * 10, wo_id, 10, 1 + amount % 3, amount * 60))
        elif kind == "seconds":
            ops = [o if o.work_order_id != wo_id else OperationIn(o.id, o.work_order_id, o.seq, o.work_center_id,
                                                                  amount * 60, o.started_at) for o in ops]
        elif kind == "priority":
            old = orders[wo_id]
            orders[wo_id] = WorkOrderIn(wo_id, str(1 + amount % 4), old.due_at, old.parent_id)
        elif kind == "due":
            old = orders[wo_id]
            orders[wo_id] = WorkOrderIn(wo_id, old.priority, anchor + amount * 3600, old.parent_id)
        elif kind == "remove":
            del orders[wo_id]
            ops = [o for o in ops if o.work_order_id != wo_id]
        elif kind == "start":
            ops = [o if o.work_order_id != wo_id or o.seq != 10 else
                   OperationIn(o.id, o.work_order_id, o.seq, o.work_center_id, o.seconds, anchor - 60) for o in ops]
        changed.add(wo_id)
        incremental = dispatcher.run(by_work_order(ops, orders), orders, changed)
        assert _placed(incremental) == _placed(build_schedule(ops, orders, axes, anchor))


def test_a_change_late_in_the_dispatch_order_re_places_only_the_work_after_it() -> None:
    anchor = ts("2026-11-23T07:30")
    orders = {i: WorkOrderIn(i, "3", anchor + i * 86_400) for i in range(1, 101)}
    ops = [OperationIn(i * 10, i, 10, 1 + i % 3, 1800) for i in orders]
    axes = {wc: WorkingAxis(always, anchor) for wc in (1, 2, 3)}
    dispatcher = Dispatcher(axes, anchor)
    dispatcher.run(by_work_order(ops, orders), orders)
    ops = [o if o.work_order_id != 90 else OperationIn(o.id, 90, 10, o.work_center_id, 3600) for o in ops]
    result = dispatcher.run(by_work_order(ops, orders), orders, {90})
    assert 80 <= dispatcher.replaced_from <= 89  # the snapshot before the 90th work order in dispatch order
    assert result.operations[900].end - result.operations[900].start == 3600
