"""Catalog pages in both languages: the material page shows its BOM tree and where it is used."""

from __future__ import annotations

import re

import pytest

from synfab.catalog import service
from synfab.catalog.schemas import OperationIn, RoutingCreate
from synfab.plant import service as plant_service
from synfab.plant.schemas import EquipmentClassCreate
from tests.catalog.conftest import JAN_2024, Sample
from tests.conftest import MiniPlant


def speak(client, locale: str):
    client.cookies.set("synfab_lang", locale)
    return client


def rows(html: str, table_id: str) -> list[str]:
    """The data-path attributes of a table's rows, in order."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'data-path="([^"]+)"', body)


def test_material_page_shows_the_bom_tree_in_chinese(client, sample: Sample) -> None:
    r = speak(client, "zh_CN").get(f"/catalog/materials/{sample.cal}", params={"on": "2024-06-01",
                                                                               "qty": "5"})
    assert r.status_code == 200, r.text
    html = r.text
    assert "物料清单" in html and "制动钳" in html and "成品" in html
    assert rows(html, "bom-lines") == [
        "CAL-01/HSG-01", "CAL-01/HSG-01/CST-01", "CAL-01/HSG-01/CST-01/AL-01", "CAL-01/HSG-01/SCR-01",
        "CAL-01/PST-01", "CAL-01/PST-01/AL-01", "CAL-01/PST-01/SEAL-01", "CAL-01/SCR-01"]
    assert "4.488 千克" in html and "60 件" in html and "0.5 箱" in html
    assert f'href="/catalog/materials/{sample.al}"' in html
    assert "外购" in html and "自制" in html  # sourcing badges
    assert "已发布" in html  # the revision selector shows each revision's status


def test_material_page_shows_where_used_in_english(client, sample: Sample) -> None:
    r = speak(client, "en").get(f"/catalog/materials/{sample.seal}")
    assert r.status_code == 200, r.text
    html = r.text
    assert "Where used" in html and "Seal" in html and "Raw material" in html
    assert rows(html, "where-used") == ["SEAL-01/PST-01", "SEAL-01/PST-01/CAL-01"]
    assert "top level" in html and "This material has no bill of materials." in html


def test_material_page_where_used_in_chinese_and_bom_tree_in_english(client, sample: Sample) -> None:
    zh = speak(client, "zh_CN").get(f"/catalog/materials/{sample.al}").text
    assert rows(zh, "where-used") == ["AL-01/CST-01", "AL-01/CST-01/HSG-01", "AL-01/CST-01/HSG-01/CAL-01",
                                      "AL-01/PST-01", "AL-01/PST-01/CAL-01"]
    assert "用于何处" in zh and "顶层" in zh
    en = speak(client, "en").get(f"/catalog/materials/{sample.hsg}", params={"on": "2024-06-01"}).text
    assert "Bill of materials" in en
    assert rows(en, "bom-lines") == ["HSG-01/CST-01", "HSG-01/CST-01/AL-01", "HSG-01/SCR-01"]


def test_accept_language_chooses_the_language_without_a_cookie(client, sample: Sample) -> None:
    r = client.get(f"/catalog/materials/{sample.cal}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert r.headers["content-language"] == "en" and "Where used" in r.text
    r = client.get(f"/catalog/materials/{sample.cal}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.headers["content-language"] == "zh-CN" and "用于何处" in r.text


def test_revision_selector(client, sample: Sample) -> None:
    from synfab.catalog.schemas import BomCreate
    from tests.catalog.conftest import line

    with client.app.state.db.uow() as uow:
        draft = service.create_bom(uow, BomCreate(material_id=sample.cal, revision="B", note="draft",
                                                  lines=[line(sample.hsg, "1")]))
        uow.commit()
    html = speak(client, "en").get(f"/catalog/materials/{sample.cal}", params={"bom": draft.id}).text
    assert rows(html, "bom-lines") == ["CAL-01/HSG-01", "CAL-01/HSG-01/CST-01", "CAL-01/HSG-01/CST-01/AL-01",
                                       "CAL-01/HSG-01/SCR-01"]
    assert "Revision B (Draft)" in html
    assert "2024-01-01" in html


def test_materials_list_filters_sorts_and_exports(client, sample: Sample) -> None:
    html = speak(client, "zh_CN").get("/catalog/materials", params={"type": "raw", "sort": "code",
                                                                    "dir": "desc"}).text
    assert re.findall(r'<tr data-code="([^"]+)"', html) == ["SEAL-01", "SCR-01", "AL-01"]
    export = re.search(r'href="(/export/materials\.xlsx[^"]*)"', html)
    assert export and "type=raw" in export.group(1) and "物料" in html
    html = client.get("/catalog/materials", params={"q": "活塞"}).text
    assert re.findall(r'<tr data-code="([^"]+)"', html) == ["PST-01"]
    html = client.get("/catalog/materials", params={"class_id": sample.cls_raw, "per_page": 25}).text
    assert re.findall(r'<tr data-code="([^"]+)"', html) == ["AL-01"]
    html = client.get("/catalog/materials", params={"type": "nonsense", "class_id": "x"}).text
    assert len(re.findall(r'<tr data-code="', html)) == 7


def test_bom_and_routing_lists_and_routing_detail(client, sample: Sample, plant: MiniPlant) -> None:
    with client.app.state.db.uow() as uow:
        lathe = plant_service.create_equipment_class(uow, EquipmentClassCreate(code="LATHE", name="车床类",
                                                                               name_en="Lathes"))
        routing = service.create_routing(uow, RoutingCreate(
            material_id=sample.hsg, revision="A", effective_from=JAN_2024, operations=[
                OperationIn(seq=10, name="粗车", work_center_id=plant.wc1, setup_minutes=30,
                            run_minutes="2.5",
                            required_skill="TURN", required_skill_level=2),
                OperationIn(seq=20, name="精车", equipment_class_id=lathe.id, run_minutes=4)]))
        uow.commit()
    html = speak(client, "en").get("/catalog/boms", params={"status": "released"}).text
    assert re.findall(r'data-material="([^"]+)"', html) == ["CAL-01", "CST-01", "HSG-01", "PST-01"]
    assert re.search(r'href="/export/boms\.xlsx\?[^"]*status=released', html)
    html = client.get("/catalog/routings").text
    assert 'data-material="HSG-01"' in html and "/export/routings.xlsx" in html
    html = speak(client, "zh_CN").get(f"/catalog/routings/{routing.id}").text
    assert "粗车" in html and "车床1" in html and "TURN" in html and "工序" in html and "工作中心" in html
    assert "车床类" in html and "6.5" in html  # the equipment class, and the total run time
    en = speak(client, "en").get(f"/catalog/routings/{routing.id}").text
    assert "Work center" in en and "Lathes" in en and "Setup time (min)" in en


def test_units_page_and_home_cards(client, sample: Sample) -> None:
    html = speak(client, "en").get("/catalog/units").text
    assert "kilogram" in html and "all materials" in html and "SCR-01" in html
    assert "/export/units.xlsx" in html
    html = speak(client, "zh_CN").get("/").text
    assert "有效物料" in html and "已发布 BOM" in html
    assert re.search(r'<div class="figure">7</div>\s*<div class="caption">有效物料', html)


@pytest.mark.parametrize("path", ["/catalog/materials", "/catalog/boms", "/catalog/routings",
                                  "/catalog/units"])
def test_navigation_lists_master_data(client, sample: Sample, path: str) -> None:
    html = speak(client, "zh_CN").get(path).text
    assert "主数据" in html and 'href="/catalog/materials"' in html and 'href="/catalog/units"' in html


def test_a_missing_material_page_is_a_404_page(client, sample: Sample) -> None:
    r = speak(client, "zh_CN").get("/catalog/materials/999999")
    assert r.status_code == 404 and "物料 999999 不存在" in r.text
