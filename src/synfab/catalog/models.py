"""Engineering master data: units, materials, BOMs, routings, and external codes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from synfab.catalog.choices import Dimension, DocumentStatus, MaterialType, Sourcing
from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Qty, Versioned


class Unit(Versioned, Base):
    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    dimension: Mapped[Dimension] = mapped_column(ChoiceType(Dimension), default=Dimension.COUNT)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class UnitConversion(Base):
    """1 `from_unit` = `factor` × `to_unit`; for one material only when `material_id` is set (1 box = 24 pcs).

    Conversions work both ways and chain; see `service.UnitConverter`.
    """

    __tablename__ = "unit_conversion"
    __table_args__ = (UniqueConstraint("from_unit_id", "to_unit_id", "material_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    factor: Mapped[Decimal] = mapped_column(Numeric(24, 10))
    material_id: Mapped[int | None] = mapped_column(ForeignKey("material.id"))

    from_unit: Mapped[Unit] = relationship(foreign_keys=[from_unit_id], lazy="joined")
    to_unit: Mapped[Unit] = relationship(foreign_keys=[to_unit_id], lazy="joined")
    material: Mapped[Material | None] = relationship(lazy="joined")


class MaterialClass(Versioned, Base):
    __tablename__ = "material_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("material_class.id"))

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class Material(Versioned, Base):
    """A material definition; quantities of it are kept in its base `unit`."""

    __tablename__ = "material"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[MaterialType] = mapped_column(ChoiceType(MaterialType), index=True)
    sourcing: Mapped[Sourcing] = mapped_column(ChoiceType(Sourcing), default=Sourcing.BUY)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("material_class.id"), index=True)
    specification: Mapped[str | None] = mapped_column(Text)
    lot_tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit] = relationship(lazy="joined")
    material_class: Mapped[MaterialClass | None] = relationship(lazy="joined")

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class Bom(Versioned, Base):
    """One revision of a material's bill of materials, valid from `effective_from` until `effective_to`."""

    __tablename__ = "bom"
    __table_args__ = (UniqueConstraint("material_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    revision: Mapped[str] = mapped_column(String(20))
    status: Mapped[DocumentStatus] = mapped_column(ChoiceType(DocumentStatus), default=DocumentStatus.RELEASED)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    # Component quantities are per this many units of the parent.
    base_quantity: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(1))
    note: Mapped[str | None] = mapped_column(Text)

    material: Mapped[Material] = relationship(lazy="joined")
    lines: Mapped[list[BomLine]] = relationship(
        back_populates="bom", cascade="all, delete-orphan", order_by="BomLine.position"
    )


class BomLine(Base):
    __tablename__ = "bom_line"
    __table_args__ = (UniqueConstraint("bom_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bom_id: Mapped[int] = mapped_column(ForeignKey("bom.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    component_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Qty())
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    # Expected loss as a fraction: 0.02 means 2 % more is issued than the product needs.
    scrap_factor: Mapped[Decimal] = mapped_column(Numeric(8, 6), default=Decimal(0))
    # The routing step that consumes it (backflush); None: issued at the first operation.
    operation_seq: Mapped[int | None] = mapped_column(Integer)
    # Consumed by itself when its operation (or the last one) reports output: from line-side WIP, FEFO/FIFO lots.
    backflush: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    bom: Mapped[Bom] = relationship(back_populates="lines")
    component: Mapped[Material] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(lazy="joined")


class Routing(Versioned, Base):
    """One revision of the sequence of operations that makes a material."""

    __tablename__ = "routing"
    __table_args__ = (UniqueConstraint("material_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    revision: Mapped[str] = mapped_column(String(20))
    status: Mapped[DocumentStatus] = mapped_column(ChoiceType(DocumentStatus), default=DocumentStatus.RELEASED)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    material: Mapped[Material] = relationship(lazy="joined")
    operations: Mapped[list[RoutingOperation]] = relationship(
        back_populates="routing", cascade="all, delete-orphan", order_by="RoutingOperation.seq"
    )


class RoutingOperation(Base):
    """A routing step, done at a work center or on any machine of an equipment class."""

    __tablename__ = "routing_operation"
    __table_args__ = (UniqueConstraint("routing_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    routing_id: Mapped[int] = mapped_column(ForeignKey("routing.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    work_center_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"), index=True)
    equipment_class_id: Mapped[int | None] = mapped_column(ForeignKey("equipment_class.id"))
    setup_minutes: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    run_minutes: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))  # per unit
    required_skill: Mapped[str | None] = mapped_column(String(40))
    required_skill_level: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)

    routing: Mapped[Routing] = relationship(back_populates="operations")


class ExternalId(Base):
    """The data dictionary: a code another system uses for one of our records (M001 in ERP = MAT01 in WMS)."""

    __tablename__ = "external_id"
    __table_args__ = (
        UniqueConstraint("system", "kind", "external_code"),
        Index("ix_external_id_kind_internal", "kind", "internal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    external_code: Mapped[str] = mapped_column(String(100))
    internal_id: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(200))
