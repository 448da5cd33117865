"""Events of material planning. Quantities are in the material's base unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from synfab.core.bus import Event
from synfab.orders.schemas import QtyOut


@dataclass(frozen=True, kw_only=True)
class ShortageRaised(Event):
    """A work order is short of a material (raised, or the shortage grew or shrank while still open)."""

    shortage_id: int
    work_order_id: int
    material_id: int
    site_id: int
    quantity: QtyOut
    need_date: date
    cover_date: date | None


@dataclass(frozen=True, kw_only=True)
class ShortageCovered(Event):
    """The shortage is gone: stock was reserved for it, or the work order no longer needs it (`closed`)."""

    shortage_id: int
    work_order_id: int
    material_id: int
    site_id: int
    closed: bool = False


@dataclass(frozen=True, kw_only=True)
class MaterialsReplanRequested(Event):
    """Work or stock changed in this transaction: the netting of the (material, site) pairs it touched is redone
    once, after the events recorded before this one (an order line, its work order and the component work
    orders under it make one re-plan). `pairs` is filled by the changes that follow until the event is
    published (stored with it, so a retry from the outbox re-plans the same pairs); `cause_id`: the event that
    asked first — the suggestions name it as their cause."""

    pairs: list[tuple[int, int]]
    cause_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class PurchaseSuggestionsChanged(Event):
    """The open purchase suggestions of a material at a site changed: procurement is told (notifications)."""

    material_id: int
    site_id: int
    suggestion_ids: list[int]
    total_quantity: QtyOut
    earliest_order_by: date | None


@dataclass(frozen=True, kw_only=True)
class PurchaseSuggestionsConverted(Event):
    suggestion_ids: list[int]
    purchase_order_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class PurchaseSuggestionDismissed(Event):
    suggestion_id: int
    material_id: int
    site_id: int


@dataclass(frozen=True, kw_only=True)
class MrpRun(Event):
    """A full MRP run over all open demand (the button, the API, the CLI)."""

    materials: int
    suggestions: int
    shortages: int
