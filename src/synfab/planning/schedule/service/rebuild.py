"""Rebuilding the dispatch schedule: load the open operations with plain column queries, schedule them in memory
(`engine`), compare the result with what is stored and write only the rows whose times, order or flags changed.

What does not change between two rebuilds in this process — calendars turned into working intervals, the inputs,
the stored schedule as last written — is kept in memory and checked against the database before use (`_Memory`),
so a rebuild after one order change reads and writes little.
"""

from __future__ import annotations

import time as _time
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import OperationStatus, WorkOrderStatus
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.planning.schedule import engine
from synfab.planning.schedule.events import (
    ScheduleRebuilt,
    WorkOrderAtRisk,
    WorkOrderBackOnTrack,
)
from synfab.planning.schedule.models import ScheduledOperation, ScheduleRun, WorkCenterOutage, WorkOrderProjection
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode, ShiftCalendar

SCHEDULED_WORK_ORDERS = (WorkOrderStatus.RELEASED.value, WorkOrderStatus.IN_PROGRESS.value)
SCHEDULED_OPERATIONS = (OperationStatus.PENDING.value, OperationStatus.READY.value, OperationStatus.RUNNING.value,
                        OperationStatus.PAUSED.value)
STARTED_OPERATIONS = (OperationStatus.RUNNING.value, OperationStatus.PAUSED.value)
# A rebuild after a change keeps the previous instant it scheduled from for this long: a change then moves only
# what it affects, instead of every planned time sliding by the seconds since the last change.
REANCHOR_AFTER = timedelta(minutes=15)
# Inputs kept in memory are read afresh after this long anyway: a change that came without an event heals.
RELOAD_AFTER_S = 300.0
KEEP_RUNS = timedelta(days=30)
ADVISORY_LOCK = 0x5C4ED01E


def _ts(value: datetime) -> int:
    return int(clock.as_utc(value).timestamp())


def _dt(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _choice(value: Any) -> str:
    return getattr(value, "value", value)


# -- what is kept in memory between rebuilds -------------------------------------------------------------------


@dataclass
class _Memory:
    """Per process: calendars as working intervals, and the schedule as the last run of this process wrote it
    (valid only while that run is the latest in the database — a rolled-back run or another process's run
    makes it stale, and it is then read again)."""

    calendars: dict[tuple[int | None, str, Any], engine.CalendarIntervals] = field(default_factory=dict)
    token: str | None = None
    stored_ops: dict[int, tuple[int | None, int, int | None, int | None, int]] = field(default_factory=dict)
    stored_projections: dict[int, tuple[int | None, int | None, bool, int]] = field(default_factory=dict)
    # The scheduler's inputs as last read, patched work order by work order after a change.
    inputs: _Inputs | None = None
    loaded_at: float = 0.0
    axes: dict[tuple[Any, ...], engine.WorkingAxis] = field(default_factory=dict)
    # The engine's placement as last computed, re-placed from the first work order a change can move.
    dispatcher: engine.Dispatcher | None = None


_memory: dict[str, _Memory] = {}


def _memory_for(session: Session) -> _Memory:
    key = str(session.get_bind().engine.url)
    if key not in _memory:
        _memory[key] = _Memory()
    return _memory[key]


def forget_everything() -> None:
    """Drop all that this process keeps in memory, as a process just started would have nothing (benchmarks)."""
    _memory.clear()


def forget_calendars(session: Session) -> None:
    """Drop the working intervals kept in memory (a calendar or the plant tree changed)."""
    memory = _memory_for(session)
    memory.calendars.clear()
    memory.axes.clear()
    memory.dispatcher = None


# -- loading ----------------------------------------------------------------------------------------------------


@dataclass
class _Plant:
    nodes: dict[int, tuple[str, int | None, str | None, str, str]]  # id → path, calendar, tz, level, code
    calendar_stamps: dict[int, Any]

    def calendar_of(self, node_id: int) -> int | None:
        path = self.nodes[node_id][0]
        for ancestor in reversed([int(p) for p in path.strip("/").split("/") if p]):
            found = self.nodes.get(ancestor)
            if found is not None and found[1] is not None:
                return found[1]
        own = self.nodes.get(node_id)
        return own[1] if own else None

    def time_zone_of(self, node_id: int) -> str:
        path = self.nodes[node_id][0]
        for ancestor in reversed([int(p) for p in path.strip("/").split("/") if p] + [node_id]):
            found = self.nodes.get(ancestor)
            if found is not None and found[3] == Level.SITE.value and found[2]:
                return found[2]
        return "UTC"


def _load_plant(session: Session) -> _Plant:
    nodes = {row.id: (row.path, row.shift_calendar_id, row.time_zone, _choice(row.level), row.code) for row in
             session.execute(select(PlantNode.id, PlantNode.path, PlantNode.shift_calendar_id, PlantNode.time_zone,
                                    PlantNode.level, PlantNode.code).execution_options(unrestricted=True))}
    stamps = {row.id: row.updated_at for row in session.execute(
        select(ShiftCalendar.id, ShiftCalendar.updated_at).execution_options(unrestricted=True))}
    return _Plant(nodes, stamps)


def _axes(session: Session, memory: _Memory, plant_now: _Plant, work_centers: Iterable[int],
          outages: dict[int, list[engine.Interval]], anchor: int) -> dict[int, engine.WorkingAxis]:
    axes = {}
    for wc in work_centers:
        if wc not in plant_now.nodes:
            continue
        calendar_id = plant_now.calendar_of(wc)
        tz = plant_now.time_zone_of(wc)
        key = (calendar_id, tz, plant_now.calendar_stamps.get(calendar_id) if calendar_id else None)
        blocked = tuple(outages.get(wc, ()))
        axis = memory.axes.get((key, blocked, anchor))
        if axis is None:
            line = memory.calendars.get(key)
            if line is None:
                calendar = plant.get_calendar(session, calendar_id) if calendar_id is not None else None
                line = engine.CalendarIntervals(plant.working_time(calendar, ZoneInfo(tz)))
                memory.calendars[key] = line
            if len(memory.axes) > 1000:
                memory.axes.clear()
            axis = memory.axes[(key, blocked, anchor)] = engine.WorkingAxis(line, anchor, blocked)
        axes[wc] = axis
    return axes


@dataclass
class _Inputs:
    work_orders: dict[int, engine.WorkOrderIn]
    codes: dict[int, tuple[str, date, int]]  # id → code, due date, scope node
    operations: dict[int, list[engine.OperationIn]]  # by work order, in seq order

    def replace(self, ids: Iterable[int], fresh: _Inputs) -> None:
        """Take the named work orders as `fresh` has them (absent there: no longer scheduled)."""
        for wo_id in ids:
            self.work_orders.pop(wo_id, None)
            self.codes.pop(wo_id, None)
            self.operations.pop(wo_id, None)
        self.work_orders.update(fresh.work_orders)
        self.codes.update(fresh.codes)
        self.operations.update(fresh.operations)

    def all_operations(self) -> list[engine.OperationIn]:
        return [op for ops in self.operations.values() for op in ops]


def _load_inputs(session: Session, plant_now: _Plant, only: Collection[int] | None = None) -> _Inputs:
    """The released work orders and their open operations (only the named work orders, when given)."""
    wo_table, op_table = WorkOrder.__table__, WorkOrderOperation.__table__
    wo, op = wo_table.c, op_table.c
    work_orders: dict[int, engine.WorkOrderIn] = {}
    codes: dict[int, tuple[str, date, int]] = {}
    tz_cache: dict[int, ZoneInfo] = {}
    wo_stmt = select(wo.id, wo.code, wo.priority, wo.due_date, wo.parent_id, wo.site_id,
                     wo.production_line_id).where(wo.status.in_(SCHEDULED_WORK_ORDERS))
    if only is not None:
        wo_stmt = wo_stmt.where(wo.id.in_(list(only)))
    for row in session.execute(wo_stmt):
        tz = tz_cache.get(row.site_id)
        if tz is None:
            tz = tz_cache[row.site_id] = ZoneInfo(plant_now.time_zone_of(row.site_id)
                                                  if row.site_id in plant_now.nodes else "UTC")
        due_at = _ts(datetime.combine(row.due_date + timedelta(days=1), time(0), tzinfo=tz))
        work_orders[row.id] = engine.WorkOrderIn(row.id, _choice(row.priority), due_at, row.parent_id)
        codes[row.id] = (row.code, row.due_date, row.production_line_id or row.site_id)
    operations: dict[int, list[engine.OperationIn]] = {}
    stmt = (select(op.id, op.work_order_id, op.seq, op.work_center_id, op.planned_minutes, op.run_minutes,
                   op.good_qty, op.scrap_qty, op.status, op.actual_start)
            .join(wo_table, wo.id == op.work_order_id)
            .where(wo.status.in_(SCHEDULED_WORK_ORDERS), op.status.in_(SCHEDULED_OPERATIONS)))
    if only is not None:
        stmt = stmt.where(wo.id.in_(list(only)))
    for row in session.execute(stmt):
        minutes = Decimal(row.planned_minutes or 0)
        started = _choice(row.status) in STARTED_OPERATIONS
        if started:
            # Remaining time, kept simple: planned less the run time of what was reported (setup is behind).
            done = (Decimal(row.good_qty or 0) + Decimal(row.scrap_qty or 0)) * Decimal(row.run_minutes or 0)
            minutes = max(minutes - done, Decimal(0))
        started_at = _ts(row.actual_start) if started and row.actual_start is not None else None
        if started and started_at is None:
            started_at = 0  # started, time unknown: still holds its work center first
        operations.setdefault(row.work_order_id, []).append(engine.OperationIn(
            row.id, row.work_order_id, row.seq, row.work_center_id, int(round(minutes * 60)), started_at))
    for ops in operations.values():
        ops.sort(key=lambda o: o.seq)
    return _Inputs(work_orders, codes, operations)


def _open_outages(session: Session) -> dict[int, list[engine.Interval]]:
    o = WorkCenterOutage.__table__.c
    found: dict[int, list[engine.Interval]] = {}
    for row in session.execute(select(o.work_center_id, o.started_at, o.expected_until).where(o.ended_at.is_(None))):
        found.setdefault(row.work_center_id, []).append((_ts(row.started_at), _ts(row.expected_until)))
    return found


def _stored(session: Session, memory: _Memory) -> bool:
    """Make the memory hold the stored schedule: kept from this process's last run when that run is still the
    latest in the database (True), else read (and the inputs kept are dropped)."""
    latest = session.scalar(select(ScheduleRun.token).order_by(ScheduleRun.id.desc()).limit(1))
    if latest is not None and latest == memory.token:
        return True
    memory.inputs = None
    s = ScheduledOperation.__table__.c
    memory.stored_ops = {
        row.operation_id: (row.work_center_id, row.sequence, _ts(row.planned_start) if row.planned_start else None,
                           _ts(row.planned_end) if row.planned_end else None, row.scope_node_id)
        for row in session.execute(select(s.operation_id, s.work_center_id, s.sequence, s.planned_start,
                                          s.planned_end, s.scope_node_id))}
    p = WorkOrderProjection.__table__.c
    memory.stored_projections = {
        row.work_order_id: (_ts(row.projected_start) if row.projected_start else None,
                            _ts(row.projected_end) if row.projected_end else None, bool(row.at_risk),
                            row.lateness_minutes)
        for row in session.execute(select(p.work_order_id, p.projected_start, p.projected_end, p.at_risk,
                                          p.lateness_minutes))}
    memory.token = latest
    return False


# -- rebuilding -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    trigger: str
    anchor: datetime
    operations: int
    changed_operations: int
    changed_work_order_ids: list[int]
    at_risk: int
    milliseconds: int
    # Split of the time, for the benchmark: reading, scheduling in memory, writing.
    load_ms: float = 0.0
    compute_ms: float = 0.0
    write_ms: float = 0.0


def _anchor(session: Session, full: bool) -> int:
    now = clock.now()
    if not full:
        last = session.scalar(select(ScheduleRun.anchor).order_by(ScheduleRun.id.desc()).limit(1))
        if last is not None and timedelta(0) <= now - last < REANCHOR_AFTER:
            return _ts(last)
    return _ts(now)


def _update_many(session: Session, table: Any, columns: Sequence[str], key: str,
                 rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE … WHERE key = ? for many rows through the driver's executemany: a change can move thousands of
    planned times, and SQLAlchemy's per-row statement machinery would cost more than the update itself. Each
    column's own bind processor converts the values, so they are stored exactly as the ORM stores them."""
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
    names = [*columns, key]
    converters = []
    for name in names:
        process = table.c[name].type.bind_processor(dialect)
        if process is None:
            converters.append(None)
            continue
        seen: dict[Any, Any] = {}  # one operation's end is often the next one's start: convert each value once

        def convert(value: Any, process: Any = process, seen: dict[Any, Any] = seen) -> Any:
            if value is None:
                return None
            found = seen.get(value)
            if found is None:
                found = seen[value] = process(value)
            return found

        converters.append(convert)
    sql = (f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(c)} = {marker}' for c in columns)} "
           f"WHERE {quote(key)} = {marker}")
    pairs = list(zip(names, converters, strict=True))
    params = [tuple(row[n] if conv is None else conv(row[n]) for n, conv in pairs) for row in rows]
    connection.exec_driver_sql(sql, params)


def _as_stored(stored: dict[int, Any], fresh: dict[int, Any], gone: list[int], touched: Collection[int] | None
               ) -> dict[int, Any]:
    """What is stored now: `fresh` when every row was compared, else the kept rows patched."""
    if touched is None:
        return fresh
    for key in gone:
        del stored[key]
    stored.update(fresh)
    return stored


def _write(session: Session, memory: _Memory, inputs: _Inputs, result: engine.Schedule,
           touched: Collection[int] | None) -> tuple[int, set[int]]:
    """Write the rows that differ from what is stored; returns (changed operations, changed work orders).
    `touched`: the only operations that can differ (None: any)."""
    table = ScheduledOperation.__table__
    stored = memory.stored_ops
    codes = inputs.codes
    planned = result.operations
    fresh: dict[int, tuple[int | None, int, int | None, int | None, int]] = {
        p.operation_id: (p.work_center_id, p.sequence, p.start, p.end, codes[p.work_order_id][2])
        for p in (planned.values() if touched is None else (planned[i] for i in touched if i in planned))}
    gone = [op_id for op_id in (stored if touched is None else touched) if op_id in stored and op_id not in planned]
    new_rows, moved_rows, changed_rows = [], [], []
    changed_orders: set[int] = set()
    instants: dict[int | None, datetime | None] = {None: None}

    def at(value: int | None) -> datetime | None:
        found = instants.get(value)
        if found is None:
            found = instants[value] = _dt(value)
        return found

    for op_id, value in fresh.items():
        old = stored.get(op_id)
        if old == value:
            continue
        p = result.operations[op_id]
        changed_orders.add(p.work_order_id)
        row = {"sequence": value[1], "planned_start": at(value[2]), "planned_end": at(value[3])}
        if old is None:
            new_rows.append(row | {"operation_id": op_id, "work_order_id": p.work_order_id,
                                   "work_center_id": value[0], "scope_node_id": value[4]})
        elif old[0] == value[0] and old[4] == value[4]:  # the usual: only its place in time moved
            moved_rows.append(row | {"operation_id": op_id})
        else:
            changed_rows.append(row | {"operation_id": op_id, "work_center_id": value[0], "scope_node_id": value[4]})
    for start in range(0, len(gone), 500):
        session.execute(delete(table).where(table.c.operation_id.in_(gone[start:start + 500])))
    # Only the columns that changed, so the indexes of the others are left alone.
    if moved_rows:
        _update_many(session, table, ("sequence", "planned_start", "planned_end"), "operation_id", moved_rows)
    if changed_rows:
        _update_many(session, table, ("work_center_id", "sequence", "planned_start", "planned_end", "scope_node_id"),
                     "operation_id", changed_rows)
    if new_rows:
        session.execute(insert(table), new_rows)
    memory.stored_ops = _as_stored(stored, fresh, gone, touched)
    return len(gone) + len(new_rows) + len(moved_rows) + len(changed_rows), changed_orders


def _project(uow: UnitOfWork, memory: _Memory, inputs: _Inputs, result: engine.Schedule,
             touched: Collection[int] | None) -> set[int]:
    """Write the projections that changed and record the at-risk flags that flipped. `touched`: the only work
    orders whose projection can differ (None: any)."""
    session = uow.session
    table = WorkOrderProjection.__table__
    stored = memory.stored_projections
    projections = result.work_orders
    fresh = {}
    new_rows, changed_rows = [], []
    changed: set[int] = set()
    for wo_id, pr in (projections.items() if touched is None
                      else ((i, projections[i]) for i in touched if i in projections)):
        lateness = -(-pr.lateness_seconds // 60)  # whole minutes, rounded up
        value = (pr.start, pr.end, pr.at_risk, int(lateness))
        fresh[wo_id] = value
        old = stored.get(wo_id)
        if old == value:
            continue
        changed.add(wo_id)
        row = {"projected_start": _dt(pr.start), "projected_end": _dt(pr.end), "at_risk": pr.at_risk,
               "lateness_minutes": int(lateness), "due_at": _dt(pr.due_at)}
        if old is None:
            new_rows.append(row | {"work_order_id": wo_id, "scope_node_id": inputs.codes[wo_id][2]})
        else:
            changed_rows.append(row | {"work_order_id": wo_id})
        was_at_risk = old is not None and old[2]
        code, due, _scope = inputs.codes[wo_id]
        if pr.at_risk and not was_at_risk:
            uow.record(WorkOrderAtRisk(work_order_id=wo_id, code=code, due_date=due, projected_end=_dt(pr.end),
                                       lateness_minutes=int(lateness)))
        elif was_at_risk and not pr.at_risk:
            uow.record(WorkOrderBackOnTrack(work_order_id=wo_id, code=code, due_date=due, projected_end=_dt(pr.end)))
    gone = [wo_id for wo_id in (stored if touched is None else touched) if wo_id in stored and wo_id not in projections]
    for start in range(0, len(gone), 500):
        session.execute(delete(table).where(table.c.work_order_id.in_(gone[start:start + 500])))
    if changed_rows:
        _update_many(session, table, ("projected_start", "projected_end", "at_risk", "lateness_minutes", "due_at"),
                     "work_order_id", changed_rows)
    if new_rows:
        session.execute(insert(table), new_rows)
    memory.stored_projections = _as_stored(stored, fresh, gone, touched)
    return changed


def rebuild_schedule(uow: UnitOfWork, trigger: str = "manual", *, full: bool = True,
                     work_order_ids: Iterable[int] | None = None) -> RebuildResult:
    """Schedule every open operation of the released work orders again and store the result.

    `full` (a person's "Rebuild", the benchmark) schedules from now and reads everything afresh; otherwise (after
    a change, from the handlers) the previous anchor is kept for a while and what this process already knows is
    reused: the inputs are read again only for `work_order_ids` (the work orders the change touched; all when
    None). Either way only rows whose planned times, sequence or projection changed are written, the at-risk
    flags that flipped are recorded as `WorkOrderAtRisk` / `WorkOrderBackOnTrack`, and `ScheduleRebuilt` says
    what changed. The schedule is plant-wide (capacity is shared), so it is built as the system whoever asks.
    """
    began = _time.perf_counter()
    with uow.as_system():
        session = uow.session
        session.flush()
        if session.get_bind().dialect.name == "postgresql":
            # One rebuild at a time: the next waits for this transaction and then reads what it wrote (SQLite
            # serialises writers already).
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        memory = _memory_for(session)
        if full:
            memory.calendars.clear()
            memory.axes.clear()
            memory.token = None
            # The run log is bookkeeping: a month of it is plenty.
            session.execute(delete(ScheduleRun).where(ScheduleRun.started_at < clock.now() - KEEP_RUNS))
        anchor = _anchor(session, full)
        plant_now = _load_plant(session)
        fresh_enough = _time.monotonic() - memory.loaded_at < RELOAD_AFTER_S
        kept = _stored(session, memory)
        memory.token = None  # not to be trusted while this rebuild works: set again once it has written
        changed: set[int] | None = None
        if kept and memory.inputs is not None and work_order_ids is not None and fresh_enough:
            changed = set(work_order_ids)
            memory.inputs.replace(changed, _load_inputs(session, plant_now, changed))
        else:
            memory.inputs = _load_inputs(session, plant_now)
            memory.loaded_at = _time.monotonic()
        inputs = memory.inputs
        outages = _open_outages(session)
        centers = {op.work_center_id for ops in inputs.operations.values() for op in ops
                   if op.work_center_id is not None}
        axes = _axes(session, memory, plant_now, centers, outages, anchor)
        loaded = _time.perf_counter()
        dispatcher = memory.dispatcher
        if full or dispatcher is None or not dispatcher.fits(axes, anchor):
            dispatcher = memory.dispatcher = engine.Dispatcher(axes, anchor)
            changed = None
        result = dispatcher.run(inputs.operations, inputs.work_orders, changed)
        computed = _time.perf_counter()
        # After a re-placement that kept what this process stored last, only what it touched can differ.
        exact = changed is not None and kept
        changed_ops, changed_orders = _write(session, memory, inputs, result,
                                             dispatcher.touched_operations if exact else None)
        changed_orders |= _project(uow, memory, inputs, result, dispatcher.touched_work_orders if exact else None)
        token = uuid.uuid4().hex
        ms = int((_time.perf_counter() - began) * 1000)
        session.add(ScheduleRun(started_at=clock.now(), anchor=_dt(anchor), trigger=trigger[:60], full=full,
                                operations=len(result.operations), changed_operations=changed_ops,
                                changed_work_orders=len(changed_orders), milliseconds=ms, token=token))
        session.flush()
        memory.token = token
        written = _time.perf_counter()
    at_risk = sum(1 for p in result.work_orders.values() if p.at_risk)
    if full or changed_ops or changed_orders:
        uow.record(ScheduleRebuilt(trigger=trigger, full=full, operations=len(result.operations),
                                   changed_operations=changed_ops, changed_work_order_ids=sorted(changed_orders)[:1000],
                                   milliseconds=ms))
    return RebuildResult(trigger, _dt(anchor), len(result.operations), changed_ops,  # type: ignore[arg-type]
                         sorted(changed_orders), at_risk, ms, (loaded - began) * 1000, (computed - loaded) * 1000,
                         (written - computed) * 1000)


def compute_schedule(session: Session, anchor: datetime) -> engine.Schedule:
    """The schedule from `anchor` for what is stored now, computed without writing anything (benchmarks, checks)."""
    memory = _memory_for(session)
    plant_now = _load_plant(session)
    inputs = _load_inputs(session, plant_now)
    operations = inputs.all_operations()
    centers = {op.work_center_id for op in operations if op.work_center_id is not None}
    axes = _axes(session, memory, plant_now, centers, _open_outages(session), _ts(anchor))
    return engine.build_schedule(operations, inputs.work_orders, axes, _ts(anchor))


def reschedule(uow: UnitOfWork, trigger: str, work_order_ids: Iterable[int] | None = None) -> RebuildResult:
    """The rebuild after a change to these work orders (the handlers' path): see `rebuild_schedule`."""
    return rebuild_schedule(uow, trigger, full=False, work_order_ids=work_order_ids)


def work_orders_of_line(session: Session, sales_order_line_id: int) -> list[int]:
    """The work orders made for a sales order line."""
    wo = WorkOrder.__table__.c
    return list(session.scalars(select(wo.id).where(wo.sales_order_line_id == sales_order_line_id)))
