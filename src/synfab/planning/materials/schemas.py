"""JSON shapes of the materials API. Quantities are in the material's base unit."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from synfab.orders.schemas import QtyOut
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus


class ShortageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    work_order_id: int
    work_order_code: str
    material_id: int
    material_code: str
    site_id: int
    quantity: QtyOut
    need_date: date
    cover_date: date | None
    covered_by: str | None
    status: ShortageStatus
    raised_at: datetime


class ShortagePage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[ShortageRead]


class SuggestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    material_id: int
    material_code: str
    site_id: int
    supplier_id: int | None
    supplier_code: str | None
    net_quantity: QtyOut
    quantity: QtyOut
    need_date: date
    order_by: date
    status: SuggestionStatus
    purchase_order_id: int | None
    cause_event_id: str | None
    version: int


class SuggestionPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[SuggestionRead]


class ConvertIn(BaseModel):
    suggestion_ids: list[int] = Field(min_length=1, max_length=500)


class VersionIn(BaseModel):
    version: int | None = None


class MrpResult(BaseModel):
    materials: int
    suggestions: int
    shortages: int
