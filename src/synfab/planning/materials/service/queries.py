"""What pages, the API and the terminal read: the materials of a work order, shortages, purchase suggestions."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from synfab.catalog.models import Material
from synfab.inventory.choices import ReservationStatus
from synfab.inventory.models import Lot, Reservation
from synfab.inventory.purchasing.models import Supplier
from synfab.orders.models import WorkOrder
from synfab.orders.schemas import QtyOut
from synfab.orders.service import get_work_order
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus
from synfab.planning.materials.models import MaterialRequirement, PurchaseSuggestion, Shortage
from synfab.planning.materials.service.reservations import DEMAND, ZERO, q
from synfab.plant.models import PlantNode


class ReservedLot(BaseModel):
    reservation_id: int
    lot_id: int | None
    lot_code: str | None
    location_id: int | None
    location_code: str | None
    quantity: QtyOut
    expires_on: date | None


class WorkOrderMaterial(BaseModel):
    """One bought component of a work order: what it needs, has set aside (by lot), consumed and is short of."""

    model_config = ConfigDict(from_attributes=True)

    material_id: int
    material_code: str
    material_name: str
    material_name_en: str | None
    unit: str
    need: QtyOut
    consumed: QtyOut
    remaining: QtyOut
    reserved: QtyOut
    short: QtyOut
    need_date: date
    earliest_cover_date: date | None
    covered_by: str | None
    lots: list[ReservedLot]


def materials_for_work_order(session: Session, work_order_id: int) -> list[WorkOrderMaterial]:
    """Per bought component of the work order (in the reader's scope): need, consumed, reserved lots, short and
    the earliest date the shortage can be covered."""
    wo = get_work_order(session, work_order_id)
    reqs = list(session.scalars(select(MaterialRequirement).where(MaterialRequirement.work_order_id == wo.id)))
    if not reqs:
        return []
    materials = {m.id: m for m in session.scalars(select(Material).where(
        Material.id.in_([r.material_id for r in reqs])))}
    Location = aliased(PlantNode, name="location")  # noqa: N806
    reservations = session.execute(
        select(Reservation.id, Reservation.material_id, Reservation.lot_id, Lot.code, Reservation.location_id,
               Location.code, Reservation.quantity, Lot.expires_on)
        .outerjoin(Lot, Lot.id == Reservation.lot_id).outerjoin(Location, Location.id == Reservation.location_id)
        .where(Reservation.demand_kind == DEMAND, Reservation.demand_id == wo.id,
               Reservation.status == ReservationStatus.ACTIVE).order_by(Reservation.id)).all()
    shortages = {sh.material_id: sh for sh in session.scalars(select(Shortage).where(
        Shortage.work_order_id == wo.id, Shortage.status == ShortageStatus.OPEN))}
    out = []
    for req in sorted(reqs, key=lambda r: materials[r.material_id].code):
        m = materials[req.material_id]
        lots = [ReservedLot(reservation_id=r[0], lot_id=r[2], lot_code=r[3], location_id=r[4], location_code=r[5],
                            quantity=q(r[6]), expires_on=r[7]) for r in reservations if r[1] == req.material_id]
        shortage = shortages.get(req.material_id)
        out.append(WorkOrderMaterial(
            material_id=m.id, material_code=m.code, material_name=m.name, material_name_en=m.name_en,
            unit=m.unit.code, need=q(req.quantity), consumed=q(req.consumed), remaining=q(req.remaining),
            reserved=sum((lot.quantity for lot in lots), ZERO), short=q(shortage.quantity) if shortage else ZERO,
            need_date=req.need_date, earliest_cover_date=shortage.cover_date if shortage else None,
            covered_by=shortage.covered_by if shortage else None, lots=lots))
    return out


def _material_like(q_text: str) -> Any:
    like = f"%{q_text.strip()}%"
    return or_(Material.code.ilike(like), Material.name.ilike(like), Material.name_en.ilike(like))


def shortage_query(status: str | None = "open", material_id: int | None = None, site_id: int | None = None,
                   q_text: str | None = None) -> Select[Any]:
    """Shortages with their work order and material, for the list page, the API and the export."""
    stmt = (select(Shortage, WorkOrder.code.label("work_order_code"), Material.code.label("material_code"),
                   Material.name.label("material_name"), Material.name_en.label("material_name_en"))
            .join(WorkOrder, WorkOrder.id == Shortage.work_order_id)
            .join(Material, Material.id == Shortage.material_id))
    if status and status in {c.value for c in ShortageStatus}:
        stmt = stmt.where(Shortage.status == ShortageStatus(status))
    if material_id is not None:
        stmt = stmt.where(Shortage.material_id == material_id)
    if site_id is not None:
        stmt = stmt.where(Shortage.site_id == site_id)
    if q_text:
        stmt = stmt.where(or_(_material_like(q_text), WorkOrder.code.ilike(f"%{q_text.strip()}%")))
    return stmt


SHORTAGE_SORTS = {"need_date": Shortage.need_date, "cover_date": Shortage.cover_date,
                  "material": Material.code, "work_order": WorkOrder.code, "quantity": Shortage.quantity}
SHORTAGE_ORDER = (Shortage.need_date, Shortage.id)


def suggestion_query(status: str | None = "open", material_id: int | None = None, supplier_id: int | None = None,
                     site_id: int | None = None, q_text: str | None = None) -> Select[Any]:
    """Purchase suggestions with their material and supplier."""
    stmt = (select(PurchaseSuggestion, Material.code.label("material_code"), Material.name.label("material_name"),
                   Material.name_en.label("material_name_en"), Supplier.code.label("supplier_code"),
                   Supplier.name.label("supplier_name"))
            .join(Material, Material.id == PurchaseSuggestion.material_id)
            .outerjoin(Supplier, Supplier.id == PurchaseSuggestion.supplier_id))
    if status and status in {c.value for c in SuggestionStatus}:
        stmt = stmt.where(PurchaseSuggestion.status == SuggestionStatus(status))
    if material_id is not None:
        stmt = stmt.where(PurchaseSuggestion.material_id == material_id)
    if supplier_id is not None:
        stmt = stmt.where(PurchaseSuggestion.supplier_id == supplier_id)
    if site_id is not None:
        stmt = stmt.where(PurchaseSuggestion.site_id == site_id)
    if q_text:
        stmt = stmt.where(or_(_material_like(q_text), Supplier.code.ilike(f"%{q_text.strip()}%")))
    return stmt


SUGGESTION_SORTS = {"order_by": PurchaseSuggestion.order_by, "need_date": PurchaseSuggestion.need_date,
                    "material": Material.code, "supplier": Supplier.code, "quantity": PurchaseSuggestion.quantity}
SUGGESTION_ORDER = (PurchaseSuggestion.order_by, PurchaseSuggestion.id)
