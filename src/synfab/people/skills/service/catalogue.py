"""The skill catalogue and the levels people hold: set with who assessed them and when, every change kept."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, contains_eager

from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import Grant, User
from synfab.people.skills.choices import SkillCategory
from synfab.people.skills.events import SkillChanged, SkillCreated, SkillLevelAssessed
from synfab.people.skills.models import PersonSkill, RosterEntry, Skill, SkillAssessment
from synfab.people.skills.schemas import LevelSet, SkillCreate, SkillUpdate
from synfab.people.skills.service.common import (
    acting_user_id, acting_username, apply_changes, choice_filter, get_person, int_filter, people_in_scope, search,
    site_today,
)
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode

SKILL_SORTS: dict[str, Any] = {"code": Skill.code, "name": Skill.name, "category": Skill.category}


# -- the catalogue -------------------------------------------------------------------------------------------


def get_skill(session: Session, skill_id: int) -> Skill:
    skill = session.get(Skill, skill_id)
    if skill is None:
        raise NotFound("skill_not_found", _l("There is no skill with id {id}.", id=skill_id))
    return skill


def skill_by_code(session: Session, code: str) -> Skill | None:
    return session.scalar(select(Skill).where(Skill.code == code.strip()))


def list_skills(session: Session, *, active_only: bool = True, category: Any = None) -> list[Skill]:
    """Skills by code; only active ones unless asked otherwise."""
    stmt = skill_query(category=category, active="1" if active_only else None).order_by(Skill.code)
    return list(session.scalars(stmt))


def skill_query(q: str | None = None, category: Any = None, active: Any = None) -> Select[Any]:
    """Skills for the catalogue page, the API and the export.

    Filters: `q` (part of the code or either name), `category` (value or label), `active` ("1"/"0").
    Sort keys: `SKILL_SORTS`.
    """
    stmt = select(Skill)
    if (cat := choice_filter(SkillCategory, category, "category")) is not None:
        stmt = stmt.where(Skill.category == cat)
    if active not in (None, ""):
        stmt = stmt.where(Skill.active.is_(str(active).lower() in ("1", "true", "yes")))
    if (cond := search(q, Skill.code, Skill.name, Skill.name_en)) is not None:
        stmt = stmt.where(cond)
    return stmt


def create_skill(uow: UnitOfWork, data: SkillCreate) -> Skill:
    """Add a skill to the catalogue; its code must be new."""
    code = data.code.strip()
    if not code:
        raise Invalid("skill_code_required", _l("A skill needs a code (the one routings name)."))
    taken = skill_by_code(uow.session, code)
    if taken is not None:
        raise Conflict("skill_code_taken", _l("The skill code {code} is already used by {name}.",
                                              code=code, name=taken.name))
    skill = Skill(**{**data.model_dump(), "code": code, "name": data.name.strip()})
    uow.session.add(skill)
    uow.flush()
    uow.record(SkillCreated(skill_id=skill.id, code=skill.code))
    return skill


def update_skill(uow: UnitOfWork, skill_id: int, data: SkillUpdate) -> Skill:
    """Change a skill's names, category, description, whether it needs a certification or is in use."""
    skill = get_skill(uow.session, skill_id)
    check_version(skill, data.version)
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if "name" in fields and fields["name"] is None:
        del fields["name"]
    changes = apply_changes(skill, fields)
    if changes:
        uow.record(SkillChanged(skill_id=skill.id, code=skill.code, changes=changes))
    return skill


# -- levels ---------------------------------------------------------------------------------------------------


def person_skill(session: Session, user_id: int, skill_id: int) -> PersonSkill | None:
    return session.scalar(select(PersonSkill).where(PersonSkill.user_id == user_id, PersonSkill.skill_id == skill_id))


def person_skills(session: Session, user_id: int) -> list[PersonSkill]:
    """A person's levels, by skill code."""
    return list(session.scalars(select(PersonSkill).join(PersonSkill.skill).where(PersonSkill.user_id == user_id)
                                .order_by(Skill.code)))


def levels_of(session: Session, user_ids: Iterable[int]) -> dict[tuple[int, int], PersonSkill]:
    """(user id, skill id) → level record, for many people at once."""
    ids = list(user_ids)
    if not ids:
        return {}
    return {(ps.user_id, ps.skill_id): ps for ps in session.scalars(select(PersonSkill).where(
        PersonSkill.user_id.in_(ids)))}


def level_history(session: Session, user_id: int) -> list[SkillAssessment]:
    """Every level a person was given, newest first."""
    return list(session.scalars(select(SkillAssessment).where(SkillAssessment.user_id == user_id)
                                .order_by(SkillAssessment.id.desc())))


def set_skill_level(uow: UnitOfWork, user_id: int, data: LevelSet, *, source: str = "assessment",
                    training_record_id: int | None = None) -> PersonSkill:
    """Set a person's level of a skill (1–4) as assessed by someone on a day; the change goes into the
    person's level history and the event log. Setting the same level on the same day changes nothing.

    Refused: an unknown person, skill or assessor, a skill no longer in use, an assessment dated in the future,
    a stale `version` (someone changed the level since it was loaded).
    """
    s = uow.session
    person = get_person(s, user_id, "change")
    skill = get_skill(s, data.skill_id)
    if not skill.active:
        raise Invalid("skill_inactive", _l("The skill {code} is no longer in use; levels cannot be set for it.",
                                           code=skill.code))
    assessor_id = data.assessed_by_id if data.assessed_by_id is not None else acting_user_id()
    if assessor_id is not None:
        get_person(s, assessor_id, None)
    today = site_today(s)
    assessed_on = data.assessed_on or today
    if assessed_on > today:
        raise Invalid("assessed_on_in_future", _l("An assessment cannot be dated in the future ({date}).",
                                                  date=assessed_on.isoformat()))
    current = person_skill(s, person.id, skill.id)
    if current is not None:
        check_version(current, data.version)
        if current.level == data.level and current.assessed_on == assessed_on:
            return current
    old_level = current.level if current is not None else None
    if current is None:
        current = PersonSkill(user_id=person.id, skill_id=skill.id, level=data.level, assessed_on=assessed_on,
                              assessed_by_id=assessor_id, note=data.note)
        s.add(current)
    else:
        current.level, current.assessed_on, current.assessed_by_id = data.level, assessed_on, assessor_id
        current.note = data.note
    s.add(SkillAssessment(user_id=person.id, skill_id=skill.id, old_level=old_level, level=data.level,
                          assessed_on=assessed_on, assessed_by_id=assessor_id, source=source,
                          training_record_id=training_record_id, note=data.note, recorded_by=acting_username()))
    uow.flush()
    uow.record(SkillLevelAssessed(user_id=person.id, username=person.username, skill_id=skill.id,
                                  skill_code=skill.code, old_level=old_level, new_level=data.level,
                                  assessed_on=assessed_on, assessed_by_id=assessor_id, source=source))
    return current


# -- the skill matrix -------------------------------------------------------------------------------------------


def matrix_people_query(line_id: Any = None, q: str | None = None) -> Select[Any]:
    """The people of the skill matrix: with a line, those holding a grant on or under it or rostered there;
    without, everyone holding a level or on a roster. Only active people whose skills the acting person may see
    (`people_in_scope`). Filter `q`: part of the name."""
    stmt = select(User).where(User.active.is_(True))
    if (line := int_filter(line_id, "line_id")) is not None:
        line_path = select(PlantNode.path).where(PlantNode.id == line).scalar_subquery()
        granted = select(Grant.user_id).join(PlantNode, PlantNode.id == Grant.scope_node_id).where(
            PlantNode.path.startswith(line_path))
        rostered = select(RosterEntry.user_id).where(RosterEntry.line_id == line)
        stmt = stmt.where(User.id.in_(granted) | User.id.in_(rostered))
    else:
        stmt = stmt.where(User.id.in_(select(PersonSkill.user_id)) | User.id.in_(select(RosterEntry.user_id)))
    if (cond := search(q, User.display_name, User.username)) is not None:
        stmt = stmt.where(cond)
    if (inside := people_in_scope()) is not None:
        stmt = stmt.where(inside)
    return stmt


MATRIX_SORTS: dict[str, Any] = {"name": User.display_name, "username": User.username}


def skill_matrix_query(line_id: Any = None, q: str | None = None, category: Any = None) -> Select[Any]:
    """Levels of the matrix's people (see `matrix_people_query`) in active skills, by person and skill — the
    matrix page and its export. Filters: `line_id`, `q` (part of the person's name), `category` (of the skill)."""
    people = matrix_people_query(line_id, q).with_only_columns(User.id)
    stmt = (select(PersonSkill).join(PersonSkill.skill).join(User, User.id == PersonSkill.user_id)
            .options(contains_eager(PersonSkill.user)).where(PersonSkill.user_id.in_(people), Skill.active.is_(True)))
    if (cat := choice_filter(SkillCategory, category, "category")) is not None:
        stmt = stmt.where(Skill.category == cat)
    return stmt.order_by(User.display_name, User.username, Skill.code)


def lines_of_people(session: Session, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """The codes of the production lines each person holds a grant on or under."""
    ids = list(user_ids)
    if not ids:
        return {}
    lines = {n.path: n.code for n in session.scalars(select(PlantNode).where(PlantNode.level == Level.LINE)
                                                      .order_by(PlantNode.code))}
    found: dict[int, list[str]] = {}
    for user_id, path in session.execute(select(Grant.user_id, PlantNode.path).join(
            PlantNode, PlantNode.id == Grant.scope_node_id).where(Grant.user_id.in_(ids))):
        for line_path, code in lines.items():
            if path.startswith(line_path) and code not in found.setdefault(user_id, []):
                found[user_id].append(code)
    return found
