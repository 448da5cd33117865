"""`synfab bench materials`: what one work order change costs material planning, with ≥ 1,000 open work orders
and ≥ 500 bought materials, in a fresh SQLite database.

The factory: 500 bought materials with two lots each in a raw material store (some with an expiry), a supplier
selling each (minimum order and pack size), 50 products whose BOMs take 6 bought components each, and 1,000
released work orders of those products (inserted in bulk, then planned through the service: requirements,
FEFO/FIFO reservations, shortages, suggestions).

Figures: `open_work_orders`, `materials`, `reservations`, `shortages`, `suggestions` after planning; the commit of
one work order quantity change through `orders.service.change_work_order`, with every handler of the bus (materials:
reservations, shortages, suggestions of the touched materials only; the schedule's, where installed) —
`p50_ms`, `p99_ms` over the changes. Baseline in the same run: `full_mrp_ms`, one full `run_mrp` over all open
demand — what recomputing the whole plan per event would cost instead.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from synfab.bootstrap import build_database, metadata
from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, BomLine, Material, Routing, RoutingOperation, Unit
from synfab.core import clock
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.inventory.choices import LotStatus, MoveKind, ReservationStatus
from synfab.inventory.models import Lot, Reservation
from synfab.inventory.purchasing.models import Supplier, SupplierItem
from synfab.inventory.schemas import MoveIn
from synfab.inventory.service import post_moves
from synfab.orders import service as orders
from synfab.orders.choices import Priority, WorkOrderStatus
from synfab.orders.models import WorkOrder
from synfab.orders.schemas import WorkOrderUpdate
from synfab.planning.materials import service
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus
from synfab.planning.materials.models import PurchaseSuggestion, Shortage
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
COMPONENTS_PER_BOM = 6


def build_factory(db: Database, materials: int, products: int, work_orders: int, seed: int = 11) -> list[int]:
    rng = random.Random(seed)
    with db.uow() as uow:
        s = uow.session
        ent = plant.create_node(uow, NodeCreate(code="ENT", name="企业", level=Level.ENTERPRISE))
        site = plant.create_node(uow, NodeCreate(code="SITE", name="工厂", level=Level.SITE, parent_id=ent.id,
                                                 time_zone="Asia/Shanghai"))
        area = plant.create_node(uow, NodeCreate(code="AREA", name="车间", level=Level.AREA, parent_id=site.id))
        line = plant.create_node(uow, NodeCreate(code="L1", name="一线", level=Level.LINE, parent_id=area.id))
        wc = plant.create_node(uow, NodeCreate(code="WC1", name="工位", level=Level.WORK_CENTER, parent_id=line.id))
        store = plant.create_node(uow, NodeCreate(code="RM", name="原料库", level=Level.STORAGE_ZONE,
                                                  parent_id=site.id))
        unit = Unit(code="PCS", name="件", name_en="piece")
        s.add(unit)
        s.flush()
        bought = [Material(code=f"R{i:04d}", name=f"原料{i}", type=MaterialType.RAW, unit_id=unit.id,
                           sourcing=Sourcing.BUY, lead_time_days=rng.randrange(3, 30),
                           shelf_life_days=180 if i % 3 == 0 else None) for i in range(materials)]
        made = [Material(code=f"P{i:03d}", name=f"产品{i}", type=MaterialType.FINISHED, unit_id=unit.id,
                         sourcing=Sourcing.MAKE) for i in range(products)]
        s.add_all([*bought, *made])
        s.flush()
        supplier = Supplier(code="SUP", name="供应商", lead_time_days=14)
        s.add(supplier)
        s.flush()
        s.add_all([SupplierItem(supplier_id=supplier.id, material_id=m.id, min_order_qty=Decimal(50),
                                pack_size=Decimal(25), preferred=True) for m in bought])
        boms = {}
        for p in made:
            parts = rng.sample(bought, COMPONENTS_PER_BOM)
            bom = Bom(material_id=p.id, revision="A", status=DocumentStatus.RELEASED, effective_from=date(2026, 1, 1),
                      lines=[BomLine(position=10 * (k + 1), component_id=c.id, quantity=Decimal(rng.randrange(1, 4)),
                                     unit_id=unit.id) for k, c in enumerate(parts)])
            s.add(bom)
            s.add(Routing(material_id=p.id, revision="A", status=DocumentStatus.RELEASED,
                          effective_from=date(2026, 1, 1), operations=[
                RoutingOperation(seq=10, name="装配", work_center_id=wc.id, setup_minutes=Decimal(10),
                                 run_minutes=Decimal(1))]))
            s.flush()
            boms[p.id] = bom.id
        lots = []
        for m in bought:
            for k in range(2):
                lot = Lot(code=f"{m.code}-L{k}", material_id=m.id, status=LotStatus.AVAILABLE,
                          received_on=date(2026, 10, 1) + timedelta(days=k * 20),
                          expires_on=date(2027, 3, 1) + timedelta(days=k * 30) if m.shelf_life_days else None)
                lots.append(lot)
        s.add_all(lots)
        s.flush()
        post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=lot.material_id, lot_id=lot.id,
                                to_location_id=store.id, quantity=Decimal(rng.randrange(50, 400))) for lot in lots])
        site_id, line_id, product_ids = site.id, line.id, [p.id for p in made]
        uow.commit()
    rows = []
    for i in range(work_orders):
        product = rng.choice(product_ids)
        rows.append({"id": i + 1, "code": f"WO-M{i + 1:06d}", "material_id": product,
                     "quantity": Decimal(rng.randrange(5, 60)), "site_id": site_id, "production_line_id": line_id,
                     "bom_id": boms[product], "due_date": date(2026, 11, 25) + timedelta(days=rng.randrange(0, 60)),
                     "priority": Priority.NORMAL, "status": WorkOrderStatus.RELEASED, "version": 1,
                     "created_at": NOW, "updated_at": NOW, "updated_by": "bench"})
    with db.uow() as uow:
        uow.session.execute(insert(WorkOrder.__table__), rows)
        uow.commit()
    return [r["id"] for r in rows]


def plan_all(db: Database, work_order_ids: list[int], chunk: int = 100) -> None:
    """What the release handler does for each work order, in chunks; then the netting of every material."""
    for i in range(0, len(work_order_ids), chunk):
        with db.uow() as uow:
            touched: service.Touched = set()
            for wo_id in work_order_ids[i:i + chunk]:
                service.plan_work_order(uow, wo_id, touched)
            service.replan(uow, touched)
            uow.commit()


def run(quick: bool, database_url: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    materials, products, work_orders, changes = (100, 10, 100, 20) if quick else (500, 50, 1000, 200)
    clock.set_clock(lambda: NOW)
    try:
        with tempfile.TemporaryDirectory() as tmp, acting_as(SYSTEM):
            url = database_url or f"sqlite:///{Path(tmp) / 'materials.db'}"
            db = build_database(url=url)
            metadata.create_all(db.engine)
            log(f"building {work_orders} released work orders over {materials} bought materials …")
            ids = build_factory(db, materials, products, work_orders)
            began = _time.perf_counter()
            plan_all(db, ids)
            plan_seconds = _time.perf_counter() - began
            with db.session() as s:
                counts = {
                    "reservations": s.scalar(select(func.count()).select_from(Reservation)
                                             .where(Reservation.status == ReservationStatus.ACTIVE)),
                    "shortages": s.scalar(select(func.count()).select_from(Shortage)
                                          .where(Shortage.status == ShortageStatus.OPEN)),
                    "suggestions": s.scalar(select(func.count()).select_from(PurchaseSuggestion)
                                            .where(PurchaseSuggestion.status == SuggestionStatus.OPEN)),
                }
            log(f"planned in {plan_seconds:.1f} s; {changes} quantity changes …")
            rng = random.Random(5)
            timings = []
            for _ in range(changes):
                wo_id = rng.choice(ids)
                with db.session() as s:
                    wo = s.scalar(select(WorkOrder).where(WorkOrder.id == wo_id))
                    version, quantity = wo.version, wo.quantity
                new = max(Decimal(1), quantity + Decimal(rng.choice([-7, -3, 4, 9, 15])))
                began = _time.perf_counter()
                with db.uow() as uow:
                    orders.change_work_order(uow, wo_id, WorkOrderUpdate(version=version, quantity=new))
                    uow.commit()
                timings.append((_time.perf_counter() - began) * 1000)
            began = _time.perf_counter()
            with db.uow() as uow:
                service.run_mrp(uow)
                uow.commit()
            full_mrp_ms = (_time.perf_counter() - began) * 1000
            db.dispose()
    finally:
        clock.set_clock(None)
    slowest = sorted(range(len(timings)), key=lambda i: -timings[i])[:5]
    log(f"slowest changes (index: ms): {', '.join(f'{i}: {timings[i]:.0f}' for i in slowest)}")
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(round(0.99 * (len(timings) - 1))))]
    return {"open_work_orders": work_orders, "materials": materials, **counts,
            "plan_seconds": round(plan_seconds, 2), "changes": changes,
            "p50_ms": round(statistics.median(timings), 1), "p99_ms": round(p99, 1),
            "full_mrp_ms": round(full_mrp_ms, 1)}
