"""Events purchasing publishes. Quantities are in the material's base unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from synfab.core.bus import Event
from synfab.orders.schemas import QtyOut


@dataclass(frozen=True, kw_only=True)
class SupplierCreated(Event):
    supplier_id: int
    code: str


@dataclass(frozen=True, kw_only=True)
class SupplierChanged(Event):
    supplier_id: int
    code: str
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class SupplierItemChanged(Event):
    """A supplier's terms for a material were set or removed: suggestions of the material follow them."""

    supplier_id: int
    material_id: int
    removed: bool = False


@dataclass(frozen=True, kw_only=True)
class PurchaseOrderCreated(Event):
    purchase_order_id: int
    code: str
    supplier_id: int
    site_id: int
    material_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class PurchaseOrderChanged(Event):
    """Lines or header changed; `material_ids` are the materials whose scheduled receipts moved."""

    purchase_order_id: int
    code: str
    site_id: int
    material_ids: list[int]
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class PurchaseOrderPlaced(Event):
    purchase_order_id: int
    code: str
    supplier_id: int
    site_id: int


@dataclass(frozen=True, kw_only=True)
class PurchaseOrderCancelled(Event):
    purchase_order_id: int
    code: str
    site_id: int
    material_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class PurchaseReceived(Event):
    """Goods arrived against a purchase order line, into a lot (None for a material kept without lots)."""

    purchase_order_id: int
    code: str
    line_id: int
    material_id: int
    site_id: int
    lot_id: int | None
    location_id: int
    quantity: QtyOut
    receipt_id: int
    due_date: date
