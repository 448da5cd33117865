"""JSON shapes of shipments, lot suggestions and the recall scope."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from synfab.orders.schemas import PositiveQty, QtyOut
from synfab.orders.shipments.choices import ShipmentStatus


class ShipmentCreate(BaseModel):
    sales_order_id: int
    carrier: str | None = Field(default=None, max_length=80)
    tracking_no: str | None = Field(default=None, max_length=80)
    note: str | None = Field(default=None, max_length=2000)


class PickIn(BaseModel):
    """Pick a quantity of a lot at a location against a line of the shipment's order."""

    sales_order_line_id: int
    lot_id: int
    from_location_id: int
    quantity: PositiveQty
    version: int | None = None


class ShipIn(BaseModel):
    """Ship a draft; a key sent again returns the first result without shipping twice."""

    version: int | None = None
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)
    carrier: str | None = Field(default=None, max_length=80)
    tracking_no: str | None = Field(default=None, max_length=80)


class VersionIn(BaseModel):
    version: int | None = None


class ShipmentLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sales_order_line_id: int
    line_no: int
    material_id: int
    material_code: str
    lot_id: int | None
    lot_code: str | None
    from_location_id: int
    location_code: str
    quantity: QtyOut
    move_id: int | None


class ShipmentRead(BaseModel):
    id: int
    code: str
    sales_order_id: int
    order_code: str
    customer_id: int
    customer_code: str
    customer_name: str
    site_id: int
    status: ShipmentStatus
    shipped_at: datetime | None
    carrier: str | None
    tracking_no: str | None
    note: str | None
    version: int
    lines: list[ShipmentLineRead]


class ShipmentRow(BaseModel):
    """A shipment in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    sales_order_id: int
    order_code: str
    customer_code: str
    customer_name: str
    status: ShipmentStatus
    shipped_at: datetime | None
    quantity: QtyOut


class ShipmentPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[ShipmentRow]


class LotSuggestion(BaseModel):
    """A lot that could be picked for a line, in the order to pick it (first expiring, then oldest)."""

    lot_id: int
    lot_code: str
    location_id: int
    location_code: str
    on_hand: QtyOut
    expires_on: date | None
    received_on: date | None
    suggested: QtyOut


class DeliveryLine(BaseModel):
    """Where a sales order line stands: ordered, shipped, still open, and the open part cancelled."""

    line_id: int
    line_no: int
    material_code: str
    status: str
    ordered: QtyOut
    shipped: QtyOut
    open: QtyOut
    cancelled: QtyOut


class RecallShipment(BaseModel):
    """A shipped quantity of a reached lot: who got it, on which order and shipment."""

    level: int
    lot_id: int
    lot_code: str
    material_code: str
    shipment_id: int
    shipment_code: str
    shipped_at: datetime | None
    sales_order_id: int
    order_code: str
    customer_id: int
    customer_code: str
    customer_name: str
    quantity: QtyOut


class RecallLot(BaseModel):
    level: int
    lot_id: int
    lot_code: str
    lot_status: str
    material_code: str
    on_hand: QtyOut
    shipped: QtyOut


class RecallCustomer(BaseModel):
    customer_id: int
    customer_code: str
    customer_name: str
    shipments: int
    quantity: QtyOut


class RecallScope(BaseModel):
    """Everything a recall of the lot reaches: the lots made from it (with stock still on hand), the
    shipments that carried any of them and the customers who got them."""

    lot_id: int
    lot_code: str
    lots: list[RecallLot]
    shipments: list[RecallShipment]
    customers: list[RecallCustomer]
    on_hand: QtyOut
    shipped: QtyOut
