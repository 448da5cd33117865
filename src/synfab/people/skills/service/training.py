"""Training plans (who should reach which level of which skill by when) and training records (a pass may raise
the trainee's level)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, selectinload

from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import User
from synfab.people.skills.choices import TRAINER_LEVEL, TargetState, TrainingResult
from synfab.people.skills.events import TrainingPlanChanged, TrainingPlanCreated, TrainingRecorded
from synfab.people.skills.models import PersonSkill, Skill, TrainingPlan, TrainingRecord, TrainingTarget
from synfab.people.skills.schemas import (
    LevelSet, TrainingPlanCreate, TrainingPlanUpdate, TrainingRecordCreate, TrainingTargetIn,
)
from synfab.people.skills.service.catalogue import get_skill, levels_of, person_skill, set_skill_level
from synfab.people.skills.service.common import (
    acting_username, apply_changes, choice_filter, date_filter, get_person, int_filter, search,
    site_today,
)

_TRAINEE = aliased(User, name="trainee")
TRAINING_RECORD_SORTS: dict[str, Any] = {
    "date": TrainingRecord.trained_on, "trainee": _TRAINEE.display_name, "skill": Skill.code,
    "hours": TrainingRecord.hours, "result": TrainingRecord.result,
}


# -- plans ---------------------------------------------------------------------------------------------------


def get_training_plan(session: Session, plan_id: int) -> TrainingPlan:
    plan = session.scalar(select(TrainingPlan).where(TrainingPlan.id == plan_id)
                          .options(selectinload(TrainingPlan.targets)))
    if plan is None:
        raise NotFound("training_plan_not_found", _l("There is no training plan with id {id}.", id=plan_id))
    return plan


def list_training_plans(session: Session, *, active_only: bool = True) -> list[TrainingPlan]:
    """Plans by date (the most urgent first)."""
    stmt = select(TrainingPlan).options(selectinload(TrainingPlan.targets)).order_by(TrainingPlan.due_on,
                                                                                      TrainingPlan.id)
    if active_only:
        stmt = stmt.where(TrainingPlan.active.is_(True))
    return list(session.scalars(stmt))


def _target(session: Session, plan: TrainingPlan, data: TrainingTargetIn) -> TrainingTarget:
    person = get_person(session, data.user_id, "create")
    skill = get_skill(session, data.skill_id)
    if any(t.user_id == person.id and t.skill_id == skill.id for t in plan.targets):
        raise Conflict("training_target_exists", _l(
            "{person} already has a target for {skill} in this plan.", person=person.display_name, skill=skill.code))
    return TrainingTarget(user_id=person.id, skill_id=skill.id, target_level=data.target_level, due_on=data.due_on)


def create_training_plan(uow: UnitOfWork, data: TrainingPlanCreate) -> TrainingPlan:
    """A plan with its targets: each person to reach a level of a skill by the plan's date (or their own)."""
    plan = TrainingPlan(name=data.name.strip(), description=data.description, due_on=data.due_on, targets=[])
    for target in data.targets:
        plan.targets.append(_target(uow.session, plan, target))
    uow.session.add(plan)
    uow.flush()
    uow.record(TrainingPlanCreated(plan_id=plan.id, name=plan.name, targets=len(plan.targets)))
    return plan


def update_training_plan(uow: UnitOfWork, plan_id: int, data: TrainingPlanUpdate) -> TrainingPlan:
    plan = get_training_plan(uow.session, plan_id)
    check_version(plan, data.version)
    fields = {k: v for k, v in data.model_dump(exclude_unset=True, exclude={"version"}).items()
              if v is not None or k == "description"}
    if apply_changes(plan, fields):
        uow.record(TrainingPlanChanged(plan_id=plan.id, name=plan.name))
    return plan


def add_training_target(uow: UnitOfWork, plan_id: int, data: TrainingTargetIn) -> TrainingTarget:
    """Add one person's target to a plan (one target per person and skill in a plan)."""
    plan = get_training_plan(uow.session, plan_id)
    target = _target(uow.session, plan, data)
    plan.targets.append(target)
    uow.flush()
    uow.record(TrainingPlanChanged(plan_id=plan.id, name=plan.name))
    return target


def remove_training_target(uow: UnitOfWork, target_id: int) -> None:
    target = uow.session.get(TrainingTarget, target_id)
    if target is None:
        raise NotFound("training_target_not_found", _l("There is no training target with id {id}.", id=target_id))
    plan = target.plan
    uow.session.delete(target)
    uow.flush()
    uow.record(TrainingPlanChanged(plan_id=plan.id, name=plan.name))


@dataclass(frozen=True)
class TargetProgress:
    target: TrainingTarget
    current_level: int
    due_on: date
    state: TargetState


def plan_progress(session: Session, plan: TrainingPlan, today: date) -> list[TargetProgress]:
    """Each target with the level the person holds now: reached, in progress, or overdue."""
    levels = levels_of(session, {t.user_id for t in plan.targets})
    found = []
    for t in plan.targets:
        held = levels.get((t.user_id, t.skill_id))
        current = held.level if held is not None else 0
        due = t.due_on or plan.due_on
        state = (TargetState.REACHED if current >= t.target_level
                 else TargetState.OVERDUE if due < today else TargetState.OPEN)
        found.append(TargetProgress(t, current, due, state))
    return found


# -- records -------------------------------------------------------------------------------------------------


def training_record_query(q: str | None = None, skill_id: Any = None, trainee_id: Any = None, result: Any = None,
                          date_from: Any = None, date_to: Any = None) -> Select[Any]:
    """Training records (with their trainee) for the training page, the API and the export.

    Filters: `q` (part of the trainee's or trainer's name), `skill_id`, `trainee_id`, `result` (passed/failed),
    `date_from` / `date_to` (the day trained). Sort keys: `TRAINING_RECORD_SORTS`.
    """
    trainer = aliased(User, name="trainer")
    stmt = (select(TrainingRecord).join(_TRAINEE, _TRAINEE.id == TrainingRecord.trainee_id)
            .join(TrainingRecord.skill).outerjoin(trainer, trainer.id == TrainingRecord.trainer_id))
    if (skill := int_filter(skill_id, "skill_id")) is not None:
        stmt = stmt.where(TrainingRecord.skill_id == skill)
    if (trainee := int_filter(trainee_id, "trainee_id")) is not None:
        stmt = stmt.where(TrainingRecord.trainee_id == trainee)
    if (outcome := choice_filter(TrainingResult, result, "result")) is not None:
        stmt = stmt.where(TrainingRecord.result == outcome)
    if (start := date_filter(date_from, "date_from")) is not None:
        stmt = stmt.where(TrainingRecord.trained_on >= start)
    if (end := date_filter(date_to, "date_to")) is not None:
        stmt = stmt.where(TrainingRecord.trained_on <= end)
    if (cond := search(q, _TRAINEE.display_name, _TRAINEE.username, trainer.display_name,
                       TrainingRecord.trainer_name)) is not None:
        stmt = stmt.where(cond)
    return stmt  # only the people in the reader's scope: `PersonScoped`


def record_training(uow: UnitOfWork, data: TrainingRecordCreate) -> TrainingRecord:
    """Record a training given. A passed training with a level reached above the trainee's current level raises
    it (assessed by the trainer, on the training day).

    Refused: a level reached on a failed training; no trainer; a trainer who is the trainee or who does not hold
    level 4 (can train others) of the skill; a skill no longer in use; a training dated in the future.
    """
    s = uow.session
    trainee = get_person(s, data.trainee_id, "create")
    skill = get_skill(s, data.skill_id)
    if not skill.active:
        raise Invalid("skill_inactive", _l("The skill {code} is no longer in use; levels cannot be set for it.",
                                           code=skill.code))
    if data.result == TrainingResult.FAILED and data.level_reached is not None:
        raise Invalid("level_needs_pass", _l("A failed training reaches no level; leave the level empty."))
    trainer_name = (data.trainer_name or "").strip() or None
    if data.trainer_id is None and trainer_name is None:
        raise Invalid("trainer_required", _l("Say who gave the training: a colleague or an outside trainer."))
    if data.trainer_id is not None:
        trainer = get_person(s, data.trainer_id, None)
        if trainer.id == trainee.id:
            raise Invalid("trainer_is_trainee", _l("Nobody can train themselves; choose another trainer."))
        held = person_skill(s, trainer.id, skill.id)
        if held is None or held.level < TRAINER_LEVEL:
            raise Invalid("trainer_not_qualified", _l(
                "{name} holds level {level} of {skill}; only level 4 (can train others) may train.",
                name=trainer.display_name, level=held.level if held else 0, skill=skill.code))
    if data.plan_id is not None:
        get_training_plan(s, data.plan_id)
    if data.trained_on > site_today(s):
        raise Invalid("trained_on_in_future", _l("A training cannot be recorded before it took place ({date}).",
                                                 date=data.trained_on.isoformat()))
    record = TrainingRecord(**data.model_dump(exclude={"trainer_name"}), trainer_name=trainer_name,
                            recorded_by=acting_username())
    s.add(record)
    uow.flush()
    if data.result == TrainingResult.PASSED and data.level_reached is not None:
        current: PersonSkill | None = person_skill(s, trainee.id, skill.id)
        if current is None or current.level < data.level_reached:
            set_skill_level(uow, trainee.id, LevelSet(
                skill_id=skill.id, level=data.level_reached, assessed_on=data.trained_on,
                assessed_by_id=data.trainer_id, note=data.note, version=current.version if current else None),
                source="training", training_record_id=record.id)
    uow.record(TrainingRecorded(record_id=record.id, trainee_id=trainee.id, skill_code=skill.code,
                                result=data.result.value, level_reached=data.level_reached))
    return record
