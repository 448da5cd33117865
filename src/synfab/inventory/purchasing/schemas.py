"""JSON shapes of the purchasing API (Create / Update / Read families). Quantities in the material's base unit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from synfab.inventory.purchasing.choices import PurchaseOrderStatus
from synfab.orders.schemas import ClientKey, NonNegativeQty, PositiveQty, QtyOut

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")]
Days = Annotated[int, Field(ge=0, le=3650)]
Price = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]


# -- suppliers ------------------------------------------------------------------------------------------------


class SupplierCreate(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=200)
    lead_time_days: Days | None = None
    active: bool = True


class SupplierUpdate(BaseModel):
    """Fields left out stay as they are; `version` is the one the client loaded."""

    version: int | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=200)
    lead_time_days: Days | None = None
    active: bool | None = None


class SupplierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None
    contact: str | None
    lead_time_days: int | None
    active: bool
    version: int
    updated_at: datetime
    updated_by: str


class SupplierItemIn(BaseModel):
    """A supplier's terms for a material (set again to change them)."""

    material_id: int
    min_order_qty: NonNegativeQty = Decimal(0)
    pack_size: NonNegativeQty = Decimal(0)
    lead_time_days: Days | None = None
    unit_price: Price | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    preferred: bool = False


class SupplierItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    supplier_id: int
    material_id: int
    min_order_qty: QtyOut
    pack_size: QtyOut
    lead_time_days: int | None
    unit_price: QtyOut | None
    currency: str | None
    preferred: bool


class SupplierDetail(SupplierRead):
    items: list[SupplierItemRead]


class SupplierPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[SupplierRead]


# -- purchase orders --------------------------------------------------------------------------------------


class PurchaseOrderLineIn(BaseModel):
    material_id: int
    quantity: PositiveQty
    due_date: date
    unit_price: Price | None = None


class PurchaseOrderCreate(BaseModel):
    supplier_id: int
    site_id: int
    code: Code | None = Field(default=None, description="Default: PO-YYYYMMDD-n, numbered per day.")
    note: str | None = Field(default=None, max_length=2000)
    lines: list[PurchaseOrderLineIn] = Field(min_length=1, max_length=500)


class PurchaseOrderLineChange(BaseModel):
    """An existing line (`id`) changed, or a new one (no `id`)."""

    id: int | None = None
    material_id: int | None = None
    quantity: PositiveQty | None = None
    due_date: date | None = None
    unit_price: Price | None = None


class PurchaseOrderUpdate(BaseModel):
    version: int | None = None
    supplier_id: int | None = Field(default=None, description="Only while the order is a draft.")
    note: str | None = Field(default=None, max_length=2000)
    lines: list[PurchaseOrderLineChange] = Field(default_factory=list, max_length=500)


class VersionIn(BaseModel):
    version: int | None = None


class PurchaseOrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    line_no: int
    material_id: int
    quantity: QtyOut
    received_quantity: QtyOut
    open_quantity: QtyOut
    due_date: date
    unit_price: QtyOut | None
    open: bool
    version: int


class PurchaseOrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    supplier_id: int
    site_id: int
    status: PurchaseOrderStatus
    order_date: date
    placed_at: datetime | None
    note: str | None
    version: int
    updated_at: datetime
    updated_by: str
    lines: list[PurchaseOrderLineRead]


class PurchaseOrderPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[PurchaseOrderRead]


class ReceiveIn(BaseModel):
    quantity: PositiveQty
    location_id: int
    lot_code: str | None = Field(default=None, min_length=1, max_length=60,
                                 description="Default: generated from the order, line and receipt number.")
    supplier_lot: str | None = Field(default=None, max_length=60)
    expires_on: date | None = Field(default=None, description="Default: received today + the shelf life.")
    client_key: ClientKey = None


class ReceiptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    line_id: int
    material_id: int
    lot_id: int | None
    location_id: int
    quantity: QtyOut
    move_id: int | None
    received_at: datetime
    received_by: str
