"""The catalog JSON API, one block per route family, with errors in both languages."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from synfab.catalog.models import Bom
from synfab.people.models import ESignature
from tests.catalog.conftest import Sample
from tests.conftest import PASSWORD, MiniPlant, add_user, make_client, sign_in

API = "/api/v1/catalog"
SIGNED = {"password": PASSWORD, "meaning": "approved", "reason": "ECN-2026-014 approved by the change board"}


def error(r) -> dict:
    return r.json()["error"]


def test_units_and_conversions(client, sample: Sample) -> None:
    r = client.get(f"{API}/units")
    assert r.status_code == 200 and {u["code"] for u in r.json()} >= {"pcs", "kg", "box"}
    r = client.post(f"{API}/units", json={"code": "L", "name": "升", "name_en": "litre",
                                          "dimension": "volume"})
    assert r.status_code == 201, r.text
    litre = r.json()
    r = client.post(f"{API}/units", json={"code": "mL", "name": "毫升", "dimension": "volume"})
    ml = r.json()
    r = client.patch(f"{API}/units/{litre['id']}", json={"version": 1, "name_en": "liter"})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.post(f"{API}/conversions", json={"from_unit_id": litre["id"], "to_unit_id": ml["id"],
                                                "factor": "1000"})
    assert r.status_code == 201, r.text
    conv = r.json()
    assert conv["from_unit"]["code"] == "L" and conv["material"] is None
    r = client.get(f"{API}/convert", params={"quantity": "250", "from_unit_id": ml["id"],
                                             "to_unit_id": litre["id"]})
    assert r.status_code == 200 and r.json()["result"] == "0.25"
    r = client.get(f"{API}/convert", params={"quantity": "2", "from_unit_id": sample.box,
                                             "to_unit_id": sample.pcs,
                                            "material_id": sample.scr})
    assert r.json()["result"] == "48"
    r = client.get(f"{API}/conversions", params={"material_id": sample.scr})
    assert any(c["material"] and c["material"]["code"] == "SCR-01" for c in r.json())
    assert client.delete(f"{API}/conversions/{conv['id']}").status_code == 204


def test_unit_errors_in_both_languages(client, sample: Sample) -> None:
    r = client.get(f"{API}/units/999999")
    assert r.status_code == 404
    assert error(r)["code"] == "unit_not_found"
    assert "999999" in error(r)["message_en"] and "不存在" in error(r)["message_zh"]
    r = client.get(f"{API}/convert", params={"quantity": "1", "from_unit_id": sample.box,
                                             "to_unit_id": sample.pcs,
                                            "material_id": sample.seal})
    assert r.status_code == 422
    assert error(r)["code"] == "no_unit_conversion"
    assert "SEAL-01" in error(r)["message_en"] and "SEAL-01" in error(r)["message_zh"]
    assert "换算" in error(r)["message_zh"]
    r = client.post(f"{API}/units", json={"code": " ", "name": "空"})
    assert r.status_code == 422 and error(r)["code"] == "validation_failed"


def test_material_classes(client, sample: Sample) -> None:
    r = client.post(f"{API}/material-classes", json={"code": "ALU", "name": "铝材",
                                                     "parent_id": sample.cls_metal})
    assert r.status_code == 201, r.text
    r = client.get(f"{API}/material-classes")
    assert [c["code"] for c in r.json()] == ["PARTS", "RAW", "METAL", "ALU"]
    r = client.patch(f"{API}/material-classes/{sample.cls_raw}", json={"version": 1,
                                                                       "parent_id": sample.cls_metal})
    assert r.status_code == 422 and error(r)["code"] == "material_class_cycle"


def test_materials_list_get_create_patch(client, sample: Sample) -> None:
    r = client.get(f"{API}/materials", params={"type": "raw", "per_page": 2, "page": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 3 and [m["code"] for m in body["items"]] == ["SEAL-01"]
    r = client.get(f"{API}/materials", params={"class_id": sample.cls_raw})
    assert [m["code"] for m in r.json()["items"]] == ["AL-01"]
    r = client.get(f"{API}/materials", params={"q": "caliper", "sourcing": "make"})
    assert [m["code"] for m in r.json()["items"]] == ["CAL-01"]
    r = client.post(f"{API}/materials", json={"code": "PAD-01", "name": "刹车片", "name_en": "Brake pad",
                                              "type": "raw", "unit_id": sample.pcs, "lead_time_days": 7})
    assert r.status_code == 201, r.text
    pad = r.json()
    assert pad["unit"]["code"] == "pcs" and pad["sourcing"] == "buy" and pad["version"] == 1
    r = client.get(f"{API}/materials/{pad['id']}")
    assert r.json()["name_en"] == "Brake pad"
    r = client.patch(f"{API}/materials/{pad['id']}", json={"version": 1, "lead_time_days": 10,
                                                          "class_id": sample.cls_parts})
    assert r.status_code == 200 and r.json()["material_class"]["code"] == "PARTS"
    r = client.post(f"{API}/materials", json={"code": "PAD-01", "name": "x", "type": "raw",
                                              "unit_id": sample.pcs})
    assert r.status_code == 409 and error(r)["code"] == "material_code_taken"


def test_material_errors_404_409_422(client, sample: Sample) -> None:
    r = client.get(f"{API}/materials/999999")
    assert r.status_code == 404
    assert error(r)["message_en"] == "Material 999999 does not exist."
    assert error(r)["message_zh"] == "物料 999999 不存在。"
    assert client.patch(f"{API}/materials/{sample.scr}", json={"version": 1,
                                                               "name": "螺钉A"}).status_code == 200
    r = client.patch(f"{API}/materials/{sample.scr}", json={"version": 1, "name": "螺钉B"})
    assert r.status_code == 409
    assert error(r)["code"] == "stale_version"
    assert "admin" in error(r)["message_en"] and "admin" in error(r)["message_zh"]
    r = client.post(f"{API}/materials", json={"code": "X", "name": "x", "type": "plastic",
                                              "unit_id": sample.pcs})
    assert r.status_code == 422 and error(r)["details"][0]["field"] == "type"
    r = client.post(f"{API}/materials", json={"code": "X", "name": "x", "type": "raw", "unit_id": 999999})
    assert r.status_code == 404 and error(r)["code"] == "unit_not_found"


def test_bom_tree_and_where_used(client, sample: Sample) -> None:
    r = client.get(f"{API}/materials/{sample.cal}/bom-tree", params={"quantity": "5", "on": "2024-06-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bom"]["revision"] == "A" and body["unit"]["code"] == "pcs"
    got = {"/".join(ln["path"]): (ln["level"], ln["total_quantity"],
                                  ln["unit"]["code"]) for ln in body["lines"]}
    assert got["CAL-01/HSG-01/CST-01/AL-01"] == (3, "4.488000", "kg")
    assert got["CAL-01/SCR-01"] == (1, "60.000000", "pcs")
    assert body["lines"][0]["sourcing"] == "make" and body["lines"][0]["has_bom"] is True
    r = client.get(f"{API}/materials/{sample.cal}/bom-tree", params={"on": "2020-01-01"})
    assert r.json()["bom"] is None and r.json()["lines"] == []
    r = client.get(f"{API}/materials/{sample.cal}/bom-tree", params={"quantity": "0"})
    assert r.status_code == 422
    r = client.get(f"{API}/materials/{sample.seal}/where-used")
    assert [(u["level"], u["material"]["code"], u["bom"]["status"], u["top_level"]) for u in r.json()] == [
        (1, "PST-01", "released", False), (2, "CAL-01", "released", True)]


def bom_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Bom))


def test_boms_create_replace_release_obsolete(client, db, sample: Sample, plant: MiniPlant) -> None:
    r = client.get(f"{API}/boms", params={"component_id": sample.scr})
    assert [b["material"]["code"] for b in r.json()["items"]] == ["CAL-01", "HSG-01"]
    r = client.post(f"{API}/boms", json={
        "material_id": sample.pst, "revision": "B", "effective_from": "2025-01-01", "base_quantity": "10",
        "lines": [{"component_id": sample.al, "quantity": "2.2", "scrap_factor": "0.02"},
                  {"component_id": sample.seal, "quantity": "10"}]})
    assert r.status_code == 201, r.text
    bom = r.json()
    assert bom["status"] == "draft" and [ln["position"] for ln in bom["lines"]] == [10, 20]
    assert bom["lines"][0]["unit"]["code"] == "kg"
    assert client.get(f"{API}/boms/{bom['id']}").json()["revision"] == "B"
    r = client.put(f"{API}/boms/{bom['id']}", json={"version": 1, "lines": [
        {"component_id": sample.al, "quantity": "2200", "unit_id": sample.g}]})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and Decimal(r.json()["lines"][0]["quantity"]) == 2200
    r = client.put(f"{API}/boms/{bom['id']}", json={"version": 1, "note": "late"})
    assert r.status_code == 409 and error(r)["code"] == "stale_version"
    # Rev A is open-ended: releasing B overlaps it.
    r = client.post(f"{API}/boms/{bom['id']}/release", json={"version": 2})
    assert r.status_code == 422 and error(r)["code"] == "revision_overlap"
    assert "A" in error(r)["message_zh"] and "PST-01" in error(r)["message_zh"]
    # Rev A is released: closing it is an engineering change, signed electronically.
    add_user(db, "eng", "engineer", plant.enterprise)
    with make_client(db) as eng:
        sign_in(eng, "eng")
        close = {"version": 1, "effective_to": "2025-01-01"}
        r = eng.put(f"{API}/boms/{sample.bom_pst}", json=close)
        assert r.status_code == 422 and error(r)["code"] == "signature_required"
        r = eng.put(f"{API}/boms/{sample.bom_pst}", json=close | {"signature": SIGNED | {"password": "wrong-pass"}})
        assert r.status_code == 403 and error(r)["code"] == "signature_refused"
        r = eng.put(f"{API}/boms/{sample.bom_pst}", json=close | {"signature": SIGNED})
        assert r.status_code == 200 and r.json()["effective_to"] == "2025-01-01", r.text
        r = eng.post(f"{API}/boms/{bom['id']}/release")
        assert r.status_code == 200 and r.json()["status"] == "released"
        r = eng.post(f"{API}/boms/{sample.bom_pst}/obsolete", json={"version": 2})
        assert r.status_code == 422 and error(r)["code"] == "signature_required"
        r = eng.post(f"{API}/boms/{sample.bom_pst}/obsolete", json={"version": 2, "signature": SIGNED})
        assert r.status_code == 200 and r.json()["status"] == "obsolete"
    with db.session() as s:
        assert [(x.action, x.object_id, x.username) for x in s.scalars(select(ESignature).order_by(ESignature.id))] == [
            ("change_released_bom", str(sample.bom_pst), "eng"), ("obsolete_released_bom", str(sample.bom_pst), "eng")]
    r = client.get(f"{API}/boms", params={"material_id": sample.pst, "status": "released"})
    assert [b["revision"] for b in r.json()["items"]] == ["B"]
    assert client.get(f"{API}/boms/999999").status_code == 404


def test_a_bom_cycle_is_refused_over_the_api_and_nothing_is_written(client, db, sample: Sample) -> None:
    before = bom_count(db)
    r = client.post(f"{API}/boms", json={"material_id": sample.cst, "revision": "B",
                                         "lines": [{"component_id": sample.cal, "quantity": "1"}]})
    assert r.status_code == 422
    assert error(r)["code"] == "bom_cycle"
    assert "CST-01 → CAL-01 → HSG-01 → CST-01" in error(r)["message_en"]
    assert "CST-01 → CAL-01 → HSG-01 → CST-01" in error(r)["message_zh"]
    assert error(r)["details"] == [{"cycle": ["CST-01", "CAL-01", "HSG-01", "CST-01"]}]
    assert bom_count(db) == before


def test_routings(client, db, sample: Sample, plant: MiniPlant) -> None:
    ec = client.post("/api/v1/plant/equipment-classes", json={"code": "LATHE", "name": "车床"}).json()
    r = client.post(f"{API}/routings", json={
        "material_id": sample.hsg, "revision": "A", "effective_from": "2024-01-01",
        "operations": [{"seq": 10, "name": "车削", "work_center_id": plant.wc1, "setup_minutes": "30",
                        "run_minutes": "2.5", "required_skill": "TURN", "required_skill_level": 3},
                       {"seq": 20, "name": "检验", "equipment_class_id": ec["id"]}]})
    assert r.status_code == 201, r.text
    routing = r.json()
    assert [op["seq"] for op in routing["operations"]] == [10, 20] and routing["status"] == "draft"
    r = client.post(f"{API}/routings/{routing['id']}/release", json={"version": 1})
    assert r.status_code == 200 and r.json()["status"] == "released"
    add_user(db, "eng", "engineer", plant.enterprise)
    with make_client(db) as eng:
        sign_in(eng, "eng")
        r = eng.put(f"{API}/routings/{routing['id']}", json={"version": 1, "note": "x", "signature": SIGNED})
        assert r.status_code == 409
        r = eng.put(f"{API}/routings/{routing['id']}", json={"version": 2, "note": "x"})
        assert r.status_code == 422 and error(r)["code"] == "signature_required"
        r = eng.put(f"{API}/routings/{routing['id']}", json={"version": 2, "signature": SIGNED, "operations": [
            {"seq": 10, "name": "车削", "work_center_id": plant.line1}]})
        assert r.status_code == 422 and error(r)["code"] == "operation_work_center_level"
        assert "L1" in error(r)["message_zh"] and "产线" in error(r)["message_zh"]
        assert "Production line" in error(r)["message_en"]
        r = eng.get(f"{API}/routings", params={"work_center_id": plant.wc1})
        assert r.json()["total"] == 1
        r = eng.post(f"{API}/routings/{routing['id']}/obsolete")
        assert r.status_code == 422 and error(r)["code"] == "signature_required"
        r = eng.post(f"{API}/routings/{routing['id']}/obsolete", json={"signature": SIGNED})
        assert r.json()["status"] == "obsolete"
        page = eng.get(f"/catalog/routings/{routing['id']}").text
        assert "ECN-2026-014" in page[page.index('id="signatures"'):] and "obsolete_released_routing" in page
    assert client.get(f"{API}/routings/{routing['id']}").json()["operations"][0]["required_skill_level"] == 3
    assert client.get(f"{API}/routings/999999").status_code == 404


def test_external_ids(client, sample: Sample) -> None:
    r = client.post(f"{API}/external-ids", json={"system": "ERP", "kind": "material", "external_code": "M001",
                                                 "internal_id": sample.scr})
    assert r.status_code == 201, r.text
    row = r.json()
    again = client.post(f"{API}/external-ids", json={"system": "ERP", "kind": "material",
                                                     "external_code": "M001",
                                                     "internal_id": sample.scr})
    assert again.status_code == 201 and again.json()["id"] == row["id"]
    r = client.post(f"{API}/external-ids", json={"system": "ERP", "kind": "material", "external_code": "M001",
                                                 "internal_id": sample.seal})
    assert r.status_code == 409 and error(r)["code"] == "external_id_taken"
    r = client.get(f"{API}/external-ids", params={"kind": "material", "internal_id": sample.scr})
    assert [x["external_code"] for x in r.json()] == ["M001"]
    r = client.get(f"{API}/external-ids/resolve", params={"kind": "material", "code": "M001"})
    assert r.json() == {"internal_id": sample.scr}
    assert client.delete(f"{API}/external-ids/{row['id']}").status_code == 204
    assert client.get(f"{API}/external-ids/resolve", params={"kind": "material", "code": "M001"}).json() == {
        "internal_id": None}
    assert client.delete(f"{API}/external-ids/{row['id']}").status_code == 404


def test_permissions(db, sample: Sample, plant: MiniPlant) -> None:
    add_user(db, "vera", "viewer", plant.enterprise)
    with make_client(db) as c:
        sign_in(c, "vera")
        assert c.get(f"{API}/materials").status_code == 200
        assert c.get(f"{API}/materials/{sample.cal}/bom-tree").status_code == 200
        r = c.post(f"{API}/materials", json={"code": "X", "name": "x", "type": "raw", "unit_id": sample.pcs})
        assert r.status_code == 403 and "material.create" in error(r)["message_en"]
        assert c.post(f"{API}/boms/{sample.bom_cal}/obsolete").status_code == 403
    with make_client(db) as anon:
        assert anon.get(f"{API}/units").status_code == 401
