"""Skills JSON API: the catalogue with version checks, levels, the qualification check and supervisor override the
operator terminal calls, rosters and their coverage — each refusal with its code, nothing written."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from synfab.core.db import Database
from synfab.people.models import AuditRecord, ESignature
from synfab.people.skills.models import PersonSkill, QualificationOverride, RosterEntry, Skill
from tests.conftest import PASSWORD, MiniPlant, add_user, make_client, sign_in
from tests.people.skills.conftest import MONDAY, Line1, Skills, certify, give, operators, user_id


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_catalogue_create_change_and_a_stale_version(client: TestClient, db: Database, plant: MiniPlant) -> None:
    r = client.post("/api/v1/skills", json={"code": "CNC", "name": "数控加工", "category": "machining"})
    assert r.status_code == 201, r.text
    skill = r.json()
    assert (skill["code"], skill["version"], skill["certification_required"]) == ("CNC", 1, False)
    again = client.post("/api/v1/skills", json={"code": "CNC", "name": "另一个"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "skill_code_taken"
    changed = client.patch(f"/api/v1/skills/{skill['id']}", json={"version": 1, "certification_required": True})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = client.patch(f"/api/v1/skills/{skill['id']}", json={"version": 1, "name": "旧名"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    assert "admin" in stale.json()["error"]["message_en"]
    assert [s["code"] for s in client.get("/api/v1/skills", params={"category": "machining"}).json()] == ["CNC"]
    assert count(db, Skill) == 1


def test_levels_through_the_api_and_who_may_set_them(db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "ann")
    add_user(db, "hr", "hr_training", plant.site)
    ann = user_id(db, "ann")
    with make_client(db) as c:
        sign_in(c, "ann")
        denied = c.put(f"/api/v1/skills/people/{ann}/levels", json={"skill_id": skills.turn, "level": 4})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_missing"
        out_of_range = c.post("/api/v1/skills/qualification-check", json={"skill_code": "TURN", "level": 5})
        assert out_of_range.status_code == 422
    assert count(db, PersonSkill) == 0
    with make_client(db) as c:
        sign_in(c, "hr")
        r = c.put(f"/api/v1/skills/people/{ann}/levels", json={"skill_id": skills.turn, "level": 3,
                                                               "assessed_on": "2026-11-02"})
        assert r.status_code == 200, r.text
        assert (r.json()["level"], r.json()["level_meaning_zh"], r.json()["level_meaning_en"]) == (
            3, "独立作业", "Works alone")
        assert r.json()["assessed_by"] == "Hr"
        person = c.get(f"/api/v1/skills/people/{ann}").json()
        assert [(s["skill_code"], s["level"]) for s in person["skills"]] == [("TURN", 3)]


def test_the_terminal_checks_and_a_supervisor_overrides(db: Database, plant: MiniPlant, skills: Skills,
                                                       line1: Line1) -> None:
    operators(db, plant, "ann")
    give(db, "ann", skills.turn, 1)
    add_user(db, "boss", "manager", plant.line1)
    add_user(db, "other", "manager", plant.line2)
    turning = line1.operations[10]
    with make_client(db) as phone:
        sign_in(phone, "ann")
        check = phone.post("/api/v1/skills/qualification-check", json={"operation_id": turning, "on": "2026-11-23"})
        assert check.status_code == 200
        body = check.json()
        assert (body["ok"], body["code"], body["level_required"], body["level_held"], body["overridden"]) == (
            False, "level_too_low", 2, 1, False)
        assert "level 2" in body["reason_en"] and body["reason_zh"] != body["reason_en"]

        def override(username: str, password: str = PASSWORD):  # noqa: ANN202
            return phone.post("/api/v1/skills/qualification-override", json={
                "operation_id": turning, "supervisor_username": username, "password": password,
                "reason": "试生产，班长全程在场"})

        wrong = override("boss", "wrong-password-1")
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "signature_refused"
        nobody = override("no-such-boss")
        assert nobody.status_code == 403 and nobody.json()["error"]["code"] == "signature_refused"
        elsewhere = override("other")
        assert elsewhere.status_code == 403 and elsewhere.json()["error"]["code"] == "override_not_allowed"
        assert (count(db, ESignature), count(db, QualificationOverride)) == (0, 0)
        done = override("boss")
        assert done.status_code == 200, done.text
        assert (done.json()["supervisor"], done.json()["meaning"], done.json()["operator_id"]) == (
            "Boss", "approved", user_id(db, "ann"))
        after = phone.post("/api/v1/skills/qualification-check", json={"operation_id": turning}).json()
        assert (after["ok"], after["overridden"]) == (False, True)
    with db.session() as s:
        refusals = s.scalars(select(AuditRecord.after).where(AuditRecord.action == "signature_refused")
                             .order_by(AuditRecord.id)).all()
        assert [r["reason"] for r in refusals] == ["signature_refused", "unknown_signer", "override_not_allowed"]
    assert count(db, QualificationOverride) == 1


def test_a_certified_skill_by_code(db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "cid")
    give(db, "cid", skills.leak, 2)
    certify(db, "cid", skills.leak, date(2026, 1, 1), date(2026, 12, 31))
    with make_client(db) as c:
        sign_in(c, "cid")
        ok = c.post("/api/v1/skills/qualification-check", json={"skill_code": "LEAK", "level": 2, "on": "2026-12-31"})
        assert ok.json()["ok"] is True and ok.json()["certification_expires_on"] == "2026-12-31"
        late = c.post("/api/v1/skills/qualification-check", json={"skill_code": "LEAK", "level": 2,
                                                                   "on": "2027-01-01"}).json()
        assert (late["ok"], late["code"]) == (False, "certification_expired")
        assert "2026-12-31" in late["reason_zh"]


def test_rosters_and_coverage_over_the_api(db: Database, plant: MiniPlant, skills: Skills, line1: Line1) -> None:
    operators(db, plant, "ann", "bob")
    give(db, "ann", skills.turn, 3)
    give(db, "ann", skills.grind, 2)
    add_user(db, "boss", "manager", plant.line1)
    with make_client(db) as c:
        sign_in(c, "boss")
        made = c.post("/api/v1/rosters", json={"day": MONDAY.isoformat(), "shift_code": "D", "line_id": plant.line1,
                                               "user_id": user_id(db, "ann")})
        assert made.status_code == 201, made.text
        elsewhere = c.post("/api/v1/rosters", json={"day": MONDAY.isoformat(), "shift_code": "D",
                                                    "line_id": plant.line2, "user_id": user_id(db, "bob")})
        assert elsewhere.status_code == 404
        cov = c.get("/api/v1/rosters/coverage", params={"line_id": plant.line1, "day": MONDAY.isoformat(),
                                                        "shift_code": "D"}).json()
        assert [(r["work_center_code"], r["skill_code"], r["covered"]) for r in cov["requirements"]] == [
            ("WC1", "TURN", True), ("WC3", "GRIND", True), ("WC4", "ASSY", False), ("WC4", "LEAK", False)]
        assert cov["uncovered"] == 2
        # One person, two work centers they qualify for: the suggestion puts them on one.
        assert [a["work_center_code"] for a in cov["assignments"]] == ["WC1"]
        assert [w["work_center_code"] for w in cov["uncovered_work_centers"]] == ["WC3", "WC4"]
        entry = made.json()
        stale = c.delete(f"/api/v1/rosters/{entry['id']}", params={"version": entry["version"] + 1})
        assert stale.status_code == 409
        assert c.delete(f"/api/v1/rosters/{entry['id']}", params={"version": entry["version"]}).status_code == 204
    assert count(db, RosterEntry) == 0
    with make_client(db) as c:
        sign_in(c, "ann")  # operators see rosters but do not make them
        assert c.get("/api/v1/rosters", params={"line_id": plant.line1}).status_code == 200
        refused = c.post("/api/v1/rosters", json={"day": MONDAY.isoformat(), "shift_code": "D",
                                                  "line_id": plant.line1, "user_id": user_id(db, "ann")})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_missing"
