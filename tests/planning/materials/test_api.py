"""The materials API and pages: a work order's materials, shortages, suggestions (convert, dismiss), MRP."""

from __future__ import annotations

from datetime import date

import pytest

from synfab.core.db import Database
from tests.planning.materials.conftest import Scene, add_lot, release


def speak(client, locale: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/lang/{locale}", follow_redirects=False).status_code == 303


def test_work_order_materials_shortages_and_suggestions_api(db: Database, scene: Scene, client) -> None:  # type: ignore[no-untyped-def]
    add_lot(db, scene, "CST-A", "3", expires=date(2027, 1, 1))
    wo = release(db, scene, "10", due=date(2026, 12, 20), code="WO-MAT-1")
    [m] = client.get(f"/api/v1/work-orders/{wo}/materials").json()
    assert (m["material_code"], m["need"], m["reserved"], m["short"], m["earliest_cover_date"]) == (
        "CST-01", "10", "3", "7", "2026-12-03")
    assert [(lot["lot_code"], lot["quantity"]) for lot in m["lots"]] == [("CST-A", "3")]
    assert client.get("/api/v1/work-orders/999999/materials").status_code == 404
    shortages = client.get("/api/v1/shortages").json()
    assert [(s["work_order_code"], s["quantity"]) for s in shortages["items"]] == [("WO-MAT-1", "7")]
    [sg] = client.get("/api/v1/purchase-suggestions").json()["items"]
    assert (sg["quantity"], sg["need_date"], sg["order_by"], sg["supplier_id"]) == (
        "7", "2026-12-20", "2026-12-10", scene.supplier)
    assert sg["cause_event_id"]
    r = client.post("/api/v1/purchase-suggestions/convert", json={"suggestion_ids": [sg["id"]]})
    assert r.status_code == 201, r.text
    [po] = r.json()
    assert po["status"] == "draft" and po["lines"][0]["quantity"] == "7"
    again = client.post("/api/v1/purchase-suggestions/convert", json={"suggestion_ids": [sg["id"]]})
    assert again.status_code == 409
    assert client.get("/api/v1/purchase-suggestions").json()["items"] == []
    # The shortage is now covered at the purchase order's due date.
    [m] = client.get(f"/api/v1/work-orders/{wo}/materials").json()
    assert m["earliest_cover_date"] == "2026-12-20" and m["covered_by"] == po["code"]
    r = client.post("/api/v1/mrp/run")
    assert r.status_code == 200 and r.json()["shortages"] == 1


def test_dismissed_suggestion_is_not_made_again(db: Database, scene: Scene, client) -> None:  # type: ignore[no-untyped-def]
    release(db, scene, "4")
    [sg] = client.get("/api/v1/purchase-suggestions").json()["items"]
    r = client.post(f"/api/v1/purchase-suggestions/{sg['id']}/dismiss", json={"version": sg["version"]})
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert client.post("/api/v1/mrp/run").status_code == 200
    assert client.get("/api/v1/purchase-suggestions").json()["items"] == []
    assert client.post(f"/api/v1/purchase-suggestions/{sg['id']}/dismiss", json={}).status_code == 409


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_materials_pages_in_both_languages(db: Database, scene: Scene, client, locale: str) -> None:  # type: ignore[no-untyped-def]
    speak(client, locale)
    release(db, scene, "6", code="WO-PG-1")
    html = client.get("/materials/shortages").text
    assert "WO-PG-1" in html and ("Earliest cover date" if locale == "en" else "最早齐料日期") in html
    html = client.get("/materials/suggestions").text
    assert "CST-01" in html and ("Create purchase orders from the selected" if locale == "en"
                                 else "用所选建议生成采购订单") in html
    sg = client.get("/api/v1/purchase-suggestions").json()["items"][0]
    r = client.post("/materials/suggestions/convert", data={"idempotency_key": f"conv-{locale}",
                                                            "suggestion_id": [sg["id"]]}, follow_redirects=False)
    assert r.status_code == 303
    assert "PO-20261123-1" in client.get("/purchasing/orders?status=draft").text
    r = client.post("/materials/mrp/run", data={"idempotency_key": f"mrp-{locale}"}, follow_redirects=False)
    assert r.status_code == 303
    for path in ("/materials/shortages.xlsx", "/materials/suggestions.xlsx"):
        got = client.get(path)
        assert got.status_code == 200 and "spreadsheetml" in got.headers["content-type"]
