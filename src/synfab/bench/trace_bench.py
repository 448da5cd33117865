"""`synfab bench trace`: lot genealogy traces on 1,000,000 lots and 2,000,000 links, through the service as a
scoped person, beside a raw recursive CTE on the same database in the same run.

The genealogy has five levels of 200,000 lots (raw → … → finished); every lot above the first has two or three
input lots of the level below (2.5 on average: 2,000,000 links). Every lot has a balance: nine in ten at the
scoped person's site, one in ten at another site (out of scope, so the scope filter has work to do). Lots,
links and balances are generated inside SQLite by INSERT … SELECT over a counter, in a fresh file.

Figures: `backward_median_ms` (trace_backward of a random finished lot), `forward_median_ms` (trace_forward of a
random raw lot), both through `inventory.service` in a session restricted to one site; `raw_cte_median_ms`
(the same backward traversal as one hand-written recursive CTE on the driver's connection, unscoped, rows
fetched); `ratio` = backward_median_ms ÷ raw_cte_median_ms; plus p90s, the average lines per trace and the
generation time.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from synfab.bootstrap import build_database, metadata
from synfab.catalog.choices import MaterialType
from synfab.catalog.models import Material, Unit
from synfab.core.context import SYSTEM, Actor, acting_as
from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.models import Lot, LotLink
from synfab.inventory.schemas import MoveIn
from synfab.people import service as people
from synfab.people.models import User
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate

LEVELS = 5
RAW_SQL = """
WITH RECURSIVE reach(id) AS (
    SELECT ? UNION SELECT l.input_lot_id FROM lot_link l JOIN reach r ON l.output_lot_id = r.id
)
SELECT l.output_lot_id, l.input_lot_id, l.quantity, l.id, lot.code, lot.status, m.id, m.code, m.name, m.name_en
FROM lot_link l JOIN reach r ON l.output_lot_id = r.id JOIN lot ON lot.id = l.input_lot_id
JOIN material m ON m.id = lot.material_id
"""


def _generate(db: Database, per_level: int, log: Callable[[str], None]) -> tuple[int, int, int]:
    """The plant, one material per level, a scoped manager; then lots, links and balances in bulk.
    Returns (site id, first lot id, template link id)."""
    with db.uow() as uow:
        ent = plant.create_node(uow, NodeCreate(code="ENT", name="企业", level=Level.ENTERPRISE))
        site = plant.create_node(uow, NodeCreate(code="SH", name="上海工厂", level=Level.SITE, parent_id=ent.id,
                                                 time_zone="Asia/Shanghai"))
        other = plant.create_node(uow, NodeCreate(code="BJ", name="北京工厂", level=Level.SITE, parent_id=ent.id,
                                                  time_zone="Asia/Shanghai"))
        here = plant.create_node(uow, NodeCreate(code="SH-FG", name="成品库", level=Level.STORAGE_ZONE,
                                                 parent_id=site.id))
        there = plant.create_node(uow, NodeCreate(code="BJ-FG", name="成品库", level=Level.STORAGE_ZONE,
                                                  parent_id=other.id))
        unit = Unit(code="PCS", name="件", name_en="piece")
        uow.session.add(unit)
        uow.session.flush()
        materials = [Material(code=f"M{k}", name=f"物料{k}", type=MaterialType.SEMI_FINISHED, unit_id=unit.id,
                              lot_tracked=True) for k in range(LEVELS)]
        uow.session.add_all(materials)
        uow.session.flush()
        # Two lots and a link through the services: the templates whose stored values the bulk rows copy.
        first = inventory.ensure_lot(uow, materials[0].id, "TEMPLATE-0")
        second = inventory.ensure_lot(uow, materials[1].id, "TEMPLATE-1")
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=materials[0].id, lot_id=first.id,
                                          to_location_id=here.id, quantity=1)])
        template = inventory.link_lots(uow, first.id, second.id, 1)
        people.ensure_builtin_roles(uow)
        user = people.create_user(uow, "bench_manager", "Bench manager", "bench-password-1")
        people.grant_role(uow, user, "manager", site.id)
        uow.commit()
        ids = (site.id, here.id, there.id, [m.id for m in materials], first.id, template.id)
    site_id, here_id, there_id, material_ids, template_lot, template_link = ids
    total = per_level * LEVELS
    started = time.perf_counter()
    with db.engine.begin() as conn:
        raw = conn.exec_driver_sql
        created, updated = raw("SELECT created_at, updated_at FROM lot WHERE id = ?", (template_lot,)).one()
        quantity, linked_at = raw("SELECT quantity, linked_at FROM lot_link WHERE id = ?", (template_link,)).one()
        base = raw("SELECT max(id) FROM lot").scalar() + 1
        materials_case = " ".join(f"WHEN {k} THEN {mid}" for k, mid in enumerate(material_ids))
        raw(f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {total - 1})
                INSERT INTO lot (id, code, material_id, status, version, created_at, updated_at, updated_by)
                SELECT {base} + i, 'B' || printf('%08d', i), CASE i / {per_level} {materials_case} END,
                       'available', 1, ?, ?, 'bench' FROM n""", (created, updated))
        log(f"  {total:,} lots in {time.perf_counter() - started:.1f} s")
        # Level k (1…4) takes inputs from level k − 1: two for every lot, a third for every other one.
        for j, (mult, add) in enumerate(((7919, 13), (104729, 71), (1299709, 577))):
            every = "" if j < 2 else "AND i % 2 = 0"
            raw(f"""WITH RECURSIVE n(i) AS (SELECT {per_level} UNION ALL SELECT i + 1 FROM n WHERE i < {total - 1})
                    INSERT INTO lot_link (input_lot_id, output_lot_id, quantity, linked_at)
                    SELECT {base} + (i / {per_level} - 1) * {per_level} + ((i * {mult} + {add}) % {per_level}),
                           {base} + i, ?, ? FROM n WHERE 1 {every}""", (quantity, linked_at))
        links = raw("SELECT count(*) FROM lot_link").scalar()
        log(f"  {links:,} links after {time.perf_counter() - started:.1f} s")
        raw(f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {total - 1})
                INSERT INTO stock_balance (material_id, location_id, lot_id, lot_key, quantity)
                SELECT CASE i / {per_level} {materials_case} END,
                       CASE WHEN i % 10 = 0 THEN {there_id} ELSE {here_id} END, {base} + i, {base} + i, ?
                FROM n""", (quantity,))
        raw("ANALYZE")
    log(f"  balances and ANALYZE after {time.perf_counter() - started:.1f} s")
    return site_id, base, template_link


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def _p90_ms(samples: list[float]) -> float:
    return round(sorted(samples)[int(len(samples) * 0.9)] * 1000, 3)


def run(quick: bool, database_url: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    per_level = 4_000 if quick else 200_000
    runs = 200 if quick else 1_000
    if database_url is not None and not database_url.startswith("sqlite"):
        log("[yellow]the trace bench generates its data inside a fresh SQLite file; --database-url is ignored[/]")
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as folder:
        with acting_as(SYSTEM):
            db = build_database(url=f"sqlite:///{Path(folder) / 'trace.db'}")
            metadata.create_all(db.engine)
        try:
            log(f"generating {per_level * LEVELS:,} lots in {LEVELS} levels …")
            began = time.perf_counter()
            with acting_as(SYSTEM):
                _site, base, _link = _generate(db, per_level, log)
            generate_s = time.perf_counter() - began
            with acting_as(SYSTEM), db.session() as s:
                lots = s.scalar(select(func.count()).select_from(Lot)) or 0
                links = s.query(LotLink).count()
                user = s.scalar(select(User).where(User.username == "bench_manager"))
                principal = people.principal_for(s, user)
            manager = Actor(principal.user_id, principal.username, principal.restriction)
            # Lots the manager may see (nine in ten): finished ones to trace back, raw ones to trace forward.
            finished = [base + (LEVELS - 1) * per_level + i for i in range(per_level) if i % 10]
            raw_lots = [base + i for i in range(per_level) if i % 10]
            backs = [rng.choice(finished) for _ in range(runs)]
            fwds = [rng.choice(raw_lots) for _ in range(runs)]

            back_s, fwd_s, raw_s, sizes = [], [], [], []
            with acting_as(manager), db.session() as s:
                for lot_id in backs[:50] + fwds[:50]:  # warm the caches (statement cache, pages)
                    inventory.trace_backward(s, lot_id)
                    inventory.trace_forward(s, lot_id)
                for lot_id in backs:
                    t0 = time.perf_counter()
                    lines = inventory.trace_backward(s, lot_id)
                    back_s.append(time.perf_counter() - t0)
                    sizes.append(len(lines))
                for lot_id in fwds:
                    t0 = time.perf_counter()
                    inventory.trace_forward(s, lot_id)
                    fwd_s.append(time.perf_counter() - t0)
            with db.engine.connect() as conn:
                cursor = conn.connection.driver_connection.cursor()
                for lot_id in backs[:50]:
                    cursor.execute(RAW_SQL, (lot_id,)).fetchall()
                for lot_id in backs:
                    t0 = time.perf_counter()
                    cursor.execute(RAW_SQL, (lot_id,)).fetchall()
                    raw_s.append(time.perf_counter() - t0)
                cursor.close()
        finally:
            db.dispose()
    backward, raw_median = _median_ms(back_s), _median_ms(raw_s)
    figures = {
        "lots": lots, "links": links, "traces": runs,
        "backward_median_ms": backward, "backward_p90_ms": _p90_ms(back_s),
        "forward_median_ms": _median_ms(fwd_s), "forward_p90_ms": _p90_ms(fwd_s),
        "raw_cte_median_ms": raw_median, "raw_cte_p90_ms": _p90_ms(raw_s),
        "ratio": round(backward / raw_median, 2) if raw_median else None,
        "lines_per_backward_trace": round(statistics.mean(sizes), 1), "generate_s": round(generate_s, 1),
    }
    return figures
