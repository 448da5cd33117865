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
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo plant served by uvicorn on a free port, as `synfab demo` would."""
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    db = build_database(url=f"sqlite:///{path}")
    upgrade(db)
    with acting_as(SYSTEM):
        load_demo(db, today=date.today())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


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
