"""Lots and sublots: create, split, hold, release, scrap — and what a lot's page shows."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.inventory.choices import CLOSED_LOT_STATUSES, LotStatus, MoveKind
from synfab.inventory.events import LotCreated, LotHeld, LotReleased, LotScrapped, LotSplit
from synfab.inventory.models import Lot, StockBalance, StockMove
from synfab.inventory.schemas import LotBalanceRead, LotCreate, LotSplit as LotSplitIn, MoveIn
from synfab.inventory.service.ledger import exact, on_hand, plain, post_moves
from synfab.people.models import ESignature
from synfab.people.service.signatures import check_signature
from synfab.plant import service as plant
from synfab.plant.models import PlantNode


def plant_time_zone(session: Session) -> ZoneInfo:
    """The time zone lot dates and the stock pages are in: the first site's (UTC without a site)."""
    return plant.main_time_zone(session)


def today(session: Session) -> date:
    """Today in the plant's time zone: received and expiry dates are local dates."""
    return clock.now().astimezone(plant_time_zone(session)).date()


def get_lot(session: Session, lot_id: int) -> Lot:
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound("lot_not_found", _l("Lot {id} does not exist.", id=lot_id))
    return lot


def lot_by_code(session: Session, code: str) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.code == code.strip()))
    if lot is None:
        raise NotFound("lot_not_found", _l("There is no lot with code {code}.", code=code))
    return lot


def _material(session: Session, material_id: int) -> Material:
    """A material a request refers to: unknown is the request's fault (422), not a missing page."""
    try:
        return catalog.get_material(session, material_id)
    except NotFound as exc:
        raise Invalid(exc.code, exc.message) from None


def _check_code_free(session: Session, code: str) -> None:
    taken = session.scalar(select(Lot).where(Lot.code == code))
    if taken is not None:
        material = catalog.get_material(session, taken.material_id)
        raise Conflict("lot_code_taken", _l(
            "The lot code {code} is already used by a lot of {material}; "
            "lot codes are unique across materials.", code=code, material=material.code))


def create_lot(uow: UnitOfWork, data: LotCreate, *, made_at_id: int | None = None) -> Lot:
    """A new lot of a material, available. Received today unless told; expiry from the material's shelf life
    when not given. The code must be unused by any lot of any material. `made_at_id`: the production line that
    makes it (its people see the lot wherever its stock goes)."""
    s = uow.session
    material = _material(s, data.material_id)
    code = data.code.strip()
    _check_code_free(s, code)
    received = data.received_on or today(s)
    expires = data.expires_on
    if expires is None and material.shelf_life_days:
        expires = received + timedelta(days=material.shelf_life_days)
    if expires is not None and expires < received:
        raise Invalid("lot_expires_before_receipt", _l(
            "The lot would expire ({expires}) before it was received ({received}).",
            expires=expires.isoformat(), received=received.isoformat()))
    lot = Lot(code=code, material_id=material.id, status=LotStatus.AVAILABLE, received_on=received,
              expires_on=expires, supplier_lot=(data.supplier_lot or "").strip() or None, note=data.note,
              made_at_id=made_at_id)
    s.add(lot)
    uow.flush()
    uow.record(LotCreated(lot_id=lot.id, code=lot.code, material_id=lot.material_id))
    return lot


def ensure_lot(uow: UnitOfWork, material_id: int, code: str, *, received_on: date | None = None,
               expires_on: date | None = None, supplier_lot: str | None = None) -> Lot:
    """The lot with this code, created when missing (imports naming lots by code). A code already used by
    another material's lot is a conflict; an existing lot is returned unchanged."""
    existing = uow.session.scalar(select(Lot).where(Lot.code == code.strip()))
    if existing is None:
        return create_lot(uow, LotCreate(code=code, material_id=material_id, received_on=received_on,
                                         expires_on=expires_on, supplier_lot=supplier_lot))
    if existing.material_id != material_id:
        _check_code_free(uow.session, existing.code)
    return existing


def _reason(text: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise Invalid("reason_required", _l("Say why: a reason is required."))
    return reason[:200]


def hold_lot(uow: UnitOfWork, lot_id: int, reason: str, version: int | None = None) -> Lot:
    """Put an available lot on hold: it stays in stock but is not available, issued, consumed or shipped."""
    lot = get_lot(uow.session, lot_id)
    check_version(lot, version)
    why = _reason(reason)
    if lot.status != LotStatus.AVAILABLE:
        raise Invalid("lot_not_available", _l(
            "Lot {lot} is {status}; only an available lot can be put on hold.", lot=lot.code,
            status=lot.status.label))
    lot.status, lot.status_reason = LotStatus.HOLD, why
    uow.flush()
    uow.record(LotHeld(lot_id=lot.id, code=lot.code, material_id=lot.material_id, reason=why))
    return lot


def release_lot(uow: UnitOfWork, lot_id: int, signature: ESignature, version: int | None = None) -> Lot:
    """Release a lot from hold: available again. A regulated decision: it takes an electronic signature on
    this lot (people.service.signatures.perform_signed), whose reason is the release's."""
    lot = get_lot(uow.session, lot_id)
    check_version(lot, version)
    why = _reason(check_signature(signature, "lot", lot.id, _l(
        "Releasing a held lot needs an electronic signature on lot {lot}.", lot=lot.code)))
    if lot.status != LotStatus.HOLD:
        raise Invalid("lot_not_on_hold", _l(
            "Lot {lot} is {status}, not on hold; there is nothing to release.", lot=lot.code,
            status=lot.status.label))
    lot.status, lot.status_reason = LotStatus.AVAILABLE, why
    uow.flush()
    uow.record(LotReleased(lot_id=lot.id, code=lot.code, material_id=lot.material_id, reason=why))
    return lot


def scrap_lot(uow: UnitOfWork, lot_id: int, reason: str, version: int | None = None) -> Lot:
    """Scrap a lot: what is left of it anywhere is written off with adjustment moves, and it takes no more."""
    s = uow.session
    lot = get_lot(s, lot_id)
    check_version(lot, version)
    why = _reason(reason)
    if lot.status in CLOSED_LOT_STATUSES:
        raise Invalid("lot_closed", _l("Lot {lot} is {status} and takes no more moves; use a new lot.",
                                       lot=lot.code, status=lot.status.label))
    left = s.execute(select(StockBalance.location_id, StockBalance.quantity)
                     .where(StockBalance.lot_id == lot.id, StockBalance.quantity != 0)
                     .order_by(StockBalance.location_id)).all()
    posted = post_moves(uow, [MoveIn(kind=MoveKind.ADJUSTMENT, material_id=lot.material_id, lot_id=lot.id,
                                     from_location_id=location_id, quantity=exact(quantity), reason=why)
                              for location_id, quantity in left if quantity > 0])
    lot.status, lot.status_reason = LotStatus.SCRAPPED, why
    uow.flush()
    uow.record(LotScrapped(lot_id=lot.id, code=lot.code, material_id=lot.material_id, reason=why,
                           move_ids=[m.id for m in posted]))
    return lot


def split_lot(uow: UnitOfWork, lot_id: int, data: LotSplitIn) -> Lot:
    """Split part of a lot kept at one location off into a new sublot (same material, dates and status).

    The ledger shows it as two adjustments with the same reference: out of the lot, into the sublot.
    """
    s = uow.session
    parent = get_lot(s, lot_id)
    check_version(parent, data.version)
    if parent.status in CLOSED_LOT_STATUSES:
        raise Invalid("lot_closed", _l("Lot {lot} is {status} and takes no more moves; use a new lot.",
                                       lot=parent.code, status=parent.status.label))
    code = data.code.strip()
    _check_code_free(s, code)
    there = on_hand(s, parent.material_id, data.location_id, parent.id)
    if there < exact(data.quantity):
        material = catalog.get_material(s, parent.material_id)
        location = plant.get_node(s, data.location_id)
        raise Invalid("insufficient_stock", _l(
            "Lot {lot} has {on_hand} {unit} at {location}; {asked} {unit} cannot be split off.",
            lot=parent.code, on_hand=plain(there), unit=material.unit.code, location=location.code,
            asked=plain(data.quantity)))
    sub = Lot(code=code, material_id=parent.material_id, parent_id=parent.id, status=parent.status,
              status_reason=parent.status_reason, received_on=parent.received_on,
              expires_on=parent.expires_on, supplier_lot=parent.supplier_lot)
    s.add(sub)
    uow.flush()
    reference = f"{parent.code} → {sub.code}"
    post_moves(uow, [
        MoveIn(kind=MoveKind.ADJUSTMENT, material_id=parent.material_id, lot_id=parent.id,
               from_location_id=data.location_id, quantity=data.quantity, reference=reference),
        MoveIn(kind=MoveKind.ADJUSTMENT, material_id=parent.material_id, lot_id=sub.id,
               to_location_id=data.location_id, quantity=data.quantity, reference=reference),
    ])
    uow.record(LotCreated(lot_id=sub.id, code=sub.code, material_id=sub.material_id, parent_id=parent.id))
    uow.record(LotSplit(lot_id=parent.id, sublot_id=sub.id, sublot_code=sub.code,
                        location_id=data.location_id, quantity=exact(data.quantity)))
    return sub


def lot_balances(session: Session, lot_id: int) -> list[LotBalanceRead]:
    """Where a lot is, with how much, by location code."""
    rows = session.execute(
        select(StockBalance.location_id, PlantNode.code, PlantNode.name, PlantNode.name_en,
               StockBalance.quantity)
        .join(PlantNode, PlantNode.id == StockBalance.location_id)
        .where(StockBalance.lot_id == lot_id, StockBalance.quantity != 0).order_by(PlantNode.code)).all()
    return [LotBalanceRead(location_id=r[0], location_code=r[1], location_name=r[2], location_name_en=r[3],
                           quantity=exact(r[4])) for r in rows]


def lot_moves(session: Session, lot_id: int, limit: int = 200) -> list[StockMove]:
    """A lot's moves, newest first."""
    return list(session.scalars(select(StockMove).where(StockMove.lot_id == lot_id)
                                .order_by(StockMove.moved_at.desc(), StockMove.id.desc()).limit(limit)))


def sublots(session: Session, lot_id: int) -> list[Lot]:
    return list(session.scalars(select(Lot).where(Lot.parent_id == lot_id).order_by(Lot.code)))
