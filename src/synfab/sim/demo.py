"""`synfab demo`: load the demo plant through the same import path a customer's workbook takes, then add the
people (one user per role) and some work orders.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select

from synfab.connect.files.registry import kinds
from synfab.connect.files.runner import run_import
from synfab.core import clock
from synfab.core.db import Database
from synfab.people import service as people
from synfab.people.skills.demo import load_demo_skills
from synfab.plant import service as plant
from synfab.plant.models import PlantNode
from synfab.sim.demo_data import DEMO_PASSWORD, DEMO_USERS, ENTERPRISE, demo_rows

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "demo_workbook", "load_demo"]


def demo_workbook(today: date, locale: str = "zh_CN") -> bytes:
    """The demo plant as an import workbook (one sheet per kind, headers in `locale`)."""
    rows = demo_rows(today)
    book = Workbook(write_only=True)
    for name, kind in kinds().items():
        if not rows.get(name):
            continue
        sheet = book.create_sheet(kind.sheet_title(locale)[:31])
        sheet.append([c.header(locale) for c in kind.columns])
        for row in rows[name]:
            unknown = set(row) - {c.key for c in kind.columns}
            if unknown:
                raise KeyError(f"demo rows of {name} have columns the kind does not know: {sorted(unknown)}")
            sheet.append([_cell(row.get(c.key)) for c in kind.columns])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def load_demo(db: Database, console: Console | None = None, today: date | None = None) -> bool:
    """Build the demo plant in an empty database; False (and nothing done) if it is already there."""
    with db.session() as session:
        if session.scalar(select(PlantNode.id).where(PlantNode.code == ENTERPRISE)) is not None:
            return False
    today = today or clock.now().date()
    data = demo_workbook(today)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console or Console(stderr=True), transient=True) as bar:
        task = bar.add_task("demo", total=None)
        report = run_import(db, data, "synfab-demo.xlsx",
                            progress=lambda phase, done, total: bar.update(task, description=phase, completed=done,
                                                                           total=total or None))
    if not report.ok:
        details = "; ".join(f"{p.sheet} row {p.row} {p.column}: {p.code} {p.message.in_locale('en')}"
                            for p in report.errors[:20])
        raise RuntimeError(f"the demo workbook did not import: {details}")
    with db.uow() as uow:
        people.ensure_builtin_roles(uow)
        for u in DEMO_USERS:
            user = people.create_user(uow, u.username, u.display_name, DEMO_PASSWORD, locale=None)
            people.grant_role(uow, user, u.role, plant.node_by_code(uow.session, u.scope).id)
        load_demo_skills(uow, today)
        _work_orders(uow, today)
        uow.commit()
    return True


def _work_orders(uow: Any, today: date) -> None:
    """Work orders for the earliest-due lines, so the work order pages have something to show."""
    from synfab.sim.demo_orders import create_demo_work_orders

    create_demo_work_orders(uow, today)
