"""Skills, levels, certifications, training and rosters.

Skills, levels, certifications and training are about people, not places: they are not scoped (the permission
`skill.*` decides). Roster entries belong to a production line and are scoped by it (`roster.*`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.core import clock
from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Qty, UtcDateTime, Versioned
from synfab.core.scoping import ScopeNodes, Scoped
from synfab.people.models import PersonScoped, User
from synfab.people.skills.choices import SkillCategory, TrainingResult
from synfab.plant.models import PlantNode


class Skill(Versioned, Base):
    """A skill of the catalogue; routing steps and work order operations name it by `code`."""

    __tablename__ = "skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[SkillCategory] = mapped_column(ChoiceType(SkillCategory), default=SkillCategory.OTHER)
    # A person is only qualified while they hold a valid certification tied to this skill (licences, 上岗证).
    certification_required: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class PersonSkill(PersonScoped, Versioned, Base):
    """The level (1–4) a person holds a skill at now, with who assessed it and when."""

    __tablename__ = "person_skill"
    __person__ = "user_id"
    __object_type__ = "skill"
    __table_args__ = (UniqueConstraint("user_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str | None] = mapped_column(Text)

    skill: Mapped[Skill] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], viewonly=True)
    assessed_by: Mapped[User | None] = relationship(foreign_keys=[assessed_by_id], viewonly=True)


class SkillAssessment(PersonScoped, Base):
    """One entry of a person's level history: every assessment, training result or import that set a level."""

    __tablename__ = "skill_assessment"
    __person__ = "user_id"
    __object_type__ = "skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"), index=True)
    old_level: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    source: Mapped[str] = mapped_column(String(20))  # assessment, training, import
    training_record_id: Mapped[int | None] = mapped_column(ForeignKey("training_record.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    recorded_by: Mapped[str] = mapped_column(String(80), default="system")

    skill: Mapped[Skill] = relationship(lazy="joined")
    assessed_by: Mapped[User | None] = relationship(foreign_keys=[assessed_by_id], viewonly=True)


class Certification(PersonScoped, Versioned, Base):
    """A certificate or licence a person holds, with its issuer and validity; tied to a skill it qualifies."""

    __tablename__ = "certification"
    __person__ = "user_id"
    __object_type__ = "skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("skill.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(80))
    issuer: Mapped[str | None] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)  # none: does not lapse
    note: Mapped[str | None] = mapped_column(Text)

    skill: Mapped[Skill | None] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], viewonly=True)


class CertificationReminder(Base):
    """A reminder already given: one per certification, expiry date and threshold (30 or 7 days).
    A renewed certification (a new expiry date) is reminded again."""

    __tablename__ = "certification_reminder"
    __table_args__ = (UniqueConstraint("certification_id", "expires_on", "threshold_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certification.id", ondelete="CASCADE"), index=True)
    expires_on: Mapped[date] = mapped_column(Date)
    threshold_days: Mapped[int] = mapped_column(Integer)
    reminded_on: Mapped[date] = mapped_column(Date)


class TrainingPlan(Versioned, Base):
    """Which people should reach which level of which skill by when."""

    __tablename__ = "training_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    targets: Mapped[list[TrainingTarget]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="TrainingTarget.id")


class TrainingTarget(PersonScoped, Base):
    """One person to reach a level of a skill, by the plan's date or a date of its own."""

    __tablename__ = "training_target"
    __person__ = "user_id"
    __object_type__ = "skill"
    __table_args__ = (UniqueConstraint("plan_id", "user_id", "skill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plan.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"))
    target_level: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date | None] = mapped_column(Date)

    plan: Mapped[TrainingPlan] = relationship(back_populates="targets")
    skill: Mapped[Skill] = relationship(lazy="joined")
    user: Mapped[User] = relationship(viewonly=True)


class TrainingRecord(PersonScoped, Base):
    """A training given: trainer, trainee, skill, day, hours and result; a pass may raise the trainee's level."""

    __tablename__ = "training_record"
    __person__ = "trainee_id"
    __object_type__ = "skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"), index=True)
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    trainer_name: Mapped[str | None] = mapped_column(String(120))  # an outside trainer
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("training_plan.id", ondelete="SET NULL"))
    trained_on: Mapped[date] = mapped_column(Date, index=True)
    hours: Mapped[Decimal] = mapped_column(Qty())
    result: Mapped[TrainingResult] = mapped_column(ChoiceType(TrainingResult))
    level_reached: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    recorded_by: Mapped[str] = mapped_column(String(80), default="system")

    skill: Mapped[Skill] = relationship(lazy="joined")
    trainee: Mapped[User] = relationship(foreign_keys=[trainee_id], viewonly=True)
    trainer: Mapped[User | None] = relationship(foreign_keys=[trainer_id], viewonly=True)
    plan: Mapped[TrainingPlan | None] = relationship(viewonly=True)

    @property
    def trainer_label(self) -> str:
        return self.trainer.display_name if self.trainer is not None else (self.trainer_name or "")


class RosterEntry(Scoped, Versioned, Base):
    """A person on a line for one shift of one day, optionally at a work center."""

    __tablename__ = "roster_entry"
    __table_args__ = (UniqueConstraint("day", "shift_code", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    shift_code: Mapped[str] = mapped_column(String(40))
    line_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    work_center_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    note: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship(viewonly=True, lazy="joined")
    line: Mapped[PlantNode] = relationship(foreign_keys=[line_id], viewonly=True)
    work_center: Mapped[PlantNode | None] = relationship(foreign_keys=[work_center_id], viewonly=True)

    __object_type__ = "roster"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A roster entry belongs to its line."""
        return cls.line_id.in_(nodes.subtree)


class QualificationOverride(Base):
    """A supervisor let an operator run an operation they are not qualified for, with an e-signature."""

    __tablename__ = "qualification_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("work_order_operation.id", ondelete="CASCADE"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    signature_id: Mapped[int] = mapped_column(ForeignKey("e_signature.id"))
    skill_code: Mapped[str] = mapped_column(String(40))
    level_required: Mapped[int] = mapped_column(Integer)
    level_held: Mapped[int] = mapped_column(Integer)
    refusal_code: Mapped[str] = mapped_column(String(40))  # why the operator was not qualified
    reason: Mapped[str] = mapped_column(Text)
    overridden_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)

    operator: Mapped[User] = relationship(foreign_keys=[operator_id], viewonly=True)
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id], viewonly=True)
