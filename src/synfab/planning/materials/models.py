"""What work orders need of bought materials, what they are short of, and what MRP suggests buying.

`MaterialRequirement` and `Shortage` are written by this context's handlers only (the engine's output, kept
apart from what people edit); `PurchaseSuggestion` is the engine's output people act on (convert, dismiss).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from synfab.core import clock
from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Qty, UtcDateTime, Versioned
from synfab.core.scoping import Scoped, ScopeNodes
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus


class _OfWorkOrder(Scoped):
    """Rows of a work order are seen where the work order is: its production line, else its site."""

    __object_type__ = "work_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return func.coalesce(cls.production_line_id, cls.site_id).in_(nodes.subtree)  # type: ignore[attr-defined]


class MaterialRequirement(_OfWorkOrder, Base):
    """How much of a bought component a work order needs in all (its BOM × its quantity, in the component's
    base unit) and how much it has consumed. Reservations and shortages follow `quantity - consumed`."""

    __tablename__ = "material_requirement"
    __table_args__ = (
        UniqueConstraint("work_order_id", "material_id"),
        Index("ix_material_requirement_material_site", "material_id", "site_id", "open"),
    )
    __audited__ = False  # derived from work orders and the BOM; its effects (reservations) are audited

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    production_line_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"))
    need_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Qty())
    consumed: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))
    # False once the work order is cancelled, completed or closed: no more demand.
    open: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def remaining(self) -> Decimal:
        return max(self.quantity - self.consumed, Decimal(0))


class Shortage(_OfWorkOrder, Base):
    """What a work order needs of a material and could not reserve, with when it can be covered at the earliest
    (the due date of the open purchase order lines that cover it in need order, else today + lead time)."""

    __tablename__ = "shortage"
    __table_args__ = (
        UniqueConstraint("work_order_id", "material_id"),
        Index("ix_shortage_material_site", "material_id", "site_id", "status"),
    )
    # Engine output, rewritten as work changes (cover dates move with every purchase order): its history is the
    # ShortageRaised / ShortageCovered events, not one audit record per recomputation.
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    production_line_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"))
    quantity: Mapped[Decimal] = mapped_column(Qty())
    need_date: Mapped[date] = mapped_column(Date, index=True)
    cover_date: Mapped[date | None] = mapped_column(Date)
    # The purchase order that covers it ("" when none does: the date is from the lead time).
    covered_by: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[ShortageStatus] = mapped_column(ChoiceType(ShortageStatus), default=ShortageStatus.OPEN,
                                                  index=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PurchaseSuggestion(Scoped, Versioned, Base):
    """MRP's proposal to buy a material for a site: the net need rounded to the supplier's minimum and pack
    size, needed by `need_date`, to be ordered by `order_by` (need date − lead time)."""

    __tablename__ = "purchase_suggestion"
    __table_args__ = (Index("ix_purchase_suggestion_material_site", "material_id", "site_id", "status"),)
    # Engine output, recomputed with every change of demand or supply: its history is the
    # PurchaseSuggestionsChanged / Converted / Dismissed events (with who and why), not an audit record per rerun.
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("supplier.id"), index=True)
    net_quantity: Mapped[Decimal] = mapped_column(Qty())
    quantity: Mapped[Decimal] = mapped_column(Qty())
    need_date: Mapped[date] = mapped_column(Date)
    order_by: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[SuggestionStatus] = mapped_column(ChoiceType(SuggestionStatus), default=SuggestionStatus.OPEN,
                                                     index=True)
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_order.id"))
    # The event whose consequences produced it last ("this suggestion exists because …").
    cause_event_id: Mapped[str | None] = mapped_column(String(32))

    __object_type__ = "purchase_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return cls.site_id.in_(nodes.subtree)
