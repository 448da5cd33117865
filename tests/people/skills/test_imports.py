"""The skill catalogue and people's levels from Excel (as HR keeps them): all or nothing, idempotent, a changed
level updates it with its history; the same columns come back out in the export."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from synfab.connect.files.runner import run_import
from synfab.core.db import Database
from synfab.people.skills import service
from synfab.people.skills.models import PersonSkill, Skill, SkillAssessment
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.connect.test_import_plant import problems, workbook
from tests.connect.test_pages import sheet_rows
from tests.people.skills.conftest import operators, user_id

SKILLS = ("技能目录", [
    ["技能编码", "技能名称", "英文名称", "类别", "需持证上岗"],
    ["CNC", "数控加工", "CNC machining", "机加工", "否"],
    ["LEAK-TEST", "气密检测", "Leak testing", "检测", "是"],
])
LEVEL_HEADER = ["用户名", "姓名", "技能编码", "等级", "评定日期", "评定人", "备注"]


def levels(*rows: list[object]) -> tuple[str, list[list[object]]]:
    return ("技能等级", [LEVEL_HEADER, *rows])


def held(db: Database) -> dict[tuple[str, str], int]:
    with db.session() as s:
        return {(ps.user.username, ps.skill.code): ps.level for ps in s.scalars(select(PersonSkill))}


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_levels_import_all_or_nothing_and_a_second_import_changes_nothing(db: Database, plant: MiniPlant) -> None:
    operators(db, plant, "ann", "bob")
    add_user(db, "hr", "hr_training", plant.site)
    bad = workbook(SKILLS, levels(
        ["ann", "Ann", "CNC", 3, "2026-10-01", "hr", ""],
        ["nobody", "", "CNC", 2, "", "", ""],
        ["bob", "Bob", "WELD", 2, "", "", ""],
        ["bob", "Bob", "LEAK-TEST", 7, "", "", ""],
    ))
    report = run_import(db, bad, "levels.xlsx")
    assert not report.ok and not report.committed
    assert [(p.row, p.column, p.code) for p in report.sorted_problems()] == [
        (3, "用户名", "user_not_found"), (4, "技能编码", "skill_not_found"), (5, "等级", "level_out_of_range")]
    assert (count(db, Skill), count(db, PersonSkill)) == (0, 0)  # the good rows were not written either
    good = workbook(SKILLS, levels(
        ["ann", "Ann", "CNC", 3, "2026-10-01", "hr", "考核合格"],
        ["bob", "Bob", "LEAK-TEST", "独立作业", "2026-10-02", "", ""],
    ))
    report = run_import(db, good, "levels.xlsx")
    assert report.ok and report.committed, problems(report)
    assert {s.kind: (s.created, s.updated, s.unchanged) for s in report.summaries} == {
        "skills": (2, 0, 0), "skill_levels": (2, 0, 0)}
    assert held(db) == {("ann", "CNC"): 3, ("bob", "LEAK-TEST"): 3}
    with db.session() as s:
        ann = service.person_skill(s, user_id(db, "ann"), s.scalar(select(Skill.id).where(Skill.code == "CNC")))
        assert (ann.assessed_on, ann.assessed_by_id, ann.note) == (date(2026, 10, 1), user_id(db, "hr"), "考核合格")
        assert s.scalar(select(Skill.certification_required).where(Skill.code == "LEAK-TEST")) is True
    again = run_import(db, good, "levels.xlsx")
    assert again.ok and {s.kind: (s.created, s.updated, s.unchanged) for s in again.summaries} == {
        "skills": (0, 0, 2), "skill_levels": (0, 0, 2)}
    assert count(db, SkillAssessment) == 2
    changed = run_import(db, workbook(levels(["ann", "Ann", "CNC", 4, "2026-11-02", "hr", ""])), "levels.xlsx")
    assert changed.ok and changed.summaries[0].updated == 1
    assert held(db)[("ann", "CNC")] == 4
    with db.session() as s:
        assert [(h.old_level, h.level, h.source) for h in service.level_history(s, user_id(db, "ann"))] == [
            (3, 4, "import"), (None, 3, "import")]


def test_hr_imports_and_exports_levels_from_the_skills_pages(db: Database, plant: MiniPlant) -> None:
    operators(db, plant, "ann")
    add_user(db, "hr", "hr_training", plant.site)
    with make_client(db) as c:
        sign_in(c, "hr")
        c.cookies.set("synfab_lang", "en")
        page = c.get("/skills/import")
        assert page.status_code == 200 and "Skill levels" in page.text
        data = workbook(SKILLS, levels(["ann", "Ann", "CNC", 2, "2026-10-01", "", ""]))
        r = c.post("/skills/import", files={"file": ("levels.xlsx", data)},
                   data={"csrf_token": c.headers["X-CSRF-Token"]})
        assert r.status_code == 200 and "Imported 3 rows" in r.text
        rows = next(iter(sheet_rows(c.get("/export/skill_levels.xlsx").content).values()))
        assert rows[0][:4] == ["User name", "Name", "Skill", "Level"]
        assert [r[:4] for r in rows[1:]] == [["ann", "Ann", "CNC", 2]]
        template = c.get("/skills/import/template.xlsx")
        assert template.status_code == 200 and set(sheet_rows(template.content)) >= {"Skill catalogue",
                                                                                      "Skill levels"}
    with make_client(db) as c:  # an operator may look but not import
        sign_in(c, "ann")
        refused = c.post("/skills/import", files={"file": ("levels.xlsx", b"x")},
                         data={"csrf_token": c.headers["X-CSRF-Token"]})
        assert refused.status_code == 403
    assert held(db) == {("ann", "CNC"): 2}


def test_the_exported_levels_import_unchanged(client: TestClient, db: Database, plant: MiniPlant) -> None:
    operators(db, plant, "ann", "bob")
    assert run_import(db, workbook(SKILLS, levels(["ann", "", "CNC", 1, "2026-09-01", "", ""],
                                                  ["bob", "", "CNC", 4, "2026-09-02", "", ""])), "a.xlsx").ok
    exported = client.get("/export/skill_levels.xlsx")
    report = run_import(db, exported.content, "export.xlsx")
    assert report.ok, problems(report)
    assert (report.summaries[0].created, report.summaries[0].updated, report.summaries[0].unchanged) == (0, 0, 2)
