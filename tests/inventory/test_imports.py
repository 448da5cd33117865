"""Stock on hand from Excel: an opening stock or a stock count posts adjustments of the differences only."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from synfab.connect.files.runner import run_import
from synfab.core.db import Database
from synfab.inventory import service
from synfab.inventory.choices import LotStatus, MoveKind
from synfab.inventory.models import Lot, StockMove
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from synfab.plant import service as plant_service
from tests.catalog.test_imports import MATERIALS, UNITS
from tests.conftest import MiniPlant
from tests.connect.test_import_plant import problems, workbook

HEADER = ["库位", "物料编码", "批次号", "数量", "单位", "入库日期", "失效日期", "批次状态"]
STOCK = ("期初库存", [
    HEADER,
    ["RM", "CST", "L-001", "900", "", "2026-11-01", "", ""],
    ["RM", "CST", "L-002", "100", "pcs", "2026-11-02", "", "冻结"],
    ["RM", "GRS", "G-001", "2500", "g", "2026-11-03", "", "可用"],  # 2.5 kg in grams
])


MASTER = workbook(("计量单位", [*UNITS[1], ["g", "克", "质量"]]), MATERIALS,
                  ("单位换算", [["原单位", "换算系数", "目标单位"], ["kg", "1000", "g"]]))


def moves(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(StockMove)) or 0


def test_opening_stock_creates_lots_and_a_second_import_posts_nothing(db: Database, plant: MiniPlant) -> None:
    assert run_import(db, MASTER, "master.xlsx").ok
    report = run_import(db, workbook(STOCK), "opening.xlsx")
    assert report.ok, problems(report)
    assert report.summaries[0].created == 3
    with db.session() as s:
        lots = {lot.code: lot for lot in s.scalars(select(Lot))}
        assert lots["L-002"].status == LotStatus.HOLD
        grease = lots["G-001"]
        assert grease.expires_on.isoformat() == "2027-11-03"  # received + 365 days of shelf life
        assert service.on_hand(s, grease.material_id, plant.store, grease.id) == Decimal("2.5")
        assert {m.kind for m in s.scalars(select(StockMove))} == {MoveKind.ADJUSTMENT}
        assert service.ledger_balance_mismatches(s) == []
    assert moves(db) == 3
    again = run_import(db, workbook(STOCK), "opening.xlsx")
    assert again.ok and again.summaries[0].unchanged == 3 and moves(db) == 3


def test_a_stock_count_posts_the_differences(db: Database, plant: MiniPlant) -> None:
    run_import(db, MASTER, "master.xlsx")
    run_import(db, workbook(STOCK), "opening.xlsx")
    counted = (STOCK[0], [HEADER, ["RM", "CST", "L-001", "880", "", "", "", ""], ["RM", "CST", "L-002", "100", "", "", "", ""]])
    report = run_import(db, workbook(counted), "count.xlsx")
    assert report.ok, problems(report)
    assert (report.summaries[0].updated, report.summaries[0].unchanged) == (1, 1)
    with db.session() as s:
        lot = s.scalar(select(Lot).where(Lot.code == "L-001"))
        assert service.on_hand(s, lot.material_id, plant.store, lot.id) == Decimal(880)
        last = s.scalar(select(StockMove).order_by(StockMove.id.desc()))
        assert (last.kind, last.quantity, last.from_location_id) == (MoveKind.ADJUSTMENT, Decimal(20), plant.store)
        assert last.reference == "count.xlsx"


def test_bad_stock_rows_are_reported_and_nothing_is_written(db: Database, plant: MiniPlant) -> None:
    run_import(db, MASTER, "master.xlsx")
    run_import(db, workbook(STOCK), "opening.xlsx")
    before = moves(db)
    bad = ("期初库存", [
        HEADER,
        ["L1", "CST", "L-003", "5", "", "", "", ""],  # a production line is not a storage location
        ["NOWHERE", "CST", "L-004", "5", "", "", "", ""],
        ["RM", "CST", "", "5", "", "", "", ""],  # lot-tracked without a lot
        ["RM", "HSG", "L-001", "5", "", "", "", ""],  # L-001 belongs to the casting
        ["RM", "CST", "L-005", "-1", "", "", "", ""],
        ["RM", "CST", "L-006", "5", "kg", "", "", ""],  # kg of castings
        ["RM", "CST", "L-007", "5", "", "2026-11-10", "2026-11-01", ""],  # expires before received
    ])
    report = run_import(db, workbook(bad), "bad.xlsx")
    assert problems(report) == [
        ("期初库存", 2, "库位", "location_not_found"),
        ("期初库存", 3, "库位", "location_not_found"),
        ("期初库存", 4, "批次号", "lot_required"),
        ("期初库存", 5, "批次号", "lot_code_taken"),
        ("期初库存", 6, "数量", "quantity_negative"),
        ("期初库存", 7, "单位", "no_unit_conversion"),
        ("期初库存", 8, "失效日期", "lot_expires_before_receipt"),
    ]
    assert moves(db) == before
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lot)) == 3
        assert s.scalar(select(Lot.status).where(Lot.code == "L-002")) == LotStatus.HOLD
    release = (STOCK[0], [HEADER, ["RM", "CST", "L-001", "5", "", "", "", ""],
                          ["RM", "CST", "L-002", "100", "", "", "", "可用"]])  # releasing takes a signature
    report = run_import(db, workbook(release), "release.xlsx")
    assert problems(report) == [("期初库存", 3, "批次状态", "lot_release_needs_signature")]
    assert moves(db) == before
    with db.session() as s:
        assert s.scalar(select(Lot.status).where(Lot.code == "L-002")) == LotStatus.HOLD


def test_storage_units_under_a_zone_are_locations_too(db: Database, plant: MiniPlant) -> None:
    with db.uow() as uow:
        plant_service.create_node(uow, NodeCreate(code="RM-01", name="货架1", level=Level.STORAGE_UNIT,
                                                  parent_id=plant.store))
        uow.commit()
    run_import(db, MASTER, "master.xlsx")
    report = run_import(db, workbook((STOCK[0], [HEADER, ["RM-01", "BLT", "B-1", "1000", "", "", "", ""]])), "s.xlsx")
    assert report.ok, problems(report)
