"""A real browser on the demo plant: the manager signs in, switches language, opens the plant tree, a BOM and an order.

Playwright drives Debian's Chromium (SYNFAB_TEST_CHROMIUM); screenshots land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn

from synfab.bootstrap import build_database
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.migrations import upgrade
from synfab.sim.demo import load_demo
from synfab.sim.demo_data import DEMO_PASSWORD
from synfab.web.app import create_app
from tests.conftest import need

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SYNFAB_TEST_CHROMIUM", "")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    db = build_database(url=f"sqlite:///{path}")
    upgrade(db)
    with acting_as(SYSTEM):
        load_demo(db, today=date.today())
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def demo_server(demo_db: Database) -> Iterator[str]:
    """The demo plant served by uvicorn on a free port, as `synfab demo` would."""
    db = demo_db
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning",
                                             timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    need(bool(CHROMIUM) and Path(CHROMIUM).exists(),
         "Chromium: install Debian's chromium and set SYNFAB_TEST_CHROMIUM=/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/")  # type: ignore[attr-defined]


def test_manager_switches_language_and_opens_plant_bom_and_order(demo_server: str, browser: object) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    sign_in(page, demo_server, "manager")
    expect(page.locator("nav.sidenav")).to_contain_text("工厂结构")
    shot(page, "home-zh")

    page.click("a[data-lang=en]")
    expect(page.locator("nav.sidenav")).to_contain_text("Plant structure")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.click("nav.sidenav >> text=Plant structure")
    expect(page.locator("#plant-tree")).to_contain_text("Suzhou brake systems plant")
    expect(page.locator("#plant-tree tr[data-code='AS1-30']")).to_contain_text("Work center")
    shot(page, "plant-tree-en")

    page.click("nav.sidenav >> text=Materials")
    page.fill("input[name=q]", "CAL-FR-L")
    page.keyboard.press("Enter")
    page.click("a:text-is('CAL-FR-L')")
    bom = page.locator("#bom-tree")
    expect(bom).to_contain_text("HSG-FR")  # a sub-assembly …
    expect(bom).to_contain_text("CST-HSG-FR")  # … and what it is made of, one level down
    shot(page, "bom-en")

    page.click("a[data-lang=zh_CN]")
    expect(page.locator("#bom-tree")).to_contain_text("前卡钳体（机加）")
    shot(page, "bom-zh")

    page.click("nav.sidenav >> text=销售订单")
    first_order = page.locator("table tbody tr a").first
    code = first_order.inner_text()
    first_order.click()
    expect(page.locator("h1")).to_contain_text(code)
    expect(page.locator("main")).to_contain_text("交货日期")
    shot(page, "order-zh")

    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    mobile = phone.new_page()
    sign_in(mobile, demo_server, "operator")
    mobile.goto(f"{demo_server}/plant/tree")
    assert mobile.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page wider than a phone"
    shot(mobile, "plant-tree-phone")
    assert errors == []


def test_an_operator_works_an_operation_on_a_phone_and_the_output_lot_is_in_the_trace(
        demo_server: str, demo_db: Database, browser: object) -> None:
    """390×844: the dispatch list of a work center → start → scan a lot → report and complete; the lot scanned
    went into the work order's output lot, as its forward trace shows."""
    from playwright.sync_api import expect
    from sqlalchemy import select

    from synfab.catalog.models import Material
    from synfab.inventory.models import Lot, StockBalance
    from synfab.plant.models import PlantNode

    with demo_db.session() as s:
        wip = s.scalar(select(PlantNode.id).where(PlantNode.code == "WIP-CA1"))
        scanned = s.scalar(select(Lot.code).join(StockBalance, StockBalance.lot_id == Lot.id)
                           .join(Material, Material.id == Lot.material_id)
                           .where(StockBalance.location_id == wip, Material.code == "PIS-54", StockBalance.quantity > 10))
    assert scanned, "the demo keeps pistons at line 1's WIP"
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},  # type: ignore[attr-defined]
                                has_touch=True, is_mobile=True)
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, demo_server, "operator")
    page.goto(f"{demo_server}/terminal")
    page.click("a.tile:has-text('AS1-10')")
    card = page.locator("a.op-card").first
    wo_code = card.locator("strong").inner_text()
    card.click()
    expect(page.locator("h1")).to_contain_text(wo_code)
    shot(page, "terminal-operation-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "wider than a phone"
    assert page.locator("#start").bounding_box()["height"] >= 48  # a thumb-sized target

    page.click("#start")
    expect(page.locator(".alert.ok")).to_contain_text("已开工")
    page.fill("#lot-code", scanned)
    page.fill("#lot-qty", "4")
    page.keyboard.press("Enter")  # a scanner ends with Enter
    expect(page.locator(".alert.ok")).to_contain_text("已投料")
    expect(page.locator("#stock-lines")).to_contain_text(scanned)
    page.fill("#good", "2")
    page.click("#complete")
    expect(page.locator(".alert.ok")).to_contain_text("工序已完成")
    shot(page, "terminal-completed-phone")

    page.click(f"#stock-lines a:text-is('{scanned}')")
    expect(page.locator("main")).to_contain_text(f"{wo_code}-01")  # the output lot, forward in the trace
    shot(page, "terminal-trace-phone")
    assert errors == []
