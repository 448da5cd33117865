"""Customer demand and the work orders that meet it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.catalog.models import Material
from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Qty, UtcDateTime, Versioned
from synfab.core.scoping import ScopeNodes, Scoped
from synfab.orders.choices import (
    OPEN_LINE_STATUSES, LineStatus, OperationStatus, Priority, ReviewReason, SalesOrderStatus, WorkOrderSource,
    WorkOrderStatus,
)
from synfab.plant.models import EquipmentClass, PlantNode


class Customer(Versioned, Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class SalesOrder(Scoped, Versioned, Base):
    __tablename__ = "sales_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    # The plant that delivers it: the scope the order is seen in.
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    order_date: Mapped[date] = mapped_column(Date)
    customer_po: Mapped[str | None] = mapped_column(String(60))
    priority: Mapped[Priority] = mapped_column(ChoiceType(Priority, 2), default=Priority.NORMAL)
    status: Mapped[SalesOrderStatus] = mapped_column(
        ChoiceType(SalesOrderStatus), default=SalesOrderStatus.OPEN, index=True
    )
    note: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(lazy="joined")
    # Plant nodes are few: many-to-one loads hit the identity map after the first (no join per row).
    site: Mapped[PlantNode] = relationship(viewonly=True)
    __object_type__ = "sales_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """An order belongs to the site that delivers it."""
        return cls.site_id.in_(nodes.subtree)

    lines: Mapped[list[SalesOrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="SalesOrderLine.line_no"
    )


class SalesOrderLine(Scoped, Versioned, Base):
    __tablename__ = "sales_order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_order.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Qty())  # in the material's base unit
    due_date: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[Priority] = mapped_column(ChoiceType(Priority, 2), default=Priority.NORMAL)
    status: Mapped[LineStatus] = mapped_column(ChoiceType(LineStatus), default=LineStatus.OPEN)
    # Delivered so far (shipments' SHIPMENT moves); the open part is quantity − shipped while the line is open.
    shipped_quantity: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0), server_default="0")

    order: Mapped[SalesOrder] = relationship(back_populates="lines")

    __object_type__ = "sales_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A line goes with its order."""
        orders = SalesOrder.__table__.alias("scope_order")
        return cls.order_id.in_(select(orders.c.id).where(orders.c.site_id.in_(nodes.subtree)))
    material: Mapped[Material] = relationship(lazy="joined", viewonly=True)


# The earliest due date of the order's lines still open: the list's "due" column, sortable in SQL.
SalesOrder.earliest_due_date = column_property(  # type: ignore[attr-defined]
    select(func.min(SalesOrderLine.due_date))
    .where(SalesOrderLine.order_id == SalesOrder.id,
           SalesOrderLine.status.in_([s.value for s in OPEN_LINE_STATUSES]))
    .correlate_except(SalesOrderLine)
    .scalar_subquery()
)


class WorkOrder(Scoped, Versioned, Base):
    """An order to make a quantity of a material: for a sales order line, a parent work order, or stock."""

    __tablename__ = "work_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Qty())
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    production_line_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"), index=True)
    sales_order_line_id: Mapped[int | None] = mapped_column(ForeignKey("sales_order_line.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    bom_id: Mapped[int | None] = mapped_column(ForeignKey("bom.id"))
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routing.id"))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    priority: Mapped[Priority] = mapped_column(ChoiceType(Priority, 2), default=Priority.NORMAL)
    status: Mapped[WorkOrderStatus] = mapped_column(
        ChoiceType(WorkOrderStatus), default=WorkOrderStatus.PLANNED, index=True
    )
    planned_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    actual_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    actual_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    # The lot good output goes into now (created with the first consumption or report; a new one on request).
    output_lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    # Set when a change could not follow by itself (work already started): the planner decides, then clears it.
    review_reason: Mapped[ReviewReason | None] = mapped_column(ChoiceType(ReviewReason))
    review_note: Mapped[str | None] = mapped_column(String(200))

    operations: Mapped[list[WorkOrderOperation]] = relationship(
        back_populates="work_order", cascade="all, delete-orphan", order_by="WorkOrderOperation.seq"
    )
    material: Mapped[Material] = relationship(lazy="joined", viewonly=True)
    site: Mapped[PlantNode] = relationship(foreign_keys=[site_id], viewonly=True)
    production_line: Mapped[PlantNode | None] = relationship(foreign_keys=[production_line_id], viewonly=True)
    sales_order_line: Mapped[SalesOrderLine | None] = relationship(viewonly=True)
    parent: Mapped[WorkOrder | None] = relationship(remote_side=[id], viewonly=True)

    __object_type__ = "work_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A work order belongs to its production line, or to its site when it has none."""
        return func.coalesce(cls.production_line_id, cls.site_id).in_(nodes.subtree)

    @property
    def source(self) -> WorkOrderSource:
        if self.parent_id is not None:
            return WorkOrderSource.PARENT
        if self.sales_order_line_id is not None:
            return WorkOrderSource.ORDER_LINE
        return WorkOrderSource.STOCK


class WorkOrderOperation(Scoped, Versioned, Base):
    """A work order's copy of a routing step: where it runs, how long it should take, what was reported."""

    __tablename__ = "work_order_operation"
    __table_args__ = (UniqueConstraint("work_order_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    work_center_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"), index=True)
    equipment_class_id: Mapped[int | None] = mapped_column(ForeignKey("equipment_class.id"))
    setup_minutes: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    run_minutes: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))  # per unit
    planned_minutes: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))  # setup + quantity × run
    required_skill: Mapped[str | None] = mapped_column(String(40))
    required_skill_level: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[OperationStatus] = mapped_column(ChoiceType(OperationStatus), default=OperationStatus.PENDING)
    good_qty: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    scrap_qty: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    rework_qty: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    planned_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    planned_end: Mapped[datetime | None] = mapped_column(UtcDateTime())
    actual_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    actual_end: Mapped[datetime | None] = mapped_column(UtcDateTime())

    work_order: Mapped[WorkOrder] = relationship(back_populates="operations")

    __object_type__ = "work_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """An operation goes with its work order."""
        wo = WorkOrder.__table__.alias("scope_work_order")
        return cls.work_order_id.in_(select(wo.c.id).where(
            func.coalesce(wo.c.production_line_id, wo.c.site_id).in_(nodes.subtree)))
    work_center: Mapped[PlantNode | None] = relationship(viewonly=True)
    equipment_class: Mapped[EquipmentClass | None] = relationship(viewonly=True)
