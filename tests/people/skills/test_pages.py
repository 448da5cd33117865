"""Skills pages in zh-CN and en: the skill matrix by line with its marks and export, a person's page and its forms
(sent twice → one record), training, certifications, rosters with coverage, the home cards."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from synfab.core.db import Database
from synfab.people.skills import service
from synfab.people.skills.models import Certification, RosterEntry, Skill, TrainingRecord
from synfab.people.skills.schemas import RosterEntryCreate
from synfab.plant import service as plant_service
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.connect.test_pages import sheet_rows
from tests.people.skills.conftest import MONDAY, Line1, Skills, certify, give, operators, user_id


def speak(client: TestClient, locale: str) -> None:
    assert client.get(f"/lang/{locale}").status_code == 200


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def matrix_cells(html: str) -> dict[str, dict[str, str]]:
    """user name → skill code → the cell's level (and its certification mark, if any)."""
    body = html.split('id="skill-matrix"', 1)[1].split("</table>", 1)[0]
    found: dict[str, dict[str, str]] = {}
    for user, row in re.findall(r'<tr data-user="([^"]+)">(.*?)</tr>', body, re.S):
        cells = re.findall(r'data-skill="([^"]+)" data-level="(\d)"(.*?)</td>', row, re.S)
        found[user] = {skill: level + ("!" + m.group(1) if (m := re.search(r'data-mark="(\w+)"', rest)) else "")
                       for skill, level, rest in cells}
    return found


def site_today(db: Database) -> date:
    with db.session() as s:
        return service.site_today(s)


def form_key(html: str, form_id: str) -> str:
    form = html.split(f'id="{form_id}"', 1)[1]
    return re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)


def test_skill_matrix_by_line_in_both_languages(client: TestClient, db: Database, plant: MiniPlant,
                                                skills: Skills) -> None:
    operators(db, plant, "ann", "bob")
    operators(db, plant, "lee", line=plant.line2)
    give(db, "ann", skills.turn, 3)
    give(db, "ann", skills.leak, 2)
    give(db, "bob", skills.assy, 1)
    give(db, "lee", skills.turn, 4)
    today = site_today(db)
    certify(db, "ann", skills.leak, today - timedelta(days=300), today + timedelta(days=12))
    speak(client, "zh_CN")
    zh = client.get("/skills/matrix", params={"line_id": plant.line1})
    assert zh.status_code == 200
    assert "技能矩阵" in zh.text and "培训中" in zh.text and "可培训他人" in zh.text
    cells = matrix_cells(zh.text)
    assert set(cells) == {"ann", "bob"}  # granted on line 1; Lee works on line 2
    assert cells["ann"] == {"TURN": "3", "GRIND": "0", "ASSY": "0", "LEAK": "2!expiring"}
    assert cells["bob"]["ASSY"] == "1"
    speak(client, "en")
    en = client.get("/skills/matrix", params={"line_id": plant.line2})
    assert "Skill matrix" in en.text and "Under training" in en.text and "Can train others" in en.text
    assert matrix_cells(en.text) == {"lee": {"TURN": "4", "GRIND": "0", "ASSY": "0", "LEAK": "0"}}
    everyone = matrix_cells(client.get("/skills/matrix").text)
    assert set(everyone) == {"ann", "bob", "lee"}
    # A person rostered on a line shows there too, whatever their grants.
    with db.uow() as uow:
        service.add_roster_entry(uow, RosterEntryCreate(day=MONDAY, shift_code="D", line_id=plant.line2,
                                                        user_id=user_id(db, "bob")))
        uow.commit()
    assert set(matrix_cells(client.get("/skills/matrix", params={"line_id": plant.line2}).text)) == {"bob", "lee"}
    exported = sheet_rows(client.get("/export/skill_matrix.xlsx", params={"line_id": plant.line1}).content)
    rows = next(iter(exported.values()))
    assert rows[0][:3] == ["User name", "Name", "Production lines"]
    assert [(r[0], r[3], r[6], r[7]) for r in rows[1:]] == [
        ("ann", "LEAK", 2, "Works with supervision"), ("ann", "TURN", 3, "Works alone"),
        ("bob", "ASSY", 1, "Under training")]
    assert rows[1][12] == "Expires soon"


def test_an_expired_certification_marks_the_cell(client: TestClient, db: Database, plant: MiniPlant,
                                                 skills: Skills) -> None:
    operators(db, plant, "cid")
    give(db, "cid", skills.leak, 3)
    certify(db, "cid", skills.leak, date(2024, 1, 1), date(2025, 1, 1))
    assert matrix_cells(client.get("/skills/matrix").text)["cid"]["LEAK"] == "3!expired"


def test_a_persons_page_and_its_forms(client: TestClient, db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "ann", "tina")
    give(db, "tina", skills.turn, 4)
    ann = user_id(db, "ann")
    speak(client, "en")
    page = client.get(f"/skills/people/{ann}")
    assert page.status_code == 200 and "No skill levels yet." in page.text
    r = client.post(f"/skills/people/{ann}/levels", data={"skill_id": skills.turn, "level": 1,
                                                         "csrf_token": client.headers["X-CSRF-Token"]},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/skills/people/{ann}")
    key = form_key(page.text, "new-training")
    today = site_today(db).isoformat()
    form = {"skill_id": skills.turn, "trained_on": today, "hours": "8", "result": "passed", "level_reached": "2",
            "trainer_id": user_id(db, "tina"), "idempotency_key": key, "csrf_token": client.headers["X-CSRF-Token"]}
    for _ in range(2):  # sent twice: one record
        assert client.post(f"/skills/people/{ann}/training", data=form, follow_redirects=False).status_code == 303
    assert count(db, TrainingRecord) == 1
    page = client.get(f"/skills/people/{ann}")
    assert "Works with supervision" in page.text and "training passed" in page.text
    cert_key = form_key(page.text, "new-certification")
    bad = client.post(f"/skills/people/{ann}/certifications", data={
        "name": "叉车证", "issued_on": "2026-05-01", "expires_on": "2026-04-01", "idempotency_key": cert_key,
        "csrf_token": client.headers["X-CSRF-Token"]})
    assert bad.status_code == 422 and "cannot expire" in bad.text
    assert count(db, Certification) == 0
    speak(client, "zh_CN")
    zh = client.get(f"/skills/people/{ann}")
    assert "需指导作业" in zh.text and "技能等级" in zh.text
    stale = client.post(f"/skills/people/{ann}/levels", data={
        "skill_id": skills.turn, "level": 3, "version": "1", "csrf_token": client.headers["X-CSRF-Token"]})
    assert stale.status_code == 409 and "stale_version" in stale.text


def test_catalogue_training_and_certification_pages(client: TestClient, db: Database, plant: MiniPlant,
                                                    skills: Skills) -> None:
    operators(db, plant, "ann")
    today = site_today(db)
    certify(db, "ann", skills.leak, today - timedelta(days=100), today + timedelta(days=3), name="气密检测上岗证")
    certify(db, "ann", None, today - timedelta(days=800), today - timedelta(days=10), name="旧证")
    certify(db, "ann", None, today - timedelta(days=10), today + timedelta(days=400), name="急救员证")
    for locale, words in (("zh_CN", ("技能目录", "培训", "资质证书")), ("en", ("Skill catalogue", "Training",
                                                                             "Certifications"))):
        speak(client, locale)
        catalogue = client.get("/skills/catalogue")
        assert catalogue.status_code == 200 and words[0] in catalogue.text
        assert 'data-code="LEAK"' in catalogue.text
        assert client.get(f"/skills/catalogue/{skills.leak}").status_code == 200
        assert words[1] in client.get("/skills/training").text
        expiring = client.get("/skills/certifications", params={"within": 30})
        assert words[2] in expiring.text
        assert re.findall(r'<td>([^<]+)</td>\s*<td class="mono">', expiring.text) == ["气密检测上岗证"]
    lapsed = client.get("/skills/certifications", params={"state": "expired"}).text
    assert "旧证" in lapsed and "急救员证" not in lapsed
    rows = next(iter(sheet_rows(client.get("/export/certifications.xlsx", params={"within": 30}).content).values()))
    assert [(r[2], r[8]) for r in rows[1:]] == [("气密检测上岗证", 3)]
    page = client.get("/skills/catalogue")
    key = form_key(page.text, "new-skill")
    form = {"code": "WELD", "name": "焊接", "category": "machining", "idempotency_key": key,
            "csrf_token": client.headers["X-CSRF-Token"]}
    assert client.post("/skills/catalogue", data=form, follow_redirects=False).status_code == 303
    assert client.post("/skills/catalogue", data=form, follow_redirects=False).status_code == 303
    taken = client.post("/skills/catalogue", data={**form, "idempotency_key": "another-key-123"})
    assert taken.status_code == 409 and "WELD" in taken.text
    assert count(db, Skill) == 5


def test_roster_week_and_shift_pages(client: TestClient, db: Database, plant: MiniPlant, skills: Skills,
                                     line1: Line1) -> None:
    operators(db, plant, "ann", "bob")
    give(db, "ann", skills.turn, 3)
    give(db, "ann", skills.grind, 2)
    speak(client, "en")
    week = client.get("/skills/rosters", params={"line_id": plant.line1, "week": MONDAY.isoformat()})
    assert week.status_code == 200 and "Shift rosters" in week.text
    cells = re.findall(r'<td data-day="([\d-]+)".*?data-uncovered="(\d+)"', week.text, re.S)
    assert cells[:5] == [(f"2026-11-{d}", "4") for d in range(23, 28)]  # nobody rostered: all four uncovered
    assert 'data-day="2026-11-28"' in week.text and week.text.count("nobody rostered") == 10
    shift_url = f"/skills/rosters/{plant.line1}/{MONDAY.isoformat()}/D"
    page = client.get(shift_url)
    assert page.status_code == 200 and "Suggested assignment" in page.text
    form = {"user_id": user_id(db, "ann"), "idempotency_key": form_key(page.text, "new-entry"),
            "csrf_token": client.headers["X-CSRF-Token"]}
    for _ in range(2):
        assert client.post(f"{shift_url}/entries", data=form, follow_redirects=False).status_code == 303
    assert count(db, RosterEntry) == 1
    page = client.get(shift_url)
    covered = re.findall(r'data-skill="(\w+)" data-covered="(\w+)"', page.text)
    assert covered == [("TURN", "yes"), ("GRIND", "yes"), ("ASSY", "no"), ("LEAK", "no")]
    assert re.findall(r'<tr data-work-center="(\w+)" data-user="(\w*)">', page.text) == [
        ("WC1", "ann"), ("WC3", ""), ("WC4", "")]
    apply = client.post(f"{shift_url}/assignment", data={"csrf_token": client.headers["X-CSRF-Token"]},
                        follow_redirects=False)
    assert apply.status_code == 303
    with db.session() as s:
        assert s.scalar(select(RosterEntry.work_center_id)) == plant.wc1
    speak(client, "zh_CN")
    zh = client.get(shift_url)
    assert "建议分配" in zh.text and "技能覆盖" in zh.text
    saturday = client.get(f"/skills/rosters/{plant.line1}/2026-11-28/D")
    assert saturday.status_code == 422 and "shift_not_running" in saturday.text


def test_home_cards(db: Database, plant: MiniPlant, skills: Skills, line1: Line1) -> None:
    operators(db, plant, "ann")
    add_user(db, "hr", "hr_training", plant.site)
    today = site_today(db)
    certify(db, "ann", skills.leak, today - timedelta(days=100), today + timedelta(days=20))
    certify(db, "ann", skills.leak, today - timedelta(days=100), today + timedelta(days=40))
    with make_client(db) as c:
        sign_in(c, "hr")
        home = c.get("/", headers={"Accept-Language": "en"}).text
        expiring = re.search(r'<div class="figure">(\d+)</div>\s*<div class="caption">Certifications expiring within '
                             r'30 days', home)
        assert expiring and expiring.group(1) == "1"
        uncovered = re.search(r"<div class=\"figure\">(\d+)</div>\s*<div class=\"caption\">Skill needs of today",
                              home)
        # Line 1's open operations need four skills; on a working day nobody is rostered in either shift.
        with db.session() as s:
            shifts_today = len(service.shifts_on(s, plant_service.get_node(s, plant.line1), today))
        assert uncovered and int(uncovered.group(1)) == 4 * shifts_today


def test_a_line_manager_sees_the_skills_of_their_lines_people_only(db: Database, plant: MiniPlant,
                                                                    skills: Skills) -> None:
    operators(db, plant, "ann")
    operators(db, plant, "lee", line=plant.line2)
    give(db, "ann", skills.turn, 2)
    give(db, "lee", skills.turn, 3)
    certify(db, "lee", skills.turn, date(2026, 1, 1), date(2026, 12, 31), name="车工证")
    add_user(db, "boss", "manager", plant.line1)
    with make_client(db) as c:
        sign_in(c, "boss")
        assert set(matrix_cells(c.get("/skills/matrix").text)) == {"ann"}
        assert c.get(f"/skills/people/{user_id(db, 'ann')}").status_code == 200
        hidden = c.get(f"/skills/people/{user_id(db, 'lee')}")
        assert hidden.status_code == 404 and "person_not_found" in hidden.text
        assert c.get(f"/api/v1/skills/people/{user_id(db, 'lee')}").status_code == 404
        assert "车工证" not in c.get("/skills/certifications").text
        rows = next(iter(sheet_rows(c.get("/export/skill_levels.xlsx").content).values()))
        assert [r[0] for r in rows[1:]] == ["ann"]
