"""Shipments over HTTP: the JSON API (pick, refusals, ship twice with a key, delivery status) and the pages in
both languages, including the order's delivery page after cancelling the open part."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest

from synfab.core.db import Database
from synfab.inventory import service as inventory
from tests.conftest import add_user, make_client, sign_in
from tests.orders.shipments.conftest import Yard

API = "/api/v1"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def speak(client, locale: str) -> None:
    assert client.get(f"/lang/{locale}", follow_redirects=False).status_code == 303


def line_ids(client, order_id: int) -> list[int]:
    return [d["line_id"] for d in client.get(f"{API}/sales-orders/{order_id}/delivery").json()]


def test_api_pick_ship_and_refusals(db: Database, yard: Yard, client) -> None:
    cal, pst = line_ids(client, yard.order)
    r = client.post(f"{API}/shipments", json={"sales_order_id": yard.order, "carrier": "SF Express"})
    assert r.status_code == 201, r.text
    sid, version = r.json()["id"], r.json()["version"]
    assert r.json()["status"] == "draft" and r.json()["customer_code"] == "C-ACME"
    r = client.get(f"{API}/sales-orders/{yard.order}/lines/{cal}/lot-suggestions")
    assert [(x["lot_code"], x["suggested"]) for x in r.json()] == [("FG-B", "8"), ("FG-A", "2")]
    r = client.post(f"{API}/shipments/{sid}/lines", json={
        "sales_order_line_id": cal, "lot_id": yard.lots["FG-B"], "from_location_id": yard.fg, "quantity": "8",
        "version": version})
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/shipments/{sid}/lines", json={
        "sales_order_line_id": cal, "lot_id": yard.lots["FG-A"], "from_location_id": yard.fg, "quantity": "3"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "more_than_open"
    assert "has 2 PCS open" in r.json()["error"]["message_en"] and r.json()["error"]["message_zh"]
    r = client.post(f"{API}/shipments/{sid}/lines", json={
        "sales_order_line_id": pst, "lot_id": yard.lots["FG-A"], "from_location_id": yard.fg, "quantity": "1"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "lot_of_other_material"
    assert client.post(f"{API}/shipments/999/ship", json={}).status_code == 404
    for _ in range(2):
        r = client.post(f"{API}/shipments/{sid}/ship", json={"idempotency_key": "api-ship-0001",
                                                             "tracking_no": "SF123"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "shipped" and r.json()["tracking_no"] == "SF123"
    with db.session() as s:
        assert inventory.on_hand(s, yard.catalog.caliper, yard.fg, yard.lots["FG-B"]) == 0
    r = client.get(f"{API}/sales-orders/{yard.order}/delivery")
    assert [(x["status"], x["shipped"], x["open"]) for x in r.json()] == [
        ("partially_shipped", "8", "2"), ("open", "0", "4")]
    r = client.get(f"{API}/shipments", params={"status": "shipped"})
    assert r.json()["total"] == 1 and r.json()["items"][0]["quantity"] == "8"
    r = client.post(f"{API}/shipments/{sid}/cancel", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "shipment_not_draft"


def test_out_of_scope_user_cannot_see_the_shipment(db: Database, yard: Yard, client) -> None:
    from synfab.plant import service as plant_service
    from synfab.plant.choices import Level
    from synfab.plant.schemas import NodeCreate

    sid = client.post(f"{API}/shipments", json={"sales_order_id": yard.order}).json()["id"]
    with db.uow() as uow:
        bj = plant_service.create_node(uow, NodeCreate(code="BJ", name="北京工厂", level=Level.SITE,
                                                       parent_id=yard.plant.enterprise, time_zone="Asia/Shanghai"))
        uow.commit()
        bj_id = bj.id
    add_user(db, "mgr_bj", "manager", bj_id)
    with make_client(db) as other:
        sign_in(other, "mgr_bj")
        assert other.get(f"{API}/shipments/{sid}").status_code == 404
        assert other.get(f"/shipments/{sid}").status_code == 404
        assert "SH-" not in other.get("/shipments").text.split('id="shipments"')[1]
        assert other.get(f"{API}/inventory/lots/{yard.lots['FG-A']}/recall").status_code == 404


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_pages_pick_ship_and_the_cancelled_open_part(db: Database, yard: Yard, client, locale: str) -> None:
    speak(client, locale)
    r = client.post("/shipments", data={"order": "SO-SHIP", "idempotency_key": "page-new-0001",
                                         "csrf_token": client.headers["X-CSRF-Token"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    sid = int(url.rsplit("/", 1)[1])
    page = client.get(url)
    assert page.status_code == 200 and 'id="pick-1"' in page.text
    assert ("拣货" if locale == "zh_CN" else "Pick lots") in text_of(page.text)
    cal = line_ids(client, yard.order)[0]
    r = client.post(f"/shipments/{sid}/pick", data={
        "sales_order_line_id": cal, "stock": f"{yard.lots['FG-A']}:{yard.fg}", "quantity": "6",
        "idempotency_key": "page-pick-0001"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.post(f"/shipments/{sid}/ship", data={"idempotency_key": "page-ship-0001"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/shipments/{sid}")
    assert 'data-lot="FG-A"' in page.text and ("已发货" if locale == "zh_CN" else "Shipped") in text_of(page.text)
    listing = client.get("/shipments")
    assert 'data-shipment="SH-' in listing.text
    r = client.post(f"{API}/sales-orders/{yard.order}/cancel", json={})
    assert r.status_code == 200, r.text
    page = client.get(f"/shipments/orders/{yard.order}")
    note = text_of(page.text[page.text.index('id="cancel-note"'):][:300])
    if locale == "en":
        assert "Line 1: only the open part 4 was cancelled; 6 already shipped." in note
    else:
        assert "只取消了未交部分 4；已发货 6" in note
    assert client.get("/shipments/export.xlsx").status_code == 200
    assert D(6) == D(client.get(f"{API}/sales-orders/{yard.order}/delivery").json()[0]["shipped"])


def test_procurement_in_scope_picks_unpicks_and_ships(db: Database, yard: Yard) -> None:
    """Shipping records the delivered quantity on the order even for a role that may not edit sales orders."""
    add_user(db, "buyer_sh", "procurement", yard.plant.site)
    with make_client(db) as c:
        sign_in(c, "buyer_sh")
        cal = line_ids(c, yard.order)[0]
        sid = c.post(f"{API}/shipments", json={"sales_order_id": yard.order}).json()["id"]
        r = c.post(f"{API}/shipments/{sid}/lines", json={
            "sales_order_line_id": cal, "lot_id": yard.lots["FG-A"], "from_location_id": yard.fg, "quantity": "1"})
        assert r.status_code == 201, r.text
        r = c.post(f"{API}/shipments/{sid}/lines/{r.json()['lines'][0]['id']}/remove", json={})
        assert r.status_code == 200 and r.json()["lines"] == [], r.text
        assert c.post(f"{API}/shipments/{sid}/ship", json={}).json()["error"]["code"] == "shipment_empty"
        c.post(f"{API}/shipments/{sid}/lines", json={
            "sales_order_line_id": cal, "lot_id": yard.lots["FG-A"], "from_location_id": yard.fg, "quantity": "2"})
        r = c.post(f"{API}/shipments/{sid}/ship", json={})
        assert r.status_code == 200, r.text
        assert c.get(f"{API}/sales-orders/{yard.order}/delivery").json()[0]["shipped"] == "2"
