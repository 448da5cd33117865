"""Qualification at the machine: may this person run work needing this skill at this level today — and if not,
why not (in both languages). A supervisor holding `skill.approve` over the work center may override with an
electronic signature; the override is recorded with the operation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core.db import Database
from synfab.core.errors import Forbidden, Invalid, NotFound
from synfab.core.i18n import LazyText, _l
from synfab.core.uow import UnitOfWork
from synfab.orders.models import WorkOrderOperation
from synfab.people.models import ESignature, User
from synfab.people.service import principal_for
from synfab.people.service.audit import note_security_event
from synfab.people.schemas import SignatureIn
from synfab.people.service.signatures import SignatureRefused, perform_signed
from synfab.people.skills.choices import LEVELS
from synfab.people.skills.events import QualificationOverridden
from synfab.people.skills.models import Certification, PersonSkill, QualificationOverride, Skill
from synfab.people.skills.service.certifications import is_valid_on
from synfab.people.skills.service.common import get_person, level_meaning, site_today
from synfab.plant.models import PlantNode

OVERRIDE_ACTION = "override_qualification"
OPERATION = "work_order_operation"


@dataclass(frozen=True)
class Qualification:
    """The answer at the machine: `ok`, the level held, and when not ok a `code` and a `reason` in zh/en."""

    ok: bool
    user_id: int
    skill_code: str | None
    level_required: int | None
    level_held: int
    code: str | None = None  # skill_unknown, skill_missing, level_too_low, certification_expired, …_missing
    reason: LazyText | None = None
    certification_expires_on: date | None = None
    overridden: bool = False  # a supervisor signed an override for this operation

    @property
    def allowed(self) -> bool:
        """May start: qualified, or overridden by a supervisor."""
        return self.ok or self.overridden


class OverrideNotAllowed(SignatureRefused):
    """The signer may not approve qualifications where the operation runs: nothing was done."""


class Qualifier:
    """Answers qualification questions for a group of people, with their levels and certifications loaded once
    (a roster's coverage asks hundreds)."""

    def __init__(self, session: Session, user_ids: Iterable[int]) -> None:
        ids = sorted(set(user_ids))
        self.skills = {sk.code: sk for sk in session.scalars(select(Skill))}
        self.names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
        self.levels: dict[tuple[int, int], PersonSkill] = {}
        self.certs: dict[tuple[int, int], list[Certification]] = {}
        if ids:
            for ps in session.scalars(select(PersonSkill).where(PersonSkill.user_id.in_(ids))):
                self.levels[(ps.user_id, ps.skill_id)] = ps
            for cert in session.scalars(select(Certification).where(Certification.user_id.in_(ids),
                                                                    Certification.skill_id.is_not(None))):
                self.certs.setdefault((cert.user_id, cert.skill_id), []).append(cert)  # type: ignore[arg-type]

    def check(self, user_id: int, skill_code: str | None, level: int | None, on: date) -> Qualification:
        if not skill_code or not level:
            return Qualification(True, user_id, skill_code, level, 0)
        if level not in LEVELS:
            raise Invalid("level_out_of_range", _l("A skill level is 1, 2, 3 or 4, not {level}.", level=level))
        name = self.names.get(user_id, str(user_id))
        skill = self.skills.get(skill_code)
        if skill is None:
            return Qualification(False, user_id, skill_code, level, 0, "skill_unknown", _l(
                "The skill {skill} is not in the skill catalogue, so nobody is qualified for it; ask HR to add it.",
                skill=skill_code))
        held = self.levels.get((user_id, skill.id))
        if held is None:
            return Qualification(False, user_id, skill_code, level, 0, "skill_missing", _l(
                "{name} does not hold the skill {skill}; level {level} ({meaning}) is needed.",
                name=name, skill=skill_code, level=level, meaning=level_meaning(level)))
        if held.level < level:
            return Qualification(False, user_id, skill_code, level, held.level, "level_too_low", _l(
                "{name} holds {skill} at level {held} ({held_meaning}); level {level} ({meaning}) is needed.",
                name=name, skill=skill_code, held=held.level, held_meaning=level_meaning(held.level), level=level,
                meaning=level_meaning(level)))
        if skill.certification_required:
            certs = self.certs.get((user_id, skill.id), [])
            valid = [c for c in certs if is_valid_on(c, on)]
            if not valid:
                lapsed = [c for c in certs if c.expires_on is not None and c.expires_on < on]
                if lapsed:
                    last = max(lapsed, key=lambda c: c.expires_on)  # type: ignore[arg-type, return-value]
                    return Qualification(False, user_id, skill_code, level, held.level, "certification_expired", _l(
                        "{name}'s certification {cert} for {skill} expired on {date}; renew it first.",
                        name=name, cert=last.name, skill=skill_code, date=last.expires_on.isoformat()),  # type: ignore[union-attr]
                        certification_expires_on=last.expires_on)
                return Qualification(False, user_id, skill_code, level, held.level, "certification_missing", _l(
                    "{skill} needs a valid certification and {name} holds none.", skill=skill_code, name=name))
            expiry = max((c.expires_on for c in valid if c.expires_on), default=None)
            if any(c.expires_on is None for c in valid):
                expiry = None
            return Qualification(True, user_id, skill_code, level, held.level, certification_expires_on=expiry)
        return Qualification(True, user_id, skill_code, level, held.level)


def check_qualification(session: Session, user_id: int, skill_code: str | None, level: int | None,
                        on: date) -> Qualification:
    """Whether a person may do work needing `skill_code` at `level` on a day: they hold the skill in the
    catalogue at that level or above, and — for skills that need one — a certification tied to it valid that
    day. When not, `code` and `reason` (zh/en) say why: skill_unknown, skill_missing, level_too_low,
    certification_expired, certification_missing. No skill or level asked: qualified."""
    get_person(session, user_id)
    return Qualifier(session, [user_id]).check(user_id, skill_code, level, on)


def not_qualified_error(q: Qualification) -> Forbidden:
    """The refusal for a person not qualified, naming the skill, the level needed and the level held."""
    return Forbidden("not_qualified", _l(
        "Not qualified for {skill}: level {level} is needed, level {held} is held. {reason}",
        skill=q.skill_code, level=q.level_required, held=q.level_held, reason=q.reason or ""),
        details=[{"reason": q.code, "skill_code": q.skill_code, "level_required": q.level_required,
                  "level_held": q.level_held, "message": q.reason.both() if q.reason else None}])


def require_qualified(session: Session, user_id: int, skill_code: str | None, level: int | None,
                      on: date) -> Qualification:
    """`check_qualification`, raising `Forbidden("not_qualified")` when the person is not qualified."""
    q = check_qualification(session, user_id, skill_code, level, on)
    if not q.ok:
        raise not_qualified_error(q)
    return q


# -- at an operation ----------------------------------------------------------------------------------------------


def get_operation(session: Session, operation_id: int) -> WorkOrderOperation:
    op = session.get(WorkOrderOperation, operation_id)
    if op is None:
        raise NotFound("operation_not_found", _l("There is no work order operation {id}.", id=operation_id))
    return op


def _operation_node(session: Session, op: WorkOrderOperation) -> PlantNode:
    """Where the operation runs: its work center, else its work order's line or site."""
    node_id = op.work_center_id or op.work_order.production_line_id or op.work_order.site_id
    node = session.scalar(select(PlantNode).where(PlantNode.id == node_id).execution_options(unrestricted=True))
    assert node is not None
    return node


def override_for(session: Session, operator_id: int, operation_id: int) -> QualificationOverride | None:
    """The latest override signed for this operator and operation, if any."""
    return session.scalar(select(QualificationOverride).where(
        QualificationOverride.operator_id == operator_id, QualificationOverride.operation_id == operation_id)
        .order_by(QualificationOverride.id.desc()).limit(1))


def overrides_of(session: Session, operator_id: int) -> list[QualificationOverride]:
    """The overrides signed for a person, newest first."""
    return list(session.scalars(select(QualificationOverride).where(QualificationOverride.operator_id == operator_id)
                                .order_by(QualificationOverride.id.desc())))


def check_operation_qualification(session: Session, user_id: int, operation_id: int,
                                  on: date | None = None) -> Qualification:
    """`check_qualification` for the skill and level a work order operation requires, on `on` (default: today
    at the operation's site); `overridden` tells whether a supervisor signed an override for it."""
    op = get_operation(session, operation_id)
    day = on or site_today(session, _operation_node(session, op))
    q = check_qualification(session, user_id, op.required_skill, op.required_skill_level, day)
    return replace(q, overridden=not q.ok and override_for(session, user_id, op.id) is not None)


def require_qualified_for_operation(session: Session, user_id: int, operation_id: int,
                                    on: date | None = None) -> Qualification:
    """For the operator terminal: refuse (`not_qualified`) unless qualified for the operation or overridden."""
    q = check_operation_qualification(session, user_id, operation_id, on)
    if not q.allowed:
        raise not_qualified_error(q)
    return q


def supervisor_id_for(db: Database, username: str, operation_id: int) -> int:
    """The user a supervisor's name (typed at the operator's phone) belongs to; an unknown or inactive name is a
    refused signature, on record like a wrong password (and worded the same)."""
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        with db.uow() as uow:
            note_security_event(uow, "signature_refused", OPERATION, operation_id,
                                {"action": OVERRIDE_ACTION, "signer": username.strip()[:80], "reason": "unknown_signer"})
            uow.commit()
        raise SignatureRefused("signature_refused", _l(
            "Wrong user name or password: the signature is refused and nothing was done."))
    return user.id


def override_qualification(db: Database, data: SignatureIn, *, supervisor_id: int, operator_id: int,
                           operation_id: int) -> ESignature:
    """Let an operator run an operation they are not qualified for, on a supervisor's electronic signature.

    Before anything is signed: the operation must exist (for the acting person), need a skill the operator is
    not qualified for (`override_not_needed` otherwise), and the supervisor must be someone else
    (`override_by_self`). Then the supervisor re-authenticates; a wrong password performs nothing and the
    refusal is audited. The supervisor must hold `skill.approve` over the operation's work center
    (`override_not_allowed`, also audited). The override is stored with the signature in one transaction.
    """
    with db.session() as s:
        op = get_operation(s, operation_id)
        operator = get_person(s, operator_id)
        supervisor = get_person(s, supervisor_id, None)
        if supervisor.id == operator.id:
            raise Forbidden("override_by_self", _l(
                "Nobody can override their own qualification; another supervisor must sign."))
        q = check_operation_qualification(s, operator.id, op.id)
        if q.ok:
            raise Invalid("override_not_needed", _l(
                "{name} is qualified for this operation; no override is needed.", name=operator.display_name))
        node = _operation_node(s, op)
        path, where = node.path, node.code

    def perform(uow: UnitOfWork, signature: ESignature) -> ESignature:
        signer = uow.session.get(User, supervisor_id)
        assert signer is not None
        restriction = principal_for(uow.session, signer).restriction
        if restriction is None or not restriction.allows_node("skill", "approve", path):
            raise OverrideNotAllowed("override_not_allowed", _l(
                "{name} may not approve qualifications at {where} (permission skill.approve): the signature is "
                "refused and nothing was done.", name=signer.display_name, where=where))
        override = QualificationOverride(
            operation_id=operation_id, operator_id=operator_id, supervisor_id=supervisor_id,
            signature_id=signature.id, skill_code=q.skill_code or "", level_required=q.level_required or 0,
            level_held=q.level_held, refusal_code=q.code or "", reason=signature.reason)
        uow.session.add(override)
        uow.flush()
        uow.record(QualificationOverridden(
            override_id=override.id, operation_id=operation_id, operator_id=operator_id,
            supervisor_id=supervisor_id, signature_id=signature.id, skill_code=override.skill_code,
            level_required=override.level_required, level_held=override.level_held))
        return signature

    return perform_signed(db, data, action=OVERRIDE_ACTION, object_type=OPERATION, object_id=operation_id,
                          perform=perform, signer_id=supervisor_id)
