"""Certifications people hold (licences, 上岗证), what state they are in on a day, and reminders before they lapse."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from synfab.core.db import Database, check_version
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import User
from synfab.people.skills.choices import EXPIRING_WITHIN_DAYS, REMINDER_DAYS, CertificationState
from synfab.people.skills.events import CertificationAdded, CertificationChanged, CertificationExpiring
from synfab.people.skills.models import Certification, CertificationReminder, Skill
from synfab.people.skills.schemas import CertificationCreate, CertificationUpdate
from synfab.people.skills.service.catalogue import get_skill
from synfab.people.skills.service.common import (
    apply_changes, choice_filter, get_person, int_filter, search, site_today,
)

CERTIFICATION_SORTS: dict[str, Any] = {
    "expires": Certification.expires_on, "issued": Certification.issued_on, "name": Certification.name,
    "person": User.display_name,
}


def certification_state(cert: Certification, on: date) -> CertificationState:
    """Valid, expiring soon (within 30 days), expired, or not valid yet — on a day."""
    if cert.issued_on > on:
        return CertificationState.NOT_YET
    if cert.expires_on is None:
        return CertificationState.VALID
    if cert.expires_on < on:
        return CertificationState.EXPIRED
    if (cert.expires_on - on).days <= EXPIRING_WITHIN_DAYS:
        return CertificationState.EXPIRING
    return CertificationState.VALID


def is_valid_on(cert: Certification, on: date) -> bool:
    """Whether the certification qualifies on that day (its last day included)."""
    return cert.issued_on <= on and (cert.expires_on is None or cert.expires_on >= on)


def days_left(cert: Certification, on: date) -> int | None:
    return None if cert.expires_on is None else (cert.expires_on - on).days


def get_certification(session: Session, certification_id: int) -> Certification:
    cert = session.get(Certification, certification_id)
    if cert is None:
        raise NotFound("certification_not_found", _l("There is no certification with id {id}.", id=certification_id))
    return cert


def certifications_of(session: Session, user_ids: Iterable[int]) -> list[Certification]:
    """The certifications of some people, latest expiry first."""
    ids = list(user_ids)
    if not ids:
        return []
    return list(session.scalars(select(Certification).where(Certification.user_id.in_(ids))
                                .order_by(Certification.user_id, Certification.expires_on.desc())))


def certification_query(q: str | None = None, user_id: Any = None, skill_id: Any = None, state: Any = None,
                        within: Any = None, today: date | None = None) -> Select[Any]:
    """Certifications of active people for the certifications page, the API and the export.

    Filters: `q` (part of the certification's name or number, the issuer, or the person's name), `user_id`,
    `skill_id`, `state` (valid, expiring, expired, not_yet — on `today`), `within` (expires within that many
    days from `today`, not yet expired). Sort keys: `CERTIFICATION_SORTS`.
    """
    stmt = select(Certification).join(User, User.id == Certification.user_id).where(User.active.is_(True))
    if (person := int_filter(user_id, "user_id")) is not None:
        stmt = stmt.where(Certification.user_id == person)
    if (skill := int_filter(skill_id, "skill_id")) is not None:
        stmt = stmt.where(Certification.skill_id == skill)
    wanted = choice_filter(CertificationState, state, "state")
    days = int_filter(within, "within")
    if (wanted is not None or days is not None) and today is None:
        raise Invalid("today_required", _l("Say which day the certification states are for."))
    if wanted is not None and today is not None:
        soon = today + timedelta(days=EXPIRING_WITHIN_DAYS)
        started = Certification.issued_on <= today
        stmt = stmt.where({
            CertificationState.NOT_YET: Certification.issued_on > today,
            CertificationState.EXPIRED: started & (Certification.expires_on < today),
            CertificationState.EXPIRING: started & Certification.expires_on.between(today, soon),
            CertificationState.VALID: started & (Certification.expires_on.is_(None) | (Certification.expires_on > soon)),
        }[wanted])
    if days is not None and today is not None:
        stmt = stmt.where(Certification.expires_on.between(today, today + timedelta(days=days)))
    if (cond := search(q, Certification.name, Certification.number, Certification.issuer, User.display_name,
                       User.username)) is not None:
        stmt = stmt.where(cond)
    return stmt  # only the people in the reader's scope: `PersonScoped`


def _check(session: Session, skill_id: int | None, issued_on: date, expires_on: date | None) -> Skill | None:
    skill = get_skill(session, skill_id) if skill_id is not None else None
    if expires_on is not None and expires_on < issued_on:
        raise Invalid("certification_dates", _l("A certification cannot expire ({expires}) before it was issued "
                                                "({issued}).", expires=expires_on.isoformat(),
                                                issued=issued_on.isoformat()))
    return skill


def add_certification(uow: UnitOfWork, data: CertificationCreate) -> Certification:
    """Record a certification a person holds; tied to a skill, it is what qualifies them for that skill."""
    s = uow.session
    person = get_person(s, data.user_id, "create")
    skill = _check(s, data.skill_id, data.issued_on, data.expires_on)
    cert = Certification(**{**data.model_dump(), "name": data.name.strip()})
    s.add(cert)
    uow.flush()
    uow.record(CertificationAdded(certification_id=cert.id, user_id=person.id, name=cert.name,
                                  skill_code=skill.code if skill else None, expires_on=cert.expires_on))
    return cert


def update_certification(uow: UnitOfWork, certification_id: int, data: CertificationUpdate) -> Certification:
    """Change a certification (a renewal is a new expiry date: it is reminded again before that one)."""
    s = uow.session
    cert = get_certification(s, certification_id)
    get_person(s, cert.user_id, "change")
    check_version(cert, data.version)
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if fields.get("name", "") is None:
        del fields["name"]
    if fields.get("issued_on", date.min) is None:
        del fields["issued_on"]
    _check(s, fields.get("skill_id", cert.skill_id), fields.get("issued_on", cert.issued_on),
           fields.get("expires_on", cert.expires_on))
    changes = apply_changes(cert, fields)
    if changes:
        uow.record(CertificationChanged(certification_id=cert.id, user_id=cert.user_id, changes=changes))
    return cert


def expiring_count(session: Session, today: date, within: int = EXPIRING_WITHIN_DAYS) -> int:
    """How many certifications of active people expire within `within` days (the home card)."""
    stmt = certification_query(within=within, today=today)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def remind_expiring_certifications(db: Database, today: date | None = None) -> int:
    """Record a `CertificationExpiring` event for each certification that has come within 30 days of its expiry,
    and again within 7 days — once per certification, expiry date and threshold (a certification first seen
    within 7 days gets one reminder, not two). Returns how many reminders were recorded. The daily job."""
    with db.uow() as uow:
        s = uow.session
        day = today or site_today(s)
        horizon = day + timedelta(days=max(REMINDER_DAYS))
        certs = list(s.scalars(select(Certification).join(User, User.id == Certification.user_id).where(
            User.active.is_(True), Certification.expires_on.between(day, horizon)).order_by(Certification.id)))
        given = {(r.certification_id, r.expires_on, r.threshold_days) for r in s.scalars(
            select(CertificationReminder).where(CertificationReminder.certification_id.in_([c.id for c in certs])))}
        reminded = 0
        for cert in certs:
            assert cert.expires_on is not None
            left = (cert.expires_on - day).days
            reached = [t for t in REMINDER_DAYS if left <= t]
            due = min(reached)
            if (cert.id, cert.expires_on, due) in given:
                continue
            for threshold in reached:
                if (cert.id, cert.expires_on, threshold) not in given:
                    s.add(CertificationReminder(certification_id=cert.id, expires_on=cert.expires_on,
                                                threshold_days=threshold, reminded_on=day))
            person = cert.user
            uow.record(CertificationExpiring(
                certification_id=cert.id, user_id=cert.user_id, username=person.username,
                display_name=person.display_name, name=cert.name, skill_code=cert.skill.code if cert.skill else None,
                expires_on=cert.expires_on, days_left=left, threshold_days=due))
            reminded += 1
        uow.commit()
    return reminded
