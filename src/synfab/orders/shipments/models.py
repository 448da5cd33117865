"""Tables of this context: shipments and the lots picked on their lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Qty, UtcDateTime, Versioned
from synfab.core.scoping import Scoped, ScopeNodes
from synfab.orders.shipments.choices import ShipmentStatus


class Shipment(Scoped, Versioned, Base):
    """One delivery of (part of) a sales order to its customer, from the order's site."""

    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    sales_order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    status: Mapped[ShipmentStatus] = mapped_column(ChoiceType(ShipmentStatus), default=ShipmentStatus.DRAFT,
                                                   index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    carrier: Mapped[str | None] = mapped_column(String(80))
    tracking_no: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list[ShipmentLine]] = relationship(
        back_populates="shipment", cascade="all, delete-orphan", order_by="ShipmentLine.id")

    __object_type__ = "shipment"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A shipment belongs to the site it leaves from."""
        return cls.site_id.in_(nodes.subtree)


class ShipmentLine(Scoped, Base):
    """A quantity of one lot, taken from one location, against one sales order line."""

    __tablename__ = "shipment_line"
    __table_args__ = (Index("ix_shipment_line_lot", "lot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"), index=True)
    sales_order_line_id: Mapped[int] = mapped_column(ForeignKey("sales_order_line.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    from_location_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    quantity: Mapped[Decimal] = mapped_column(Qty())
    # The SHIPMENT move that took it out of stock, once shipped.
    move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_move.id"))

    shipment: Mapped[Shipment] = relationship(back_populates="lines")

    __object_type__ = "shipment"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A line goes with its shipment."""
        shipments = Shipment.__table__.alias("scope_shipment")
        return cls.shipment_id.in_(select(shipments.c.id).where(shipments.c.site_id.in_(nodes.subtree)))
