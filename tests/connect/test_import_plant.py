"""The import framework on the plant kinds: recognise, validate, report, all-or-nothing, idempotent, round trip."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from sqlalchemy import func, select
from typer.testing import CliRunner

from synfab.cli import app as cli_app
from synfab.connect.files.export import export_workbook
from synfab.connect.files.registry import kinds
from synfab.connect.files.runner import run_import
from synfab.core.db import Database
from synfab.plant.models import CalendarException, EquipmentClass, PlantNode, Shift, ShiftCalendar
from synfab.plant.service import planned_operation_time

CALENDARS = ("班次日历", [
    ["日历编码", "日历名称", "班次编码", "班次名称", "开始时间", "结束时间", "工作日", "休息时间"],
    ["2S", "两班", "D", "白班", "08:00", "16:00", "1-5", "12:00-12:30"],
    ["2S", "两班", "N", "夜班", "16:00", "00:00", "周一至周五", ""],
])
CLASSES = ("Equipment classes", [["Code", "Name", "English name"], ["LATHE", "车床", "Lathe"]])
HOLIDAYS = ("节假日", [["日历编码", "日期", "是否上班", "备注"], ["2S", "2026-10-01", "否", "国庆节"]])
PLANT = ("工厂结构", [
    ["编码", "名称", "英文名称", "层级", "上级编码", "时区", "班次日历", "设备类别"],
    ["ENT", "示例集团", "Demo Group", "企业", "", "", "", ""],
    ["L1", "一号线", "Line 1", "产线", "MACH", "", "", ""],  # parent comes later in the sheet
    ["SH", "上海工厂", "Shanghai plant", "site", "ENT", "Asia/Shanghai", "2S", ""],
    ["MACH", "机加车间", "Machining", "Area", "SH", "", "", ""],
    ["WC1", "车床1", "Lathe 1", "工作中心", "L1", "", "", "LATHE"],
])


def workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def counts(db: Database) -> tuple[int, ...]:
    with db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in
                     (PlantNode, ShiftCalendar, Shift, CalendarException, EquipmentClass))


def problems(report) -> list[tuple[str, int | None, str, str]]:
    return [(p.sheet, p.row, p.column, p.code) for p in report.sorted_problems()]


def test_a_plant_workbook_imports_and_a_second_import_changes_nothing(db: Database) -> None:
    data = workbook(CALENDARS, CLASSES, HOLIDAYS, PLANT)
    report = run_import(db, data, "plant.xlsx")
    assert report.ok and report.committed, problems(report)
    assert {s.kind: (s.created, s.updated, s.unchanged) for s in report.summaries} == {
        "equipment_classes": (1, 0, 0), "shift_calendars": (2, 0, 0), "holidays": (1, 0, 0), "plant": (5, 0, 0)}
    with db.session() as s:
        wc = s.scalar(select(PlantNode).where(PlantNode.code == "WC1"))
        assert wc.equipment_class.code == "LATHE"
        line = s.scalar(select(PlantNode).where(PlantNode.code == "L1"))
        assert wc.path.startswith(line.path)
        from datetime import datetime
        from zoneinfo import ZoneInfo
        tz = ZoneInfo("Asia/Shanghai")
        # Monday 2026-11-23: 8 h day shift − 30 min break + 8 h night shift = 15.5 h, inherited from the site.
        monday = planned_operation_time(s, wc.id, datetime(2026, 11, 23, tzinfo=tz), datetime(2026, 11, 24, tzinfo=tz))
        assert monday == 15.5 * 3600
        holiday = planned_operation_time(s, wc.id, datetime(2026, 10, 1, tzinfo=tz), datetime(2026, 10, 2, tzinfo=tz))
        assert holiday == 0
    before = counts(db)
    again = run_import(db, data, "plant.xlsx")
    assert again.ok
    assert all(s.created == 0 and s.updated == 0 for s in again.summaries)
    assert counts(db) == before


def test_a_changed_row_updates_the_record_with_that_code(db: Database) -> None:
    run_import(db, workbook(CALENDARS, CLASSES, PLANT), "plant.xlsx")
    changed = (PLANT[0], [list(r) for r in PLANT[1]])
    changed[1][2][1] = "一号装配线"
    report = run_import(db, workbook(changed), "plant.xlsx")
    assert report.ok
    assert report.summaries[0].updated == 1 and report.summaries[0].unchanged == 4
    with db.session() as s:
        assert s.scalar(select(PlantNode.name).where(PlantNode.code == "L1")) == "一号装配线"


def test_broken_workbook_gets_a_row_level_report_and_writes_nothing(db: Database) -> None:
    run_import(db, workbook(CALENDARS, CLASSES), "base.xlsx")
    before = counts(db)
    bad_plant = ("工厂结构", [
        ["编码", "名称", "层级", "上级编码", "时区", "班次日历", "产能（并行数）"],
        ["ENT", "集团", "企业", "", "", "", ""],
        ["SH", "工厂", "site", "ENT", "Mars/Olympus", "", ""],  # unknown time zone
        ["A1", "车间", "车间", "NOPE", "", "", ""],  # unknown parent
        ["L1", "线", "不存在的层级", "A1", "", "", ""],  # bad level
        ["X1", "甲", "工作中心", "X2", "", "", ""],  # X1 → X2 → X1
        ["X2", "乙", "工作中心", "X1", "", "", ""],
        ["W9", "机", "设备", "SH", "", "9S", "两台"],  # equipment under a site, unknown calendar, bad number
        ["ENT", "重复", "企业", "", "", "", ""],  # duplicate code in the file
    ])
    report = run_import(db, workbook(bad_plant), "broken.xlsx")
    assert not report.ok and not report.committed
    assert problems(report) == [
        ("工厂结构", 3, "时区", "unknown_time_zone"),
        ("工厂结构", 4, "上级编码", "parent_not_found"),
        ("工厂结构", 5, "层级", "not_a_choice"),
        ("工厂结构", 6, "上级编码", "plant_cycle"),
        ("工厂结构", 8, "产能（并行数）", "not_a_number"),
        ("工厂结构", 8, "班次日历", "calendar_not_found"),
        ("工厂结构", 9, "编码", "duplicate_row"),
    ]
    cycle = next(p for p in report.problems if p.code == "plant_cycle")
    assert "X1 → X2 → X1" in cycle.message.in_locale("en")
    assert "X1 → X2 → X1" in cycle.message.in_locale("zh_CN")
    unknown = next(p for p in report.problems if p.code == "parent_not_found")
    assert unknown.value == "NOPE"
    assert "NOPE" in unknown.message.in_locale("zh_CN") and "NOPE" in unknown.message.in_locale("en")
    assert counts(db) == before


def test_wrong_headers_and_unknown_sheets_are_reported_before_any_row(db: Database) -> None:
    report = run_import(db, workbook(
        ("工厂结构", [["编码", "名字", "层级", "颜色"], ["ENT", "集团", "企业", "红"]]),
        ("Sheet1", [["foo", "bar"], [1, 2]]),
    ), "headers.xlsx")
    assert problems(report) == [
        ("工厂结构", 1, "名称 / Name", "missing_column"),
        ("工厂结构", 1, "名字", "unknown_column"),
        ("工厂结构", 1, "颜色", "unknown_column"),
        ("Sheet1", 1, "", "sheet_not_recognised"),
    ]
    assert [p.severity for p in report.problems if p.code == "unknown_column"] == ["warning", "warning"]
    assert counts(db) == (0, 0, 0, 0, 0)


def test_gbk_csv_with_chinese_headers_imports(db: Database) -> None:
    csv_text = "编码,名称,层级,上级编码,时区\nENT,示例集团,企业,,\nSH,上海工厂,工厂,ENT,Asia/Shanghai\n"
    report = run_import(db, csv_text.encode("gbk"), "工厂结构.csv")
    assert report.ok, problems(report)
    with db.session() as s:
        assert s.scalar(select(PlantNode.name).where(PlantNode.code == "SH")) == "上海工厂"


def test_utf8_csv_with_bom_and_sheet_recognised_by_headers(db: Database) -> None:
    csv_text = "\ufeffcode,name,level,parent\nENT,Group,enterprise,\n"
    report = run_import(db, csv_text.encode("utf-8"), "export-2026.csv")
    assert report.ok and report.summaries[0].kind == "plant"


def test_dry_run_reports_but_writes_nothing(db: Database) -> None:
    report = run_import(db, workbook(CALENDARS, CLASSES, PLANT), "plant.xlsx", dry_run=True)
    assert report.ok and not report.committed
    assert report.summaries[-1].created == 5
    assert counts(db) == (0, 0, 0, 0, 0)


def test_exported_plant_imports_back_unchanged(db: Database) -> None:
    run_import(db, workbook(CALENDARS, CLASSES, HOLIDAYS, PLANT), "plant.xlsx")
    chosen = [kinds()[n] for n in ("equipment_classes", "shift_calendars", "holidays", "plant")]
    for locale in ("zh_CN", "en"):
        with db.session() as s:
            exported = export_workbook(s, chosen, {}, locale)
        report = run_import(db, exported, f"export-{locale}.xlsx")
        assert report.ok, problems(report)
        assert [(s.created, s.updated) for s in report.summaries] == [(0, 0)] * 4


def test_unreadable_and_unsupported_files_get_a_clear_error(db: Database) -> None:
    assert problems(run_import(db, b"not a zip", "x.xlsx")) == [("", None, "", "file_unreadable")]
    assert problems(run_import(db, b"", "x.xls")) == [("", None, "", "file_type_old_excel")]
    assert problems(run_import(db, b"code,name\n\xff\xff,x\n", "x.csv")) == [("", None, "", "file_encoding_unknown")]


def test_cli_import_of_a_broken_file_exits_non_zero_with_the_report(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(workbook(("工厂结构", [["编码", "名称", "层级", "上级编码"], ["SH", "厂", "工厂", "NOPE"]])))
    target = tmp_path / "cli.db"
    result = CliRunner().invoke(cli_app, ["import", str(path), "--db", str(target), "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert "parent_not_found" in result.output and "Nothing was written" in result.output
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(workbook(("工厂结构", [["编码", "名称", "层级", "上级编码"], ["ENT", "集团", "企业", ""]])))
    result = CliRunner().invoke(cli_app, ["import", str(ok), "--db", str(target), "--lang", "zh_CN"])
    assert result.exit_code == 0, result.output
