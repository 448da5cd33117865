"""Skills kinds for Excel import and export: the skill catalogue and people's levels (HR keeps both in Excel;
a file is imported all or nothing, and importing it again changes nothing), and export-only kinds for the skill
matrix, certifications and training records.

People are named by user name, skills by code. Each row is written through the skills services, so it is held to
the same rules as a change made on a page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.connect.files.spec import (
    CellError, Column, ImportContext, ImportKind, Row, choice_parser, parse_bool, parse_date, parse_int, parse_text,
)
from synfab.core.errors import DomainError
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import User
from synfab.people.skills import service
from synfab.people.skills.choices import LEVELS, SkillCategory, SkillLevel
from synfab.people.skills.models import Certification, PersonSkill, Skill, TrainingRecord
from synfab.people.skills.schemas import LevelSet, SkillCreate, SkillUpdate

PERSON, SKILL = _l("person (user name)"), _l("skill")
LEVEL_HELP = _l("1 under training, 2 works with supervision, 3 works alone, 4 can train others.")


def parse_level(value: Any) -> int:
    """A level 1–4, as a number or as its meaning in either language."""
    try:
        number = parse_int(value)
    except CellError:
        try:
            return SkillLevel.parse(str(value)).number
        except ValueError:
            raise CellError("not_a_level", LEVEL_HELP) from None
    if number not in LEVELS:
        raise CellError("level_out_of_range", _l("A skill level is 1, 2, 3 or 4, not {level}.", level=number))
    return number


class SkillKind(ImportKind):
    name = "skills"
    title = _l("Skill catalogue")
    sheet_names = ("技能", "技能目录", "skills", "skill catalogue")
    permission = "skill.create"
    view_permission = "skill.view"
    export_filters = ("q", "category", "active")
    columns = (
        Column("code", "Code", "技能编码", required=True, aliases=("编码", "skill"), example="CNC",
               help=_l("The code routing steps name as required skill.")),
        Column("name", "Name", "技能名称", required=True, aliases=("名称", "技能"), example="数控加工"),
        Column("name_en", "English name", "英文名称", example="CNC machining"),
        Column("category", "Category", "类别", choice_parser(SkillCategory), example="机加工"),
        Column("certification_required", "Certification required", "需持证上岗", parse_bool,
               aliases=("需持证", "certification"), example="否",
               help=_l("Yes: only people holding a valid certification tied to the skill are qualified.")),
        Column("description", "Description", "说明", lambda v: parse_text(v, 2000)),
        Column("active", "Active", "启用", parse_bool, example="是"),
    )
    FIELDS = ("name", "name_en", "category", "certification_required", "description", "active")

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        existing = {sk.code: sk for sk in uow.session.scalars(select(Skill))}
        for row in rows:
            if not row.ok:
                continue
            v = row.values
            fields = {k: v[k] for k in self.FIELDS if v.get(k) is not None}
            found = existing.get(v["code"])
            try:
                if found is None:
                    existing[v["code"]] = service.create_skill(uow, SkillCreate(code=v["code"], **fields))
                    ctx.count("created")
                elif any(getattr(found, k) != val for k, val in fields.items()):
                    service.update_skill(uow, found.id, SkillUpdate(version=found.version, **fields))
                    ctx.count("updated")
                else:
                    ctx.count("unchanged")
            except DomainError as exc:
                ctx.refused(row, exc, {"skill_code_taken": "code"})

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.skill_query(q=filters.get("q"), category=filters.get("category"), active=filters.get("active"))
        for sk in session.scalars(stmt.order_by(Skill.code)):
            yield {"code": sk.code, **{k: getattr(sk, k) for k in self.FIELDS}}


class SkillLevelKind(ImportKind):
    """One row per person and skill: the level they hold, who assessed it and when."""

    name = "skill_levels"
    title = _l("Skill levels")
    sheet_names = ("技能等级", "人员技能", "skill levels", "levels")
    key = ("user", "skill")
    depends_on = ("skills",)
    permission = "skill.change"
    view_permission = "skill.view"
    export_filters = ("line_id", "q", "category")
    columns = (
        Column("user", "User name", "用户名", required=True, aliases=("账号", "username", "user"),
               example="zhangwei", help=_l("The person's user name (their sign-in name).")),
        Column("display_name", "Name", "姓名", example="张伟",
               help=_l("For reading only: people are found by their user name.")),
        Column("skill", "Skill", "技能编码", required=True, aliases=("技能",), example="CNC"),
        Column("level", "Level", "等级", parse_level, required=True, aliases=("技能等级",), example="3",
               help=LEVEL_HELP),
        Column("assessed_on", "Assessed on", "评定日期", parse_date, aliases=("评定时间",), example="2026-11-20",
               help=_l("Default: today.")),
        Column("assessed_by", "Assessed by", "评定人", example="hr",
               help=_l("User name of the assessor; default: whoever imports the file.")),
        Column("note", "Note", "备注", lambda v: parse_text(v, 2000)),
    )
    ERROR_COLUMNS = {"skill_inactive": "skill", "assessed_on_in_future": "assessed_on", "stale_version": "level"}

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        users = dict(s.execute(select(User.username, User.id)).all())
        skills = dict(s.execute(select(Skill.code, Skill.id)).all())
        levels = {(ps.user_id, ps.skill_id): ps for ps in s.scalars(select(PersonSkill))}
        for row in rows:
            v = row.values
            user_id = self._find(ctx, row, "user", users, PERSON)
            skill_id = self._find(ctx, row, "skill", skills, SKILL)
            assessor = self._find(ctx, row, "assessed_by", users, PERSON) if v.get("assessed_by") else None
            if not row.ok or user_id is None or skill_id is None:
                continue
            current = levels.get((user_id, skill_id))
            same_day = v.get("assessed_on") is None or (current is not None and v["assessed_on"] == current.assessed_on)
            if current is not None and current.level == v["level"] and same_day:
                ctx.count("unchanged")
                continue
            try:
                levels[(user_id, skill_id)] = service.set_skill_level(uow, user_id, LevelSet(
                    skill_id=skill_id, level=v["level"], assessed_on=v.get("assessed_on"), assessed_by_id=assessor,
                    note=v.get("note"), version=current.version if current else None), source="import")
            except DomainError as exc:
                ctx.refused(row, exc, self.ERROR_COLUMNS)
                continue
            ctx.count("created" if current is None else "updated")

    @staticmethod
    def _find(ctx: ImportContext, row: Row, key: str, index: dict[str, int], what: Any) -> int | None:
        code = row.values.get(key)
        if code is None:
            return None
        found = index.get(code)
        if found is None:
            ctx.error(row, key, f"{key}_not_found", _l("There is no {what} {code}.", what=what, code=code))
        return found

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.skill_matrix_query(line_id=filters.get("line_id"), q=filters.get("q"),
                                          category=filters.get("category"))
        for ps in session.scalars(stmt):
            yield {"user": ps.user.username, "display_name": ps.user.display_name, "skill": ps.skill.code,
                   "level": ps.level, "assessed_on": ps.assessed_on,
                   "assessed_by": ps.assessed_by.username if ps.assessed_by else None, "note": ps.note}


class SkillMatrixKind(ImportKind):
    """The skill matrix as a list to pivot in Excel: one row per person and skill, with the level's meaning, the
    person's lines and the certification behind the skill."""

    name = "skill_matrix"
    title = _l("Skill matrix")
    importable = False
    key = ("user", "skill")
    permission = "skill.change"
    view_permission = "skill.view"
    export_filters = ("line_id", "q", "category")
    columns = (
        Column("user", "User name", "用户名"),
        Column("display_name", "Name", "姓名"),
        Column("lines", "Production lines", "产线"),
        Column("skill", "Skill", "技能编码"),
        Column("skill_name", "Skill name", "技能名称"),
        Column("category", "Category", "类别"),
        Column("level", "Level", "等级"),
        Column("meaning", "Meaning", "含义"),
        Column("assessed_on", "Assessed on", "评定日期"),
        Column("assessed_by", "Assessed by", "评定人"),
        Column("certification", "Certification", "资质证书"),
        Column("expires_on", "Expires on", "有效期至"),
        Column("certification_state", "Certification state", "证书状态"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.skill_matrix_query(line_id=filters.get("line_id"), q=filters.get("q"),
                                          category=filters.get("category"))
        levels = list(session.scalars(stmt))
        people = {ps.user_id for ps in levels}
        today = service.site_today(session)
        lines = service.lines_of_people(session, people)
        certs: dict[tuple[int, int], Certification] = {}
        for cert in service.certifications_of(session, people):  # latest expiry first: the first one counts
            if cert.skill_id is not None:
                certs.setdefault((cert.user_id, cert.skill_id), cert)
        for ps in levels:
            cert = certs.get((ps.user_id, ps.skill_id))
            yield {"user": ps.user.username, "display_name": ps.user.display_name,
                   "lines": ", ".join(lines.get(ps.user_id, [])), "skill": ps.skill.code,
                   "skill_name": ps.skill.name, "category": ps.skill.category, "level": ps.level,
                   "meaning": service.level_meaning(ps.level), "assessed_on": ps.assessed_on,
                   "assessed_by": ps.assessed_by.display_name if ps.assessed_by else None,
                   "certification": cert.name if cert else None, "expires_on": cert.expires_on if cert else None,
                   "certification_state": service.certification_state(cert, today) if cert else None}


class CertificationKind(ImportKind):
    name = "certifications"
    title = _l("Certifications")
    importable = False
    key = ("user", "name", "issued_on")
    permission = "skill.create"
    view_permission = "skill.view"
    export_filters = ("q", "user_id", "skill_id", "state", "within")
    columns = (
        Column("user", "User name", "用户名"),
        Column("display_name", "Name", "姓名"),
        Column("name", "Certification", "资质证书"),
        Column("skill", "Skill", "技能编码"),
        Column("number", "Number", "证书编号"),
        Column("issuer", "Issuer", "发证机构"),
        Column("issued_on", "Issued on", "发证日期"),
        Column("expires_on", "Expires on", "有效期至"),
        Column("days_left", "Days left", "剩余天数"),
        Column("state", "State", "状态"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        today = service.site_today(session)
        stmt = service.certification_query(today=today, **{k: filters.get(k) for k in self.export_filters})
        for c in session.scalars(stmt.order_by(Certification.expires_on, Certification.id)):
            yield {"user": c.user.username, "display_name": c.user.display_name, "name": c.name,
                   "skill": c.skill.code if c.skill else None, "number": c.number, "issuer": c.issuer,
                   "issued_on": c.issued_on, "expires_on": c.expires_on, "days_left": service.days_left(c, today),
                   "state": service.certification_state(c, today)}


class TrainingRecordKind(ImportKind):
    name = "training_records"
    title = _l("Training records")
    importable = False
    key = ("trainee", "skill", "trained_on")
    permission = "skill.create"
    view_permission = "skill.view"
    export_filters = ("q", "skill_id", "trainee_id", "result", "date_from", "date_to")
    columns = (
        Column("trained_on", "Date", "培训日期"),
        Column("trainee", "Trainee", "学员"),
        Column("trainee_name", "Trainee name", "学员姓名"),
        Column("skill", "Skill", "技能编码"),
        Column("trainer", "Trainer", "培训师"),
        Column("hours", "Hours", "学时"),
        Column("result", "Result", "结果"),
        Column("level_reached", "Level reached", "达到等级"),
        Column("plan", "Training plan", "培训计划"),
        Column("note", "Note", "备注"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.training_record_query(**{k: filters.get(k) for k in self.export_filters})
        for r in session.scalars(stmt.order_by(TrainingRecord.trained_on.desc(), TrainingRecord.id.desc())):
            yield {"trained_on": r.trained_on, "trainee": r.trainee.username, "trainee_name": r.trainee.display_name,
                   "skill": r.skill.code, "trainer": r.trainer_label, "hours": r.hours, "result": r.result,
                   "level_reached": r.level_reached, "plan": r.plan.name if r.plan else None, "note": r.note}


KINDS = [SkillKind, SkillLevelKind, SkillMatrixKind, CertificationKind, TrainingRecordKind]
