"""JSON shapes of the inventory API (Create / Update / Read families). Quantities are in the base unit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from synfab.inventory.choices import LotStatus, MoveKind, ReservationStatus
from synfab.people.choices import SignatureMeaning


def _plain(value: Decimal) -> str:
    """12 rather than 12.000000: the column keeps 6 places, people and scripts read the number."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# Exact decimals in, exact decimal strings out.
Quantity = Annotated[Decimal, PlainSerializer(_plain, return_type=str, when_used="json")]
PositiveQty = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6),
                        PlainSerializer(_plain, return_type=str, when_used="json")]


class LotCreate(BaseModel):
    code: str = Field(min_length=1, max_length=60)
    material_id: int
    received_on: date | None = None
    # Left out: the received date plus the material's shelf life (none when it has no shelf life).
    expires_on: date | None = None
    supplier_lot: str | None = Field(default=None, max_length=60)
    note: str | None = None


class LotRelease(BaseModel):
    """Release a held lot with an electronic signature: your password (and second-factor code) again, what
    the signature means, and why."""

    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10)
    meaning: SignatureMeaning = SignatureMeaning.APPROVED
    reason: str = Field(min_length=1, max_length=200)
    version: int | None = None


class LotStatusChange(BaseModel):
    """Hold, release or scrap a lot; `version` is the one the client loaded (a stale one gets 409)."""

    reason: str = Field(min_length=1, max_length=200)
    version: int | None = None


class LotSplit(BaseModel):
    """Split `quantity` kept at `location_id` off into a new sublot called `code`."""

    code: str = Field(min_length=1, max_length=60)
    quantity: PositiveQty
    location_id: int
    version: int | None = None


class LotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    material_id: int
    parent_id: int | None
    status: LotStatus
    status_reason: str | None
    received_on: date | None
    expires_on: date | None
    supplier_lot: str | None
    note: str | None
    version: int
    updated_at: datetime
    updated_by: str


class LotListRow(BaseModel):
    """A row of the lot list (and its export)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    material_id: int
    material_code: str
    material_name: str
    material_name_en: str | None
    unit: str
    status: LotStatus
    received_on: date | None
    expires_on: date | None
    supplier_lot: str | None
    parent_id: int | None
    on_hand: Quantity


class LotBalanceRead(BaseModel):
    location_id: int
    location_code: str
    location_name: str
    location_name_en: str | None = None
    quantity: Quantity


class MoveIn(BaseModel):
    """One stock move. Which locations it needs depends on its kind: receipt/production → to;
    issue/consumption/shipment → from; transfer → both; adjustment → exactly one."""

    kind: MoveKind
    material_id: int
    lot_id: int | None = None
    from_location_id: int | None = None
    to_location_id: int | None = None
    quantity: PositiveQty
    reference: str | None = Field(default=None, max_length=120)
    reason: str | None = Field(default=None, max_length=200)
    # When it happened, if not now (a receipt entered after the fact).
    moved_at: datetime | None = None


class MoveBatch(BaseModel):
    """Moves posted together: all of them or none. A key sent again returns the first result."""

    moves: list[MoveIn] = Field(min_length=1, max_length=50_000)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class MoveRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: MoveKind
    material_id: int
    lot_id: int | None
    from_location_id: int | None
    to_location_id: int | None
    quantity: Quantity
    moved_at: datetime
    reference: str | None
    reason: str | None
    actor: str
    event_id: str | None


class MoveRow(MoveRead):
    """A move as the moves list shows it, with the codes people read."""

    material_code: str
    unit: str
    lot_code: str | None
    from_location_code: str | None
    to_location_code: str | None


class LotDetail(LotRead):
    material_code: str
    unit: str
    on_hand: Quantity
    balances: list[LotBalanceRead]
    moves: list[MoveRead]
    parent: LotRead | None
    sublots: list[LotRead]


class StockRow(BaseModel):
    """On hand of one material at one location in one lot (no lot: `lot_id` is null)."""

    model_config = ConfigDict(from_attributes=True)

    material_id: int
    material_code: str
    material_name: str
    material_name_en: str | None
    unit: str
    lot_id: int | None
    lot_code: str | None
    lot_status: LotStatus | None
    expires_on: date | None
    supplier_lot: str | None
    location_id: int
    location_code: str
    location_name: str
    location_name_en: str | None
    quantity: Quantity


class OnHandTarget(BaseModel):
    """What a stock count or opening-stock file says is there."""

    material_id: int
    location_id: int
    lot_id: int | None = None
    quantity: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]


class Availability(BaseModel):
    material_id: int
    location_id: int | None
    lot_id: int | None
    on_hand: Quantity
    available: Quantity


class ReservationCreate(BaseModel):
    material_id: int
    quantity: PositiveQty
    demand_kind: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    demand_id: int
    lot_id: int | None = None
    location_id: int | None = None


class ReservationRelease(BaseModel):
    version: int | None = None


class ReservationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    material_id: int
    lot_id: int | None
    location_id: int | None
    quantity: Quantity
    demand_kind: str
    demand_id: int
    status: ReservationStatus
    version: int
    updated_at: datetime
    updated_by: str


class LotLinkCreate(BaseModel):
    input_lot_id: int
    output_lot_id: int
    quantity: PositiveQty
    move_id: int | None = None


class LotLinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    input_lot_id: int
    output_lot_id: int
    quantity: Quantity
    move_id: int | None
    linked_at: datetime


class TraceLine(BaseModel):
    """One genealogy link seen from the traced lot: level 1 are its direct inputs (or outputs)."""

    level: int
    lot_id: int
    lot_code: str
    lot_status: LotStatus
    material_id: int
    material_code: str
    material_name: str
    material_name_en: str | None
    quantity: Quantity
    # The lot one level closer to the traced one that this line is linked to.
    linked_lot_id: int


class BalanceMismatch(BaseModel):
    """A place where the kept balance differs from the sum of the ledger (should never exist)."""

    material_id: int
    location_id: int
    lot_id: int | None
    ledger_quantity: Quantity
    balance_quantity: Quantity


class PageOf(BaseModel):
    total: int
    page: int
    per_page: int


class LotPage(PageOf):
    items: list[LotListRow]


class MovePage(PageOf):
    items: list[MoveRow]


class StockPage(PageOf):
    items: list[StockRow]
