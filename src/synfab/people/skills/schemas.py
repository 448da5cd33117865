"""JSON shapes of the skills API (Create / Update / Read families)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from synfab.people.choices import SignatureMeaning
from synfab.people.skills.choices import CertificationState, SkillCategory, TargetState, TrainingResult

Level = Annotated[int, Field(ge=1, le=4, description="1 under training, 2 works with supervision, 3 works alone, "
                                                     "4 can train others")]


# -- the skill catalogue ------------------------------------------------------------------------------------


class SkillCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40, description="The code routing steps name as required skill.")
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    category: SkillCategory = SkillCategory.OTHER
    certification_required: bool = False
    active: bool = True


class SkillUpdate(BaseModel):
    """Fields left out stay as they are; `version` is the one the client loaded."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    category: SkillCategory | None = None
    certification_required: bool | None = None
    active: bool | None = None


class SkillRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None
    description: str | None
    category: SkillCategory
    certification_required: bool
    active: bool
    version: int
    updated_at: datetime
    updated_by: str


# -- levels -----------------------------------------------------------------------------------------------


class LevelSet(BaseModel):
    """Set a person's level of a skill. `version` (of their current level, if any) guards against a stale edit."""

    skill_id: int
    level: Level
    assessed_on: date | None = Field(default=None, description="Default: today.")
    assessed_by_id: int | None = Field(default=None, description="Default: the person making the change.")
    note: str | None = Field(default=None, max_length=2000)
    version: int | None = None


class PersonSkillRead(BaseModel):
    skill_id: int
    skill_code: str
    skill_name: str
    level: int
    level_meaning_zh: str
    level_meaning_en: str
    assessed_on: date
    assessed_by: str | None
    version: int


class CertificationCreate(BaseModel):
    user_id: int
    name: str = Field(min_length=1, max_length=200)
    skill_id: int | None = Field(default=None, description="The skill this certification qualifies for.")
    number: str | None = Field(default=None, max_length=80)
    issuer: str | None = Field(default=None, max_length=200)
    issued_on: date
    expires_on: date | None = Field(default=None, description="None: the certification does not lapse.")
    note: str | None = Field(default=None, max_length=2000)


class CertificationUpdate(BaseModel):
    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    skill_id: int | None = None
    number: str | None = Field(default=None, max_length=80)
    issuer: str | None = Field(default=None, max_length=200)
    issued_on: date | None = None
    expires_on: date | None = None
    note: str | None = Field(default=None, max_length=2000)


class CertificationRead(BaseModel):
    id: int
    user_id: int
    username: str
    display_name: str
    name: str
    skill_id: int | None
    skill_code: str | None
    number: str | None
    issuer: str | None
    issued_on: date
    expires_on: date | None
    state: CertificationState
    days_left: int | None
    version: int


class PersonSkillsRead(BaseModel):
    user_id: int
    username: str
    display_name: str
    skills: list[PersonSkillRead]
    certifications: list[CertificationRead]


# -- training -----------------------------------------------------------------------------------------------


class TrainingTargetIn(BaseModel):
    user_id: int
    skill_id: int
    target_level: Level
    due_on: date | None = Field(default=None, description="Default: the plan's date.")


class TrainingPlanCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    due_on: date
    targets: list[TrainingTargetIn] = []


class TrainingPlanUpdate(BaseModel):
    """Changes the plan's name, description, date or whether it is active; targets are added one by one."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    due_on: date | None = None
    active: bool | None = None


class TrainingTargetRead(BaseModel):
    id: int
    user_id: int
    display_name: str
    skill_id: int
    skill_code: str
    target_level: int
    current_level: int
    due_on: date
    state: TargetState


class TrainingPlanRead(BaseModel):
    id: int
    name: str
    description: str | None
    due_on: date
    active: bool
    version: int
    targets: list[TrainingTargetRead]


class TrainingRecordCreate(BaseModel):
    trainee_id: int
    skill_id: int
    trained_on: date
    hours: Decimal = Field(gt=0, le=1000, max_digits=12, decimal_places=2)
    result: TrainingResult
    level_reached: Level | None = Field(default=None, description="Passed trainings only: raises the level.")
    trainer_id: int | None = Field(default=None, description="A colleague holding level 4 of the skill.")
    trainer_name: str | None = Field(default=None, max_length=120, description="An outside trainer.")
    plan_id: int | None = None
    note: str | None = Field(default=None, max_length=2000)


class TrainingRecordRead(BaseModel):
    id: int
    trainee_id: int
    trainee: str
    skill_id: int
    skill_code: str
    trainer_id: int | None
    trainer: str
    plan_id: int | None
    trained_on: date
    hours: Decimal
    result: TrainingResult
    level_reached: int | None
    note: str | None


# -- qualification at the machine ----------------------------------------------------------------------------


class QualificationCheckIn(BaseModel):
    """Either an operation (its required skill and level) or a skill code and level."""

    user_id: int | None = Field(default=None, description="Default: the signed-in person.")
    operation_id: int | None = None
    skill_code: str | None = Field(default=None, max_length=40)
    level: Level | None = None
    on: date | None = Field(default=None, description="Default: today at the site.")


class QualificationRead(BaseModel):
    ok: bool
    user_id: int
    skill_code: str | None
    level_required: int | None
    level_held: int
    code: str | None = Field(description="Why not: skill_unknown, skill_missing, level_too_low, "
                                          "certification_expired, certification_missing.")
    reason: str | None
    reason_zh: str | None
    reason_en: str | None
    certification_expires_on: date | None
    overridden: bool = Field(default=False, description="A supervisor signed an override for this operation.")


class QualificationOverrideIn(BaseModel):
    """Entered at the operator's phone: the supervisor's user name and password (and code, if they use one)."""

    operation_id: int
    operator_id: int | None = Field(default=None, description="Default: the signed-in person.")
    supervisor_username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10)
    meaning: SignatureMeaning = SignatureMeaning.APPROVED
    reason: str = Field(min_length=1, max_length=2000)


class QualificationOverrideRead(BaseModel):
    signature_id: int
    operation_id: int
    operator_id: int
    supervisor_id: int
    supervisor: str
    meaning: SignatureMeaning
    reason: str
    signed_at: datetime


# -- rosters -----------------------------------------------------------------------------------------------


class RosterEntryCreate(BaseModel):
    day: date
    shift_code: str = Field(min_length=1, max_length=40)
    line_id: int
    user_id: int
    work_center_id: int | None = None
    note: str | None = Field(default=None, max_length=200)


class RosterEntryRead(BaseModel):
    id: int
    day: date
    shift_code: str
    line_id: int
    work_center_id: int | None
    work_center_code: str | None
    user_id: int
    display_name: str
    note: str | None
    version: int


class OperationNeedRead(BaseModel):
    operation_id: int
    work_order_code: str
    seq: int
    name: str


class RequirementRead(BaseModel):
    work_center_id: int
    work_center_code: str
    skill_code: str
    level: int
    operations: list[OperationNeedRead]
    qualified_user_ids: list[int]
    covered: bool


class AssignmentRead(BaseModel):
    user_id: int
    display_name: str
    work_center_id: int
    work_center_code: str


class UncoveredWorkCenterRead(BaseModel):
    work_center_id: int
    work_center_code: str
    needs: dict[str, int] = Field(description="skill code → level needed")


class CoverageRead(BaseModel):
    line_id: int
    day: date
    shift_code: str
    rostered_user_ids: list[int]
    requirements: list[RequirementRead]
    uncovered: int = Field(description="Requirements no rostered person is qualified for.")
    assignments: list[AssignmentRead]
    uncovered_work_centers: list[UncoveredWorkCenterRead]
    spare_user_ids: list[int]
