"""Customers and sales orders from Excel or a GBK CSV: bulk, all or nothing, idempotent, changes by code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from synfab.connect.files.runner import run_import
from synfab.core.db import Database
from synfab.core.models import EventRecord
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine
from tests.catalog.test_imports import MATERIALS, UNITS
from tests.conftest import MiniPlant
from tests.connect.test_import_plant import problems, workbook

CUSTOMERS = ("客户", [["客户编码", "客户名称", "联系人"], ["C001", "江南汽车", "王经理"], ["C002", "北方重卡", "刘工"]])
HEADER = ["订单号", "客户编码", "工厂", "订单日期", "优先级", "行号", "物料编码", "数量", "单位", "交货日期"]
ORDERS = ("销售订单", [
    HEADER,
    ["SO-1", "C001", "SH", "2026-11-20", "普通", "10", "CAL", "500", "", "2026-12-15"],
    ["SO-1", "C001", "SH", "2026-11-20", "普通", "20", "BLT", "2", "box", "2026-12-20"],
    ["SO-2", "C002", "SH", "2026-11-21", "紧急", "10", "CAL", "120", "pcs", "2026-12-01"],
])


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(SalesOrder)) or 0,
                s.scalar(select(func.count()).select_from(SalesOrderLine)) or 0)


def base(db: Database) -> None:
    assert run_import(db, workbook(UNITS, MATERIALS, ("单位换算", [["原单位", "换算系数", "目标单位", "物料编码"],
                                                                 ["box", "200", "pcs", "BLT"]]), CUSTOMERS),
                      "master.xlsx").ok


def test_orders_import_with_units_converted_and_a_second_import_changes_nothing(db: Database, plant: MiniPlant) -> None:
    base(db)
    report = run_import(db, workbook(ORDERS), "orders.xlsx")
    assert report.ok, problems(report)
    assert report.summaries[0].created == 3
    with db.session() as s:
        so1 = s.scalar(select(SalesOrder).where(SalesOrder.code == "SO-1"))
        assert so1.customer.code == "C001" and so1.site_id == plant.site and so1.order_date == date(2026, 11, 20)
        bolts = next(ln for ln in so1.lines if ln.line_no == 20)
        assert bolts.quantity == Decimal(400)  # 2 boxes of 200
        so2 = s.scalar(select(SalesOrder).where(SalesOrder.code == "SO-2"))
        assert so2.priority.value == "1" and so2.lines[0].priority.value == "1"
        imported = s.scalar(select(EventRecord).where(EventRecord.type == "SalesOrdersImported"))
        assert sorted(imported.payload["order_ids"]) == sorted([so1.id, so2.id])
        assert imported.payload["source"] == "orders.xlsx"
    again = run_import(db, workbook(ORDERS), "orders.xlsx")
    assert again.ok and (again.summaries[0].created, again.summaries[0].updated, again.summaries[0].unchanged) == (0, 0, 3)
    assert counts(db) == (2, 3)


def test_a_changed_quantity_and_a_new_line_update_the_order_with_events(db: Database, plant: MiniPlant) -> None:
    base(db)
    run_import(db, workbook(ORDERS), "orders.xlsx")
    changed = (ORDERS[0], [list(r) for r in ORDERS[1]])
    changed[1][1][7] = "600"
    changed[1].append(["SO-1", "C001", "SH", "2026-11-20", "普通", "30", "GRS", "1.5", "kg", "2026-12-18"])
    report = run_import(db, workbook(changed), "orders-v2.xlsx")
    assert report.ok, problems(report)
    assert (report.summaries[0].created, report.summaries[0].updated, report.summaries[0].unchanged) == (1, 1, 2)
    with db.session() as s:
        line = s.scalar(select(SalesOrderLine).join(SalesOrder).where(SalesOrder.code == "SO-1",
                                                                      SalesOrderLine.line_no == 10))
        assert line.quantity == Decimal(600)
        change = s.scalar(select(EventRecord).where(EventRecord.type == "SalesOrderLineChanged"))
        assert (change.payload["old_quantity"], change.payload["new_quantity"]) == ("500", "600")
        assert s.scalar(select(func.count()).select_from(EventRecord).where(
            EventRecord.type == "SalesOrderLineAdded")) == 1


def test_a_broken_order_file_reports_every_row_and_writes_nothing(db: Database, plant: MiniPlant) -> None:
    base(db)
    broken = ("销售订单", [
        HEADER,
        ["SO-9", "C999", "SH", "2026-11-20", "普通", "10", "CAL", "10", "", "2026-12-15"],  # unknown customer
        ["SO-8", "C001", "L1", "2026-11-20", "普通", "10", "CAL", "10", "", "2026-12-15"],  # a line is not a site
        ["SO-7", "C001", "SH", "2026-11-20", "普通", "10", "NOPE", "10", "", "2026-12-15"],  # unknown material
        ["SO-6", "C001", "SH", "2026-11-20", "普通", "10", "CAL", "十个", "", "2026-12-15"],  # not a number
        ["SO-5", "C001", "SH", "2026-11-20", "普通", "10", "CAL", "10", "kg", "2026-12-15"],  # kg of calipers
        ["SO-4", "C001", "SH", "2026-11-20", "普通", "10", "CAL", "-5", "", "2026-12-15"],  # negative
        ["SO-3", "C001", "SH", "2026-11-20", "普通", "10", "CAL", "10", "", "2026-11-01"],  # due before ordered
        ["SO-2", "C001", "SH", "2026-11-20", "普通", "10", "CAL", "10", "", "2026-12-15"],
        ["SO-2", "C002", "SH", "2026-11-20", "普通", "20", "CAL", "10", "", "2026-12-15"],  # header differs
        ["SO-1", "C001", "SH", "2026-11-20", "普通", "10", "CAL", "10", "", "2026-12-15"],
        ["SO-1", "C001", "SH", "2026-11-20", "普通", "10", "HSG", "10", "", "2026-12-15"],  # line 10 twice
        ["SO-0", "C001", "SH", "2026/11/20", "普通", "10", "CAL", "10", "", "明天"],  # not a date
    ])
    report = run_import(db, workbook(broken), "broken.xlsx")
    assert problems(report) == [
        ("销售订单", 2, "客户编码", "customer_not_found"),
        ("销售订单", 3, "工厂", "site_not_found"),
        ("销售订单", 4, "物料编码", "material_not_found"),
        ("销售订单", 5, "数量", "not_a_number"),
        ("销售订单", 6, "单位", "no_unit_conversion"),
        ("销售订单", 7, "数量", "quantity_not_positive"),
        ("销售订单", 10, "客户编码", "header_differs"),
        ("销售订单", 12, "行号", "duplicate_row"),
        ("销售订单", 13, "交货日期", "not_a_date"),
    ]
    # The due date before the order date is found once every row above is right:
    fixed = ("销售订单", [HEADER, broken[1][7]])
    assert problems(run_import(db, workbook(fixed), "late.xlsx")) == [("销售订单", 2, "交货日期", "due_before_order_date")]
    assert counts(db) == (0, 0)


def test_orders_from_a_gbk_csv(db: Database, plant: MiniPlant) -> None:
    base(db)
    text = ",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in ORDERS[1][1:]) + "\n"
    report = run_import(db, text.encode("gbk"), "销售订单.csv")
    assert report.ok, problems(report)
    assert counts(db) == (2, 3)


def test_customers_import_and_update_by_code(db: Database, plant: MiniPlant) -> None:
    assert run_import(db, workbook(CUSTOMERS), "c.xlsx").ok
    renamed = ("客户", [CUSTOMERS[1][0], ["C001", "江南汽车股份有限公司", "王经理"], CUSTOMERS[1][2]])
    report = run_import(db, workbook(renamed), "c.xlsx")
    assert (report.summaries[0].updated, report.summaries[0].unchanged) == (1, 1)
    with db.session() as s:
        assert s.scalar(select(Customer.name).where(Customer.code == "C001")) == "江南汽车股份有限公司"


def test_exported_orders_import_back_unchanged(client, db: Database, plant: MiniPlant) -> None:
    base(db)
    run_import(db, workbook(ORDERS), "orders.xlsx")
    exported = client.get("/export/sales_orders.xlsx", headers={"Accept-Language": "en"})
    assert exported.status_code == 200
    report = run_import(db, exported.content, "export.xlsx")
    assert report.ok, problems(report)
    assert report.summaries[0].unchanged == 3
    only_c002 = client.get("/export/sales_orders.xlsx?q=C002")
    assert run_import(db, only_c002.content, "one.xlsx").summaries[0].rows == 1
