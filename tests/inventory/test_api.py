"""The inventory JSON API: lots, moves, stock, availability, reservations, genealogy, ledger check."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from synfab.core import clock
from synfab.inventory.models import StockMove
from synfab.people.models import ESignature
from tests.conftest import PASSWORD, add_user, make_client, sign_in
from tests.inventory.conftest import Stores, make_lot, receive

API = "/api/v1/inventory"
D = Decimal


def moves_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(StockMove))


def test_lots_create_list_get_and_errors(db, stores: Stores, client) -> None:
    r = client.post(f"{API}/lots", json={"code": "A-1", "material_id": stores.steel, "received_on": "2026-03-01",
                                         "supplier_lot": "SUP-1"})
    assert r.status_code == 201, r.text
    lot = r.json()
    assert (lot["status"], lot["expires_on"], lot["version"]) == ("available", "2026-08-28", 1)
    r = client.post(f"{API}/lots", json={"code": "A-1", "material_id": stores.paint})
    assert r.status_code == 409 and r.json()["error"]["code"] == "lot_code_taken"
    r = client.post(f"{API}/lots", json={"code": "A-2", "material_id": 999})
    assert r.status_code == 422 and r.json()["error"]["code"] == "material_not_found"
    r = client.post(f"{API}/lots", json={"material_id": stores.steel})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    for i in range(27):
        make_lot(db, stores.bolt, f"B-{i:02}")
    r = client.get(f"{API}/lots", params={"material_id": stores.bolt, "per_page": 25, "page": 2})
    body = r.json()
    assert (body["total"], body["page"], [x["code"] for x in body["items"]]) == (27, 2, ["B-25", "B-26"])
    r = client.get(f"{API}/lots", params={"q": "sup-1"})
    assert [x["code"] for x in r.json()["items"]] == ["A-1"]
    assert r.json()["items"][0]["material_code"] == "STEEL-45"
    assert client.get(f"{API}/lots", params={"status": "lost"}).status_code == 422
    receive(db, stores.steel, "7.5", stores.bin1, lot["id"])
    r = client.get(f"{API}/lots/{lot['id']}")
    detail = r.json()
    assert (detail["on_hand"], detail["unit"], detail["material_code"]) == ("7.5", "kg", "STEEL-45")
    assert [(b["location_code"], b["quantity"]) for b in detail["balances"]] == [("RM-01", "7.5")]
    assert [m["kind"] for m in detail["moves"]] == ["receipt"]
    r = client.get(f"{API}/lots/4040")
    assert r.status_code == 404 and r.json()["error"]["code"] == "lot_not_found"


def test_hold_release_split_and_stale_versions(db, stores: Stores, plant, client) -> None:
    lot = make_lot(db, stores.steel, "H-1")
    receive(db, stores.steel, 10, stores.rm, lot.id)
    r = client.post(f"{API}/lots/{lot.id}/hold", json={"reason": "IQC", "version": 1})
    assert r.status_code == 200 and r.json()["status"] == "hold" and r.json()["status_reason"] == "IQC"
    add_user(db, "qa", "quality", plant.site)
    add_user(db, "keeper", "procurement", plant.site)
    with make_client(db) as qa, make_client(db) as keeper:
        sign_in(qa, "qa")
        release = {"reason": "retest ok", "password": PASSWORD, "meaning": "approved", "version": 1}
        r = sign_in(keeper, "keeper").post(f"{API}/lots/{lot.id}/release", json=release | {"version": 2})
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_missing"
        r = qa.post(f"{API}/lots/{lot.id}/release", json=release)
        assert r.status_code == 409 and r.json()["error"]["code"] == "stale_version"
        r = qa.post(f"{API}/lots/{lot.id}/release", json=release | {"reason": "", "version": 2})
        assert r.status_code == 422
        r = qa.post(f"{API}/lots/{lot.id}/release", json=release | {"password": "wrong-password", "version": 2})
        assert r.status_code == 403 and r.json()["error"]["code"] == "signature_refused"
        assert client.get(f"{API}/lots/{lot.id}").json()["status"] == "hold"
        r = qa.post(f"{API}/lots/{lot.id}/release", json=release | {"version": 2})
        assert r.status_code == 200 and r.json()["status"] == "available"
    with db.session() as s:
        sig = s.scalar(select(ESignature))
        assert (sig.username, sig.action, sig.object_id, sig.reason) == ("qa", "release_lot", str(lot.id), "retest ok")
    r = client.post(f"{API}/lots/{lot.id}/split", json={"code": "H-1-A", "quantity": "4", "location_id": stores.rm})
    assert r.status_code == 201, r.text
    assert r.json()["parent_id"] == lot.id
    r = client.post(f"{API}/lots/{lot.id}/split", json={"code": "H-1-B", "quantity": "40", "location_id": stores.rm})
    assert r.status_code == 422 and r.json()["error"]["code"] == "insufficient_stock"
    assert client.post(f"{API}/lots/999/hold", json={"reason": "x"}).status_code == 404
    assert [s["code"] for s in client.get(f"{API}/lots/{lot.id}").json()["sublots"]] == ["H-1-A"]
    r = client.post(f"{API}/lots/{lot.id}/scrap", json={"reason": "rust"})
    assert r.status_code == 200 and r.json()["status"] == "scrapped"
    assert client.get(f"{API}/lots/{lot.id}").json()["on_hand"] == "0"


def test_post_moves_all_or_nothing_and_idempotent(db, stores: Stores, client) -> None:
    lot = make_lot(db, stores.steel, "M-1")
    batch = {"moves": [
        {"kind": "receipt", "material_id": stores.steel, "lot_id": lot.id, "to_location_id": stores.rm,
         "quantity": "12.5", "reference": "PO-1"},
        {"kind": "transfer", "material_id": stores.steel, "lot_id": lot.id, "from_location_id": stores.rm,
         "to_location_id": stores.wip, "quantity": "2"},
    ], "idempotency_key": "scanner-0001"}
    r = client.post(f"{API}/moves", json=batch)
    assert r.status_code == 201, r.text
    first = r.json()
    assert [(m["kind"], m["quantity"], m["actor"]) for m in first] == [("receipt", "12.5", "admin"),
                                                                     ("transfer", "2", "admin")]
    again = client.post(f"{API}/moves", json=batch)
    assert again.status_code == 201 and [m["id"] for m in again.json()] == [m["id"] for m in first]
    assert moves_count(db) == 2
    bad = {"moves": [
        {"kind": "receipt", "material_id": stores.bolt, "to_location_id": stores.rm, "quantity": "1"},
        {"kind": "issue", "material_id": stores.steel, "lot_id": lot.id, "from_location_id": stores.wip,
         "quantity": "3"},
    ]}
    r = client.post(f"{API}/moves", json=bad, headers={"Accept-Language": "en"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["message_en"] == \
        "Line 2 of 2: Not enough STEEL-45 of lot M-1 at L1-WIP: on hand 2 kg, asked 3 kg. Nothing was posted."
    assert "现有库存 2 kg" in error["message_zh"]
    assert error["details"][0]["line"] == 2
    assert moves_count(db) == 2
    r = client.post(f"{API}/moves", json={"moves": [{"kind": "receipt", "material_id": stores.bolt,
                                                      "to_location_id": stores.rm, "quantity": "-1"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    assert client.post(f"{API}/moves", json={"moves": []}).status_code == 422


def test_moves_list_filters_and_pages(db, stores: Stores, client) -> None:
    clock.set_clock(lambda: datetime(2026, 3, 1, 8, tzinfo=UTC))
    for _ in range(30):
        receive(db, stores.bolt, 1, stores.bin1)
    clock.set_clock(lambda: datetime(2026, 3, 5, 8, tzinfo=UTC))
    receive(db, stores.bolt, 2, stores.fg)
    r = client.get(f"{API}/moves", params={"material_id": stores.bolt, "per_page": 25})
    body = r.json()
    assert (body["total"], len(body["items"]), body["items"][0]["to_location_code"]) == (31, 25, "FG")
    r = client.get(f"{API}/moves", params={"location_id": stores.rm, "start": "2026-03-01T00:00:00Z",
                                           "end": "2026-03-02T00:00:00Z", "page": 2, "per_page": 25})
    assert (r.json()["total"], len(r.json()["items"])) == (30, 5)
    r = client.get(f"{API}/moves", params={"start": "2026-03-04T00:00:00Z"})
    assert [m["quantity"] for m in r.json()["items"]] == ["2"]
    assert client.get(f"{API}/moves", params={"kind": "teleport"}).status_code == 422
    assert client.get(f"{API}/moves", params={"start": "yesterday"}).status_code == 422


def test_stock_and_availability(db, stores: Stores, client) -> None:
    lot = make_lot(db, stores.steel, "ST-1")
    receive(db, stores.steel, 5, stores.bin2, lot.id)
    receive(db, stores.bolt, 9, stores.fg)
    r = client.get(f"{API}/stock", params={"location_id": stores.rm})
    assert [(x["location_code"], x["lot_code"], x["quantity"]) for x in r.json()["items"]] == [("RM-02", "ST-1", "5")]
    r = client.get(f"{API}/stock", params={"q": "M8"})
    assert [(x["material_code"], x["lot_id"], x["unit"]) for x in r.json()["items"]] == [("BOLT-M8", None, "pcs")]
    r = client.get(f"{API}/availability", params={"material_id": stores.steel, "lot_id": lot.id})
    assert r.json() == {"material_id": stores.steel, "location_id": None, "lot_id": lot.id, "on_hand": "5",
                        "available": "5"}
    assert client.get(f"{API}/availability", params={"material_id": 777}).status_code == 404


def test_reservations_by_demand(db, stores: Stores, client) -> None:
    receive(db, stores.bolt, 10, stores.fg)
    body = {"material_id": stores.bolt, "quantity": "6", "demand_kind": "work_order", "demand_id": 12}
    r = client.post(f"{API}/reservations", json=body)
    assert r.status_code == 201 and r.json()["status"] == "active"
    rid = r.json()["id"]
    r = client.post(f"{API}/reservations", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "reservation_exceeds_available"
    r = client.post(f"{API}/reservations", json={**body, "demand_kind": "Work Order"})
    assert r.status_code == 422
    r = client.get(f"{API}/reservations", params={"demand_kind": "work_order", "demand_id": 12})
    assert [x["id"] for x in r.json()] == [rid]
    assert client.get(f"{API}/reservations", params={"demand_kind": "work_order"}).status_code == 422
    r = client.post(f"{API}/reservations/{rid}/release", json={"version": 1})
    assert r.status_code == 200 and r.json()["status"] == "released"
    r = client.post(f"{API}/reservations/{rid}/release", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "reservation_not_active"
    assert client.post(f"{API}/reservations/999/release", json={}).status_code == 404


def test_genealogy_trace_and_links(db, stores: Stores, client) -> None:
    a, b, c = (make_lot(db, stores.bolt, code) for code in ("T-A", "T-B", "T-C"))
    for src, dst in ((a, b), (b, c)):
        r = client.post(f"{API}/lot-links", json={"input_lot_id": src.id, "output_lot_id": dst.id, "quantity": "2"})
        assert r.status_code == 201, r.text
    r = client.post(f"{API}/lot-links", json={"input_lot_id": c.id, "output_lot_id": a.id, "quantity": "1"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "genealogy_cycle"
    r = client.post(f"{API}/lot-links", json={"input_lot_id": 999, "output_lot_id": a.id, "quantity": "1"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "lot_not_found"
    r = client.get(f"{API}/lots/{c.id}/trace")
    assert [(x["level"], x["lot_code"], x["quantity"]) for x in r.json()] == [(1, "T-B", "2"), (2, "T-A", "2")]
    r = client.get(f"{API}/lots/{a.id}/trace", params={"direction": "forward"})
    assert [(x["level"], x["lot_code"]) for x in r.json()] == [(1, "T-B"), (2, "T-C")]
    assert client.get(f"{API}/lots/{a.id}/trace", params={"direction": "sideways"}).status_code == 422
    assert client.get(f"{API}/lots/999/trace").status_code == 404


def test_ledger_check_and_permissions(db, stores: Stores, client) -> None:
    receive(db, stores.bolt, 3, stores.rm)
    r = client.get(f"{API}/ledger-check")
    assert r.status_code == 200 and r.json() == []
    add_user(db, "vera", "viewer", stores.plant.enterprise)
    with make_client(db) as viewer:
        sign_in(viewer, "vera")
        assert viewer.get(f"{API}/stock").status_code == 200
        assert viewer.get(f"{API}/ledger-check").status_code == 403
        r = viewer.post(f"{API}/moves", json={"moves": [{"kind": "receipt", "material_id": stores.bolt,
                                                         "to_location_id": stores.rm, "quantity": "1"}]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_missing"
    assert moves_count(db) == 1
