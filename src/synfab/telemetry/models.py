"""Tags (a source address mapped onto a machine and signal), samples, rollups, and derived machine states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.core import clock
from synfab.core.choices import ChoiceType
from synfab.core.db import Base, UtcDateTime, Versioned
from synfab.core.scoping import ScopeNodes, Scoped
from synfab.plant.models import PlantNode
from synfab.telemetry.choices import DataType, MachineState, TimeElement


def _on_equipment(column: Any, nodes: ScopeNodes) -> ColumnElement[bool]:
    return column.in_(nodes.subtree)


class TagClass(Versioned, Base):
    """A kind of tag with its retention: fast process values keep raw samples for days, counters longer."""

    __tablename__ = "tag_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    raw_retention_days: Mapped[int] = mapped_column(Integer, default=30)
    rollup_retention_days: Mapped[int] = mapped_column(Integer, default=730)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class Tag(Scoped, Versioned, Base):
    """A source address mapped onto a machine's signal: `value = raw × scale + offset`, stored when it moved by
    more than the deadband or the sampling interval has passed."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("connector_id", "address"), UniqueConstraint("equipment_id", "signal"))

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connector.id"), index=True)
    address: Mapped[str] = mapped_column(String(300))
    equipment_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    signal: Mapped[str] = mapped_column(String(80))
    name: Mapped[str | None] = mapped_column(String(200))
    datatype: Mapped[DataType] = mapped_column(ChoiceType(DataType, 10), default=DataType.FLOAT)
    unit: Mapped[str | None] = mapped_column(String(20))
    scale: Mapped[float] = mapped_column(Float, default=1.0)
    offset: Mapped[float] = mapped_column(Float, default=0.0)
    deadband: Mapped[float] = mapped_column(Float, default=0.0)
    sampling_ms: Mapped[int] = mapped_column(Integer, default=0)
    tag_class_id: Mapped[int | None] = mapped_column(ForeignKey("tag_class.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    equipment: Mapped[PlantNode] = relationship(viewonly=True)
    tag_class: Mapped[TagClass | None] = relationship(viewonly=True)

    __object_type__ = "equipment_data"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return _on_equipment(cls.equipment_id, nodes)


class Sample(Base):
    """One stored value of one tag. Written in batches by the telemetry writer, idempotent on (tag, time);
    on PostgreSQL the table is partitioned by month of `ts_ms`."""

    __audited__ = False  # machine data, not a person's change
    __tablename__ = "sample"
    __table_args__ = {"postgresql_partition_by": "RANGE (ts_ms)"}

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)


class Rollup(Base):
    """One tag's minute: min, max, sum and count of its samples, and the last value with its time."""

    __audited__ = False
    __tablename__ = "rollup"

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    minute_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    min: Mapped[float | None] = mapped_column(Float)
    max: Mapped[float | None] = mapped_column(Float)
    sum: Mapped[float] = mapped_column(Float, default=0.0)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last: Mapped[float | None] = mapped_column(Float)
    last_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class StateModel(Versioned, Base):
    """How one equipment class's signals become machine states and counts — rules as data (see `states.py`).
    A model that does not validate is kept with its error and not used."""

    __tablename__ = "state_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_class_id: Mapped[int] = mapped_column(ForeignKey("equipment_class.id"), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    error: Mapped[str | None] = mapped_column(Text)


class DowntimeReason(Versioned, Base):
    """A node of the reason tree of one equipment class (no class: offered for every machine)."""

    __tablename__ = "downtime_reason"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("downtime_reason.id"))
    equipment_class_id: Mapped[int | None] = mapped_column(ForeignKey("equipment_class.id"), index=True)
    planned: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class MachineStatus(Scoped, Base):
    """A machine's current state and the latest value of each signal its state model reads."""

    __audited__ = False  # follows the machine; the intervals are the history
    __tablename__ = "machine_status"

    equipment_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), primary_key=True, autoincrement=False)
    state: Mapped[MachineState] = mapped_column(ChoiceType(MachineState, 20))
    since_ms: Mapped[int] = mapped_column(BigInteger)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    interval_id: Mapped[int | None] = mapped_column(Integer)
    operation_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now, onupdate=clock.now)

    equipment: Mapped[PlantNode] = relationship(viewonly=True)

    __object_type__ = "equipment_data"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return _on_equipment(cls.equipment_id, nodes)


class StateInterval(Scoped, Base):
    """A machine in one state from `start_ms` to `end_ms` (open while current), as the ISO 22400 time element
    it counts towards; a stop can be given a reason from the equipment class's reason tree."""

    __audited__ = False  # derived from signals; coding a reason is audited through the service
    __tablename__ = "state_interval"
    __table_args__ = (Index("ix_state_interval_equipment_start", "equipment_id", "start_ms"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    state: Mapped[MachineState] = mapped_column(ChoiceType(MachineState, 20))
    time_element: Mapped[TimeElement | None] = mapped_column(ChoiceType(TimeElement, 8))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, index=True)
    operation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("downtime_reason.id"))
    coded_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(400))

    reason: Mapped[DowntimeReason | None] = relationship(viewonly=True)

    __object_type__ = "equipment_data"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return _on_equipment(cls.equipment_id, nodes)


class MachineCount(Scoped, Base):
    """Parts a machine's counters reported in one minute, against the operation running on it then."""

    __audited__ = False
    __tablename__ = "machine_count"
    __table_args__ = (UniqueConstraint("equipment_id", "minute_ms", "operation_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    minute_ms: Mapped[int] = mapped_column(BigInteger)
    # 0 when no operation was running: a unique key cannot hold NULL on every engine alike.
    operation_key: Mapped[int] = mapped_column(Integer, default=0, index=True)
    produced: Mapped[float] = mapped_column(Float, default=0.0)
    scrap: Mapped[float] = mapped_column(Float, default=0.0)

    __object_type__ = "equipment_data"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return _on_equipment(cls.equipment_id, nodes)
