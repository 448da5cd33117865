"""ISA-95 equipment hierarchy (one tree for every level) and shift calendars."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, Time, UniqueConstraint, false, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Versioned
from synfab.core.scoping import ScopeNodes, Scoped
from synfab.plant.choices import Level, StorageRole


class EquipmentClass(Versioned, Base):
    """A kind of machine (CNC lathe, press, assembly station): routings and state rules refer to it."""

    __tablename__ = "equipment_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class PlantNode(Scoped, Versioned, Base):
    """One node of the plant tree: enterprise, site, area, line, work center, equipment or storage.

    `path` is the chain of ancestor ids ("/1/4/9/"), so a subtree is one indexed prefix query.
    The allowed parent levels are checked in `plant.tree`, nowhere else.
    """

    __tablename__ = "plant_node"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[Level] = mapped_column(ChoiceType(Level), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True, default="/")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # Sites only: the IANA time zone their shifts and "today" are in.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Inherited by descendants that have none of their own.
    shift_calendar_id: Mapped[int | None] = mapped_column(ForeignKey("shift_calendar.id"))
    equipment_class_id: Mapped[int | None] = mapped_column(ForeignKey("equipment_class.id"))
    # Work centers: how many operations can run at once (parallel machines or stations).
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    # Storage nodes only: line-side WIP under a line, finished goods in a site (production's own moves go there).
    storage_role: Mapped[StorageRole | None] = mapped_column(ChoiceType(StorageRole))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    equipment_class: Mapped[EquipmentClass | None] = relationship(lazy="joined")

    __object_type__ = "plant"
    __audit_exclude__ = ("path", "depth")  # derived from the parent chain

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """Granted subtrees; to view, also the nodes above them; a new node by the parent it goes under."""
        within = or_(*(cls.path.startswith(p, autoescape=True) for p in nodes.paths)) if nodes.paths else false()
        if action == "view" and nodes.ancestors:
            return or_(within, cls.id.in_(nodes.ancestors))
        if action == "create":
            return or_(within, cls.parent_id.in_(nodes.subtree))
        return within

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class ShiftCalendar(Versioned, Base):
    """Working time of the nodes that use it: shifts by weekday, their breaks, and exception days."""

    __tablename__ = "shift_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)

    shifts: Mapped[list[Shift]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="Shift.start"
    )
    exceptions: Mapped[list[CalendarException]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="CalendarException.day"
    )


class Shift(Base):
    """A shift pattern: local start and end (an end at or before the start crosses midnight)."""

    __tablename__ = "shift"
    __table_args__ = (UniqueConstraint("calendar_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("shift_calendar.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    # ISO weekdays the shift starts on: "12345" is Monday to Friday.
    weekdays: Mapped[str] = mapped_column(String(7), default="12345")

    calendar: Mapped[ShiftCalendar] = relationship(back_populates="shifts")
    breaks: Mapped[list[ShiftBreak]] = relationship(
        back_populates="shift", cascade="all, delete-orphan", order_by="ShiftBreak.start"
    )

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class ShiftBreak(Base):
    """An unpaid pause inside a shift (local clock times); not planned operation time."""

    __tablename__ = "shift_break"

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id", ondelete="CASCADE"), index=True)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)

    shift: Mapped[Shift] = relationship(back_populates="breaks")


class CalendarException(Base):
    """A holiday (no shift starts) or an extra working day (every shift starts, e.g. 调休 make-up days)."""

    __tablename__ = "calendar_exception"
    __table_args__ = (UniqueConstraint("calendar_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("shift_calendar.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(200))

    calendar: Mapped[ShiftCalendar] = relationship(back_populates="exceptions")
