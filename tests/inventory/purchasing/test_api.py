"""The purchasing API and pages: suppliers with items, purchase orders (409 on a stale version), receiving."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from synfab.core import clock
from synfab.core.db import Database
from tests.conftest import MiniPlant
from tests.planning.materials.conftest import Scene

D = Decimal


@pytest.fixture
def scene(db: Database, plant: MiniPlant) -> Iterator[Scene]:
    """The materials scene on its day (2026-11-23 in Shanghai): purchase order codes carry the site's date."""
    from tests.planning.materials.conftest import build_scene

    clock.set_clock(lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    try:
        yield build_scene(db, plant)
    finally:
        clock.set_clock(None)


def speak(client, locale: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/lang/{locale}", follow_redirects=False).status_code == 303


def test_suppliers_api(client, scene: Scene) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/suppliers", json={"code": "SUP-2", "name": "苏州紧固件", "lead_time_days": 7})
    assert r.status_code == 201, r.text
    sup = r.json()
    assert client.post("/api/v1/suppliers", json={"code": "SUP-2", "name": "x"}).status_code == 409
    r = client.put(f"/api/v1/suppliers/{sup['id']}/items", json={
        "material_id": scene.catalog.casting, "min_order_qty": "100", "pack_size": "20", "preferred": True})
    assert r.status_code == 200, r.text
    items = client.get(f"/api/v1/suppliers/{sup['id']}/items").json()
    assert [(i["material_id"], i["min_order_qty"], i["preferred"]) for i in items] == [
        (scene.catalog.casting, "100", True)]
    # The old preferred supplier of castings is no longer preferred.
    old = client.get(f"/api/v1/suppliers/{scene.supplier}").json()
    assert [i["preferred"] for i in old["items"]] == [False]
    r = client.patch(f"/api/v1/suppliers/{sup['id']}", json={"version": sup["version"], "contact": "王经理"})
    assert r.status_code == 200 and r.json()["contact"] == "王经理"
    r = client.patch(f"/api/v1/suppliers/{sup['id']}", json={"version": sup["version"], "contact": "李"})
    assert r.status_code == 409
    listed = client.get("/api/v1/suppliers", params={"material_id": scene.catalog.casting}).json()
    assert {s["code"] for s in listed["items"]} == {"SUP-FDY", "SUP-2"}
    assert client.get("/api/v1/suppliers/999999").status_code == 404


def test_purchase_order_lifecycle_over_the_api(client, scene: Scene) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/purchase-orders", json={
        "supplier_id": scene.supplier, "site_id": scene.plant.site,
        "lines": [{"material_id": scene.catalog.casting, "quantity": "40", "due_date": "2026-12-05"}]})
    assert r.status_code == 201, r.text
    po = r.json()
    assert po["code"] == "PO-20261123-1" and po["status"] == "draft"
    bad = client.post("/api/v1/purchase-orders", json={"supplier_id": scene.supplier, "site_id": scene.plant.line1,
                                                        "lines": [{"material_id": scene.catalog.casting,
                                                                   "quantity": "1", "due_date": "2026-12-05"}]})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "not_a_site"
    r = client.patch(f"/api/v1/purchase-orders/{po['id']}", json={
        "version": po["version"], "lines": [{"id": po["lines"][0]["id"], "quantity": "50"}]})
    assert r.status_code == 200, r.text
    stale = client.patch(f"/api/v1/purchase-orders/{po['id']}", json={
        "version": po["version"], "lines": [{"id": po["lines"][0]["id"], "quantity": "60"}]})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    line_id = po["lines"][0]["id"]
    receive = f"/api/v1/purchase-orders/{po['id']}/lines/{line_id}/receive"
    r = client.post(receive, json={"quantity": "5", "location_id": scene.plant.store})
    assert r.status_code == 409 and r.json()["error"]["code"] == "purchase_order_not_receivable"
    assert client.post(f"/api/v1/purchase-orders/{po['id']}/place", json={}).status_code == 200
    body = {"quantity": "20", "location_id": scene.plant.store, "client_key": "terminal-42-0001"}
    first, again = client.post(receive, json=body), client.post(receive, json=body)
    assert first.status_code == 201 and first.json()["id"] == again.json()["id"]
    r = client.post(receive, json={"quantity": "40", "location_id": scene.plant.store})
    assert r.status_code == 422 and r.json()["error"]["code"] == "over_receipt"
    got = client.get(f"/api/v1/purchase-orders/{po['id']}").json()
    assert (got["status"], got["lines"][0]["received_quantity"]) == ("partially_received", "20")
    assert len(client.get(f"/api/v1/purchase-orders/{po['id']}/receipts").json()) == 1
    listed = client.get("/api/v1/purchase-orders", params={"status": "partially_received"}).json()
    assert [o["code"] for o in listed["items"]] == ["PO-20261123-1"]
    r = client.post(f"/api/v1/purchase-orders/{po['id']}/cancel", json={})
    assert r.status_code == 409


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_purchasing_pages_in_both_languages(client, scene: Scene, locale: str) -> None:  # type: ignore[no-untyped-def]
    speak(client, locale)
    r = client.post("/api/v1/purchase-orders", json={
        "supplier_id": scene.supplier, "site_id": scene.plant.site,
        "lines": [{"material_id": scene.catalog.casting, "quantity": "40", "due_date": "2026-12-05"}]})
    po = r.json()
    html = client.get("/purchasing/suppliers").text
    assert "SUP-FDY" in html and ("Suppliers" if locale == "en" else "供应商") in html
    html = client.get(f"/purchasing/suppliers/{scene.supplier}").text
    assert "CST-01" in html and ("Materials supplied" if locale == "en" else "供应物料") in html
    html = client.get("/purchasing/orders").text
    assert po["code"] in html and ("Draft" if locale == "en" else "草稿") in html
    page = client.get(f"/purchasing/orders/{po['id']}").text
    assert ("Place with supplier" if locale == "en" else "下达给供应商") in page
    r = client.post(f"/purchasing/orders/{po['id']}/place",
                    data={"idempotency_key": f"place-{locale}", "version": po["version"]}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/purchasing/orders/{po['id']}").text
    assert f"/purchasing/orders/{po['id']}/lines/{po['lines'][0]['id']}/receive" in page
    r = client.post(f"/purchasing/orders/{po['id']}/lines/{po['lines'][0]['id']}/receive", data={
        "idempotency_key": f"receive-{locale}-1", "quantity": "40", "location_id": scene.plant.store},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/purchasing/orders/{po['id']}").text
    assert ("Received quantity" if locale == "en" else "已收数量") in page
    assert f"{po['code']}-10-1" in page, page[page.find("po-receipts"):][:1200]
    xlsx = client.get("/purchasing/orders.xlsx")
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
    assert client.get("/purchasing/suppliers.xlsx").status_code == 200
    r = client.post("/purchasing/suppliers", data={"idempotency_key": f"sup-{locale}", "code": f"S-{locale}",
                                                   "name": "新供应商"}, follow_redirects=False)
    assert r.status_code == 303
    new_id = int(r.headers["location"].rsplit("/", 1)[1])
    r = client.post(f"/purchasing/suppliers/{new_id}/items", data={
        "idempotency_key": f"item-{locale}", "material_code": "CST-01", "min_order_qty": "10", "pack_size": "5"},
        follow_redirects=False)
    assert r.status_code == 303
    assert "CST-01" in client.get(f"/purchasing/suppliers/{new_id}").text
