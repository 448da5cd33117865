"""Orders pages in zh-CN and en: lists with filters, detail pages, forms (sent twice → one record)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from synfab.core.db import Database
from synfab.orders import service
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine
from synfab.orders.schemas import WorkOrderCreate
from tests.conftest import MiniPlant
from tests.orders.conftest import Catalog, Customers, make_order


def speak(client: TestClient, locale: str) -> None:
    assert client.get(f"/lang/{locale}").status_code == 200


def rows(html: str, table_id: str) -> list[str]:
    """The data-code / data-line keys of a table's rows, in order."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-(?:code|line|seq)="([^"]+)"', body)


def count(db: Database, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def form_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_sales_order_list_filters_in_both_languages(client: TestClient, db: Database, plant: MiniPlant,
                                                    catalog: Catalog, customers: Customers) -> None:
    make_order(db, plant, customers.acme, "SO-A", [(catalog.caliper, "1", "2026-12-01")], customer_po="PO-77")
    b = make_order(db, plant, customers.beta, "SO-B", [(catalog.caliper, "1", "2026-12-15")])
    make_order(db, plant, customers.acme, "SO-C", [(catalog.piston, "1", "2027-01-10")])
    with db.uow() as uow:
        service.cancel_sales_order(uow, b)
        uow.commit()

    speak(client, "zh_CN")
    r = client.get("/orders/sales-orders", params={"status": "open", "sort": "due", "dir": "desc"})
    assert r.status_code == 200
    assert rows(r.text, "sales-orders") == ["SO-C", "SO-A"]
    assert "<h1>销售订单</h1>" in r.text and "未结" in r.text and "艾克米汽车" in r.text
    assert 'href="/export/sales_orders.xlsx?sort=due&amp;dir=desc&amp;status=open"' in r.text
    r = client.get("/orders/sales-orders", params={"status": "cancelled"})
    assert rows(r.text, "sales-orders") == ["SO-B"] and "已取消" in r.text
    r = client.get("/orders/sales-orders", params={"customer_id": customers.acme, "due_to": "2026-12-31"})
    assert rows(r.text, "sales-orders") == ["SO-A"]
    r = client.get("/orders/sales-orders", params={"q": "po-77"})
    assert rows(r.text, "sales-orders") == ["SO-A"]

    speak(client, "en")
    r = client.get("/orders/sales-orders", params={"due_from": "2027-01-01"})
    assert rows(r.text, "sales-orders") == ["SO-C"]
    assert "<h1>Sales orders</h1>" in r.text and "Acme Motors" in r.text and "Earliest due date" in r.text
    r = client.get("/orders/sales-orders", params={"status": "cancelled"})
    assert "Cancelled" in r.text and rows(r.text, "sales-orders") == ["SO-B"]
    r = client.get("/orders/sales-orders", params={"per_page": 25, "page": 9})
    assert "1–3 of 3" in r.text


def test_sales_order_detail_shows_lines_work_orders_and_history(client: TestClient, db: Database, plant: MiniPlant,
                                                                catalog: Catalog, customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "40", "2026-12-10"),
                                                              (catalog.piston, "12.5", "2026-12-03")])
    with db.uow() as uow:
        line_id = service.get_sales_order(uow.session, order_id).lines[0].id
        wo = service.create_work_order(uow, WorkOrderCreate(code="WO-9", sales_order_line_id=line_id))
        uow.commit()

    speak(client, "zh_CN")
    r = client.get(f"/orders/sales-orders/{order_id}")
    assert r.status_code == 200
    assert rows(r.text, "order-lines") == ["1", "2"]
    lines = r.text.split('id="order-lines"', 1)[1]
    assert "制动钳总成" in lines and "40 PCS" in lines and "12.5 PCS" in lines and "2026-12-10" in lines
    assert f'href="/orders/work-orders/{wo.id}">WO-9</a>' in lines and "已计划" in lines
    assert "录入订单 SO-1，共 2 行" in r.text and "已生成生产工单 WO-9，数量 40" in r.text

    speak(client, "en")
    r = client.get(f"/orders/sales-orders/{order_id}")
    assert "Brake caliper" in r.text and "Piston" in r.text and "Planned" in r.text
    assert "Order SO-1 entered with 2 lines" in r.text and "Line 2 added: 12.5, due 2026-12-03" in r.text
    assert client.get("/orders/sales-orders/999").status_code == 404


def test_line_change_from_the_page_and_a_stale_form(client: TestClient, db: Database, plant: MiniPlant,
                                                    catalog: Catalog, customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "40", "2026-12-10")])
    with db.session() as s:
        line_id = service.get_sales_order(s, order_id).lines[0].id
    speak(client, "en")
    form = {"version": "1", "quantity": "45", "due_date": "2026-12-12", "priority": "1"}
    r = client.post(f"/orders/sales-orders/{order_id}/lines/{line_id}", data=form, follow_redirects=False)
    assert r.status_code == 303
    r = client.get(f"/orders/sales-orders/{order_id}")
    assert "45 PCS" in r.text and "Line 1 changed: quantity 40 → 45; due date 2026-12-10 → 2026-12-12; " \
                                  "priority Normal → Urgent" in r.text
    # A second person still showing version 1 is told who changed it.
    r = client.post(f"/orders/sales-orders/{order_id}/lines/{line_id}", data={**form, "quantity": "50"})
    assert r.status_code == 409 and "Changed by admin" in r.text and "45 PCS" in r.text
    r = client.post(f"/orders/sales-orders/{order_id}/lines/{line_id}/cancel", data={"version": "2"},
                    follow_redirects=False)
    assert r.status_code == 303
    with db.session() as s:
        assert service.get_sales_order(s, order_id).status.value == "cancelled"


def test_entry_form_sent_twice_creates_one_order(client: TestClient, db: Database, plant: MiniPlant,
                                                 catalog: Catalog, customers: Customers) -> None:
    speak(client, "zh_CN")
    page = client.get("/orders/sales-orders/new")
    assert page.status_code == 200 and "新建销售订单" in page.text and "CAL-01" in page.text
    form = {
        "idempotency_key": form_key(page.text), "code": "SO-WEB", "customer_id": str(customers.acme),
        "site_id": str(plant.site), "order_date": "2026-11-20", "customer_po": "PO-W", "priority": "2", "note": "",
        "line_material": ["CAL-01", "", "PST-01"], "line_quantity": ["10", "", "4"],
        "line_due_date": ["2026-12-01", "", "2026-12-02"], "line_priority": ["", "", "1"],
    }
    first = client.post("/orders/sales-orders", data=form, follow_redirects=False)
    second = client.post("/orders/sales-orders", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert (count(db, SalesOrder), count(db, SalesOrderLine)) == (1, 2)
    detail = client.get(first.headers["location"])
    assert rows(detail.text, "order-lines") == ["1", "2"] and "PO-W" in detail.text

    # A refused form comes back filled in, with the reason, and writes nothing.
    bad = {**form, "idempotency_key": "other-key", "code": "SO-WEB2", "line_material": ["NOPE", "", ""]}
    r = client.post("/orders/sales-orders", data=bad)
    assert r.status_code == 422 and "第 1 行：没有编码为 NOPE 的物料。" in r.text and 'value="SO-WEB2"' in r.text
    dup = {**form, "idempotency_key": "third-key"}
    r = client.post("/orders/sales-orders", data=dup)
    assert r.status_code == 409 and "销售订单编号 SO-WEB 已被使用" in r.text
    assert (count(db, SalesOrder), count(db, SalesOrderLine)) == (1, 2)


def test_work_order_pages(client: TestClient, db: Database, plant: MiniPlant, catalog: Catalog,
                          customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "40", "2026-12-10")])
    with db.session() as s:
        line_id = service.get_sales_order(s, order_id).lines[0].id
    speak(client, "zh_CN")
    page = client.get(f"/orders/sales-orders/{order_id}")
    make = {"idempotency_key": form_key(page.text.split('id="order-lines"', 1)[1])}
    r = client.post(f"/orders/sales-orders/{order_id}/lines/{line_id}/work-orders", data=make, follow_redirects=False)
    again = client.post(f"/orders/sales-orders/{order_id}/lines/{line_id}/work-orders", data=make,
                        follow_redirects=False)
    assert r.status_code == 303 and again.headers["location"] == r.headers["location"]
    wo_url = r.headers["location"]
    with db.uow() as uow:
        service.create_work_order(uow, WorkOrderCreate(code="W-STOCK", material_id=catalog.piston,
                                                       quantity=Decimal(8), due_date=date(2026, 12, 20),
                                                       site_id=plant.site))
        uow.commit()

    r = client.get("/orders/work-orders", params={"production_line_id": plant.line2})
    assert rows(r.text, "work-orders") == ["W-STOCK"] and "备库生产" in r.text
    assert 'href="/export/work_orders.xlsx?production_line_id=' in r.text
    r = client.get("/orders/work-orders", params={"status": "planned", "sort": "due"})
    codes = rows(r.text, "work-orders")
    assert len(codes) == 2 and codes[1] == "W-STOCK" and "SO-1</a> / 1" in r.text

    r = client.get(wo_url)
    assert r.status_code == 200 and "精车" in r.text and "车床1" in r.text
    ops = r.text.split('id="operations"', 1)[1]
    assert rows(r.text, "operations") == ["10", "20"]
    assert re.findall(r'class="num planned">([^<]+)<', ops) == ["130", "65"]
    assert '<th class="num">195</th>' in ops
    assert f'href="/catalog/materials/{catalog.caliper}"' in r.text and f'href="/orders/sales-orders/{order_id}"' in r.text

    speak(client, "en")
    r = client.get(wo_url)
    assert "Operations" in r.text and "Planned (min)" in r.text and "Brake caliper" in r.text
    version = re.search(r'name="version" value="(\d+)"', r.text.split('id="change-work-order"')[1]).group(1)
    r = client.post(wo_url, data={"version": version, "quantity": "100", "due_date": "2026-12-10", "priority": "3"})
    ops = r.text.split('id="operations"', 1)[1]
    assert re.findall(r'class="num planned">([^<]+)<', ops) == ["280", "140"]
    r = client.get("/orders/work-orders", params={"q": "W-STOCK"})
    assert rows(r.text, "work-orders") == ["W-STOCK"] and "For stock" in r.text


def test_customers_page_and_form(client: TestClient, db: Database, customers: Customers) -> None:
    speak(client, "zh_CN")
    r = client.get("/orders/customers", params={"active": "1"})
    assert rows(r.text, "customers") == ["C-ACME", "C-BETA"] and "/export/customers.xlsx?active=1" in r.text
    form = {"idempotency_key": form_key(r.text), "code": "C-NEW", "name": "新客户", "name_en": "Newco"}
    assert client.post("/orders/customers", data=form, follow_redirects=False).status_code == 303
    assert client.post("/orders/customers", data=form, follow_redirects=False).status_code == 303
    assert count(db, Customer) == 4
    r = client.post("/orders/customers", data={**form, "idempotency_key": "k2"})
    assert r.status_code == 409 and "客户编码 C-NEW 已被 新客户 使用。" in r.text
    speak(client, "en")
    r = client.get("/orders/customers", params={"q": "newco"})
    assert rows(r.text, "customers") == ["C-NEW"] and "Newco" in r.text and "Customers" in r.text


def test_home_cards(client: TestClient, db: Database, plant: MiniPlant, catalog: Catalog,
                    customers: Customers) -> None:
    make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "1", "2026-12-01")])
    speak(client, "zh_CN")
    r = client.get("/")
    assert "未结销售订单" in r.text and "未来 7 天内到期或已逾期的订单行" in r.text and "未完工生产工单" in r.text
    speak(client, "en")
    r = client.get("/")
    assert "Open sales orders" in r.text and "/orders/sales-orders?status=open,in_production,partially_shipped" in r.text
