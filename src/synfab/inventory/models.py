"""Stock: lots, the ledger of immutable moves, the balance kept from it, reservations, genealogy.

Locations are plant nodes of the storage levels (storage zone / storage unit).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, event, or_, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.core import clock
from synfab.core.choices import ChoiceType
from synfab.core.db import Base, Qty, UtcDateTime, Versioned
from synfab.core.scoping import ScopeNodes, Scoped
from synfab.inventory.choices import LotStatus, MoveKind, ReservationStatus


class Lot(Scoped, Versioned, Base):
    """A batch of one material with one history; a sublot points to the lot it was split from."""

    __tablename__ = "lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"), index=True)
    status: Mapped[LotStatus] = mapped_column(ChoiceType(LotStatus), default=LotStatus.AVAILABLE, index=True)
    received_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    supplier_lot: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    # Where it was made (a production line): the people of that line see it even after its stock moved on.
    made_at_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"))

    # A lot is an identifier, not a place: anyone who may create stock may create one; it is seen and changed
    # through the balances it has in the person's scope.
    __object_type__ = "stock"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        if action == "create":
            return true()
        return or_(cls.id.in_(_lots_in(nodes)), cls.made_at_id.in_(nodes.subtree))
    # Why the lot was last put on hold, released or scrapped (the events keep the whole history).
    status_reason: Mapped[str | None] = mapped_column(String(200))

    def is_expired(self, today: date) -> bool:
        return self.expires_on is not None and self.expires_on < today


class StockMove(Scoped, Base):
    """One immutable ledger entry, in the material's base unit. A correction is a new move."""

    __tablename__ = "stock_move"
    __table_args__ = (
        Index("ix_stock_move_material_time", "material_id", "moved_at"),
        # The moves page lists all materials newest first and by location.
        Index("ix_stock_move_moved_at", "moved_at"),
        Index("ix_stock_move_from_location_id", "from_location_id"),
        Index("ix_stock_move_to_location_id", "to_location_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MoveKind] = mapped_column(ChoiceType(MoveKind))
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"), index=True)
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"))
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"))
    quantity: Mapped[Decimal] = mapped_column(Qty())
    moved_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    reference: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(80), default="system")
    # The StockMoved event that posted it: all moves of one `post_moves` call share it.
    event_id: Mapped[str | None] = mapped_column(String(32), index=True)

    __object_type__ = "stock"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """To see a move, one end in scope; to post one, both ends (a transfer out of scope is someone else's)."""
        ends = (cls.from_location_id, cls.to_location_id)
        if action == "view":
            return or_(*(end.in_(nodes.subtree) for end in ends))
        return and_(*(or_(end.is_(None), end.in_(nodes.subtree)) for end in ends))


@event.listens_for(StockMove, "before_update")
@event.listens_for(StockMove, "before_delete")
def _moves_are_immutable(mapper: Any, connection: Any, target: StockMove) -> None:
    raise RuntimeError("stock moves are immutable; post a correcting move instead")


class StockBalance(Scoped, Base):
    """On hand per material, location and lot, kept in step with the ledger in the same transaction."""

    # Derived from the ledger (which is audited move by move).
    __audited__ = False

    __tablename__ = "stock_balance"
    __table_args__ = (UniqueConstraint("material_id", "location_id", "lot_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"), index=True)
    # lot_id, or 0 for stock kept without a lot: a unique key that NULLs would break.
    lot_key: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[Decimal] = mapped_column(Qty(), default=Decimal(0))

    lot: Mapped[Lot | None] = relationship(lazy="joined")

    __object_type__ = "stock"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """Stock belongs where it is."""
        return cls.location_id.in_(nodes.subtree)


class Reservation(Scoped, Versioned, Base):
    """Stock set aside for a demand (a work order), against a lot when one is chosen."""

    __tablename__ = "reservation"
    __table_args__ = (Index("ix_reservation_demand", "demand_kind", "demand_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("material.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"))
    quantity: Mapped[Decimal] = mapped_column(Qty())
    demand_kind: Mapped[str] = mapped_column(String(40))
    demand_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[ReservationStatus] = mapped_column(
        ChoiceType(ReservationStatus), default=ReservationStatus.ACTIVE, index=True
    )

    __object_type__ = "stock"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """Reservations at a location go with it; those of a demand not yet placed are tied to no place."""
        return or_(cls.location_id.is_(None), cls.location_id.in_(nodes.subtree))


class LotLink(Scoped, Base):
    """Genealogy: `quantity` of `input_lot` went into `output_lot`."""

    __tablename__ = "lot_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    input_lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    output_lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Qty())
    move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_move.id"))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)

    __object_type__ = "stock"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        if action != "view":
            return true()
        lots = _lots_in(nodes)
        return or_(cls.input_lot_id.in_(lots), cls.output_lot_id.in_(lots))


def _lots_in(nodes: ScopeNodes) -> Any:
    """Lots with a balance in scope (a Core alias: the criteria's subquery is not restricted or rewritten)."""
    balances = StockBalance.__table__.alias("scope_balance")
    return select(balances.c.lot_id).where(balances.c.location_id.in_(nodes.subtree), balances.c.lot_id.is_not(None))

