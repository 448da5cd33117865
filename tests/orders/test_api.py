"""Orders JSON API: customers, sales orders with lines, work orders — status codes, bodies, both languages."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from synfab.core import clock
from synfab.core.db import Database
from synfab.orders.models import SalesOrder, SalesOrderLine, WorkOrder
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.orders.conftest import Catalog, Customers


def order_body(plant: MiniPlant, catalog: Catalog, customers: Customers, code: str = "SO-1", **extra) -> dict:
    return {
        "code": code, "customer_id": customers.acme, "site_id": plant.site, "order_date": "2026-11-20",
        "customer_po": "PO-1", "priority": 2,
        "lines": [
            {"material_id": catalog.caliper, "quantity": "40", "due_date": "2026-12-10"},
            {"material_id": catalog.piston, "quantity": 8, "due_date": "2026-12-03", "priority": "1"},
        ],
        **extra,
    }


def count(db: Database, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_customers(client: TestClient, db: Database) -> None:
    r = client.post("/api/v1/customers", json={"code": "C1", "name": "一汽", "name_en": "FAW", "contact": "王"})
    assert r.status_code == 201, r.text
    customer = r.json()
    assert (customer["code"], customer["active"], customer["version"], customer["updated_by"]) == ("C1", True, 1,
                                                                                                    "admin")
    r = client.post("/api/v1/customers", json={"code": "C1", "name": "重复"})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "customer_code_taken"
    assert "C1" in error["message_zh"] and "一汽" in error["message_en"] and error["message_zh"] != error["message_en"]

    r = client.patch(f"/api/v1/customers/{customer['id']}", json={"version": 1, "phone": "021-1234", "active": False})
    assert r.status_code == 200 and (r.json()["phone"], r.json()["active"], r.json()["version"]) == ("021-1234",
                                                                                                     False, 2)
    r = client.patch(f"/api/v1/customers/{customer['id']}", json={"version": 1, "phone": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_version"
    assert "admin" in r.json()["error"]["message_en"]

    client.post("/api/v1/customers", json={"code": "C2", "name": "上汽"})
    r = client.get("/api/v1/customers", params={"active": "true"})
    assert [c["code"] for c in r.json()["items"]] == ["C2"]
    r = client.get("/api/v1/customers", params={"q": "faw"})
    assert r.json()["total"] == 1 and r.json()["items"][0]["name_en"] == "FAW"
    r = client.get("/api/v1/customers", params={"sort": "code", "dir": "desc", "per_page": 25})
    assert [c["code"] for c in r.json()["items"]] == ["C2", "C1"] and r.json()["per_page"] == 25
    assert client.get(f"/api/v1/customers/{customer['id']}").json()["code"] == "C1"
    r = client.get("/api/v1/customers/999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "customer_not_found"
    assert r.json()["error"]["message_zh"] != r.json()["error"]["message_en"]


def test_sales_order_lifecycle(client: TestClient, db: Database, plant: MiniPlant, catalog: Catalog,
                               customers: Customers) -> None:
    r = client.post("/api/v1/sales-orders", json=order_body(plant, catalog, customers))
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["code"], order["status"], order["priority"], order["customer_code"]) == ("SO-1", "open", "2",
                                                                                          "C-ACME")
    assert order["earliest_due_date"] == "2026-12-03"
    assert [(ln["line_no"], ln["material_code"], ln["quantity"], ln["unit"], ln["priority"]) for ln in order["lines"]] \
        == [(1, "CAL-01", "40", "PCS", "2"), (2, "PST-01", "8", "PCS", "1")]
    oid = order["id"]

    r = client.patch(f"/api/v1/sales-orders/{oid}", json={"version": 1, "customer_po": "PO-2", "note": "加急"})
    assert r.status_code == 200 and (r.json()["customer_po"], r.json()["version"]) == ("PO-2", 2)
    r = client.patch(f"/api/v1/sales-orders/{oid}", json={"version": 1, "note": "x"})
    assert r.status_code == 409 and "admin" in r.json()["error"]["message_zh"]

    r = client.post(f"/api/v1/sales-orders/{oid}/lines",
                    json={"material_id": catalog.casting, "quantity": "3.5", "due_date": "2026-12-01"})
    assert r.status_code == 201 and (r.json()["line_no"], r.json()["priority"]) == (3, "2")
    line3 = r.json()["id"]
    r = client.post(f"/api/v1/sales-orders/{oid}/lines",
                    json={"line_no": 1, "material_id": catalog.casting, "quantity": 1, "due_date": "2026-12-01"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "sales_order_line_no_taken"

    first = order["lines"][0]["id"]
    r = client.patch(f"/api/v1/sales-orders/{oid}/lines/{first}",
                     json={"version": 1, "quantity": 45, "due_date": "2026-12-12", "priority": "urgent"})
    assert r.status_code == 200, r.text
    assert (r.json()["quantity"], r.json()["due_date"], r.json()["priority"], r.json()["version"]) == (
        "45", "2026-12-12", "1", 2)
    r = client.patch(f"/api/v1/sales-orders/{oid}/lines/{first}", json={"version": 1, "quantity": 50})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_version"
    r = client.patch(f"/api/v1/sales-orders/{oid}/lines/999", json={"version": 1, "quantity": 50})
    assert r.status_code == 404 and r.json()["error"]["code"] == "sales_order_line_not_found"

    r = client.post(f"/api/v1/sales-orders/{oid}/lines/{line3}/cancel", json={"version": 1})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = client.get(f"/api/v1/sales-orders/{oid}")
    assert r.json()["earliest_due_date"] == "2026-12-03" and r.json()["status"] == "open"

    r = client.post(f"/api/v1/sales-orders/{oid}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert {ln["status"] for ln in r.json()["lines"]} == {"cancelled"}
    r = client.post(f"/api/v1/sales-orders/{oid}/cancel")
    assert r.status_code == 422 and r.json()["error"]["code"] == "sales_order_not_open"


def test_sales_order_refusals_write_nothing(client: TestClient, db: Database, plant: MiniPlant, catalog: Catalog,
                                           customers: Customers) -> None:
    body = order_body(plant, catalog, customers)
    body["lines"][1]["material_id"] = 999
    r = client.post("/api/v1/sales-orders", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "material_not_found"
    assert "999" in r.json()["error"]["message_zh"] and "999" in r.json()["error"]["message_en"]

    r = client.post("/api/v1/sales-orders", json=order_body(plant, catalog, customers, customer_id=4242))
    assert r.status_code == 422 and r.json()["error"]["code"] == "customer_not_found"
    r = client.post("/api/v1/sales-orders", json=order_body(plant, catalog, customers, site_id=plant.wc1))
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_site"
    assert "WC1" in r.json()["error"]["message_en"]

    body = order_body(plant, catalog, customers)
    body["lines"][0]["quantity"] = 0
    r = client.post("/api/v1/sales-orders", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    assert "lines.0.quantity" in r.json()["error"]["message_en"]

    body = order_body(plant, catalog, customers)
    body["lines"][1]["line_no"] = 1
    body["lines"][0]["line_no"] = 1
    r = client.post("/api/v1/sales-orders", json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "sales_order_line_no_taken"
    assert (count(db, SalesOrder), count(db, SalesOrderLine)) == (0, 0)

    assert client.post("/api/v1/sales-orders", json=order_body(plant, catalog, customers)).status_code == 201
    r = client.post("/api/v1/sales-orders", json=order_body(plant, catalog, customers))
    assert r.status_code == 409 and r.json()["error"]["code"] == "sales_order_code_taken"
    assert (count(db, SalesOrder), count(db, SalesOrderLine)) == (1, 2)
    r = client.get("/api/v1/sales-orders/4242")
    assert r.status_code == 404 and r.json()["error"]["code"] == "sales_order_not_found"


def test_sales_order_list_filters_and_paging(client: TestClient, plant: MiniPlant, catalog: Catalog,
                                             customers: Customers) -> None:
    for i, (customer, due) in enumerate([(customers.acme, "2026-12-01"), (customers.beta, "2026-12-15"),
                                         (customers.acme, "2027-01-10")], start=1):
        body = order_body(plant, catalog, customers, code=f"SO-{i}", customer_id=customer)
        body["lines"] = [{"material_id": catalog.caliper, "quantity": 1, "due_date": due}]
        assert client.post("/api/v1/sales-orders", json=body).status_code == 201
    oid = client.get("/api/v1/sales-orders", params={"q": "SO-2"}).json()["items"][0]["id"]
    client.post(f"/api/v1/sales-orders/{oid}/cancel")

    def codes(**params) -> list[str]:
        r = client.get("/api/v1/sales-orders", params=params)
        assert r.status_code == 200, r.text
        return [o["code"] for o in r.json()["items"]]

    assert codes() == ["SO-1", "SO-2", "SO-3"]
    assert codes(status="open") == ["SO-1", "SO-3"]
    # SO-2 has no open line left: it counts as due last.
    assert codes(status=["open", "cancelled"], sort="due") == ["SO-1", "SO-3", "SO-2"]
    assert codes(status=["open", "cancelled"], sort="due", dir="desc") == ["SO-2", "SO-3", "SO-1"]
    assert codes(customer_id=customers.acme) == ["SO-1", "SO-3"]
    assert codes(due_from="2026-12-01", due_to="2026-12-31") == ["SO-1"]
    assert codes(site_id=plant.site, q="c-acme") == ["SO-1", "SO-3"]
    r = client.get("/api/v1/sales-orders", params={"per_page": 25, "page": 1})
    assert (r.json()["total"], r.json()["page"], r.json()["per_page"]) == (3, 1, 25)
    r = client.get("/api/v1/sales-orders", params={"status": "lost"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"


def test_work_orders(client: TestClient, db: Database, plant: MiniPlant, catalog: Catalog,
                     customers: Customers) -> None:
    clock.set_clock(lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    order = client.post("/api/v1/sales-orders", json=order_body(plant, catalog, customers)).json()
    line = order["lines"][0]
    r = client.post("/api/v1/work-orders", json={"sales_order_line_id": line["id"]})
    assert r.status_code == 201, r.text
    wo = r.json()
    assert (wo["code"], wo["material_code"], wo["quantity"], wo["due_date"], wo["status"], wo["source"]) == (
        "WO-20261123-0001", "CAL-01", "40", "2026-12-10", "planned", "order_line")
    assert (wo["production_line_id"], wo["sales_order_id"], wo["routing_id"]) == (plant.line1, order["id"],
                                                                                  catalog.routing_caliper)
    assert [(op["seq"], op["planned_minutes"]) for op in wo["operations"]] == [(10, "130"), (20, "65")]

    r = client.post("/api/v1/work-orders", json={"material_id": catalog.piston, "quantity": 6,
                                                 "due_date": "2026-12-20", "site_id": plant.site},
                    headers={"Idempotency-Key": "k-wo-1"})
    assert r.status_code == 201
    again = client.post("/api/v1/work-orders", json={"material_id": catalog.piston, "quantity": 6,
                                                     "due_date": "2026-12-20", "site_id": plant.site},
                        headers={"Idempotency-Key": "k-wo-1"})
    assert again.json()["id"] == r.json()["id"] and count(db, WorkOrder) == 2
    stock = r.json()
    assert (stock["source"], stock["production_line_id"]) == ("stock", plant.line2)

    r = client.post("/api/v1/work-orders", json={"material_id": catalog.casting, "quantity": 1,
                                                 "due_date": "2026-12-20", "site_id": plant.site})
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_routing"
    assert "CST-01" in r.json()["error"]["message_zh"] and "2026-12-20" in r.json()["error"]["message_zh"]

    r = client.patch(f"/api/v1/work-orders/{wo['id']}", json={"version": 1, "quantity": 100})
    assert r.status_code == 200
    assert [op["planned_minutes"] for op in r.json()["operations"]] == ["280", "140"]
    r = client.patch(f"/api/v1/work-orders/{wo['id']}", json={"version": 1, "quantity": 10})
    assert r.status_code == 409 and r.json()["error"]["code"] == "stale_version"

    def codes(**params) -> list[str]:
        r = client.get("/api/v1/work-orders", params=params)
        assert r.status_code == 200, r.text
        return [w["code"] for w in r.json()["items"]]

    assert codes() == ["WO-20261123-0001", "WO-20261123-0002"]
    assert codes(production_line_id=plant.line2) == ["WO-20261123-0002"]
    assert codes(sales_order_id=order["id"]) == ["WO-20261123-0001"]
    assert codes(material_id=catalog.piston, due_from="2026-12-15") == ["WO-20261123-0002"]

    r = client.post(f"/api/v1/work-orders/{stock['id']}/cancel", json={"version": 1})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert codes(status="cancelled") == ["WO-20261123-0002"]
    assert codes(status=["planned"]) == ["WO-20261123-0001"]
    r = client.get(f"/api/v1/work-orders/{wo['id']}")
    assert r.json()["operations"][0]["work_center_id"] == plant.wc1
    assert client.get("/api/v1/work-orders/999").status_code == 404


def test_permissions(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    add_user(db, "viewer", "viewer", plant.enterprise)
    with make_client(db) as viewer:
        sign_in(viewer, "viewer")
        assert viewer.get("/api/v1/sales-orders").status_code == 200
        assert viewer.get("/api/v1/customers").status_code == 200
        r = viewer.post("/api/v1/sales-orders", json=order_body(plant, catalog, customers))
        assert r.status_code == 403 and "sales_order.create" in r.json()["error"]["message_en"]
        assert viewer.post("/api/v1/customers", json={"code": "X", "name": "X"}).status_code == 403
        assert viewer.post("/api/v1/work-orders", json={"material_id": catalog.piston}).status_code == 403
    with make_client(db) as anon:
        assert anon.get("/api/v1/work-orders").status_code == 401
    assert count(db, SalesOrder) == 0
