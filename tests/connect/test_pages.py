"""Import through the page and the API; template and export downloads."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from synfab.core.db import Database
from synfab.plant.models import PlantNode
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.connect.test_import_plant import workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD = ("工厂结构", [["编码", "名称", "层级", "上级编码"], ["A2", "装配车间", "车间", "SH"]])
BAD = ("工厂结构", [["编码", "名称", "层级", "上级编码"], ["A2", "装配车间", "车间", "NOPE"],
                     ["A3", "涂装车间", "车间", "SH"]])


def node_count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(PlantNode))


def sheet_rows(content: bytes) -> dict[str, list[list[object]]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {n: book.get_sheet_by_name(n).to_python() for n in book.sheet_names}


def test_import_page_lists_kinds_in_both_languages(client: TestClient) -> None:
    zh = client.get("/import", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    assert "导入数据" in zh.text and "工厂结构" in zh.text and "上级编码" in zh.text
    client.cookies.set("synfab_lang", "en")
    en = client.get("/import")
    assert "Import data" in en.text and "Plant structure" in en.text and "Parent" in en.text


def test_uploading_a_broken_file_renders_the_report_and_writes_nothing(client: TestClient, db: Database,
                                                                         plant: MiniPlant) -> None:
    before = node_count(db)
    r = client.post("/import", files={"file": ("broken.xlsx", workbook(BAD), XLSX)},
                    headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422
    assert "NOPE" in r.text and "parent_not_found" in r.text and "没有写入任何数据" in r.text
    assert node_count(db) == before


def test_uploading_a_good_file_imports_it(client: TestClient, db: Database, plant: MiniPlant) -> None:
    before = node_count(db)
    r = client.post("/import", files={"file": ("good.xlsx", workbook(GOOD), XLSX)}, data={"dry_run": "true"})
    assert r.status_code == 200 and node_count(db) == before
    r = client.post("/import", files={"file": ("good.xlsx", workbook(GOOD), XLSX)})
    assert r.status_code == 200
    assert node_count(db) == before + 1


def test_api_import_returns_the_report(client: TestClient, db: Database, plant: MiniPlant) -> None:
    bad = client.post("/api/v1/import", files={"file": ("broken.xlsx", workbook(BAD), XLSX)})
    assert bad.status_code == 422
    body = bad.json()["error"]
    assert body["code"] == "import_rejected" and body["message_zh"] and body["message_en"]
    assert [(p["row"], p["column"], p["code"]) for p in body["report"]["problems"]] == [(2, "上级编码", "parent_not_found")]
    good = client.post("/api/v1/import", files={"file": ("good.xlsx", workbook(GOOD), XLSX)})
    assert good.status_code == 200 and good.json()["committed"] is True
    assert good.json()["kinds"][0]["created"] == 1
    kinds = client.get("/api/v1/import/kinds").json()
    plant_kind = next(k for k in kinds if k["name"] == "plant")
    assert {"key": "parent", "zh": "上级编码", "en": "Parent"}.items() <= next(
        c for c in plant_kind["columns"] if c["key"] == "parent").items()


def test_export_and_template_downloads(client: TestClient, plant: MiniPlant) -> None:
    r = client.get("/export/plant.xlsx", headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    rows = sheet_rows(r.content)["工厂结构"]
    assert rows[0][:4] == ["编码", "名称", "英文名称", "层级"]
    assert [row[0] for row in rows[1:]] == ["ENT", "SH", "MACH", "L1", "WC1", "L2", "WC2", "RM"]
    lines = sheet_rows(client.get("/export/plant.xlsx?level=line").content)["工厂结构"]
    assert [row[0] for row in lines[1:]] == ["L1", "L2"]
    client.cookies.set("synfab_lang", "en")
    template = sheet_rows(client.get("/import/templates/plant.xlsx").content)
    assert template["Plant structure"] == [["Code", "Name", "English name", "Level", "Parent", "Time zone",
                                            "Shift calendar", "Equipment class", "Capacity", "Storage role", "Order", "Active",
                                            "Description"]]
    assert "Instructions" in CalamineWorkbook.from_filelike(
        io.BytesIO(client.get("/import/templates/plant.xlsx").content)).sheet_names


def test_import_needs_the_permission(db: Database, plant: MiniPlant) -> None:
    add_user(db, "watcher", "viewer", plant.enterprise)
    with make_client(db) as c:
        sign_in(c, "watcher")
        r = c.post("/api/v1/import", files={"file": ("good.xlsx", workbook(GOOD), XLSX)})
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_missing"
        assert c.get("/export/plant.xlsx").status_code == 200  # viewers may export what they may see


def test_engineer_may_not_import_what_they_may_not_create(db: Database, plant: MiniPlant) -> None:
    add_user(db, "qa", "quality", plant.enterprise)  # quality: import.* not granted
    with make_client(db) as c:
        sign_in(c, "qa")
        assert c.get("/import").status_code == 403
