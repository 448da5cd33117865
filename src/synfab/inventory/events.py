"""Events the inventory publishes. Quantities are in the material's base unit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class LotCreated(Event):
    lot_id: int
    code: str
    material_id: int
    parent_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class LotSplit(Event):
    """`quantity` of `lot_id` at `location_id` became the new sublot `sublot_id`."""

    lot_id: int
    sublot_id: int
    sublot_code: str
    location_id: int
    quantity: Decimal


@dataclass(frozen=True, kw_only=True)
class LotHeld(Event):
    lot_id: int
    code: str
    material_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class LotReleased(Event):
    lot_id: int
    code: str
    material_id: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class LotScrapped(Event):
    lot_id: int
    code: str
    material_id: int
    reason: str
    move_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class LotConsumed(Event):
    """The lot's last stock was consumed; nothing of it is left anywhere."""

    lot_id: int
    code: str
    material_id: int


@dataclass(frozen=True, kw_only=True)
class StockMoved(Event):
    """One per `post_moves` call, however many moves it posted (an import of thousands is one event).

    Carries the ids of the moves and what they touched; a consumer needing each line reads the moves
    by id (each move's `event_id` is this event's id).
    """

    move_ids: list[int]
    kinds: list[str]
    material_ids: list[int]
    location_ids: list[int]
    lot_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class StockReserved(Event):
    reservation_id: int
    material_id: int
    quantity: Decimal
    demand_kind: str
    demand_id: int
    lot_id: int | None = None
    location_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReservationReleased(Event):
    reservation_id: int
    material_id: int
    demand_kind: str
    demand_id: int


@dataclass(frozen=True, kw_only=True)
class LotsLinked(Event):
    """Genealogy: `quantity` of the input lot went into the output lot."""

    link_id: int
    input_lot_id: int
    output_lot_id: int
    quantity: Decimal
