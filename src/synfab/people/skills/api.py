"""Skills JSON API: the skill catalogue, people's levels and certifications, training, the qualification check
and supervisor override the operator terminal calls, and shift rosters with their coverage."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from synfab.people.service import Principal
from synfab.people.schemas import SignatureIn
from synfab.people.skills import service
from synfab.people.skills.choices import CertificationState, SkillCategory, TrainingResult
from synfab.people.skills.models import Certification, PersonSkill, RosterEntry, TrainingPlan, TrainingRecord
from synfab.people.skills.schemas import (
    AssignmentRead, CertificationCreate, CertificationRead, CertificationUpdate, CoverageRead, LevelSet,
    OperationNeedRead, PersonSkillRead, PersonSkillsRead, QualificationCheckIn, QualificationOverrideIn,
    QualificationOverrideRead, QualificationRead, RequirementRead, RosterEntryCreate, RosterEntryRead, SkillCreate,
    SkillRead, SkillUpdate, TrainingPlanCreate, TrainingPlanRead, TrainingPlanUpdate, TrainingRecordCreate,
    TrainingRecordRead, TrainingTargetIn, TrainingTargetRead, UncoveredWorkCenterRead,
)
from synfab.web.deps import DbDep, SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate

router = APIRouter(prefix="/api/v1", tags=["skills"])

Viewer = Annotated[Principal, require("skill.view")]
Creator = Annotated[Principal, require("skill.create")]
Changer = Annotated[Principal, require("skill.change")]
RosterViewer = Annotated[Principal, require("roster.view")]
RosterCreator = Annotated[Principal, require("roster.create")]
RosterChanger = Annotated[Principal, require("roster.change")]
# The operator starting the operation calls the override; the supervisor's permission is checked on signing.
Operator = Annotated[Principal, require("work_order.change")]


# -- reading models into JSON ---------------------------------------------------------------------------------


def level_read(ps: PersonSkill) -> PersonSkillRead:
    meaning = service.level_meaning(ps.level).both()
    return PersonSkillRead(
        skill_id=ps.skill_id, skill_code=ps.skill.code, skill_name=ps.skill.name, level=ps.level,
        level_meaning_zh=meaning["zh_CN"], level_meaning_en=meaning["en"], assessed_on=ps.assessed_on,
        assessed_by=ps.assessed_by.display_name if ps.assessed_by else None, version=ps.version)


def certification_read(cert: Certification, today: date) -> CertificationRead:
    return CertificationRead(
        id=cert.id, user_id=cert.user_id, username=cert.user.username, display_name=cert.user.display_name,
        name=cert.name, skill_id=cert.skill_id, skill_code=cert.skill.code if cert.skill else None,
        number=cert.number, issuer=cert.issuer, issued_on=cert.issued_on, expires_on=cert.expires_on,
        state=service.certification_state(cert, today), days_left=service.days_left(cert, today),
        version=cert.version)


def plan_read(session: Session, plan: TrainingPlan, today: date) -> TrainingPlanRead:
    return TrainingPlanRead(
        id=plan.id, name=plan.name, description=plan.description, due_on=plan.due_on, active=plan.active,
        version=plan.version, targets=[TrainingTargetRead(
            id=p.target.id, user_id=p.target.user_id, display_name=p.target.user.display_name,
            skill_id=p.target.skill_id, skill_code=p.target.skill.code, target_level=p.target.target_level,
            current_level=p.current_level, due_on=p.due_on, state=p.state)
            for p in service.plan_progress(session, plan, today)])


def record_read(r: TrainingRecord) -> TrainingRecordRead:
    return TrainingRecordRead(
        id=r.id, trainee_id=r.trainee_id, trainee=r.trainee.display_name, skill_id=r.skill_id,
        skill_code=r.skill.code, trainer_id=r.trainer_id, trainer=r.trainer_label, plan_id=r.plan_id,
        trained_on=r.trained_on, hours=r.hours, result=r.result, level_reached=r.level_reached, note=r.note)


def qualification_read(q: service.Qualification) -> QualificationRead:
    both = q.reason.both() if q.reason else {"zh_CN": None, "en": None}
    return QualificationRead(
        ok=q.ok, user_id=q.user_id, skill_code=q.skill_code, level_required=q.level_required,
        level_held=q.level_held, code=q.code, reason=str(q.reason) if q.reason else None,
        reason_zh=both["zh_CN"], reason_en=both["en"], certification_expires_on=q.certification_expires_on,
        overridden=q.overridden)


def entry_read(e: RosterEntry) -> RosterEntryRead:
    return RosterEntryRead(
        id=e.id, day=e.day, shift_code=e.shift_code, line_id=e.line_id, work_center_id=e.work_center_id,
        work_center_code=e.work_center.code if e.work_center else None, user_id=e.user_id,
        display_name=e.user.display_name, note=e.note, version=e.version)


def coverage_read(c: service.ShiftCoverage) -> CoverageRead:
    return CoverageRead(
        line_id=c.line.id, day=c.day, shift_code=c.shift_code, rostered_user_ids=[u.id for u in c.people],
        requirements=[RequirementRead(
            work_center_id=r.work_center.id, work_center_code=r.work_center.code, skill_code=r.skill_code,
            level=r.level, operations=[OperationNeedRead(operation_id=n.operation_id,
                                                         work_order_code=n.work_order_code, seq=n.seq,
                                                         name=n.name) for n in r.operations],
            qualified_user_ids=[u.id for u in r.qualified], covered=r.covered) for r in c.requirements],
        uncovered=len(c.uncovered),
        assignments=[AssignmentRead(user_id=a.user.id, display_name=a.user.display_name,
                                    work_center_id=a.work_center.id, work_center_code=a.work_center.code)
                     for a in c.assignments],
        uncovered_work_centers=[UncoveredWorkCenterRead(work_center_id=wc.id, work_center_code=wc.code,
                                                        needs=needs) for wc, needs in c.uncovered_work_centers],
        spare_user_ids=[u.id for u in c.spare])


class CertificationList(BaseModel):
    total: int
    items: list[CertificationRead]


class TrainingRecordList(BaseModel):
    total: int
    items: list[TrainingRecordRead]


# -- the catalogue ----------------------------------------------------------------------------------------------


@router.get("/skills")
def list_skills(session: SessionDep, user: Viewer, q: str | None = None, category: SkillCategory | None = None,
                active: bool | None = None) -> list[SkillRead]:
    """The skill catalogue by code, optionally searched, of one category, active or not."""
    stmt = service.skill_query(q=q, category=category, active=None if active is None else str(int(active)))
    return [SkillRead.model_validate(sk) for sk in session.scalars(stmt.order_by(service.SKILL_SORTS["code"]))]


@router.post("/skills", status_code=201)
def create_skill(body: SkillCreate, uow: UowDep, user: Creator) -> SkillRead:
    skill = service.create_skill(uow, body)
    uow.commit()
    return SkillRead.model_validate(skill)


# -- people ------------------------------------------------------------------------------------------------------


@router.get("/skills/people/{user_id}")
def person_skills(user_id: int, session: SessionDep, user: Viewer) -> PersonSkillsRead:
    """A person's levels and certifications."""
    person = service.get_person(session, user_id)
    today = service.site_today(session)
    return PersonSkillsRead(
        user_id=person.id, username=person.username, display_name=person.display_name,
        skills=[level_read(ps) for ps in service.person_skills(session, person.id)],
        certifications=[certification_read(c, today) for c in service.certifications_of(session, [person.id])])


@router.put("/skills/people/{user_id}/levels")
def set_level(user_id: int, body: LevelSet, uow: UowDep, user: Changer) -> PersonSkillRead:
    """Set a person's level of a skill (1–4), as assessed by someone on a day; kept in their level history."""
    ps = service.set_skill_level(uow, user_id, body)
    uow.commit()
    return level_read(service.person_skill(uow.session, ps.user_id, ps.skill_id))  # type: ignore[arg-type]


# -- certifications -------------------------------------------------------------------------------------------------


@router.get("/skills/certifications")
def list_certifications(
    request: Request, session: SessionDep, user: Viewer, q: str | None = None, user_id: int | None = None,
    skill_id: int | None = None, state: CertificationState | None = None,
    within: Annotated[int | None, Query(ge=0, le=3660)] = None,
) -> CertificationList:
    """Certifications, the soonest to expire first; `state` and `within` (days) are for today at the site."""
    today = service.site_today(session)
    lq = ListQuery.from_request(request)
    stmt = service.certification_query(q=q, user_id=user_id, skill_id=skill_id, state=state, within=within,
                                       today=today)
    page = paginate(session, stmt, lq, service.CERTIFICATION_SORTS,
                    [Certification.expires_on.asc(), Certification.id])
    return CertificationList(total=page.total, items=[certification_read(c, today) for c in page.items])


@router.post("/skills/certifications", status_code=201)
def add_certification(body: CertificationCreate, uow: UowDep, user: Creator) -> CertificationRead:
    cert = service.add_certification(uow, body)
    uow.commit()
    return certification_read(service.get_certification(uow.session, cert.id), service.site_today(uow.session))


@router.patch("/skills/certifications/{certification_id}")
def update_certification(certification_id: int, body: CertificationUpdate, uow: UowDep,
                         user: Changer) -> CertificationRead:
    """Change a certification (a renewal: a new expiry date); a stale `version` gets 409."""
    cert = service.update_certification(uow, certification_id, body)
    uow.commit()
    return certification_read(cert, service.site_today(uow.session))


# -- training ---------------------------------------------------------------------------------------------------------


@router.get("/skills/training-plans")
def list_training_plans(session: SessionDep, user: Viewer, active_only: bool = True) -> list[TrainingPlanRead]:
    """Training plans with each target's progress (the level held now)."""
    today = service.site_today(session)
    return [plan_read(session, p, today) for p in service.list_training_plans(session, active_only=active_only)]


@router.post("/skills/training-plans", status_code=201)
def create_training_plan(body: TrainingPlanCreate, uow: UowDep, user: Creator) -> TrainingPlanRead:
    plan = service.create_training_plan(uow, body)
    uow.commit()
    return plan_read(uow.session, service.get_training_plan(uow.session, plan.id), service.site_today(uow.session))


@router.get("/skills/training-plans/{plan_id}")
def get_training_plan(plan_id: int, session: SessionDep, user: Viewer) -> TrainingPlanRead:
    return plan_read(session, service.get_training_plan(session, plan_id), service.site_today(session))


@router.patch("/skills/training-plans/{plan_id}")
def update_training_plan(plan_id: int, body: TrainingPlanUpdate, uow: UowDep, user: Changer) -> TrainingPlanRead:
    plan = service.update_training_plan(uow, plan_id, body)
    uow.commit()
    return plan_read(uow.session, plan, service.site_today(uow.session))


@router.post("/skills/training-plans/{plan_id}/targets", status_code=201)
def add_training_target(plan_id: int, body: TrainingTargetIn, uow: UowDep, user: Changer) -> TrainingPlanRead:
    """Add one person's target (a level of a skill) to a plan."""
    service.add_training_target(uow, plan_id, body)
    uow.commit()
    session = uow.session
    return plan_read(session, service.get_training_plan(session, plan_id), service.site_today(session))


@router.get("/skills/training-records")
def list_training_records(
    request: Request, session: SessionDep, user: Viewer, q: str | None = None, skill_id: int | None = None,
    trainee_id: int | None = None, result: TrainingResult | None = None, date_from: date | None = None,
    date_to: date | None = None,
) -> TrainingRecordList:
    """Training records, the latest first."""
    lq = ListQuery.from_request(request)
    stmt = service.training_record_query(q=q, skill_id=skill_id, trainee_id=trainee_id, result=result,
                                         date_from=date_from, date_to=date_to)
    page = paginate(session, stmt, lq, service.TRAINING_RECORD_SORTS,
                    [TrainingRecord.trained_on.desc(), TrainingRecord.id.desc()])
    return TrainingRecordList(total=page.total, items=[record_read(r) for r in page.items])


@router.post("/skills/training-records", status_code=201)
def record_training(body: TrainingRecordCreate, uow: UowDep, user: Creator) -> TrainingRecordRead:
    """Record a training; a pass with a level reached above the trainee's raises their level."""
    record = service.record_training(uow, body)
    uow.commit()
    return record_read(record)


# -- at the machine -----------------------------------------------------------------------------------------------------


@router.post("/skills/qualification-check")
def qualification_check(body: QualificationCheckIn, session: SessionDep, user: Viewer) -> QualificationRead:
    """May this person (default: you) do this operation, or work needing this skill at this level? When not, the
    reason in both languages — and whether a supervisor has overridden it for the operation."""
    person = body.user_id if body.user_id is not None else user.user_id
    if body.operation_id is not None:
        q = service.check_operation_qualification(session, person, body.operation_id, body.on)
    else:
        q = service.check_qualification(session, person, body.skill_code, body.level,
                                        body.on or service.site_today(session))
    return qualification_read(q)


@router.post("/skills/qualification-override")
def qualification_override(body: QualificationOverrideIn, db: DbDep, user: Operator) -> QualificationOverrideRead:
    """A supervisor signs, at the operator's phone, that the operator may run an operation they are not
    qualified for. A wrong password performs nothing (and is on record); so does a supervisor without
    `skill.approve` over the operation's work center."""
    operator = body.operator_id if body.operator_id is not None else user.user_id
    supervisor = service.supervisor_id_for(db, body.supervisor_username, body.operation_id)
    signature = service.override_qualification(
        db, SignatureIn(password=body.password, totp=body.totp, meaning=body.meaning, reason=body.reason),
        supervisor_id=supervisor, operator_id=operator, operation_id=body.operation_id)
    return QualificationOverrideRead(
        signature_id=signature.id, operation_id=body.operation_id, operator_id=operator,
        supervisor_id=signature.user_id, supervisor=signature.display_name, meaning=signature.meaning,
        reason=signature.reason, signed_at=signature.signed_at)


# After every /skills/<word> route above: `/skills/certifications` is not skill number "certifications".


@router.get("/skills/{skill_id}")
def get_skill(skill_id: int, session: SessionDep, user: Viewer) -> SkillRead:
    return SkillRead.model_validate(service.get_skill(session, skill_id))


@router.patch("/skills/{skill_id}")
def update_skill(skill_id: int, body: SkillUpdate, uow: UowDep, user: Changer) -> SkillRead:
    """Change a skill; a stale `version` gets 409."""
    skill = service.update_skill(uow, skill_id, body)
    uow.commit()
    return SkillRead.model_validate(skill)


# -- rosters ------------------------------------------------------------------------------------------------------------


class AssignmentApply(BaseModel):
    line_id: int
    day: date
    shift_code: str


@router.get("/rosters", tags=["rosters"])
def list_roster(session: SessionDep, user: RosterViewer, line_id: int | None = None, day_from: date | None = None,
                day_to: date | None = None, shift_code: str | None = None,
                user_id: int | None = None) -> list[RosterEntryRead]:
    """Roster entries by day, shift and name."""
    stmt = service.roster_query(line_id=line_id, day_from=day_from, day_to=day_to, shift_code=shift_code,
                                user_id=user_id)
    return [entry_read(e) for e in session.scalars(stmt.limit(5000))]


@router.post("/rosters", status_code=201, tags=["rosters"])
def add_roster_entry(body: RosterEntryCreate, uow: UowDep, user: RosterCreator) -> RosterEntryRead:
    """Put a person on a line's roster for one shift of a day (optionally at a work center)."""
    entry = service.add_roster_entry(uow, body)
    uow.commit()
    return entry_read(service.get_roster_entry(uow.session, entry.id))


@router.delete("/rosters/{entry_id}", status_code=204, tags=["rosters"])
def remove_roster_entry(entry_id: int, uow: UowDep, user: RosterChanger, version: int | None = None) -> None:
    service.remove_roster_entry(uow, entry_id, version)
    uow.commit()


@router.get("/rosters/coverage", tags=["rosters"])
def coverage(line_id: int, day: date, shift_code: str, session: SessionDep, user: RosterViewer) -> CoverageRead:
    """Which planned work of a line's shift has no qualified rostered person, and the suggested assignment."""
    return coverage_read(service.shift_coverage(session, line_id, day, shift_code))


@router.post("/rosters/assignment", tags=["rosters"])
def apply_assignment(body: AssignmentApply, uow: UowDep, user: RosterChanger) -> CoverageRead:
    """Put the shift's people on the work centers of the suggested assignment."""
    result = service.apply_suggestion(uow, body.line_id, body.day, body.shift_code)
    uow.commit()
    return coverage_read(result)
