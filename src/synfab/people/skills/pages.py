"""Skills pages: the skill matrix (a heat map of people × skills by line), the skill catalogue, a person's skills,
training plans and records, certifications about to expire, and shift rosters with their coverage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from synfab.connect.files.export import template_workbook
from synfab.connect.files.pages import read_upload, xlsx_response
from synfab.connect.files.registry import kinds
from synfab.connect.files.runner import run_import
from synfab.core.errors import DomainError, Invalid
from synfab.core.i18n import N_, _, _l, current_locale
from synfab.core.uow import UnitOfWork
from synfab.people.models import User
from synfab.people.service import Principal
from synfab.people.skills import service
from synfab.people.skills.choices import (
    EXPIRING_WITHIN_DAYS, LEVELS, TRAINER_LEVEL, CertificationState, SkillCategory, SkillLevel, TrainingResult,
)
from synfab.people.skills.models import Certification, Skill, TrainingRecord
from synfab.people.skills.schemas import (
    CertificationCreate, CertificationUpdate, LevelSet, RosterEntryCreate, SkillCreate, SkillUpdate,
    TrainingPlanCreate, TrainingRecordCreate, TrainingTargetIn,
)
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode
from synfab.web.forms import checked as _checked
from synfab.web.deps import DbDep, SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/skills")
S = TypeVar("S", bound=BaseModel)

NAV = [
    NavItem(N_("People"), N_("Skill matrix"), "/skills/matrix", "skill.view", "▥"),
    NavItem(N_("People"), N_("Skill catalogue"), "/skills/catalogue", "skill.view", "☰"),
    NavItem(N_("People"), N_("Training"), "/skills/training", "skill.view", "✎"),
    NavItem(N_("People"), N_("Certifications"), "/skills/certifications", "skill.view", "✪"),
    NavItem(N_("People"), N_("Shift rosters"), "/skills/rosters", "roster.view", "▦"),
]

Viewer = Annotated[Principal, require("skill.view")]
Creator = Annotated[Principal, require("skill.create")]
Changer = Annotated[Principal, require("skill.change")]
RosterViewer = Annotated[Principal, require("roster.view")]
RosterCreator = Annotated[Principal, require("roster.create")]
RosterChanger = Annotated[Principal, require("roster.change")]

MATRIX_FILTERS = ("line_id", "category")
SKILL_FILTERS = ("category", "active")
CERTIFICATION_FILTERS = ("state", "within", "skill_id")
RECORD_FILTERS = ("skill_id", "result", "date_from", "date_to")
# Kinds HR imports from the skills pages (HR holds no general import permission).
IMPORT_KINDS = ("skills", "skill_levels")

# Heat map of levels 0 (not held) to 4: one hue, darker for more.
LEVEL_STYLES = {
    0: "background: #f4f6f9; color: #9aa5b1",
    1: "background: #e8f5e9; color: #1b5e20",
    2: "background: #a5d6a7; color: #1b5e20",
    3: "background: #66bb6a; color: #fff",
    4: "background: #2e7d32; color: #fff",
}


def home_cards(session: Session, user: Principal) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    if user.can("skill.view"):
        today = service.site_today(session)
        cards.append({"label": _("Certifications expiring within {days} days", days=EXPIRING_WITHIN_DAYS),
                      "value": service.expiring_count(session, today),
                      "url": f"/skills/certifications?within={EXPIRING_WITHIN_DAYS}"})
    if user.can("roster.view"):
        cards.append({"label": _("Skill needs of today's shifts without a qualified person"),
                      "value": service.uncovered_today(session), "url": "/skills/rosters"})
    return cards


# -- form helpers -----------------------------------------------------------------------------------------------




def _day(text: str, field: Any) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("not_a_date", _l("{field}: enter a date as YYYY-MM-DD, not {value}.",
                                       field=field, value=text)) from None


def _opt_day(text: str, field: Any) -> date | None:
    return _day(text, field) if text.strip() else None


def _opt_int(text: str, field: Any) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise Invalid("not_a_number", _l("{field}: enter a whole number, not {value}.",
                                         field=field, value=text)) from None


def _hours(text: str) -> Decimal:
    try:
        number = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise Invalid("not_a_number", _l("{field}: enter a number, not {value}.", field=_l("Hours"), value=text))
    return number


def _lines(session: Session) -> list[PlantNode]:
    return plant.list_nodes(session, levels=[Level.LINE])


def _submit(uow: UnitOfWork, key: str, scope: str, make: Callable[[], Any], done_url: Callable[[Any], str],
            failed: Callable[[DomainError], Response]) -> Response:
    """Run a form's change once per idempotency key; a refused change shows the page again with the reason."""
    seen = uow.claim_idempotency(key, scope)
    if seen is not None:
        return RedirectResponse(seen.get("url", "/skills/matrix"), status_code=303)
    try:
        result = make()
        url = done_url(result)
    except DomainError as exc:
        uow.rollback()
        return failed(exc)
    uow.complete_idempotency(key, {"url": url})
    uow.commit()
    return RedirectResponse(url, status_code=303)


# -- the skill matrix ---------------------------------------------------------------------------------------------


def _cell_marks(session: Session, people: list[User], skills: list[Skill], levels: dict[tuple[int, int], Any],
                today: date) -> dict[tuple[int, int], CertificationState | None]:
    """For each person and skill they hold: the state of the certification behind it (the latest-expiring one),
    EXPIRED also when the skill needs a certification and they hold no valid one."""
    latest: dict[tuple[int, int], Certification] = {}
    for cert in service.certifications_of(session, [p.id for p in people]):
        if cert.skill_id is not None:
            latest.setdefault((cert.user_id, cert.skill_id), cert)
    marks: dict[tuple[int, int], CertificationState | None] = {}
    for person in people:
        for skill in skills:
            key = (person.id, skill.id)
            if key not in levels:
                continue
            cert = latest.get(key)
            state = service.certification_state(cert, today) if cert else None
            if skill.certification_required and state in (None, CertificationState.NOT_YET):
                state = CertificationState.EXPIRED
            marks[key] = state
    return marks


@router.get("/matrix", response_class=HTMLResponse)
def matrix_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    lq = ListQuery.from_request(request, MATRIX_FILTERS)
    page = paginate(session, service.matrix_people_query(lq.filters.get("line_id"), lq.q), lq,
                    service.MATRIX_SORTS, [User.display_name, User.id])
    skills = service.list_skills(session, category=lq.filters.get("category"))
    people = page.items
    levels = service.levels_of(session, [p.id for p in people])
    today = service.site_today(session)
    return render(request, "skills/matrix.html", page=page, lq=lq, skills=skills, levels=levels,
                  marks=_cell_marks(session, people, skills, levels, today), lines=_lines(session),
                  person_lines=service.lines_of_people(session, [p.id for p in people]), categories=SkillCategory,
                  level_styles=LEVEL_STYLES, level_names=SkillLevel, states=CertificationState)


def _import_page(request: Request, report: Any = None) -> Response:
    found = kinds()
    return render(request, "skills/import.html", kinds=[found[k] for k in IMPORT_KINDS if k in found],
                  report=report, status_code=200 if report is None or report.ok else 422)


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, user: Viewer) -> Response:
    return _import_page(request)


@router.post("/import", response_class=HTMLResponse)
async def import_upload(request: Request, db: DbDep, user: Changer, file: Annotated[UploadFile, File()],
                        dry_run: Annotated[bool, Form()] = False) -> Response:
    """Import the skill catalogue and people's levels from Excel: all or nothing; the same file twice changes
    nothing. Sheets of other kinds need their own import permissions."""
    data = await read_upload(file)
    report = await run_in_threadpool(run_import, db, data, file.filename or "skills.xlsx", dry_run=dry_run,
                                     can=user.can)
    return _import_page(request, report)


@router.get("/import/template.xlsx")
def import_template(user: Viewer) -> Response:
    found = kinds()
    locale = current_locale()
    return xlsx_response(template_workbook([found[k] for k in IMPORT_KINDS], locale),
                         f"{_('Skills')}-template.xlsx")


# -- the skill catalogue -------------------------------------------------------------------------------------------


def _catalogue(request: Request, session: Session, *, error: DomainError | None = None,
               values: dict[str, Any] | None = None) -> Response:
    lq = ListQuery.from_request(request, SKILL_FILTERS)
    page = paginate(session, service.skill_query(q=lq.q, **lq.filters), lq, service.SKILL_SORTS, [Skill.code])
    return render(request, "skills/catalogue.html", page=page, lq=lq, categories=SkillCategory, error=error,
                  values=values or {}, status_code=error.status_code if error else 200)


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    return _catalogue(request, session)


@router.post("/catalogue")
def create_skill(
    request: Request, uow: UowDep, user: Creator, idempotency_key: Annotated[str, Form()],
    code: Annotated[str, Form()], name: Annotated[str, Form()], name_en: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = SkillCategory.OTHER.value, description: Annotated[str, Form()] = "",
    certification_required: Annotated[bool, Form()] = False,
) -> Response:
    """Add a skill; the form sent twice adds one."""
    values = {"code": code, "name": name, "name_en": name_en, "category": category, "description": description,
              "certification_required": certification_required}
    return _submit(
        uow, idempotency_key, "skills.create_skill",
        lambda: service.create_skill(uow, _checked(
            SkillCreate, code=code.strip(), name=name.strip(), name_en=name_en.strip() or None, category=category,
            description=description.strip() or None, certification_required=certification_required)),
        lambda skill: f"/skills/catalogue/{skill.id}",
        lambda exc: _catalogue(request, uow.session, error=exc, values=values))


def _skill_page(request: Request, session: Session, skill_id: int, error: DomainError | None = None) -> Response:
    skill = service.get_skill(session, skill_id)
    holders = list(session.scalars(service.skill_matrix_query().where(Skill.id == skill.id)))
    return render(request, "skills/skill.html", skill=skill, holders=holders, categories=SkillCategory,
                  level_styles=LEVEL_STYLES, level_names=SkillLevel, error=error, status_code=error.status_code if error else 200)


@router.get("/catalogue/{skill_id}", response_class=HTMLResponse)
def skill_page(skill_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    return _skill_page(request, session, skill_id)


@router.post("/catalogue/{skill_id}")
def update_skill(
    skill_id: int, request: Request, uow: UowDep, user: Changer, version: Annotated[int, Form()],
    name: Annotated[str, Form()], name_en: Annotated[str, Form()] = "", category: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "", certification_required: Annotated[bool, Form()] = False,
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Change a skill; someone else's change since the page was loaded is refused (reload)."""
    try:
        service.update_skill(uow, skill_id, _checked(
            SkillUpdate, version=version, name=name.strip(), name_en=name_en.strip() or None,
            category=category or None, description=description.strip() or None,
            certification_required=certification_required, active=active))
    except DomainError as exc:
        uow.rollback()
        return _skill_page(request, uow.session, skill_id, exc)
    uow.commit()
    return RedirectResponse(f"/skills/catalogue/{skill_id}", status_code=303)


# -- a person's skills ---------------------------------------------------------------------------------------------


def _person(request: Request, session: Session, user_id: int, error: DomainError | None = None) -> Response:
    person = service.get_person(session, user_id)
    today = service.site_today(session)
    levels = service.person_skills(session, person.id)
    certs = service.certifications_of(session, [person.id])
    targets = [p for plan in service.list_training_plans(session) for p in service.plan_progress(session, plan, today)
               if p.target.user_id == person.id]
    records = list(session.scalars(service.training_record_query(trainee_id=person.id)
                                   .order_by(TrainingRecord.trained_on.desc(), TrainingRecord.id.desc())))
    skills = service.list_skills(session)
    held = {ps.skill_id for ps in levels}
    return render(
        request, "skills/person.html", person=person, levels=levels, certs=certs, today=today, targets=targets,
        records=records, history=service.level_history(session, person.id),
        overrides=service.overrides_of(session, person.id), skills=skills,
        new_skills=[sk for sk in skills if sk.id not in held], people=service.list_people(session, None),
        lines=service.lines_of_people(session, [person.id]).get(person.id, []), level_names=SkillLevel,
        level_styles=LEVEL_STYLES, results=TrainingResult, error=error, trainer_level=TRAINER_LEVEL,
        status_code=error.status_code if error else 200,
        state_of=lambda c: service.certification_state(c, today), days_left=lambda c: service.days_left(c, today))


@router.get("/people/{user_id}", response_class=HTMLResponse)
def person_page(user_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    return _person(request, session, user_id)


@router.post("/people/{user_id}/levels")
def set_level(
    user_id: int, request: Request, uow: UowDep, user: Changer, skill_id: Annotated[int, Form()],
    level: Annotated[int, Form()], assessed_on: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """Set a person's level of a skill as assessed today (or on the given day)."""
    try:
        service.set_skill_level(uow, user_id, _checked(
            LevelSet, skill_id=skill_id, level=level, assessed_on=_opt_day(assessed_on, _l("Assessed on")),
            note=note.strip() or None, version=_opt_int(version, "version")))
    except DomainError as exc:
        uow.rollback()
        return _person(request, uow.session, user_id, exc)
    uow.commit()
    return RedirectResponse(f"/skills/people/{user_id}#levels", status_code=303)


@router.post("/people/{user_id}/certifications")
def add_certification(
    user_id: int, request: Request, uow: UowDep, user: Creator, idempotency_key: Annotated[str, Form()],
    name: Annotated[str, Form()], issued_on: Annotated[str, Form()], expires_on: Annotated[str, Form()] = "",
    skill_id: Annotated[str, Form()] = "", number: Annotated[str, Form()] = "", issuer: Annotated[str, Form()] = "",
) -> Response:
    """Record a certification the person holds; the form sent twice records one."""
    return _submit(
        uow, idempotency_key, "skills.add_certification",
        lambda: service.add_certification(uow, _checked(
            CertificationCreate, user_id=user_id, name=name.strip(), skill_id=_opt_int(skill_id, "skill_id"),
            number=number.strip() or None, issuer=issuer.strip() or None,
            issued_on=_day(issued_on, _l("Issued on")), expires_on=_opt_day(expires_on, _l("Expires on")))),
        lambda _cert: f"/skills/people/{user_id}#certifications",
        lambda exc: _person(request, uow.session, user_id, exc))


@router.post("/certifications/{certification_id}")
def renew_certification(
    certification_id: int, request: Request, uow: UowDep, user: Changer, version: Annotated[int, Form()],
    issued_on: Annotated[str, Form()], expires_on: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
) -> Response:
    """Renew a certification: new dates (and number); it is reminded again before the new expiry."""
    cert = service.get_certification(uow.session, certification_id)
    owner = cert.user_id
    try:
        fields: dict[str, Any] = {"version": version, "issued_on": _day(issued_on, _l("Issued on")),
                                  "expires_on": _opt_day(expires_on, _l("Expires on"))}
        if number.strip():
            fields["number"] = number.strip()
        service.update_certification(uow, certification_id, _checked(CertificationUpdate, **fields))
    except DomainError as exc:
        uow.rollback()
        return _person(request, uow.session, owner, exc)
    uow.commit()
    return RedirectResponse(f"/skills/people/{owner}#certifications", status_code=303)


def _record_from_form(trainee_id: int, skill_id: int, trained_on: str, hours: str, result: str,
                      level_reached: str, trainer_id: str, trainer_name: str, plan_id: str,
                      note: str) -> TrainingRecordCreate:
    return _checked(
        TrainingRecordCreate, trainee_id=trainee_id, skill_id=skill_id, trained_on=_day(trained_on, _l("Date")),
        hours=_hours(hours), result=result, level_reached=_opt_int(level_reached, _l("Level reached")),
        trainer_id=_opt_int(trainer_id, _l("Trainer")), trainer_name=trainer_name.strip() or None,
        plan_id=_opt_int(plan_id, _l("Training plan")), note=note.strip() or None)


@router.post("/people/{user_id}/training")
def record_person_training(
    user_id: int, request: Request, uow: UowDep, user: Creator, idempotency_key: Annotated[str, Form()],
    skill_id: Annotated[int, Form()], trained_on: Annotated[str, Form()], hours: Annotated[str, Form()],
    result: Annotated[str, Form()], level_reached: Annotated[str, Form()] = "",
    trainer_id: Annotated[str, Form()] = "", trainer_name: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Record a training the person took; a pass with a level reached raises their level."""
    return _submit(
        uow, idempotency_key, "skills.record_training",
        lambda: service.record_training(uow, _record_from_form(
            user_id, skill_id, trained_on, hours, result, level_reached, trainer_id, trainer_name, "", note)),
        lambda _rec: f"/skills/people/{user_id}#training",
        lambda exc: _person(request, uow.session, user_id, exc))


# -- training ---------------------------------------------------------------------------------------------------------


def _training(request: Request, session: Session, error: DomainError | None = None) -> Response:
    lq = ListQuery.from_request(request, RECORD_FILTERS)
    page = paginate(session, service.training_record_query(q=lq.q, **lq.filters), lq,
                    service.TRAINING_RECORD_SORTS, [TrainingRecord.trained_on.desc(), TrainingRecord.id.desc()])
    today = service.site_today(session)
    plans = [(plan, service.plan_progress(session, plan, today)) for plan in service.list_training_plans(session)]
    return render(request, "skills/training.html", page=page, lq=lq, plans=plans, today=today,
                  skills=service.list_skills(session), people=service.list_people(session, "create"),
                  trainers=service.list_people(session, None),
                  results=TrainingResult, levels=LEVELS, level_names=SkillLevel, error=error,
                  status_code=error.status_code if error else 200)


@router.get("/training", response_class=HTMLResponse)
def training_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    return _training(request, session)


@router.post("/training/plans")
def create_plan(
    request: Request, uow: UowDep, user: Creator, idempotency_key: Annotated[str, Form()],
    name: Annotated[str, Form()], due_on: Annotated[str, Form()], description: Annotated[str, Form()] = "",
) -> Response:
    return _submit(
        uow, idempotency_key, "skills.create_plan",
        lambda: service.create_training_plan(uow, _checked(
            TrainingPlanCreate, name=name.strip(), due_on=_day(due_on, _l("Due by")),
            description=description.strip() or None)),
        lambda plan: f"/skills/training#plan-{plan.id}",
        lambda exc: _training(request, uow.session, exc))


@router.post("/training/plans/{plan_id}/targets")
def add_target(
    plan_id: int, request: Request, uow: UowDep, user: Changer, idempotency_key: Annotated[str, Form()],
    user_id: Annotated[int, Form()], skill_id: Annotated[int, Form()], target_level: Annotated[int, Form()],
    due_on: Annotated[str, Form()] = "",
) -> Response:
    """Add a person's target (reach a level of a skill) to a plan."""
    return _submit(
        uow, idempotency_key, "skills.add_target",
        lambda: service.add_training_target(uow, plan_id, _checked(
            TrainingTargetIn, user_id=user_id, skill_id=skill_id, target_level=target_level,
            due_on=_opt_day(due_on, _l("Due by")))),
        lambda _t: f"/skills/training#plan-{plan_id}",
        lambda exc: _training(request, uow.session, exc))


@router.post("/training/records")
def record_training(
    request: Request, uow: UowDep, user: Creator, idempotency_key: Annotated[str, Form()],
    trainee_id: Annotated[int, Form()], skill_id: Annotated[int, Form()], trained_on: Annotated[str, Form()],
    hours: Annotated[str, Form()], result: Annotated[str, Form()], level_reached: Annotated[str, Form()] = "",
    trainer_id: Annotated[str, Form()] = "", trainer_name: Annotated[str, Form()] = "",
    plan_id: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
) -> Response:
    """Record a training; the form sent twice records one."""
    return _submit(
        uow, idempotency_key, "skills.record_training",
        lambda: service.record_training(uow, _record_from_form(
            trainee_id, skill_id, trained_on, hours, result, level_reached, trainer_id, trainer_name, plan_id,
            note)),
        lambda _rec: "/skills/training",
        lambda exc: _training(request, uow.session, exc))


# -- certifications -----------------------------------------------------------------------------------------------------


@router.get("/certifications", response_class=HTMLResponse)
def certifications_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    lq = ListQuery.from_request(request, CERTIFICATION_FILTERS)
    today = service.site_today(session)
    page = paginate(session, service.certification_query(q=lq.q, today=today, **lq.filters), lq,
                    service.CERTIFICATION_SORTS, [Certification.expires_on.asc(), Certification.id])
    return render(request, "skills/certifications.html", page=page, lq=lq, today=today, states=CertificationState,
                  skills=service.list_skills(session, active_only=False), within=EXPIRING_WITHIN_DAYS,
                  state_of=lambda c: service.certification_state(c, today),
                  days_left=lambda c: service.days_left(c, today))


# -- rosters -----------------------------------------------------------------------------------------------------------


@router.get("/rosters", response_class=HTMLResponse)
def rosters_page(request: Request, session: SessionDep, user: RosterViewer, line_id: int | None = None,
                 week: date | None = None) -> Response:
    """A line's roster for a week: each running shift with its people and whether its skill needs are covered."""
    lines = service.roster_lines(session)
    line = next((ln for ln in lines if ln.id == line_id), lines[0] if lines else None)
    if line is None:
        return render(request, "skills/rosters.html", lines=lines, line=None, week=None)
    first = (week or service.site_today(session, line))
    first -= timedelta(days=first.weekday())
    return render(request, "skills/rosters.html", lines=lines, line=line,
                  week=service.roster_week(session, line.id, first), today=service.site_today(session, line),
                  previous=first - timedelta(days=7), following=first + timedelta(days=7),
                  weekday_names=[_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")])


def _shift_page(request: Request, session: Session, line_id: int, day: date, shift_code: str,
                error: DomainError | None = None) -> Response:
    coverage = service.shift_coverage(session, line_id, day, shift_code)
    line = coverage.line
    rostered = {u.id for u in coverage.people}
    line_people = {u.id for u in session.scalars(service.matrix_people_query(line_id=line.id))}
    everyone = [p for p in service.list_people(session, None) if p.id not in rostered]
    shift = next((sh for sh in service.line_shifts(session, line) if sh.code == shift_code), None)
    work_centers = [n for n in plant.list_nodes(session, under=line.id) if n.level == Level.WORK_CENTER]
    return render(request, "skills/shift.html", coverage=coverage, line=line, day=day, shift=shift,
                  line_people=[p for p in everyone if p.id in line_people],
                  other_people=[p for p in everyone if p.id not in line_people], work_centers=work_centers,
                  week=day - timedelta(days=day.weekday()), error=error,
                  status_code=error.status_code if error else 200)


@router.get("/rosters/{line_id}/{day}/{shift_code}", response_class=HTMLResponse)
def shift_page(line_id: int, day: date, shift_code: str, request: Request, session: SessionDep,
               user: RosterViewer) -> Response:
    return _shift_page(request, session, line_id, day, shift_code)


@router.post("/rosters/{line_id}/{day}/{shift_code}/entries")
def add_roster_entry(
    line_id: int, day: date, shift_code: str, request: Request, uow: UowDep, user: RosterCreator,
    idempotency_key: Annotated[str, Form()], user_id: Annotated[int, Form()],
    work_center_id: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
) -> Response:
    """Put a person on this shift; the form sent twice adds one entry."""
    here = f"/skills/rosters/{line_id}/{day.isoformat()}/{shift_code}"
    return _submit(
        uow, idempotency_key, "skills.add_roster_entry",
        lambda: service.add_roster_entry(uow, _checked(
            RosterEntryCreate, day=day, shift_code=shift_code, line_id=line_id, user_id=user_id,
            work_center_id=_opt_int(work_center_id, _l("Work center")), note=note.strip() or None)),
        lambda _e: here,
        lambda exc: _shift_page(request, uow.session, line_id, day, shift_code, exc))


@router.post("/rosters/entries/{entry_id}/remove")
def remove_roster_entry(entry_id: int, request: Request, uow: UowDep, user: RosterChanger,
                        version: Annotated[int, Form()]) -> Response:
    entry = service.get_roster_entry(uow.session, entry_id)
    here = (entry.line_id, entry.day, entry.shift_code)
    try:
        service.remove_roster_entry(uow, entry_id, version)
        uow.commit()
    except DomainError as exc:
        uow.rollback()
        return _shift_page(request, uow.session, *here, error=exc)
    return RedirectResponse(f"/skills/rosters/{here[0]}/{here[1].isoformat()}/{here[2]}", status_code=303)


@router.post("/rosters/{line_id}/{day}/{shift_code}/assignment")
def apply_assignment(line_id: int, day: date, shift_code: str, request: Request, uow: UowDep,
                     user: RosterChanger) -> Response:
    """Put the shift's people on the work centers the suggested assignment gives them."""
    try:
        service.apply_suggestion(uow, line_id, day, shift_code)
        uow.commit()
    except DomainError as exc:
        uow.rollback()
        return _shift_page(request, uow.session, line_id, day, shift_code, exc)
    return RedirectResponse(f"/skills/rosters/{line_id}/{day.isoformat()}/{shift_code}", status_code=303)
