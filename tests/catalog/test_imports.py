"""Catalog kinds of the importer: materials, BOMs and routings from Excel, codes from other systems, cycles."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from synfab.catalog.models import Bom, BomLine, ExternalId, Material, Routing, Unit
from synfab.connect.files.runner import run_import
from synfab.core.db import Database
from tests.conftest import MiniPlant
from tests.connect.test_import_plant import problems, workbook

UNITS = ("计量单位", [["编码", "名称", "量纲"], ["pcs", "件", "计数"], ["kg", "千克", "质量"], ["box", "箱", "计数"]])
MATERIALS = ("物料", [
    ["物料编码", "物料名称", "物料类型", "来源", "计量单位", "保质期（天）"],
    ["CAL", "卡钳总成", "成品", "自制", "pcs", ""],
    ["HSG", "卡钳体", "半成品", "自制", "pcs", ""],
    ["CST", "卡钳体铸件", "原材料", "外购", "pcs", ""],
    ["BLT", "螺栓", "raw", "buy", "pcs", ""],
    ["GRS", "硅脂", "consumable", "buy", "kg", "365"],
])
CONVERSIONS = ("单位换算", [["原单位", "换算系数", "目标单位", "物料编码"], ["box", "200", "pcs", "BLT"]])
BOMS = ("BOM", [
    ["父件编码", "版本", "状态", "生效日期", "行号", "子件编码", "用量", "单位", "损耗率"],
    ["CAL", "A", "已发布", "2026-01-01", "10", "HSG", "1", "", "0"],
    ["CAL", "A", "已发布", "2026-01-01", "20", "BLT", "0.01", "box", "0.005"],
    ["CAL", "A", "已发布", "2026-01-01", "30", "GRS", "0.006", "kg", "0.1"],
    ["HSG", "A", "released", "2026-01-01", "10", "CST", "1", "pcs", "0.02"],
])
ROUTINGS = ("工艺路线", [
    ["物料编码", "版本", "状态", "生效日期", "工序号", "工序名称", "工作中心", "准备时间（分钟）", "单件工时（分钟）", "技能要求", "技能等级"],
    ["HSG", "A", "已发布", "2026-01-01", "10", "粗铣", "WC1", "30", "4.5", "CNC", "2"],
    ["HSG", "A", "已发布", "2026-01-01", "20", "精镗", "WC2", "20", "3.8", "CNC", "3"],
])


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_master_data_workbook_imports_once(db: Database, plant: MiniPlant) -> None:
    data = workbook(UNITS, MATERIALS, CONVERSIONS, BOMS, ROUTINGS)
    report = run_import(db, data, "master.xlsx")
    assert report.ok, problems(report)
    assert {s.kind: s.created for s in report.summaries} == {
        "units": 3, "materials": 5, "unit_conversions": 1, "boms": 4, "routings": 2}
    with db.session() as s:
        cal = s.scalar(select(Material).where(Material.code == "CAL"))
        bom = s.scalar(select(Bom).where(Bom.material_id == cal.id))
        assert bom.status.value == "released" and len(bom.lines) == 3
        bolt = next(ln for ln in bom.lines if ln.component.code == "BLT")
        assert bolt.unit.code == "box" and bolt.quantity == Decimal("0.01")
        routing = s.scalar(select(Routing))
        assert [(op.seq, op.setup_minutes, op.run_minutes) for op in routing.operations] == [
            (10, Decimal(30), Decimal("4.5")), (20, Decimal(20), Decimal("3.8"))]
    again = run_import(db, data, "master.xlsx")
    assert again.ok and all(s.created == s.updated == 0 for s in again.summaries)


def test_changed_bom_line_updates_a_draft_but_a_released_revision_needs_a_signature(db: Database,
                                                                                     plant: MiniPlant) -> None:
    drafts = (BOMS[0], [BOMS[1][0]] + [[*r[:2], "草稿", *r[3:]] for r in BOMS[1][1:]])
    run_import(db, workbook(UNITS, MATERIALS, CONVERSIONS, drafts), "master.xlsx")
    changed = (BOMS[0], [list(r) for r in drafts[1]])
    changed[1][1][6] = "2"  # two housings per caliper
    report = run_import(db, workbook(changed), "bom.xlsx")
    assert report.ok, problems(report)
    assert (report.summaries[0].updated, report.summaries[0].unchanged) == (3, 1)
    with db.session() as s:
        hsg = s.scalar(select(Material.id).where(Material.code == "HSG"))
        assert s.scalar(select(BomLine.quantity).where(BomLine.component_id == hsg)) == Decimal(2)
    released = (BOMS[0], [BOMS[1][0]] + [[*r[:2], "已发布", *r[3:]] for r in changed[1][1:]])
    assert run_import(db, workbook(released), "release.xlsx").ok  # releasing the drafts as they are
    released[1][1][6] = "3"
    report = run_import(db, workbook(released), "bom.xlsx")
    assert [(p.row, p.code) for p in report.errors] == [(2, "signature_required")]
    assert "electronic signature" in report.errors[0].message.in_locale("en")
    with db.session() as s:
        assert s.scalar(select(BomLine.quantity).where(BomLine.component_id == hsg)) == Decimal(2)


def test_a_cycle_through_two_boms_of_one_file_is_named_and_nothing_is_written(db: Database, plant: MiniPlant) -> None:
    run_import(db, workbook(UNITS, MATERIALS), "master.xlsx")
    cyclic = ("BOM", [
        ["父件编码", "版本", "行号", "子件编码", "用量"],
        ["CAL", "A", "10", "HSG", "1"],
        ["HSG", "A", "10", "CST", "1"],
        ["CST", "A", "10", "CAL", "1"],  # a casting made of the caliper it goes into
    ])
    report = run_import(db, workbook(cyclic), "cycle.xlsx")
    assert [(p.row, p.column, p.code) for p in report.errors] == [(2, "子件编码", "bom_cycle")]
    text = report.errors[0].message.in_locale("en")
    assert "CAL → HSG → CST → CAL" in text
    assert count(db, Bom) == 0


def test_bad_material_rows_are_reported_cell_by_cell(db: Database, plant: MiniPlant) -> None:
    run_import(db, workbook(UNITS), "units.xlsx")
    bad = ("物料", [
        ["物料编码", "物料名称", "物料类型", "计量单位", "保质期（天）", "物料类别"],
        ["M1", "好的", "原材料", "pcs", "", ""],
        ["M2", "单位不存在", "原材料", "桶", "", ""],
        ["M3", "类型不对", "宝石", "pcs", "", ""],
        ["M4", "保质期不是数字", "原材料", "pcs", "一年", ""],
        ["M1", "重复", "原材料", "pcs", "", ""],
        ["M5", "类别不存在", "原材料", "pcs", "", "NOPE"],
        ["", "没有编码", "原材料", "pcs", "", ""],
    ])
    report = run_import(db, workbook(bad), "materials.xlsx")
    assert problems(report) == [
        ("物料", 3, "计量单位", "unit_not_found"),
        ("物料", 4, "物料类型", "not_a_choice"),
        ("物料", 5, "保质期（天）", "not_a_number"),
        ("物料", 6, "物料编码", "duplicate_row"),
        ("物料", 7, "物料类别", "material_class_not_found"),
        ("物料", 8, "物料编码", "required"),
    ]
    assert count(db, Material) == 0


def test_codes_of_other_systems_resolve_to_one_record(db: Database, plant: MiniPlant) -> None:
    run_import(db, workbook(UNITS, MATERIALS), "master.xlsx")
    mapping = ("外部编码", [["系统", "类型", "外部编码", "本系统编码"],
                            ["ERP", "material", "M001", "HSG"], ["WMS", "material", "MAT01", "HSG"],
                            ["ERP", "material", "M002", "CST"], ["WMS", "material", "M002", "BLT"]])
    assert run_import(db, workbook(mapping), "mapping.xlsx").ok
    assert count(db, ExternalId) == 4
    # A BOM written with the WMS's codes: MAT01 is our HSG, M002 is the WMS's bolt (not the ERP's casting).
    wms_bom = ("BOM", [["父件编码", "版本", "行号", "子件编码", "用量"], ["MAT01", "A", "10", "M002", "4"]])
    report = run_import(db, workbook(wms_bom), "from-wms.xlsx", system="WMS")
    assert report.ok, problems(report)
    with db.session() as s:
        bom = s.scalar(select(Bom))
        assert bom.material.code == "HSG" and [ln.component.code for ln in bom.lines] == ["BLT"]
    # Without naming the system, M002 is ambiguous: reported, not guessed.
    erp_bom = ("BOM", [["父件编码", "版本", "行号", "子件编码", "用量"], ["M001", "B", "10", "M002", "1"]])
    report = run_import(db, workbook(erp_bom), "unknown-system.xlsx")
    assert problems(report) == [("BOM", 2, "子件编码", "external_id_ambiguous")]


def test_routing_with_an_unknown_work_center_is_refused(db: Database, plant: MiniPlant) -> None:
    run_import(db, workbook(UNITS, MATERIALS), "master.xlsx")
    bad = (ROUTINGS[0], [ROUTINGS[1][0], ["HSG", "A", "", "", "10", "粗铣", "NOWHERE", "30", "4.5", "", ""],
                         ["HSG", "A", "", "", "20", "精镗", "L1", "20", "3.8", "", ""]])
    report = run_import(db, workbook(bad), "routing.xlsx")
    assert [(p.row, p.column, p.code) for p in report.errors] == [(2, "工作中心", "work_center_not_found")]
    only_level = (ROUTINGS[0], [ROUTINGS[1][0], ["HSG", "A", "", "", "20", "精镗", "L1", "20", "3.8", "", ""]])
    report = run_import(db, workbook(only_level), "routing.xlsx")
    assert [(p.row, p.column, p.code) for p in report.errors] == [(2, "工作中心", "operation_work_center_level")]
    assert count(db, Routing) == 0


def test_rows_of_one_bom_must_agree_on_its_header(db: Database, plant: MiniPlant) -> None:
    run_import(db, workbook(UNITS, MATERIALS), "master.xlsx")
    bad = ("BOM", [["父件编码", "版本", "生效日期", "行号", "子件编码", "用量"],
                   ["CAL", "A", "2026-01-01", "10", "HSG", "1"], ["CAL", "A", "2026-02-01", "20", "BLT", "1"]])
    report = run_import(db, workbook(bad), "bom.xlsx")
    assert [(p.row, p.column, p.code) for p in report.errors] == [(3, "生效日期", "header_differs")]
    assert count(db, Unit) == 3 and count(db, Bom) == 0
