"""Skills use cases on SQLite and PostgreSQL: the catalogue, levels and their history, certifications and their
reminders, training, the qualification check and its supervisor override, roster coverage and assignment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from synfab.core import clock
from synfab.core.context import acting_as
from synfab.core.db import Database
from synfab.core.errors import Conflict, DomainError, Forbidden, Invalid
from synfab.core.models import EventRecord
from synfab.orders.models import WorkOrderOperation
from synfab.people.choices import SignatureMeaning
from synfab.people.models import AuditRecord, ESignature
from synfab.people.schemas import SignatureIn
from synfab.people.service.signatures import SignatureRefused
from synfab.people.skills import service
from synfab.people.skills.choices import TrainingResult
from synfab.people.skills.models import (
    Certification, CertificationReminder, QualificationOverride, RosterEntry, SkillAssessment, TrainingRecord,
)
from synfab.people.skills.schemas import (
    CertificationCreate, CertificationUpdate, LevelSet, RosterEntryCreate, SkillCreate, SkillUpdate, TrainingRecordCreate,
)
from tests.conftest import PASSWORD, MiniPlant, add_user
from tests.people.skills.conftest import MONDAY, Line1, Skills, actor, certify, give, operators, user_id


def events(db: Database, type_name: str) -> list[dict]:
    with db.session() as s:
        return [r.payload for r in s.scalars(select(EventRecord).where(EventRecord.type == type_name)
                                             .order_by(EventRecord.occurred_at, EventRecord.id))]


def count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def refused(db: Database, fn, *args, **kwargs) -> DomainError:
    with db.uow() as uow, pytest.raises(DomainError) as caught:
        fn(uow, *args, **kwargs)
        uow.commit()
    return caught.value


# -- the catalogue and levels ------------------------------------------------------------------------------------


def test_skill_codes_are_unique_and_edits_check_the_version(db: Database, skills: Skills) -> None:
    error = refused(db, service.create_skill, SkillCreate(code="TURN", name="车削二"))
    assert error.code == "skill_code_taken" and "车削" in error.message.in_locale("zh_CN")
    with db.uow() as uow:
        service.update_skill(uow, skills.turn, SkillUpdate(version=1, name_en="CNC turning"))
        uow.commit()
    stale = refused(db, service.update_skill, skills.turn, SkillUpdate(version=1, name="旧"))
    assert isinstance(stale, Conflict) and stale.code == "stale_version"
    assert "reload" in stale.message.in_locale("en")
    assert events(db, "SkillChanged")[0]["changes"] == {"name_en": ["Turning", "CNC turning"]}


def test_levels_keep_their_history_and_a_stale_assessment_is_refused(db: Database, plant: MiniPlant,
                                                                      skills: Skills) -> None:
    operators(db, plant, "ann")
    add_user(db, "hr", "hr_training", plant.site)
    ann, hr = user_id(db, "ann"), user_id(db, "hr")
    with acting_as(actor(db, "hr")), db.uow() as uow:
        service.set_skill_level(uow, ann, LevelSet(skill_id=skills.turn, level=1, assessed_on=date(2026, 3, 1)))
        uow.commit()
    give(db, "ann", skills.turn, 1, on=date(2026, 3, 1))  # the same level on the same day: nothing new
    with acting_as(actor(db, "hr")), db.uow() as uow:
        service.set_skill_level(uow, ann, LevelSet(skill_id=skills.turn, level=3, assessed_on=date(2026, 9, 1),
                                                   version=1))
        uow.commit()
    stale = refused(db, service.set_skill_level, ann, LevelSet(skill_id=skills.turn, level=2, version=1))
    assert stale.code == "stale_version"
    future = refused(db, service.set_skill_level, ann, LevelSet(skill_id=skills.grind, level=2,
                                                                assessed_on=clock.now().date() + timedelta(days=2)))
    assert future.code == "assessed_on_in_future"
    with db.session() as s:
        held = service.person_skill(s, ann, skills.turn)
        assert (held.level, held.assessed_on, held.assessed_by_id, held.version) == (3, date(2026, 9, 1), hr, 2)
        history = [(h.old_level, h.level, h.assessed_by_id) for h in service.level_history(s, ann)]
        assert history == [(1, 3, hr), (None, 1, hr)]
    assert [(e["old_level"], e["new_level"]) for e in events(db, "SkillLevelAssessed")] == [(None, 1), (1, 3)]
    with db.session() as s:  # the audit log has both changes of the level with before and after
        updates = s.scalars(select(AuditRecord).where(AuditRecord.object_type == "person_skill",
                                                      AuditRecord.action == "update")).all()
        assert [(u.before["level"], u.after["level"]) for u in updates] == [(1, 3)]


# -- qualification ----------------------------------------------------------------------------------------------------


def test_qualification_is_refused_with_the_exact_reason(db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "ann")
    ann = user_id(db, "ann")
    give(db, "ann", skills.turn, 1)
    give(db, "ann", skills.leak, 3)
    day = date(2026, 11, 23)
    with db.session() as s:
        unknown = service.check_qualification(s, ann, "WELD", 2, day)
        assert (unknown.ok, unknown.code, unknown.level_held) == (False, "skill_unknown", 0)
        assert "WELD" in unknown.reason.in_locale("en") and "技能目录" in unknown.reason.in_locale("zh_CN")
        missing = service.check_qualification(s, ann, "GRIND", 2, day)
        assert (missing.ok, missing.code, missing.level_held) == (False, "skill_missing", 0)
        assert missing.reason.in_locale("en") == ("Ann does not hold the skill GRIND; level 2 (Works with "
                                                  "supervision) is needed.")
        low = service.check_qualification(s, ann, "TURN", 2, day)
        assert (low.ok, low.code, low.level_held, low.level_required) == (False, "level_too_low", 1, 2)
        assert low.reason.in_locale("en") == ("Ann holds TURN at level 1 (Under training); level 2 (Works with "
                                              "supervision) is needed.")
        assert "1" in low.reason.in_locale("zh_CN") and "2" in low.reason.in_locale("zh_CN")
        uncertified = service.check_qualification(s, ann, "LEAK", 2, day)
        assert (uncertified.ok, uncertified.code, uncertified.level_held) == (False, "certification_missing", 3)
    certify(db, "ann", skills.leak, date(2025, 11, 1), date(2026, 11, 22), name="气密检测上岗证")
    with db.session() as s:
        lapsed = service.check_qualification(s, ann, "LEAK", 2, day)
        assert (lapsed.ok, lapsed.code, lapsed.certification_expires_on) == (False, "certification_expired",
                                                                             date(2026, 11, 22))
        assert lapsed.reason.in_locale("en") == ("Ann's certification 气密检测上岗证 for LEAK expired on 2026-11-22; "
                                                 "renew it first.")
        # On its last day the certification still qualifies.
        assert service.check_qualification(s, ann, "LEAK", 2, date(2026, 11, 22)).ok
        with pytest.raises(Forbidden) as info:
            service.require_qualified(s, ann, "TURN", 2, day)
        assert info.value.code == "not_qualified"
        assert info.value.message.in_locale("en").startswith("Not qualified for TURN: level 2 is needed, level 1 is "
                                                             "held. Ann holds TURN at level 1")
        assert info.value.details[0]["reason"] == "level_too_low"


def test_qualified_people_are_allowed(db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "bob")
    bob = user_id(db, "bob")
    give(db, "bob", skills.turn, 3)
    give(db, "bob", skills.leak, 2)
    certify(db, "bob", skills.leak, date(2026, 1, 1), date(2027, 1, 1))
    with db.session() as s:
        turn = service.require_qualified(s, bob, "TURN", 2, MONDAY)
        assert (turn.ok, turn.level_held, turn.code, turn.reason) == (True, 3, None, None)
        leak = service.check_qualification(s, bob, "LEAK", 2, MONDAY)
        assert (leak.ok, leak.certification_expires_on) == (True, date(2027, 1, 1))
        assert service.check_qualification(s, bob, None, None, MONDAY).ok  # nothing required


# -- the supervisor override -------------------------------------------------------------------------------------------


@pytest.fixture
def override_scene(db: Database, plant: MiniPlant, skills: Skills, line1: Line1) -> dict[str, int]:
    operators(db, plant, "ann")
    give(db, "ann", skills.turn, 1)
    add_user(db, "boss", "manager", plant.line1)  # skill.approve over line 1
    add_user(db, "other", "manager", plant.line2)  # skill.approve over line 2 only
    return {"ann": user_id(db, "ann"), "boss": user_id(db, "boss"), "other": user_id(db, "other"),
            "turning": line1.operations[10]}


def sign(password: str = PASSWORD) -> SignatureIn:
    return SignatureIn(password=password, meaning=SignatureMeaning.APPROVED, reason="急单，班长现场指导")


def test_a_supervisor_override_is_signed_and_recorded(db: Database, override_scene: dict[str, int]) -> None:
    ids = override_scene
    with acting_as(actor(db, "ann")):
        with db.session() as s:
            before = service.check_operation_qualification(s, ids["ann"], ids["turning"], MONDAY)
            assert (before.ok, before.code, before.overridden, before.allowed) == (False, "level_too_low", False,
                                                                                    False)
        signature = service.override_qualification(db, sign(), supervisor_id=ids["boss"], operator_id=ids["ann"],
                                                   operation_id=ids["turning"])
        with db.session() as s:
            after = service.require_qualified_for_operation(s, ids["ann"], ids["turning"], MONDAY)
            assert (after.ok, after.overridden, after.allowed) == (False, True, True)
    assert (signature.username, signature.action, signature.object_type, signature.object_id) == (
        "boss", "override_qualification", "work_order_operation", str(ids["turning"]))
    with db.session() as s:
        override = s.scalar(select(QualificationOverride))
        assert (override.operator_id, override.supervisor_id, override.signature_id, override.skill_code,
                override.level_required, override.level_held, override.refusal_code) == (
            ids["ann"], ids["boss"], signature.id, "TURN", 2, 1, "level_too_low")
        audited = {r.object_type: r for r in s.scalars(select(AuditRecord).where(AuditRecord.action == "create"))}
        assert audited["e_signature"].after["reason"] == "急单，班长现场指导"
        assert audited["qualification_override"].actor == "ann"
    assert events(db, "QualificationOverridden")[0]["supervisor_id"] == ids["boss"]


def test_a_wrong_password_overrides_nothing_but_is_on_record(db: Database, override_scene: dict[str, int]) -> None:
    ids = override_scene
    with acting_as(actor(db, "ann")), pytest.raises(SignatureRefused) as info:
        service.override_qualification(db, sign("not-the-password"), supervisor_id=ids["boss"],
                                       operator_id=ids["ann"], operation_id=ids["turning"])
    assert info.value.code == "signature_refused"
    assert (count(db, ESignature), count(db, QualificationOverride)) == (0, 0)
    with db.session() as s:
        refusal = s.scalar(select(AuditRecord).where(AuditRecord.action == "signature_refused"))
        assert (refusal.actor, refusal.object_type, refusal.object_id) == ("ann", "work_order_operation",
                                                                           str(ids["turning"]))
        assert refusal.after == {"action": "override_qualification", "signer_id": ids["boss"],
                                 "reason": "signature_refused"}


def test_a_supervisor_without_approval_over_the_work_center_is_refused(db: Database,
                                                                     override_scene: dict[str, int]) -> None:
    ids = override_scene
    with acting_as(actor(db, "ann")), pytest.raises(service.OverrideNotAllowed) as info:
        service.override_qualification(db, sign(), supervisor_id=ids["other"], operator_id=ids["ann"],
                                       operation_id=ids["turning"])
    assert info.value.code == "override_not_allowed"
    assert "WC1" in info.value.message.in_locale("en") and "skill.approve" in info.value.message.in_locale("zh_CN")
    assert (count(db, ESignature), count(db, QualificationOverride)) == (0, 0)
    with db.session() as s:
        refusal = s.scalar(select(AuditRecord).where(AuditRecord.action == "signature_refused"))
        assert refusal.after["reason"] == "override_not_allowed"


def test_no_override_for_oneself_or_for_the_qualified(db: Database, override_scene: dict[str, int],
                                                      skills: Skills) -> None:
    ids = override_scene
    with acting_as(actor(db, "ann")), pytest.raises(Forbidden) as own:
        service.override_qualification(db, sign(), supervisor_id=ids["ann"], operator_id=ids["ann"],
                                       operation_id=ids["turning"])
    assert own.value.code == "override_by_self"
    give(db, "ann", skills.turn, 2)
    with acting_as(actor(db, "ann")), pytest.raises(Invalid) as needless:
        service.override_qualification(db, sign(), supervisor_id=ids["boss"], operator_id=ids["ann"],
                                       operation_id=ids["turning"])
    assert needless.value.code == "override_not_needed"
    assert count(db, ESignature) == 0


# -- certifications and their reminders -------------------------------------------------------------------------------


def test_reminders_are_recorded_once_per_threshold(db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "ann", "bob")
    day = date(2026, 11, 23)
    far = certify(db, "ann", skills.leak, date(2025, 1, 1), day + timedelta(days=40), name="far")
    thirty = certify(db, "ann", None, date(2025, 1, 1), day + timedelta(days=30), name="thirty")
    close = certify(db, "bob", skills.leak, date(2025, 1, 1), day + timedelta(days=5), name="close")
    certify(db, "bob", None, date(2025, 1, 1), day - timedelta(days=1), name="lapsed")
    certify(db, "bob", None, date(2025, 1, 1), None, name="lifelong")

    def reminded() -> list[tuple[int, int, int]]:
        return [(e["certification_id"], e["threshold_days"], e["days_left"])
                for e in events(db, "CertificationExpiring")]

    assert service.remind_expiring_certifications(db, day) == 2
    assert reminded() == [(thirty, 30, 30), (close, 7, 5)]  # close: one reminder, not two
    assert service.remind_expiring_certifications(db, day) == 0
    assert service.remind_expiring_certifications(db, day + timedelta(days=1)) == 0
    later = day + timedelta(days=23)
    assert service.remind_expiring_certifications(db, later) == 2
    assert reminded()[2:] == [(far, 30, 17), (thirty, 7, 7)]
    assert service.remind_expiring_certifications(db, later) == 0
    assert count(db, CertificationReminder) == 5  # close has its 30 and 7 days marked
    with db.uow() as uow:  # renewed: reminded again before the new expiry, not now
        service.update_certification(uow, thirty, CertificationUpdate(version=1, expires_on=day + timedelta(days=60)))
        uow.commit()
    assert service.remind_expiring_certifications(db, later) == 0
    assert service.remind_expiring_certifications(db, day + timedelta(days=31)) == 1
    assert reminded()[-1] == (thirty, 30, 29)


def test_certification_dates_are_checked(db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "ann")
    error = refused(db, service.add_certification, CertificationCreate(
        user_id=user_id(db, "ann"), name="叉车证", issued_on=date(2026, 5, 1), expires_on=date(2026, 4, 1)))
    assert error.code == "certification_dates"
    assert "2026-04-01" in error.message.in_locale("en")


# -- training --------------------------------------------------------------------------------------------------------


def test_a_passed_training_raises_the_level_a_failed_one_does_not(db: Database, plant: MiniPlant,
                                                                 skills: Skills) -> None:
    operators(db, plant, "ann", "tina")
    ann, tina = user_id(db, "ann"), user_id(db, "tina")
    give(db, "tina", skills.turn, 4)
    give(db, "ann", skills.turn, 1)

    def record(**kw) -> TrainingRecordCreate:
        return TrainingRecordCreate(**{"trainee_id": ann, "skill_id": skills.turn, "trainer_id": tina,
                                       "trained_on": date(2026, 10, 5), "hours": Decimal(8),
                                       "result": TrainingResult.PASSED, **kw})

    with db.uow() as uow:
        service.record_training(uow, record(level_reached=2))
        service.record_training(uow, record(level_reached=1, trained_on=date(2026, 10, 6)))  # lower: kept at 2
        service.record_training(uow, record(result=TrainingResult.FAILED, trained_on=date(2026, 10, 7)))
        uow.commit()
    with db.session() as s:
        held = service.person_skill(s, ann, skills.turn)
        assert (held.level, held.assessed_on, held.assessed_by_id) == (2, date(2026, 10, 5), tina)
        assert s.scalar(select(SkillAssessment.source).where(SkillAssessment.level == 2)) == "training"
    assert refused(db, service.record_training, record(result=TrainingResult.FAILED, level_reached=2)).code == \
        "level_needs_pass"
    give(db, "tina", skills.grind, 3)
    not_trainer = refused(db, service.record_training, record(skill_id=skills.grind))
    assert not_trainer.code == "trainer_not_qualified"
    assert not_trainer.message.in_locale("en") == ("Tina holds level 3 of GRIND; only level 4 (can train others) "
                                                   "may train.")
    assert refused(db, service.record_training, record(trainer_id=ann)).code == "trainer_is_trainee"
    assert refused(db, service.record_training, record(trainer_id=None)).code == "trainer_required"
    assert count(db, TrainingRecord) == 3


# -- rosters: coverage and the suggested assignment -------------------------------------------------------------------


@pytest.fixture
def crew(db: Database, plant: MiniPlant, skills: Skills, line1: Line1) -> Line1:
    """Ann TURN 3 + GRIND 2, Bob TURN 2, Cid ASSY 2 + LEAK 2 with a lapsed certification, Dan GRIND 1 — all on
    line 1's day shift of Monday the 23rd."""
    operators(db, plant, "ann", "bob", "cid", "dan")
    for name, skill, level in (("ann", skills.turn, 3), ("ann", skills.grind, 2), ("bob", skills.turn, 2),
                               ("cid", skills.assy, 2), ("cid", skills.leak, 2), ("dan", skills.grind, 1)):
        give(db, name, skill, level)
    certify(db, "cid", skills.leak, date(2025, 11, 1), date(2026, 11, 1))
    with db.uow() as uow:
        for name in ("ann", "bob", "cid", "dan"):
            service.add_roster_entry(uow, RosterEntryCreate(day=MONDAY, shift_code="D", line_id=plant.line1,
                                                            user_id=user_id(db, name)))
        uow.commit()
    return line1


def test_coverage_names_the_work_nobody_rostered_is_qualified_for(db: Database, plant: MiniPlant,
                                                                 crew: Line1) -> None:
    with db.session() as s:
        cov = service.shift_coverage(s, plant.line1, MONDAY, "D")
        table = [(r.work_center.code, r.skill_code, r.level, [n.seq for n in r.operations],
                  [u.username for u in r.qualified]) for r in cov.requirements]
        assert table == [
            ("WC1", "TURN", 2, [10], ["ann", "bob"]),
            ("WC3", "GRIND", 2, [20], ["ann"]),
            ("WC4", "ASSY", 1, [30], ["cid"]),
            ("WC4", "LEAK", 2, [40], []),  # Cid's certification lapsed on 2026-11-01
        ]
        assert [(r.skill_code, r.operations[0].work_order_code) for r in cov.uncovered] == [("LEAK", crew.work_order)]
        # The suggested assignment: Bob can only turn, so Ann goes to the grinder; WC4 needs ASSY 1 and LEAK 2
        # from one person — nobody.
        assert [(a.work_center.code, a.user.username) for a in cov.assignments] == [("WC1", "bob"), ("WC3", "ann")]
        assert [(wc.code, needs) for wc, needs in cov.uncovered_work_centers] == [("WC4", {"ASSY": 1, "LEAK": 2})]
        assert [u.username for u in cov.spare] == ["cid", "dan"]
    with db.uow() as uow:
        service.apply_suggestion(uow, plant.line1, MONDAY, "D")
        uow.commit()
    with db.session() as s:
        placed = {e.user.username: e.work_center.code if e.work_center else None
                  for e in s.scalars(service.roster_query(line_id=plant.line1))}
        assert placed == {"ann": "WC3", "bob": "WC1", "cid": None, "dan": None}
    with db.uow() as uow:  # Cid renews the certification: the leak test is covered, and WC4 gets Cid
        cert = uow.session.scalar(select(Certification).where(Certification.user_id == user_id(db, "cid")))
        service.update_certification(uow, cert.id, CertificationUpdate(version=cert.version,
                                                                       expires_on=date(2027, 11, 1)))
        uow.commit()
    with db.session() as s:
        cov = service.shift_coverage(s, plant.line1, MONDAY, "D")
        assert cov.uncovered == []
        assert [(a.work_center.code, a.user.username, a.kept) for a in cov.assignments] == [
            ("WC1", "bob", True), ("WC3", "ann", True), ("WC4", "cid", False)]
    assert events(db, "RosterAssignmentApplied")[0]["assignments"] == {
        str(user_id(db, "ann")): crew.wc3, str(user_id(db, "bob")): plant.wc1}


def test_scheduled_operations_count_only_in_their_shift(db: Database, plant: MiniPlant, crew: Line1) -> None:
    with db.uow() as uow:  # the leak test is scheduled in the night shift (16:00–24:00 Shanghai)
        op = uow.session.get(WorkOrderOperation, crew.operations[40])
        op.planned_start = datetime(2026, 11, 23, 9, tzinfo=UTC)
        op.planned_end = datetime(2026, 11, 23, 10, tzinfo=UTC)
        uow.commit()
    with db.session() as s:
        day = service.shift_coverage(s, plant.line1, MONDAY, "D")
        night = service.shift_coverage(s, plant.line1, MONDAY, "N")
        assert "LEAK" not in {r.skill_code for r in day.requirements}
        assert [(r.skill_code, r.covered) for r in night.requirements if r.skill_code == "LEAK"] == [("LEAK", False)]


def test_matching_is_maximal_and_keeps_the_rosters_own_places_where_it_can() -> None:
    can = {1: {10, 20}, 2: {10}, 3: {30}, 4: {30}}
    assert service.match_people([1, 2, 3, 4], [10, 20, 30], can) == {2: 10, 1: 20, 3: 30}
    assert service.match_people([1, 2, 3, 4], [10, 20, 30], can, preferred={4: 30}) == {4: 30, 2: 10, 1: 20}
    # A preferred place gives way when keeping it would leave someone without one (the augmenting path).
    assert service.match_people([1, 2], [10, 20], {1: {10, 20}, 2: {10}}, preferred={1: 10}) == {1: 20, 2: 10}
    # A preferred place the person is not qualified for is ignored.
    assert service.match_people([1, 2], [10, 20], {1: {10}, 2: {10, 20}}, preferred={1: 20}) == {1: 10, 2: 20}
    # The scarce slot goes to the one person who can take it, whatever the order of codes.
    assert service.match_people([1, 2], [10, 20, 30], {1: {10, 20, 30}, 2: {10, 20}}) == {2: 10, 1: 30}


def test_roster_entries_are_checked(db: Database, plant: MiniPlant, skills: Skills, line1: Line1) -> None:
    operators(db, plant, "ann")
    ann = user_id(db, "ann")

    def entry(**kw) -> RosterEntryCreate:
        return RosterEntryCreate(**{"day": MONDAY, "shift_code": "D", "line_id": plant.line1, "user_id": ann, **kw})

    assert refused(db, service.add_roster_entry, entry(shift_code="X")).code == "shift_unknown"
    saturday = refused(db, service.add_roster_entry, entry(day=date(2026, 11, 28)))
    assert saturday.code == "shift_not_running" and "2026-11-28" in saturday.message.in_locale("en")
    assert refused(db, service.add_roster_entry, entry(work_center_id=plant.wc2)).code == "work_center_not_on_line"
    assert refused(db, service.add_roster_entry, entry(line_id=plant.wc1)).code == "not_a_line"
    with db.uow() as uow:
        service.add_roster_entry(uow, entry(work_center_id=line1.wc3))
        uow.commit()
    twice = refused(db, service.add_roster_entry, entry(line_id=plant.line2))
    assert twice.code == "already_rostered" and "L1" in twice.message.in_locale("en")
    assert count(db, RosterEntry) == 1


def test_a_line_manager_rosters_only_their_line(db: Database, plant: MiniPlant, skills: Skills) -> None:
    operators(db, plant, "ann")
    add_user(db, "boss", "manager", plant.line1)
    ann = user_id(db, "ann")
    with acting_as(actor(db, "boss")):
        with db.uow() as uow:
            service.add_roster_entry(uow, RosterEntryCreate(day=MONDAY, shift_code="D", line_id=plant.line1,
                                                            user_id=ann))
            uow.commit()
        with db.uow() as uow, pytest.raises(DomainError) as other:
            service.add_roster_entry(uow, RosterEntryCreate(day=MONDAY, shift_code="N", line_id=plant.line2,
                                                            user_id=ann))
        assert other.value.status_code == 404
        with db.session() as s:
            assert [ln.code for ln in service.roster_lines(s)] == ["L1"]
    assert count(db, RosterEntry) == 1
