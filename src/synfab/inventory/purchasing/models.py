"""Suppliers, what each supplies (with order quantities and lead times), purchase orders and their receipts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Qty, UtcDateTime, Versioned
from synfab.core.scoping import Scoped, ScopeNodes
from synfab.inventory.purchasing.choices import PurchaseOrderStatus
from synfab.plant.models import PlantNode


class Supplier(Versioned, Base):
    """A company goods are bought from: master data, seen plant-wide like customers.

    TODO(issue 3): a person with the supplier role is to see only their own supplier's purchase orders; the
    orders carry `supplier_id` for that, the scoping of such users is not built yet.
    """

    __tablename__ = "supplier"
    __object_type__ = "supplier"  # the permission object type (not row-scoped: master data)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))
    # Days from placing an order to receiving it, when the supplier item does not say.
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    items: Mapped[list[SupplierItem]] = relationship(
        back_populates="supplier", cascade="all, delete-orphan", order_by="SupplierItem.id")

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class SupplierItem(Versioned, Base):
    """A material a supplier sells: how much at least, in which packs, how fast, at what price."""

    __tablename__ = "supplier_item"
    __table_args__ = (UniqueConstraint("supplier_id", "material_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    # In the material's base unit; 0 means no minimum / no pack rounding.
    min_order_qty: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    pack_size: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    currency: Mapped[str | None] = mapped_column(String(3))
    # The supplier purchase suggestions name for this material.
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)

    supplier: Mapped[Supplier] = relationship(back_populates="items")
    material: Mapped[Material] = relationship(lazy="joined", viewonly=True)


class PurchaseOrder(Scoped, Versioned, Base):
    """An order to a supplier for goods delivered to one site."""

    __tablename__ = "purchase_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        ChoiceType(PurchaseOrderStatus), default=PurchaseOrderStatus.DRAFT, index=True)
    order_date: Mapped[date] = mapped_column(Date)
    placed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)

    supplier: Mapped[Supplier] = relationship(lazy="joined", viewonly=True)
    site: Mapped[PlantNode] = relationship(viewonly=True)
    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="PurchaseOrderLine.line_no")

    __object_type__ = "purchase_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A purchase order belongs to the site it delivers to."""
        return cls.site_id.in_(nodes.subtree)


class PurchaseOrderLine(Scoped, Versioned, Base):
    __tablename__ = "purchase_order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    # Copied from the order: MRP reads open lines of one material at one site without a join.
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Qty())  # in the material's base unit
    received_quantity: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    # Open while the order is open and not all has arrived (kept with the order's status).
    open: Mapped[bool] = mapped_column(Boolean, default=True, index=True)

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    material: Mapped[Material] = relationship(lazy="joined", viewonly=True)

    __object_type__ = "purchase_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return cls.site_id.in_(nodes.subtree)

    @property
    def open_quantity(self) -> Decimal:
        return max(self.quantity - self.received_quantity, Decimal(0))


class PurchaseReceipt(Scoped, Base):
    """Goods received against a purchase order line: into which lot and location, how much."""

    __tablename__ = "purchase_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_line.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    quantity: Mapped[Decimal] = mapped_column(Qty())
    move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_move.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    received_by: Mapped[str] = mapped_column(String(80), default="system")

    __object_type__ = "purchase_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return cls.site_id.in_(nodes.subtree)
