"""`synfab bench schedule`: a full dispatch reschedule of 5,000 released operations (1,000 work orders, a fifth of
them components of another) on 50 work centers with a two-shift calendar, through the service — load, schedule,
write — in a fresh SQLite database.

Figures: operations, work_centers, seconds (the first full rebuild: every row written), cpu_seconds (the process's
CPU time for it: steadier than wall time on a shared machine), load_ms / compute_ms / write_ms (its split),
again_seconds (a second full rebuild: nothing moved, nothing written), and the rebuild after one order change as
people see it — p50 / p99 of the commit of a work order change whose handler reschedules (`change_p50_ms`,
`change_p99_ms`). Baseline in the same run: `baseline_seconds`, the straightforward way — operations and work
orders loaded as ORM objects and one ORM row per scheduled operation flushed — fed with the very same computed
times (so it measures only the reading and writing the service avoids), `ratio` (seconds ÷ baseline) and
`write_share` (the DB write's share of the first rebuild).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from synfab.bootstrap import build_database, metadata
from synfab.catalog.choices import MaterialType, Sourcing
from synfab.catalog.models import Material, Unit
from synfab.core import clock
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.orders import service as orders
from synfab.orders.choices import OperationStatus, Priority, WorkOrderStatus
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.orders.schemas import WorkOrderUpdate
from synfab.planning.schedule import engine
from synfab.planning.schedule import service as schedule
from synfab.planning.schedule.models import ScheduledOperation
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.schemas import BreakIn, CalendarCreate, NodeCreate, ShiftIn

OPS_PER_ORDER = 5
START = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def build_factory(db: Database, work_centers: int, work_orders: int, seed: int = 7) -> list[int]:
    """A site with lines of ten work centers, a two-shift calendar, and released work orders (one in five a
    component of an earlier one) with five operations each, inserted in bulk. Returns the work order ids."""
    rng = random.Random(seed)
    with db.uow() as uow:
        cal = plant.create_calendar(uow, CalendarCreate(code="2S", name="两班", shifts=[
            ShiftIn(code="D", name="白班", start=time(8), end=time(16), weekdays="123456",
                    breaks=[BreakIn(start=time(12), end=time(12, 30))]),
            ShiftIn(code="N", name="夜班", start=time(16), end=time(0), weekdays="12345")]))
        ent = plant.create_node(uow, NodeCreate(code="ENT", name="企业", level=Level.ENTERPRISE))
        site = plant.create_node(uow, NodeCreate(code="SITE", name="工厂", level=Level.SITE, parent_id=ent.id,
                                                 time_zone="Asia/Shanghai", shift_calendar_id=cal.id))
        area = plant.create_node(uow, NodeCreate(code="AREA", name="车间", level=Level.AREA, parent_id=site.id))
        lines, centers = [], []
        for li in range(max(1, work_centers // 10)):
            line = plant.create_node(uow, NodeCreate(code=f"L{li + 1}", name=f"{li + 1}线", level=Level.LINE,
                                                     parent_id=area.id))
            lines.append(line.id)
            for wi in range(10):
                if len(centers) < work_centers:
                    wc = plant.create_node(uow, NodeCreate(code=f"WC{len(centers) + 1:03d}", name=f"工位{wi + 1}",
                                                           level=Level.WORK_CENTER, parent_id=line.id))
                    centers.append((line.id, wc.id))
        unit = Unit(code="PCS", name="件", name_en="piece")
        uow.session.add(unit)
        uow.session.flush()
        materials = []
        for i in range(50):
            m = Material(code=f"M{i:03d}", name=f"物料{i}", type=MaterialType.FINISHED, unit_id=unit.id,
                         sourcing=Sourcing.MAKE)
            uow.session.add(m)
            materials.append(m)
        uow.session.flush()
        site_id, material_ids = site.id, [m.id for m in materials]
        uow.commit()
    priorities = [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.NORMAL, Priority.NORMAL, Priority.LOW]
    now = clock.now()
    wo_rows = []
    for i in range(work_orders):
        line_id = lines[i % len(lines)]
        wo_rows.append({
            "id": i + 1, "code": f"WO-B{i + 1:06d}", "material_id": rng.choice(material_ids),
            "quantity": Decimal(rng.randrange(10, 200)), "site_id": site_id, "production_line_id": line_id,
            "parent_id": (rng.randrange(1, i + 1) if i > 10 and rng.random() < 0.2 else None),
            "due_date": date(2026, 11, 24) + timedelta(days=rng.randrange(0, 40)),
            "priority": rng.choice(priorities), "status": WorkOrderStatus.RELEASED, "version": 1,
            "created_at": now, "updated_at": now, "updated_by": "bench"})
    op_rows = []
    for wo in wo_rows:
        line_centers = [wc for line, wc in centers if line == wo["production_line_id"]]
        for seq in range(OPS_PER_ORDER):
            setup, run = Decimal(rng.randrange(5, 40)), Decimal(rng.randrange(1, 20)) / 10
            op_rows.append({
                "work_order_id": wo["id"], "seq": (seq + 1) * 10, "name": f"工序{seq + 1}",
                "work_center_id": rng.choice(line_centers), "setup_minutes": setup, "run_minutes": run,
                "planned_minutes": setup + wo["quantity"] * run, "status": OperationStatus.PENDING, "version": 1,
                "good_qty": Decimal(0), "scrap_qty": Decimal(0), "rework_qty": Decimal(0),
                "created_at": now, "updated_at": now, "updated_by": "bench"})
    with db.uow() as uow:
        uow.session.execute(insert(WorkOrder.__table__), wo_rows)
        uow.session.execute(insert(WorkOrderOperation.__table__), op_rows)
        uow.commit()
    return [w["id"] for w in wo_rows]


def _baseline(db: Database, result: engine.Schedule) -> float:
    """The straightforward way, fed the same times: ORM objects in, one ORM row per operation out (rolled back)."""
    began = _time.perf_counter()
    with db.uow() as uow:
        s = uow.session
        ops = list(s.scalars(select(WorkOrderOperation).join(WorkOrder)
                             .where(WorkOrder.status == WorkOrderStatus.RELEASED)))
        released = select(WorkOrder).where(WorkOrder.status == WorkOrderStatus.RELEASED)
        work_orders = {w.id: w for w in s.scalars(released)}
        s.execute(ScheduledOperation.__table__.delete())
        for op in ops:
            p = result.operations.get(op.id)
            wo = work_orders[op.work_order_id]
            s.add(ScheduledOperation(
                operation_id=op.id, work_order_id=op.work_order_id, work_center_id=op.work_center_id,
                scope_node_id=wo.production_line_id or wo.site_id, sequence=p.sequence if p else 0,
                planned_start=datetime.fromtimestamp(p.start, UTC) if p and p.start else None,
                planned_end=datetime.fromtimestamp(p.end, UTC) if p and p.end else None))
        s.flush()
        uow.rollback()
    return _time.perf_counter() - began


def run(quick: bool, database_url: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    work_centers, work_orders = (10, 100) if quick else (50, 1000)
    changes = 10 if quick else 50
    if database_url is not None and not database_url.startswith("sqlite"):
        log("[yellow]the schedule bench runs on a fresh SQLite file; --database-url is ignored[/]")
    clock.set_clock(lambda: START)
    try:
        with tempfile.TemporaryDirectory() as folder, acting_as(SYSTEM):
            db = build_database(url=f"sqlite:///{Path(folder) / 'schedule.db'}")
            metadata.create_all(db.engine)
            try:
                log(f"building a factory: {work_centers} work centers, {work_orders * OPS_PER_ORDER} operations …")
                ids = build_factory(db, work_centers, work_orders)
                began, cpu = _time.perf_counter(), _time.process_time()
                with db.uow() as uow:
                    first = schedule.rebuild_schedule(uow, "bench", full=True)
                    uow.commit()
                seconds, cpu_seconds = _time.perf_counter() - began, _time.process_time() - cpu
                log(f"full rebuild: {first.operations} operations in {seconds:.3f} s")
                began = _time.perf_counter()
                with db.uow() as uow:
                    again = schedule.rebuild_schedule(uow, "bench", full=True)
                    uow.commit()
                again_seconds = _time.perf_counter() - began
                # The result itself, for the baseline (same inputs, same times).
                with db.session() as session:
                    result = schedule.compute_schedule(session, START)
                baseline = _baseline(db, result)
                rng = random.Random(11)
                latencies = []
                for _ in range(changes):
                    wo_id = rng.choice(ids)
                    with db.uow() as uow:
                        wo = uow.session.get(WorkOrder, wo_id)
                        started = _time.perf_counter()
                        orders.change_work_order(uow, wo_id, WorkOrderUpdate(
                            version=wo.version, due_date=wo.due_date + timedelta(days=rng.choice([-3, -1, 1, 3])),
                            priority=rng.choice(["1", "2", "3", "4"])))
                        uow.commit()
                        latencies.append((_time.perf_counter() - started) * 1000)
                latencies.sort()
            finally:
                db.dispose()
    finally:
        clock.set_clock(None)
    return {
        "operations": first.operations, "work_centers": work_centers, "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "load_ms": round(first.load_ms, 1), "compute_ms": round(first.compute_ms, 1),
        "write_ms": round(first.write_ms, 1), "again_seconds": round(again_seconds, 3),
        "again_changed_operations": again.changed_operations,
        "baseline_seconds": round(baseline, 3), "ratio": round(seconds / baseline, 2) if baseline else None,
        "write_share": round(first.write_ms / (seconds * 1000), 2),
        "change_p50_ms": round(statistics.median(latencies), 1),
        "change_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        "target_seconds": 1.0,
    }

