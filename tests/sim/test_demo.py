"""The demo plant: what `make demo` promises, and every demo user can sign in and open every page of their menu
(and the first record of each list) in Chinese and English."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from typer.testing import CliRunner

from synfab.bootstrap import build_database
from synfab.catalog.models import Bom, Material
from synfab.cli import app as cli_app
from synfab.core import crypto
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.models import Lot
from synfab.migrations import upgrade
from synfab.orders.models import Customer, SalesOrder, WorkOrder
from synfab.people.models import User
from synfab.people.skills.demo import OPERATORS
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode, Shift
from synfab.sim.demo import load_demo
from synfab.sim.demo_data import DEMO_PASSWORD, DEMO_USERS
from tests.conftest import make_client


DEMO_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The demo database serves the whole module, so its secrets (second-factor seeds) keep one key throughout."""
    monkeypatch.setenv("SYNFAB_SECRET_KEY", DEMO_KEY)
    crypto.reset()
    yield
    crypto.reset()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = build_database(url=f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    upgrade(db)
    with acting_as(SYSTEM):
        assert load_demo(db, today=date(2026, 11, 23)) is True
    yield db
    db.dispose()


def count(db: Database, model: type, *where: object) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_the_demo_plant_is_what_the_readme_promises(demo: Database) -> None:
    levels = {lv: count(demo, PlantNode, PlantNode.level == lv) for lv in Level}
    assert levels[Level.ENTERPRISE] == 1 and levels[Level.SITE] == 1
    assert levels[Level.AREA] == 2 and levels[Level.LINE] == 4 and levels[Level.WORK_CENTER] >= 12
    assert count(demo, Material) >= 30 and count(demo, Bom) >= 10
    assert count(demo, Shift) == 3
    assert count(demo, Customer) == 10 and count(demo, SalesOrder) == 50
    assert count(demo, WorkOrder) > 0 and count(demo, Lot) > 0
    assert len(DEMO_USERS) == 9 and count(demo, User) == 9 + len(OPERATORS)  # the logins and the shop floor
    with demo.session() as s:
        site = s.scalar(select(PlantNode).where(PlantNode.level == Level.SITE))
        assert site.time_zone == "Asia/Shanghai"
        assert inventory.ledger_balance_mismatches(s) == []
    with acting_as(SYSTEM):
        assert load_demo(demo) is False  # a second run leaves the demo as it is


LINK = re.compile(r'<a href="(/[a-z_\-]+/[a-z_\-]*/?\d+[^"]*)"')
NAV = re.compile(r'<nav class="sidenav".*?</nav>', re.S)
HREF = re.compile(r'href="(/[^"?#]*)"')


@pytest.mark.parametrize("user", DEMO_USERS, ids=lambda u: u.username)
def test_every_demo_user_opens_their_pages_in_both_languages(demo: Database, user) -> None:
    with make_client(demo) as client:
        r = client.post("/api/v1/session", json={"username": user.username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        if user.role == "it_admin":  # must set up a second factor before anything else
            assert r.json()["must_enroll_second_factor"] is True
            assert client.get("/plant/tree").status_code == 403
            secret = client.post("/api/v1/me/second-factor").json()["secret"]
            import pyotp

            assert client.post("/api/v1/me/second-factor/confirm", json={"code": pyotp.TOTP(secret).now()}).status_code == 204
        home = client.get("/", headers={"Accept-Language": "zh-CN"})
        assert home.status_code == 200
        pages = [u for u in HREF.findall(NAV.search(home.text).group(0)) if u != "/"]
        assert pages or user.role == "supplier"
        seen_details = 0
        for url in pages:
            for lang, words in (("zh_CN", "首页"), ("en", "Home")):
                client.cookies.set("synfab_lang", lang)
                page = client.get(url)
                assert page.status_code == 200, f"{user.username} {url} {lang}: {page.status_code}"
                assert words in page.text and "Traceback" not in page.text
            first = LINK.search(page.text.split("<main>", 1)[-1])
            if first:
                detail = client.get(first.group(1))
                assert detail.status_code == 200, f"{user.username} {url} → {first.group(1)}: {detail.status_code}"
                seen_details += 1
        assert seen_details > 0 or not pages


def test_the_demo_workbook_is_a_valid_import_file(tmp_path: Path) -> None:
    from synfab.connect.files.runner import run_import
    from synfab.sim.demo import demo_workbook

    db = build_database(url=f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(db)
    with acting_as(SYSTEM):
        report = run_import(db, demo_workbook(date(2026, 11, 23), locale="en"), "demo-en.xlsx", dry_run=True)
    assert report.ok and not report.committed
    assert {s.kind for s in report.summaries} >= {"plant", "materials", "boms", "routings", "sales_orders", "stock"}


def test_the_demo_audit_log_verifies_and_names_a_direct_edit(demo: Database, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["audit", "verify", "--db", demo.engine.url.database])
    assert ok.exit_code == 0 and "intact" in ok.output, ok.output
    copy = tmp_path / "edited.db"  # edited behind the application's back, in a copy: the demo stays intact
    with sqlite3.connect(demo.engine.url.database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
        target.execute("UPDATE audit_record SET actor = 'mallory' WHERE id = 5")
    bad = runner.invoke(cli_app, ["audit", "verify", "--db", str(copy), "--lang", "en"])
    assert bad.exit_code == 1 and "record 5" in bad.output and "altered" in bad.output, bad.output
