"""`synfab bench import`: a generated workbook of 100,000 sales order lines through the whole import path —
read, recognise, parse every cell, resolve every code, validate, write in bulk — beside a baseline that reads the
same file and inserts the same rows with plain bulk INSERTs and no checks at all, into the same engine.

Figures: rows, seconds, rows_per_s (first import), reimport_rows_per_s (the same file again: every row compared,
nothing written), baseline_rows_per_s, ratio (rows_per_s ÷ baseline_rows_per_s).
"""

from __future__ import annotations

import io
import random
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

from openpyxl import Workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import insert, select

from synfab.bootstrap import build_database
from synfab.connect.files.registry import kinds
from synfab.connect.files.runner import run_import
from synfab.core import clock
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.migrations import upgrade
from synfab.sim.demo import demo_workbook

LINES_PER_ORDER = 4


@contextmanager
def fresh_database(database_url: str | None, folder: Path, name: str) -> Iterator[Database]:
    """An empty, migrated database: a SQLite file, or a new PostgreSQL database next to the given one."""
    if database_url is None or database_url.startswith("sqlite"):
        db = build_database(url=f"sqlite:///{folder / f'{name}.db'}")
        upgrade(db)
        try:
            yield db
        finally:
            db.dispose()
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(database_url)
    dbname = f"synfab_bench_{name}_{random.randrange(16 ** 6):06x}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    db = build_database(url=base.set(database=dbname).render_as_string(hide_password=False))
    upgrade(db)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def master_data(today: date) -> bytes:
    """The demo plant's master data (plant, materials, customers) without its orders and stock."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(demo_workbook(today, locale="en")))
    out = Workbook(write_only=True)
    skip = {kinds()["sales_orders"].sheet_title("en"), kinds()["stock"].sheet_title("en")}
    for name in book.sheet_names:
        if name in skip:
            continue
        sheet = out.create_sheet(name)
        for row in book.get_sheet_by_name(name).to_python():
            sheet.append(row)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def order_lines_workbook(rows: int, today: date) -> bytes:
    """`rows` sales order lines over the demo's customers and finished goods, four lines per order."""
    rng = random.Random(7)
    kind = kinds()["sales_orders"]
    customers = [f"C{i:03d}" for i in range(1, 11)]
    products = ["CAL-FR-L", "CAL-FR-R", "CAL-RR-L", "CAL-RR-R", "CAL-FR-L-EV", "CAL-FR-R-EV"]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(kind.sheet_title("zh_CN"))
    sheet.append([c.header("zh_CN") for c in kind.columns])
    for i in range(rows):
        order, line = divmod(i, LINES_PER_ORDER)
        ordered = today - timedelta(days=order % 30)
        sheet.append([f"SO-B{order:07d}", customers[order % len(customers)], "SZ", ordered, f"PO{order:08d}",
                      "普通", (line + 1) * 10, products[(order + line) % len(products)], rng.randint(1, 200) * 10,
                      "pcs", ordered + timedelta(days=7 + (i % 60))])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def baseline_insert(db: Database, data: bytes, today: date) -> int:
    """The floor: read the same workbook and INSERT the same orders and lines in bulk, checking nothing."""
    from synfab.catalog.models import Material
    from synfab.orders.models import Customer, SalesOrder, SalesOrderLine
    from synfab.plant.models import PlantNode

    grid = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()[1:]
    with db.uow() as uow:
        s = uow.session
        customers = dict(s.execute(select(Customer.code, Customer.id)).all())
        materials = dict(s.execute(select(Material.code, Material.id)).all())
        site = s.scalar(select(PlantNode.id).where(PlantNode.code == "SZ"))
        now = clock.now()
        stamp = {"version": 1, "created_at": now, "updated_at": now, "updated_by": "bench"}
        orders: dict[str, dict[str, Any]] = {}
        for r in grid:
            orders.setdefault(r[0], {"code": r[0], "customer_id": customers[r[1]], "site_id": site,
                                     "order_date": r[3], "customer_po": r[4], "priority": "3", "status": "open",
                                     **stamp})
        ids = dict(s.execute(insert(SalesOrder).returning(SalesOrder.code, SalesOrder.id), list(orders.values())).all())
        s.execute(insert(SalesOrderLine), [
            {"order_id": ids[r[0]], "line_no": int(r[6]), "material_id": materials[r[7]], "quantity": r[8],
             "due_date": r[10], "priority": "3", "status": "open", **stamp} for r in grid])
        uow.session.commit()
    return len(grid)


def run(quick: bool, database_url: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    rows = 10_000 if quick else 100_000
    today = clock.now().date()
    with tempfile.TemporaryDirectory(prefix="synfab-bench-") as tmp, acting_as(SYSTEM):
        folder = Path(tmp)
        log(f"generating a workbook of {rows:,} sales order lines …")
        data = order_lines_workbook(rows, today)
        master = master_data(today)
        with fresh_database(database_url, folder, "import") as db:
            engine = db.dialect
            report = run_import(db, master, "master.xlsx")
            assert report.ok, [p.to_dict() for p in report.errors[:5]]
            log("importing …")
            started = time.perf_counter()
            report = run_import(db, data, "orders.xlsx")
            seconds = time.perf_counter() - started
            assert report.ok and report.committed, [p.to_dict() for p in report.errors[:5]]
            assert report.summaries[0].created == rows
            log("importing the same file again …")
            started = time.perf_counter()
            again = run_import(db, data, "orders.xlsx")
            reimport_seconds = time.perf_counter() - started
            assert again.ok and again.summaries[0].unchanged == rows
        with fresh_database(database_url, folder, "baseline") as db:
            assert run_import(db, master, "master.xlsx").ok
            log("baseline: the same rows with plain bulk INSERTs …")
            started = time.perf_counter()
            inserted = baseline_insert(db, data, today)
            baseline_seconds = time.perf_counter() - started
            assert inserted == rows
    return {
        "engine": engine, "format": "xlsx", "rows": rows, "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds), "reimport_rows_per_s": round(rows / reimport_seconds),
        "baseline_rows_per_s": round(rows / baseline_seconds), "ratio": round(baseline_seconds / seconds, 3),
    }
