"""What happens to skills, certifications, training and rosters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class SkillCreated(Event):
    skill_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class SkillChanged(Event):
    skill_id: int
    code: str
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class SkillLevelAssessed(Event):
    """A person's level of a skill was set (an assessment, a passed training or an import)."""

    user_id: int
    username: str
    skill_id: int
    skill_code: str
    old_level: int | None
    new_level: int
    assessed_on: date
    assessed_by_id: int | None
    source: str


@dataclass(frozen=True, kw_only=True)
class CertificationAdded(Event):
    certification_id: int
    user_id: int
    name: str
    skill_code: str | None
    expires_on: date | None


@dataclass(frozen=True, kw_only=True)
class CertificationChanged(Event):
    certification_id: int
    user_id: int
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class CertificationExpiring(Event):
    """A certification comes within `threshold_days` of its expiry (a reminder, given once per threshold)."""

    certification_id: int
    user_id: int
    username: str
    display_name: str
    name: str
    skill_code: str | None
    expires_on: date
    days_left: int
    threshold_days: int


@dataclass(frozen=True, kw_only=True)
class TrainingPlanCreated(Event):
    plan_id: int
    name: str
    targets: int


@dataclass(frozen=True, kw_only=True)
class TrainingPlanChanged(Event):
    plan_id: int
    name: str


@dataclass(frozen=True, kw_only=True)
class TrainingRecorded(Event):
    record_id: int
    trainee_id: int
    skill_code: str
    result: str
    level_reached: int | None


@dataclass(frozen=True, kw_only=True)
class RosterEntryAdded(Event):
    entry_id: int
    day: date
    shift_code: str
    line_id: int
    user_id: int
    work_center_id: int | None


@dataclass(frozen=True, kw_only=True)
class RosterEntryRemoved(Event):
    entry_id: int
    day: date
    shift_code: str
    line_id: int
    user_id: int


@dataclass(frozen=True, kw_only=True)
class RosterAssignmentApplied(Event):
    """The suggested assignment of a line's shift was applied to its roster."""

    line_id: int
    day: date
    shift_code: str
    assignments: dict[str, int | None]  # user id → work center id


@dataclass(frozen=True, kw_only=True)
class QualificationOverridden(Event):
    override_id: int
    operation_id: int
    operator_id: int
    supervisor_id: int
    signature_id: int
    skill_code: str
    level_required: int
    level_held: int
