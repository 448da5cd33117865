"""The dispatch scheduler: finite-capacity forward scheduling, pure (no database) and fast.

Given the open operations, each work center's working time, its breakdowns and the instant to schedule from,
every operation gets a planned start and end:

- work orders are dispatched in order of (priority, due) — earliest due date first within a priority — and a
  child work order inherits its parent's urgency when that is higher, so components are never planned after the
  product that needs them;
- operations of a work order run in `seq` order; a parent's first operation waits for all of its children;
- a work center runs one operation at a time; an operation consumes working time only (it pauses over breaks,
  nights, weekends and breakdowns and goes on in the next working interval);
- each operation takes the earliest gap of its work center that is long enough after it may start, so a less
  urgent operation fills an idle hole before the urgent work but never pushes urgent work back;
- started operations (running, paused) hold their work center first, from the anchor instant;
- nothing starts before the anchor ("now").

Times are whole seconds since the epoch inside the engine (exact, cheap); the service converts at the edges.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from synfab.plant.calendar import WorkingTime

# How far ahead the scheduler looks for working time before it gives an operation up as unschedulable.
HORIZON_DAYS = 730
FIRST_CHUNK_DAYS = 42
DAY = 86_400
BLOCK = 7 * DAY  # working intervals are computed and kept per calendar week

Interval = tuple[int, int]
# Working intervals of a calendar between two instants (epoch seconds), sorted and not overlapping.
IntervalSource = Callable[[int, int], list[Interval]]


@dataclass(frozen=True, slots=True)
class OperationIn:
    id: int
    work_order_id: int
    seq: int
    work_center_id: int | None
    seconds: int  # working time still needed
    started_at: int | None = None  # running or paused: when it began (shown as its planned start)


@dataclass(frozen=True, slots=True)
class WorkOrderIn:
    id: int
    priority: str  # "1" is the most urgent
    due_at: int
    parent_id: int | None = None


@dataclass(slots=True)
class PlannedOperation:
    operation_id: int
    work_order_id: int
    work_center_id: int | None
    start: int | None  # None: no working time within the horizon
    end: int | None
    sequence: int = 0  # position on its work center, from 1


@dataclass(slots=True)
class Projection:
    work_order_id: int
    start: int | None
    end: int | None
    due_at: int
    at_risk: bool
    lateness_seconds: int  # end − due; negative when early


@dataclass
class Schedule:
    operations: dict[int, PlannedOperation] = field(default_factory=dict)
    work_orders: dict[int, Projection] = field(default_factory=dict)


def _ts(value: datetime) -> int:
    return int(value.timestamp())


def _dt(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def subtract(intervals: Sequence[Interval], blocked: Iterable[Interval]) -> list[Interval]:
    """The intervals with the blocked spans cut out."""
    cuts = sorted(b for b in blocked if b[1] > b[0])
    if not cuts:
        return list(intervals)
    out: list[Interval] = []
    for lo, hi in intervals:
        for b_lo, b_hi in cuts:
            if b_hi <= lo or b_lo >= hi:
                continue
            if b_lo > lo:
                out.append((lo, b_lo))
            lo = max(lo, b_hi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi))
    return out


class WorkingAxis:
    """A work center's working time as one line of working seconds counted from `origin`.

    Offsets turn "start at t, work d seconds" into plain addition; intervals are fetched in chunks as far as
    the schedule reaches, up to the horizon.
    """

    def __init__(self, source: IntervalSource, origin: int, blocked: Sequence[Interval] = ()) -> None:
        self.source = source
        self.origin = origin
        self.blocked = tuple(blocked)
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cum: list[int] = []  # working seconds before each interval
        self.cum_end: list[int] = []  # working seconds at each interval's end
        self.reach = origin
        self.limit = origin + HORIZON_DAYS * DAY
        self._extend(FIRST_CHUNK_DAYS * DAY)

    def _extend(self, span: int) -> bool:
        if self.reach >= self.limit:
            return False
        upto = min(self.reach + span, self.limit)
        fresh = subtract(self.source(self.reach, upto), self.blocked)
        total = self.cum_end[-1] if self.cum_end else 0
        for lo, hi in fresh:
            lo, hi = max(lo, self.reach), min(hi, upto)
            if hi <= lo:
                continue
            if self.ends and lo <= self.ends[-1]:  # touching the previous chunk: one interval
                total += hi - self.ends[-1]
                self.ends[-1] = hi
                self.cum_end[-1] = total
                continue
            self.starts.append(lo)
            self.ends.append(hi)
            self.cum.append(total)
            total += hi - lo
            self.cum_end.append(total)
        self.reach = upto
        return True

    def _grow(self) -> bool:
        return self._extend(max(self.reach - self.origin, FIRST_CHUNK_DAYS * DAY))

    def offset(self, t: int) -> int:
        """Working seconds from the origin up to instant t."""
        while t > self.reach and self._grow():
            pass
        i = bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(t, self.ends[i]) - self.starts[i]

    def start_at(self, w: int) -> int | None:
        """The instant work at offset w can begin (the start of the next interval when w falls on an end)."""
        while not self.cum_end or w >= self.cum_end[-1]:
            if not self._grow():
                return None
        i = bisect_right(self.cum, w) - 1
        return self.starts[i] + (w - self.cum[i])

    def end_at(self, w: int) -> int | None:
        """The instant the offset reaches w (the end of an interval when w falls on one)."""
        while not self.cum_end or w > self.cum_end[-1]:
            if not self._grow():
                return None
        i = bisect_left(self.cum_end, w)
        return self.starts[i] + (w - self.cum[i])


class CalendarIntervals:
    """A calendar's working intervals (breaks cut out) in epoch seconds, computed a week at a time and kept."""

    def __init__(self, working_time: WorkingTime) -> None:
        self.working_time = working_time
        self.blocks: dict[int, list[Interval]] = {}

    def _block(self, n: int) -> list[Interval]:
        found = self.blocks.get(n)
        if found is None:
            lo, hi = _dt(n * BLOCK), _dt((n + 1) * BLOCK)
            spans: list[Interval] = []
            for w in self.working_time.windows(lo, hi):  # type: ignore[arg-type]
                cursor = _ts(w.start)
                for b_lo, b_hi in sorted(w.breaks):
                    if cursor < _ts(b_lo):
                        spans.append((cursor, _ts(b_lo)))
                    cursor = max(cursor, _ts(b_hi))
                if cursor < _ts(w.end):
                    spans.append((cursor, _ts(w.end)))
            spans.sort()
            found = []
            for lo_s, hi_s in spans:  # union: two shifts of one calendar may overlap
                if found and lo_s <= found[-1][1]:
                    found[-1] = (found[-1][0], max(found[-1][1], hi_s))
                else:
                    found.append((lo_s, hi_s))
            self.blocks[n] = found
        return found

    def __call__(self, lo: int, hi: int) -> list[Interval]:
        out: list[Interval] = []
        for n in range(lo // BLOCK, (hi - 1) // BLOCK + 1):
            for s, e in self._block(n):
                s, e = max(s, lo), min(e, hi)
                if s < e:
                    out.append((s, e))
        return out


def always(start: int, end: int) -> list[Interval]:
    """Working all the time (a work center without a calendar)."""
    return [(start, end)]


OPEN_END = 1 << 62


class _Machine:
    """A work center being loaded: its axis and its free gaps (in working offsets) — few, since work planned
    back to back leaves none between."""

    __slots__ = ("axis", "gap_starts", "gap_ends")

    def __init__(self, axis: WorkingAxis) -> None:
        self.axis = axis
        self.gap_starts: list[int] = [0]
        self.gap_ends: list[int] = [OPEN_END]

    def place(self, earliest: int, seconds: int) -> tuple[int, int] | None:
        """Book the first gap of `seconds` working time at or after instant `earliest`: (start, end)."""
        axis = self.axis
        if earliest <= axis.reach:  # the usual case, inlined: `axis.offset(earliest)`
            k = bisect_right(axis.starts, earliest) - 1
            w = 0 if k < 0 else axis.cum[k] + min(earliest, axis.ends[k]) - axis.starts[k]
        else:
            w = axis.offset(earliest)
        if seconds <= 0:
            start = axis.start_at(w)
            return None if start is None else (max(start, earliest), max(start, earliest))
        gs, ge = self.gap_starts, self.gap_ends
        i = bisect_right(ge, w)
        while True:  # the last gap is open-ended: this ends
            lo = gs[i]
            at = lo if lo > w else w
            if at + seconds <= ge[i]:
                break
            i += 1
        start, end = axis.start_at(at), axis.end_at(at + seconds)
        if start is None or end is None:
            return None
        hi = ge[i]
        if at > lo and at + seconds < hi:
            ge[i] = at
            gs.insert(i + 1, at + seconds)
            ge.insert(i + 1, hi)
        elif at > lo:
            ge[i] = at
        elif at + seconds < hi:
            gs[i] = at + seconds
        else:
            del gs[i], ge[i]
        return start, end


def dispatch_order(work_orders: dict[int, WorkOrderIn]) -> list[int]:
    """Work order ids in dispatch order: (priority, due) inherited from the parent when more urgent, children
    (deeper) before their parents on equal terms, then id."""
    keys: dict[int, tuple[str, int, int]] = {}

    def key(wo_id: int, trail: frozenset[int] = frozenset()) -> tuple[str, int, int]:
        found = keys.get(wo_id)
        if found is not None:
            return found
        wo = work_orders[wo_id]
        own = (wo.priority, wo.due_at, 0)
        parent = wo.parent_id
        if parent is not None and parent in work_orders and parent not in trail:
            p_priority, p_due, p_depth = key(parent, trail | {wo_id})
            own = (*min((wo.priority, wo.due_at), (p_priority, p_due)), p_depth + 1)
        keys[wo_id] = own
        return own

    for wo_id in work_orders:
        key(wo_id)
    return sorted(work_orders, key=lambda i: (keys[i][0], keys[i][1], -keys[i][2], i))


STRIDE = 16  # work orders between two snapshots of the machines' free gaps


@dataclass(slots=True)
class _Snapshot:
    position: int  # index in the dispatch order of the first work order not yet placed
    gaps: dict[int, tuple[list[int], list[int]]]  # work center → copies of its free gaps


class Dispatcher:
    """Forward-schedules every operation from `anchor` (see the module's rules) and keeps what it placed, so
    that after a change it re-places only from the first work order the change can move.

    Work orders are placed one after another in dispatch order and a placement depends only on what was placed
    before it: a work order dispatched before every changed one (and before the first place where the dispatch
    order differs) lands exactly where it did. The machines' free gaps are copied every `STRIDE` work orders;
    `run` restarts from the last copy before that point. Started operations are placed first: a change among
    them, a different anchor or other working axes re-place everything.
    """

    def __init__(self, axes: dict[int, WorkingAxis], anchor: int) -> None:
        self.axes = axes
        self.anchor = anchor
        self.order: list[int] = []
        self.started_key: tuple[tuple[int, int | None, int, int | None], ...] | None = None
        self.snapshots: list[_Snapshot] = []
        self.schedule = Schedule()
        self.order_end: dict[int, int | None] = {}
        self.ops_of: dict[int, list[int]] = {}
        self.started_ids: set[int] = set()
        # Each work center's operations in planned order: (not planned, start, operation id).
        self.lanes: dict[int, list[tuple[bool, int, int]]] = {}
        self.dirty: dict[int, int] = {}  # work center → first position of its lane that changed in this run
        self.replaced_from = 0  # position the last run re-placed from (0: everything)
        # What the last run may have changed: operations re-placed, renumbered or gone, and work orders
        # re-placed or gone (None: everything).
        self.touched_operations: set[int] | None = None
        self.touched_work_orders: set[int] | None = None

    def fits(self, axes: dict[int, WorkingAxis], anchor: int) -> bool:
        """Whether this dispatcher's kept placement can serve a run with these axes and anchor."""
        return anchor == self.anchor and all(self.axes.get(wc) is axis for wc, axis in axes.items())

    def run(self, operations: dict[int, list[OperationIn]], work_orders: dict[int, WorkOrderIn],
            changed: Collection[int] | None = None) -> Schedule:
        """Schedule `operations` (by work order, each list in `seq` order). `changed`: the work orders whose
        inputs differ from the previous run (added, removed or altered); None re-places everything."""
        started = sorted((op for ops in operations.values() for op in ops if op.started_at is not None
                          and op.work_order_id in work_orders), key=lambda o: (o.started_at, o.id))
        started_key = tuple((op.id, op.work_center_id, op.seconds, op.started_at) for op in started)
        order = dispatch_order(work_orders)
        begin = 0
        if changed is not None and started_key == self.started_key and self.snapshots:
            begin = self._first_difference(order, changed)
        snapshot = self._restore(begin) if begin else None
        if snapshot is None:
            begin = 0
            self.schedule = Schedule()
            self.order_end = {}
            self.ops_of = {}
            self.snapshots = []
            self.lanes = {}
            self.touched_operations = self.touched_work_orders = None
            machines = {wc: _Machine(axis) for wc, axis in self.axes.items()}
            self._place_started(machines, started)
        else:
            begin = snapshot.position
            machines = {wc: _Machine(self.axes[wc]) for wc in self.axes}
            for wc, (gs, ge) in snapshot.gaps.items():
                machines[wc].gap_starts, machines[wc].gap_ends = list(gs), list(ge)
            self.touched_operations, self.touched_work_orders = set(), set(self.order[begin:])
            self._forget(self.order[begin:])
            del self.snapshots[self.snapshots.index(snapshot) + 1:]
        self.started_key = started_key
        self.started_ids = {op.id for op in started}
        self.order = order
        self.replaced_from = begin
        placed = self._place_from(begin, machines, operations, work_orders)
        if self.touched_work_orders is not None:
            self.touched_work_orders.update(order[begin:])
        self._number(placed)
        return self.schedule

    def _first_difference(self, order: list[int], changed: Collection[int]) -> int:
        """The first dispatch position (old or new) a change can move."""
        old = self.order
        first = min(len(old), len(order))
        for i, (a, b) in enumerate(zip(old, order)):
            if a != b:
                first = i
                break
        if changed:
            old_at = {wo_id: i for i, wo_id in enumerate(old[:first])}
            new_at = {wo_id: i for i, wo_id in enumerate(order[:first])}
            for wo_id in changed:
                for where in (old_at.get(wo_id), new_at.get(wo_id)):
                    if where is not None and where < first:
                        first = where
        return first

    def _restore(self, position: int) -> _Snapshot | None:
        found = None
        for snapshot in self.snapshots:
            if snapshot.position > position:
                break
            found = snapshot
        return found

    def _forget(self, work_order_ids: Iterable[int]) -> None:
        planned, projections, lanes = self.schedule.operations, self.schedule.work_orders, self.lanes
        touched, dirty = self.touched_operations, self.dirty
        assert touched is not None
        for wo_id in work_order_ids:
            for op_id in self.ops_of.pop(wo_id, ()):
                if op_id in self.started_ids:  # placed before all the others, and kept
                    continue
                p = planned.pop(op_id, None)
                touched.add(op_id)
                if p is not None and p.work_center_id is not None:
                    lane = lanes[p.work_center_id]
                    at = bisect_left(lane, (p.start is None, p.start or 0, op_id))
                    del lane[at]
                    if at < dirty.get(p.work_center_id, at + 1):
                        dirty[p.work_center_id] = at
            projections.pop(wo_id, None)
            self.order_end.pop(wo_id, None)

    def _place_started(self, machines: dict[int, _Machine], started: list[OperationIn]) -> None:
        planned = self.schedule.operations
        for op in started:  # they hold their machine already
            slot = _place(machines, op, self.anchor)
            if slot is None:
                planned[op.id] = PlannedOperation(op.id, op.work_order_id, op.work_center_id, op.started_at, None)
            else:
                planned[op.id] = PlannedOperation(op.id, op.work_order_id, op.work_center_id,
                                                  min(op.started_at or slot[0], slot[0]), slot[1])

    def _place_from(self, begin: int, machines: dict[int, _Machine], operations: dict[int, list[OperationIn]],
                    work_orders: dict[int, WorkOrderIn]) -> list[PlannedOperation]:
        """Place the work orders from dispatch position `begin` on; returns the operations placed."""
        anchor = self.anchor
        started_ids = self.started_ids
        placed: list[PlannedOperation] = []
        planned, projections, order_end, ops_of = (self.schedule.operations, self.schedule.work_orders,
                                                   self.order_end, self.ops_of)
        children: dict[int, list[int]] = {}
        for wo in work_orders.values():
            if wo.parent_id is not None and wo.parent_id in work_orders:
                children.setdefault(wo.parent_id, []).append(wo.id)
        order = self.order
        for position in range(begin, len(order)):
            if position % STRIDE == 0 and (position > begin or not self.snapshots
                                           or self.snapshots[-1].position != position):
                self.snapshots.append(_Snapshot(position, {wc: (list(m.gap_starts), list(m.gap_ends))
                                                           for wc, m in machines.items()}))
            wo_id = order[position]
            earliest: int | None = anchor
            for child in children.get(wo_id, ()):
                end = order_end.get(child, anchor)  # a child later in the order (a loop in the data): not waited for
                earliest = None if end is None or earliest is None else max(earliest, end)
            first: int | None = None
            mine = operations.get(wo_id, ())
            ops_of[wo_id] = [op.id for op in mine]
            for op in mine:
                done = planned.get(op.id) if started_ids else None  # placed already: started
                if done is None:
                    if earliest is None:
                        slot = None
                    else:
                        machine = machines.get(op.work_center_id)  # type: ignore[arg-type]
                        slot = (machine.place(earliest, op.seconds) if machine is not None
                                else (earliest, earliest + max(op.seconds, 0)))  # not capacity-bound
                    done = PlannedOperation(op.id, wo_id, op.work_center_id, slot[0] if slot else None,
                                            slot[1] if slot else None)
                    planned[op.id] = done
                    placed.append(done)
                if first is None and done.start is not None:
                    first = done.start
                earliest = None if done.end is None or earliest is None else max(earliest, done.end)
            order_end[wo_id] = earliest
            if not mine and not children.get(wo_id):
                continue  # nothing left to make
            wo = work_orders[wo_id]
            lateness = (earliest - wo.due_at) if earliest is not None else 0
            projections[wo_id] = Projection(wo_id, first, earliest, wo.due_at,
                                            at_risk=earliest is None or lateness > 0, lateness_seconds=lateness)
        return placed

    def _number(self, placed: list[PlannedOperation]) -> None:
        """Each operation's position on its work center, by planned start: the operations just placed go into
        their lanes, and each lane is numbered again from the first position that changed."""
        planned, lanes, touched, dirty = self.schedule.operations, self.lanes, self.touched_operations, self.dirty
        if touched is None:  # everything placed, the started operations too: each lane sorted once
            lanes.clear()
            dirty.clear()
            for p in planned.values():
                if p.work_center_id is not None:
                    lanes.setdefault(p.work_center_id, []).append((p.start is None, p.start or 0, p.operation_id))
            for wc, lane in lanes.items():
                lane.sort()
                dirty[wc] = 0
            placed = []
        for p in placed:
            if p.work_center_id is None:
                continue
            lane = lanes.get(p.work_center_id)
            if lane is None:
                lane = lanes[p.work_center_id] = []
            key = (p.start is None, p.start or 0, p.operation_id)
            at = bisect_left(lane, key)
            lane.insert(at, key)
            if at < dirty.get(p.work_center_id, at + 1):
                dirty[p.work_center_id] = at
        if touched is not None:
            touched.update(p.operation_id for p in placed)
        for wc, start in dirty.items():
            lane = lanes[wc]
            for n in range(start, len(lane)):
                p = planned[lane[n][2]]
                if p.sequence != n + 1:
                    p.sequence = n + 1
                    if touched is not None:
                        touched.add(p.operation_id)
        dirty.clear()


def _place(machines: dict[int, _Machine], op: OperationIn, earliest: int) -> tuple[int, int] | None:
    machine = machines.get(op.work_center_id) if op.work_center_id is not None else None
    if machine is None:  # not capacity-bound
        return earliest, earliest + max(op.seconds, 0)
    return machine.place(earliest, op.seconds)


def build_schedule(operations: Iterable[OperationIn], work_orders: dict[int, WorkOrderIn],
                   axes: dict[int, WorkingAxis], anchor: int) -> Schedule:
    """Forward-schedule every operation from `anchor` once (see the module's rules). `axes` has one working axis
    per work center named by an operation; an operation without a work center is not capacity-bound."""
    return Dispatcher(axes, anchor).run(by_work_order(operations, work_orders), work_orders)


def by_work_order(operations: Iterable[OperationIn], work_orders: dict[int, WorkOrderIn]
                  ) -> dict[int, list[OperationIn]]:
    """The operations of the known work orders, grouped by work order in `seq` order."""
    grouped: dict[int, list[OperationIn]] = {}
    for op in operations:
        if op.work_order_id in work_orders:
            grouped.setdefault(op.work_order_id, []).append(op)
    for ops in grouped.values():
        ops.sort(key=lambda o: o.seq)
    return grouped


__all__ = ["OperationIn", "WorkOrderIn", "PlannedOperation", "Projection", "Schedule", "WorkingAxis",
           "build_schedule", "by_work_order", "Dispatcher", "dispatch_order", "subtract", "always",
           "CalendarIntervals"]
