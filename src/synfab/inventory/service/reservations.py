"""Availability and reservations: stock set aside for a demand (a work order, a shipment)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.inventory.choices import LotStatus, ReservationStatus
from synfab.inventory.events import ReservationReleased, StockReserved
from synfab.inventory.models import Lot, Reservation, StockBalance
from synfab.inventory.schemas import ReservationCreate
from synfab.inventory.service.ledger import exact, load_refs, plain
from synfab.inventory.service.lots import _material, today as plant_today
from synfab.plant.choices import STORAGE_LEVELS

# First key of the PostgreSQL advisory lock that serialises reservations of one material.
_RESERVATION_LOCK = 7301


def reserved(session: Session, material_id: int, location_id: int | None = None,
             lot_id: int | None = None) -> Decimal:
    """Active reservations of a material: all of them, or those made against one location and/or lot."""
    stmt = select(func.sum(Reservation.quantity)).where(
        Reservation.material_id == material_id, Reservation.status == ReservationStatus.ACTIVE)
    if location_id is not None:
        stmt = stmt.where(Reservation.location_id == location_id)
    if lot_id is not None:
        stmt = stmt.where(Reservation.lot_id == lot_id)
    return exact(session.scalar(stmt))


def usable_on_hand(session: Session, material_id: int, location_id: int | None = None,
                   lot_id: int | None = None, *, today: date | None = None) -> Decimal:
    """On hand that may be used: stock without a lot, or in available lots that have not expired."""
    day = today or plant_today(session)
    usable_lot = (Lot.status == LotStatus.AVAILABLE) & or_(Lot.expires_on.is_(None), Lot.expires_on >= day)
    stmt = (select(func.sum(StockBalance.quantity)).outerjoin(Lot, Lot.id == StockBalance.lot_id)
            .where(StockBalance.material_id == material_id, or_(StockBalance.lot_id.is_(None), usable_lot)))
    if location_id is not None:
        stmt = stmt.where(StockBalance.location_id == location_id)
    if lot_id is not None:
        stmt = stmt.where(StockBalance.lot_id == lot_id)
    return exact(session.scalar(stmt))


def available(session: Session, material_id: int, location_id: int | None = None, lot_id: int | None = None,
              *, today: date | None = None) -> Decimal:
    """What can still be promised: on hand in available, unexpired lots (and stock without a lot) minus the
    active reservations. With a location or lot, both sides are narrowed to reservations made against it.
    Negative when more is reserved than is there (a shortage)."""
    return (usable_on_hand(session, material_id, location_id, lot_id, today=today)
            - reserved(session, material_id, location_id, lot_id))


def get_reservation(session: Session, reservation_id: int) -> Reservation:
    found = session.get(Reservation, reservation_id)
    if found is None:
        raise NotFound("reservation_not_found", _l("Reservation {id} does not exist.", id=reservation_id))
    return found


def reservations_for_demand(session: Session, demand_kind: str, demand_id: int,
                            status: ReservationStatus | None = None) -> list[Reservation]:
    """The reservations of one demand (e.g. "work_order", 12), oldest first."""
    stmt = select(Reservation).where(Reservation.demand_kind == demand_kind,
                                     Reservation.demand_id == demand_id)
    if status is not None:
        stmt = stmt.where(Reservation.status == status)
    return list(session.scalars(stmt.order_by(Reservation.id)))


def reserve(uow: UnitOfWork, data: ReservationCreate) -> Reservation:
    """Set stock aside for a demand, optionally against one lot and/or location.

    Refused when it exceeds what is available, both overall and where it is made against (held or expired
    lots count as not available).
    """
    s = uow.session
    material = _material(s, data.material_id)
    if s.get_bind().dialect.name == "postgresql":
        # Two reservations of one material must not both see the same stock as free.
        s.execute(text("SELECT pg_advisory_xact_lock(:k, :m)"), {"k": _RESERVATION_LOCK, "m": material.id})
    refs = load_refs(s, [material.id], [data.location_id], [data.lot_id])
    if data.location_id is not None:
        node = refs.locations[data.location_id]
        if node is None or node.level not in STORAGE_LEVELS:
            raise Invalid("not_a_storage_location", _l(
                "Reservations are made against a storage location; {id} is not one.", id=data.location_id))
    if data.lot_id is not None:
        lot = refs.lots[data.lot_id]
        if lot is None:
            raise Invalid("lot_not_found", _l("Lot {id} does not exist.", id=data.lot_id))
        if lot.material_id != material.id:
            other = refs.materials[lot.material_id]
            raise Invalid("lot_of_other_material", _l(
                "Lot {lot} is of material {lot_material}, not {material}.", lot=lot.code,
                lot_material=other.code if other else lot.material_id, material=material.code))
    day = plant_today(s)
    quantity = exact(data.quantity)
    free = available(s, material.id, today=day)
    if data.lot_id is not None or data.location_id is not None:
        free = min(free, available(s, material.id, data.location_id, data.lot_id, today=day))
    if quantity > free:
        where = []
        if data.lot_id is not None:
            where.append(refs.lots[data.lot_id].code)  # type: ignore[union-attr]
        if data.location_id is not None:
            where.append(refs.locations[data.location_id].code)  # type: ignore[union-attr]
        raise Invalid("reservation_exceeds_available", _l(
            "Only {available} {unit} of {material} is available{where}; {asked} {unit} cannot be reserved.",
            available=plain(max(free, exact(0))), unit=material.unit.code, material=material.code,
            where=f" ({', '.join(where)})" if where else "", asked=plain(quantity)))
    reservation = Reservation(material_id=material.id, lot_id=data.lot_id, location_id=data.location_id,
                              quantity=quantity, demand_kind=data.demand_kind, demand_id=data.demand_id,
                              status=ReservationStatus.ACTIVE)
    s.add(reservation)
    uow.flush()
    uow.record(StockReserved(reservation_id=reservation.id, material_id=material.id, quantity=quantity,
                             demand_kind=data.demand_kind, demand_id=data.demand_id, lot_id=data.lot_id,
                             location_id=data.location_id))
    return reservation


def release_reservation(uow: UnitOfWork, reservation_id: int, version: int | None = None) -> Reservation:
    """Give reserved stock back: the reservation stops counting against availability."""
    reservation = get_reservation(uow.session, reservation_id)
    check_version(reservation, version)
    if reservation.status != ReservationStatus.ACTIVE:
        raise Conflict("reservation_not_active", _l(
            "Reservation {id} is {status}; only an active reservation can be released.", id=reservation.id,
            status=reservation.status.label))
    reservation.status = ReservationStatus.RELEASED
    uow.flush()
    uow.record(ReservationReleased(reservation_id=reservation.id, material_id=reservation.material_id,
                                   demand_kind=reservation.demand_kind, demand_id=reservation.demand_id))
    return reservation


def release_demand(uow: UnitOfWork, demand_kind: str, demand_id: int) -> list[Reservation]:
    """Release every active reservation of a demand (a cancelled or closed work order)."""
    return [release_reservation(uow, r.id) for r in
            reservations_for_demand(uow.session, demand_kind, demand_id, ReservationStatus.ACTIVE)]


