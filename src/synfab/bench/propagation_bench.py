"""`synfab bench propagation`: order changes in a factory ten times the demo — from the API call to every effect
committed (work orders, reservations, shortages and suggestions, the schedule) and the planner's live message
emitted — on a fresh SQLite file.

The factory: 50 work centers on 5 lines with a two-shift calendar, 500 bought materials, 100 products each made
of a sub-assembly (also made here) and bought parts, 500 order lines released: 1,000 open work orders with 5,000
operations. Then 200 random changes of order lines through `PATCH /api/v1/sales-orders/{id}/lines/{line}`
(quantity up or down, due date, priority), each timed from sending the request until the live hub emitted a
message of the change's correlation (the request id).

Figures: open_work_orders, operations, materials, changes, p50_ms, p99_ms (API call → SSE emitted), commit_p50_ms /
commit_p99_ms (API call → response: everything committed), and the baseline measured in the same run: the same
kind of change committed by the same service with no handler wired (`baseline_p50_ms`) — what propagation adds.
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

from sqlalchemy import select

from synfab.bootstrap import build_database, metadata
from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, BomLine, Material, Routing, RoutingOperation, Unit
from synfab.core import clock
from synfab.core.bus import MessageBus
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.core.ids import new_id
from synfab.orders import service as orders
from synfab.orders.choices import OPEN_WORK_ORDER_STATUSES
from synfab.orders.models import Customer, SalesOrderLine, WorkOrder, WorkOrderOperation
from synfab.orders.schemas import SalesOrderCreate, SalesOrderLineCreate, SalesOrderLineUpdate
from synfab.plant import service as plant
from synfab.plant.choices import Level, StorageRole
from synfab.plant.schemas import BreakIn, CalendarCreate, NodeCreate, ShiftIn

START = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, a Monday
PASSWORD = "bench-propagation-pw"


def build_factory(db: Database, lines: int, products: int, bought: int, order_lines: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    with db.uow() as uow:
        s = uow.session
        cal = plant.create_calendar(uow, CalendarCreate(code="2S", name="两班", shifts=[
            ShiftIn(code="D", name="白班", start=time(8), end=time(16), weekdays="123456",
                    breaks=[BreakIn(start=time(12), end=time(12, 30))]),
            ShiftIn(code="N", name="夜班", start=time(16), end=time(0), weekdays="12345")]))
        ent = plant.create_node(uow, NodeCreate(code="ENT", name="企业", level=Level.ENTERPRISE))
        site = plant.create_node(uow, NodeCreate(code="SITE", name="工厂", level=Level.SITE, parent_id=ent.id,
                                                 time_zone="Asia/Shanghai", shift_calendar_id=cal.id))
        area = plant.create_node(uow, NodeCreate(code="AREA", name="车间", level=Level.AREA, parent_id=site.id))
        plant.create_node(uow, NodeCreate(code="RM", name="原料库", level=Level.STORAGE_ZONE, parent_id=site.id,
                                          storage_role=StorageRole.RAW_MATERIAL))
        plant.create_node(uow, NodeCreate(code="FG", name="成品库", level=Level.STORAGE_ZONE, parent_id=site.id,
                                          storage_role=StorageRole.FINISHED_GOODS))
        centers: list[list[int]] = []
        for li in range(lines):
            line = plant.create_node(uow, NodeCreate(code=f"L{li + 1}", name=f"{li + 1}线", level=Level.LINE,
                                                     parent_id=area.id))
            plant.create_node(uow, NodeCreate(code=f"WIP-L{li + 1}", name=f"{li + 1}线线边库",
                                              level=Level.STORAGE_ZONE, parent_id=line.id,
                                              storage_role=StorageRole.WIP))
            centers.append([plant.create_node(uow, NodeCreate(
                code=f"WC{li + 1}-{w + 1}", name=f"{li + 1}线工位{w + 1}", level=Level.WORK_CENTER,
                parent_id=line.id)).id for w in range(10)])
        pcs = Unit(code="PCS", name="件", name_en="piece")
        s.add(pcs)
        s.flush()
        raw = [Material(code=f"RM{i:04d}", name=f"外购件{i}", type=MaterialType.RAW, unit_id=pcs.id,
                        sourcing=Sourcing.BUY, lead_time_days=rng.randint(3, 20)) for i in range(bought)]
        s.add_all(raw)
        s.flush()

        def routing(material: Material, line_centers: list[int]) -> Routing:
            return Routing(material_id=material.id, revision="A", status=DocumentStatus.RELEASED,
                           effective_from=date(2026, 1, 1), operations=[
                RoutingOperation(seq=(k + 1) * 10, name=f"工序{k + 1}", work_center_id=line_centers[k * 2 + (k % 2)],
                                 setup_minutes=Decimal(rng.randint(5, 30)),
                                 run_minutes=Decimal(rng.randint(2, 12)) / 10) for k in range(5)])

        for p in range(products):
            line_centers = centers[p % lines]
            sub = Material(code=f"SA{p:03d}", name=f"部件{p}", type=MaterialType.SEMI_FINISHED, unit_id=pcs.id,
                           sourcing=Sourcing.MAKE)
            top = Material(code=f"P{p:03d}", name=f"产品{p}", type=MaterialType.FINISHED, unit_id=pcs.id,
                           sourcing=Sourcing.MAKE)
            s.add_all([sub, top])
            s.flush()
            s.add_all([routing(sub, line_centers), routing(top, line_centers)])
            parts = rng.sample(raw, 5)
            s.add(Bom(material_id=sub.id, revision="A", status=DocumentStatus.RELEASED,
                      effective_from=date(2026, 1, 1), lines=[
                BomLine(position=(k + 1) * 10, component_id=m.id, quantity=Decimal(rng.randint(1, 4)), unit_id=pcs.id)
                for k, m in enumerate(parts[:2])]))
            s.add(Bom(material_id=top.id, revision="A", status=DocumentStatus.RELEASED,
                      effective_from=date(2026, 1, 1), lines=[
                BomLine(position=10, component_id=sub.id, quantity=Decimal(1), unit_id=pcs.id),
                *(BomLine(position=(k + 2) * 10, component_id=m.id, quantity=Decimal(rng.randint(1, 3)),
                          unit_id=pcs.id) for k, m in enumerate(parts[2:]))]))
        s.add(Customer(code="C001", name="客户一"))
        uow.commit()
        site_id = site.id
    with db.session() as s:
        tops = list(s.scalars(select(Material.id).where(Material.code.startswith("P")).order_by(Material.id)))
        customer = s.scalar(select(Customer.id))
    per_order = 5
    for start in range(0, order_lines, 50):  # released 50 lines per transaction: the schedule rebuilds once each
        with db.uow() as uow:
            for o in range(start // per_order, min(start + 50, order_lines) // per_order):
                order = orders.create_sales_order(uow, SalesOrderCreate(
                    code=f"SO-B{o:05d}", customer_id=customer, site_id=site_id, order_date=date(2026, 11, 20),
                    lines=[SalesOrderLineCreate(material_id=rng.choice(tops), quantity=Decimal(rng.randint(10, 200)),
                                                due_date=date(2026, 11, 30) + timedelta(days=rng.randint(0, 45)))
                           for _ in range(per_order)]))
                uow.flush()
                for line in order.lines:
                    orders.release_sales_order_line(uow, order.id, line.id)
            uow.commit()


def _change(rng: random.Random, line: SalesOrderLine) -> dict[str, Any]:
    kind = rng.choice(["quantity", "quantity", "due_date", "priority"])
    if kind == "quantity":
        return {"quantity": str(max(1, int(line.quantity) + rng.choice([-20, -5, 5, 20])))}
    if kind == "due_date":
        return {"due_date": (line.due_date + timedelta(days=rng.choice([-3, -1, 1, 4]))).isoformat()}
    return {"priority": rng.choice(["1", "2", "3", "4"])}


def _baseline(url: str, samples: int) -> list[float]:
    """The same kind of change, committed by the same service with no handler wired: no propagation."""
    bare = Database(url, bus=MessageBus())
    rng = random.Random(5)
    times: list[float] = []
    try:
        with bare.session() as s:
            ids = list(s.execute(select(SalesOrderLine.order_id, SalesOrderLine.id)).all())
        for _ in range(samples):
            order_id, line_id = rng.choice(ids)
            began = _time.perf_counter()
            with bare.uow() as uow:
                line = orders.get_sales_order_line(uow.session, order_id, line_id)
                change = _change(rng, line)
                orders.change_sales_order_line(uow, order_id, line_id,
                                               SalesOrderLineUpdate(version=line.version, **change))
                uow.commit()
            times.append((_time.perf_counter() - began) * 1000)
    finally:
        bare.dispose()
    return times


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)


def run(quick: bool, database_url: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from synfab.people import service as people
    from synfab.planning.schedule.service.rebuild import forget_everything
    from synfab.web.app import create_app, settle_heap

    lines, products, bought, order_lines, changes = (2, 10, 60, 50, 20) if quick else (5, 100, 500, 500, 200)
    if database_url is not None and not database_url.startswith("sqlite"):
        log("[yellow]the propagation bench runs on a fresh SQLite file; --database-url is ignored[/]")
    clock.set_clock(lambda: START)
    try:
        with tempfile.TemporaryDirectory() as folder, acting_as(SYSTEM):
            url = f"sqlite:///{Path(folder) / 'propagation.db'}"
            db = build_database(url=url)
            metadata.create_all(db.engine)
            try:
                log(f"building a factory: {order_lines} order lines to release over {products} products …")
                began = _time.perf_counter()
                build_factory(db, lines, products, bought, order_lines)
                with db.uow() as uow:
                    people.ensure_builtin_roles(uow)
                    planner = people.create_user(uow, "planner", "Planner", PASSWORD)
                    site = plant.node_by_code(uow.session, "SITE")
                    people.grant_role(uow, planner, "manager", site.id)
                    uow.commit()
                with db.session() as s:
                    open_wo = len(s.scalars(select(WorkOrder.id).where(
                        WorkOrder.status.in_([st.value for st in OPEN_WORK_ORDER_STATUSES]))).all())
                    operations = len(s.scalars(select(WorkOrderOperation.id)).all())
                    materials = len(s.scalars(select(Material.id)).all())
                    ids = list(s.execute(select(SalesOrderLine.order_id, SalesOrderLine.id)).all())
                log(f"factory ready in {_time.perf_counter() - began:.1f} s: {open_wo} work orders, "
                    f"{operations} operations, {materials} materials")
                rng = random.Random(11)
                latencies, commits, missed = [], [], 0
                forget_everything()  # the server starts with nothing in memory, as a new process does
                with TestClient(create_app(db)) as client:
                    settle_heap()  # as `synfab serve` does once its app is built
                    r = client.post("/api/v1/session", json={"username": "planner", "password": PASSWORD})
                    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
                    for i in range(changes):
                        order_id, line_id = rng.choice(ids)
                        line = client.get(f"/api/v1/sales-orders/{order_id}").json()
                        current = next(ln for ln in line["lines"] if ln["id"] == line_id)
                        change = _change(rng, _LineView(current))
                        request_id = new_id()
                        sent = _time.perf_counter()
                        answer = client.patch(f"/api/v1/sales-orders/{order_id}/lines/{line_id}",
                                              json={"version": current["version"], **change},
                                              headers={"X-Request-ID": request_id})
                        committed = _time.perf_counter()
                        if answer.status_code != 200:
                            log(f"change {i}: {answer.status_code} {answer.text[:200]}")
                            continue
                        commits.append((committed - sent) * 1000)
                        deadline = committed + 5
                        while request_id not in db.live.last_emitted and _time.perf_counter() < deadline:
                            _time.sleep(0.0005)
                        emitted = db.live.last_emitted.get(request_id)
                        if emitted is None:
                            missed += 1
                            continue
                        latencies.append((emitted - sent) * 1000)
                baseline = _baseline(url, max(20, changes // 4))
            finally:
                db.dispose()
    finally:
        clock.set_clock(None)
    return {
        "open_work_orders": open_wo, "operations": operations, "materials": materials, "changes": changes,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": _pct(latencies, 0.99) if latencies else None, "not_emitted": missed,
        "commit_p50_ms": round(statistics.median(commits), 1) if commits else None,
        "commit_p99_ms": _pct(commits, 0.99) if commits else None,
        "baseline_p50_ms": round(statistics.median(baseline), 1), "baseline_p99_ms": _pct(baseline, 0.99),
        "target_p99_ms": 100,
    }


class _LineView:
    """The fields `_change` reads, from the API's JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.quantity = Decimal(data["quantity"])
        self.due_date = date.fromisoformat(data["due_date"])
