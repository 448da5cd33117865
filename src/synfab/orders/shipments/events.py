"""What happens to shipments. Each carries `order_id`, so the sales order's timeline shows its deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from synfab.core.bus import Event
from synfab.orders.schemas import QtyOut


@dataclass(frozen=True, kw_only=True)
class ShipmentCreated(Event):
    shipment_id: int
    code: str
    order_id: int
    customer_id: int
    site_id: int


@dataclass(frozen=True, kw_only=True)
class ShipmentShipped(Event):
    """The shipment left: its SHIPMENT moves are posted and its order lines' shipped quantities updated."""

    shipment_id: int
    code: str
    order_id: int
    order_code: str
    customer_id: int
    move_ids: list[int]
    lot_ids: list[int]
    # Per order line: [line id, line number, quantity shipped now, shipped in total].
    lines: list[tuple[int, int, QtyOut, QtyOut]]


@dataclass(frozen=True, kw_only=True)
class ShipmentCancelled(Event):
    shipment_id: int
    code: str
    order_id: int
