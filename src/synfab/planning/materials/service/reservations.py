"""Requirements of work orders, their reservations against lots (FEFO, else FIFO) and their shortages.

Everything here works on one work order × material at a time, so a change touches only what it affects.
Stock is set aside and given back only through `inventory.service.reserve` / `release_reservation`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.choices import Sourcing
from synfab.catalog.models import Bom
from synfab.core import clock
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.choices import LotStatus, ReservationStatus
from synfab.inventory.models import Lot, Reservation, StockBalance
from synfab.inventory.schemas import ReservationCreate
from synfab.orders.choices import OPEN_WORK_ORDER_STATUSES, WorkOrderStatus
from synfab.orders.models import WorkOrder
from synfab.orders.service.release import component_quantity
from synfab.planning.materials.choices import ShortageStatus
from synfab.planning.materials.events import ShortageCovered, ShortageRaised
from synfab.planning.materials.models import MaterialRequirement, Shortage
from synfab.plant import service as plant
from synfab.plant.models import PlantNode

DEMAND = "work_order"
QTY = Decimal("0.000001")
ZERO = Decimal(0)
# Work orders whose material is set aside: released and being worked on (planned ones are not yet committed).
RESERVING_STATUSES = frozenset({WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS})

Touched = set[tuple[int, int]]  # (material_id, site_id) pairs whose netting must be redone


def q(value: Decimal | int | float | None) -> Decimal:
    """A quantity at the stored precision (SQLite hands sums back through floating point)."""
    return Decimal(str(value or 0)).quantize(QTY)


def plant_today(session: Session) -> date:
    """The plant's today, read once per transaction (every requirement and material of a change asks)."""
    info = session.info
    if "materials_today" not in info:
        info["materials_today"] = inventory.today(session)
    return info["materials_today"]  # type: ignore[no-any-return]


def get_work_order(session: Session, work_order_id: int) -> WorkOrder | None:
    return session.scalar(select(WorkOrder).where(WorkOrder.id == work_order_id))


def need_date_of(session: Session, wo: WorkOrder) -> date:
    """When the work order needs its material: its planned start (site's local day) when scheduled, else its
    due date."""
    if wo.planned_start is not None:
        # One look-up per site and transaction: a change re-plans many requirements of the same site.
        zones = session.info.setdefault("materials_site_tz", {})
        if wo.site_id not in zones:
            zones[wo.site_id] = plant.time_zone_of(session, plant.get_node(session, wo.site_id))
        return wo.planned_start.astimezone(zones[wo.site_id]).date()
    return wo.due_date


def buy_components(session: Session, wo: WorkOrder) -> dict[int, Decimal]:
    """How much of each bought component the work order needs in all (its BOM, scrap included), in the
    component's base unit. Make components are covered by child work orders and are left out."""
    if wo.bom_id is None:
        return {}
    bom = session.scalar(select(Bom).where(Bom.id == wo.bom_id))
    needs: dict[int, Decimal] = defaultdict(Decimal)
    if bom is None:
        return needs
    for line in bom.lines:
        component = line.component
        if component.sourcing == Sourcing.MAKE:
            continue
        quantity = component_quantity(bom, wo.quantity, line.quantity, line.scrap_factor)
        if line.unit_id != component.unit_id:  # the converter reads the conversions: only when needed
            quantity = catalog.convert(session, quantity, line.unit_id, component.unit_id, component.id)
        needs[component.id] += quantity
    return {k: q(v) for k, v in needs.items()}


def requirements_of(session: Session, work_order_id: int) -> list[MaterialRequirement]:
    return list(session.scalars(select(MaterialRequirement).where(MaterialRequirement.work_order_id == work_order_id)
                                .order_by(MaterialRequirement.id)))


def sync_requirements(uow: UnitOfWork, wo: WorkOrder) -> list[MaterialRequirement]:
    """Bring the work order's requirement rows in line with its BOM, quantity, dates and status."""
    s = uow.session
    open_ = wo.status in RESERVING_STATUSES
    needs = buy_components(s, wo) if open_ else {}
    day = need_date_of(s, wo)
    existing = {r.material_id: r for r in requirements_of(s, wo.id)}
    for material_id, quantity in needs.items():
        req = existing.get(material_id)
        if req is None:
            req = MaterialRequirement(work_order_id=wo.id, material_id=material_id, site_id=wo.site_id,
                                      production_line_id=wo.production_line_id, need_date=day, quantity=quantity,
                                      consumed=ZERO, open=True)
            s.add(req)
            existing[material_id] = req
        else:
            req.quantity, req.need_date, req.open = quantity, day, True
            req.production_line_id = wo.production_line_id
    for material_id, req in existing.items():
        if material_id not in needs:
            # No longer in the BOM, or the work order is closed: nothing more is needed.
            req.quantity = req.consumed
            req.open = False
            req.need_date = day
    # No flush here: planning works on these objects; the handler flushes before netting reads them back.
    return list(existing.values())


@dataclass(frozen=True)
class FreeStock:
    lot_id: int | None
    location_id: int
    free: Decimal


def free_stock(session: Session, material_id: int, site_id: int, today: date) -> list[FreeStock]:
    """Stock of a material at a site that may still be set aside, in the order it should be used: lots with an
    expiry by earliest expiry (FEFO), then the others by earliest receipt (FIFO), stock without a lot last.
    Held, consumed, scrapped and expired lots are left out."""
    site_path = select(PlantNode.path).where(PlantNode.id == site_id).scalar_subquery()
    usable = (Lot.status == LotStatus.AVAILABLE) & or_(Lot.expires_on.is_(None), Lot.expires_on >= today)
    rows = session.execute(
        select(StockBalance.lot_id, StockBalance.location_id, StockBalance.quantity, Lot.expires_on,
               Lot.received_on)
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .join(PlantNode, PlantNode.id == StockBalance.location_id)
        .where(StockBalance.material_id == material_id, StockBalance.quantity > 0,
               PlantNode.path.startswith(site_path), or_(StockBalance.lot_id.is_(None), usable))).all()
    if not rows:
        return []
    held: dict[tuple[int | None, int | None], Decimal] = defaultdict(Decimal)
    for lot_id, location_id, quantity in session.execute(
            select(Reservation.lot_id, Reservation.location_id, func.sum(Reservation.quantity))
            .where(Reservation.material_id == material_id, Reservation.status == ReservationStatus.ACTIVE)
            .group_by(Reservation.lot_id, Reservation.location_id)):
        held[(lot_id, location_id)] += q(quantity)
    far = date.max
    rows = sorted(rows, key=lambda r: (r[0] is None, r[3] is None, r[3] or far, r[4] or far, r[0] or 0, r[1]))
    out = []
    for lot_id, location_id, quantity, _expires, _received in rows:
        free = q(quantity) - held.pop((lot_id, location_id), ZERO)
        if lot_id is not None and (lot_id, None) in held:  # set aside against the lot wherever it is
            taken = min(max(free, ZERO), held[(lot_id, None)])
            free -= taken
            held[(lot_id, None)] -= taken
        if free > 0:
            out.append(FreeStock(lot_id, location_id, free))
    return out


def active_reservations(session: Session, work_order_id: int, material_id: int) -> list[Reservation]:
    return list(session.scalars(select(Reservation).where(
        Reservation.demand_kind == DEMAND, Reservation.demand_id == work_order_id,
        Reservation.material_id == material_id, Reservation.status == ReservationStatus.ACTIVE)
        .order_by(Reservation.id)))


def _release_surplus(uow: UnitOfWork, reservations: list[Reservation], surplus: Decimal) -> Decimal:
    """Give back `surplus` from the newest reservations first; one partly kept is re-made smaller — as far as the
    stock is still where it was set aside (it may have been moved to the line and used there since). Returns what
    could not be kept that way, for the caller to set aside again from stock that is free."""
    lost = ZERO
    for r in sorted(reservations, key=lambda r: r.id, reverse=True):
        if surplus <= 0:
            break
        inventory.release_reservation(uow, r.id)
        if r.quantity > surplus:
            keep = q(r.quantity - surplus)
            there = max(inventory.available(uow.session, r.material_id, r.location_id, r.lot_id), ZERO)
            if min(keep, there) > 0:
                inventory.reserve(uow, ReservationCreate(material_id=r.material_id, quantity=min(keep, there),
                                                         demand_kind=DEMAND, demand_id=r.demand_id, lot_id=r.lot_id,
                                                         location_id=r.location_id))
            lost += keep - min(keep, there)
            surplus = ZERO
        else:
            surplus -= r.quantity
    return lost


def _reserve_more(uow: UnitOfWork, req: MaterialRequirement, wanted: Decimal, today: date) -> Decimal:
    """Set aside up to `wanted` from the free stock at the work order's site; returns what was set aside."""
    s = uow.session
    candidates = free_stock(s, req.material_id, req.site_id, today)
    if not candidates:
        return ZERO
    # Never more than is free overall (stock reserved without a place counts against every place).
    room = min(wanted, inventory.available(s, req.material_id, today=today))
    got = ZERO
    for stock in candidates:
        if room <= 0:
            break
        take = min(stock.free, room)
        inventory.reserve(uow, ReservationCreate(material_id=req.material_id, quantity=take, demand_kind=DEMAND,
                                                 demand_id=req.work_order_id, lot_id=stock.lot_id,
                                                 location_id=stock.location_id))
        got += take
        room -= take
    return got


def plan_requirement(uow: UnitOfWork, req: MaterialRequirement, today: date | None = None, *,
                     reservations: list[Reservation] | None = None,
                     shortage: Shortage | None | bool = False) -> Decimal:
    """Make the reservations of one work order × material match what it still needs (need − consumed): give
    back a surplus, set aside more while stock is free; what stays unreserved is its shortage. Returns the
    shortage. `reservations` (its active ones) and `shortage` (its row, None for none) may be passed when
    read already for the whole work order."""
    s = uow.session
    day = today or plant_today(s)
    target = req.remaining if req.open else ZERO
    if reservations is None:
        reservations = active_reservations(s, req.work_order_id, req.material_id)
    held = sum((r.quantity for r in reservations), ZERO)
    if held > target:
        held = target - _release_surplus(uow, reservations, held - target)
    if held < target:
        held += _reserve_more(uow, req, target - held, day)
    short = max(target - held, ZERO)
    _record_shortage(uow, req, short, shortage)
    return short


def _record_shortage(uow: UnitOfWork, req: MaterialRequirement, short: Decimal,
                     known: Shortage | None | bool = False) -> None:
    s = uow.session
    row = known if known is not False else s.scalar(select(Shortage).where(
        Shortage.work_order_id == req.work_order_id, Shortage.material_id == req.material_id))
    if short > 0:
        if row is None:
            row = Shortage(work_order_id=req.work_order_id, material_id=req.material_id, site_id=req.site_id,
                           production_line_id=req.production_line_id, quantity=short, need_date=req.need_date,
                           status=ShortageStatus.OPEN, raised_at=clock.now())
            s.add(row)
        elif row.status == ShortageStatus.OPEN and row.quantity == short and row.need_date == req.need_date:
            return
        else:
            if row.status != ShortageStatus.OPEN:
                row.raised_at, row.resolved_at = clock.now(), None
            row.quantity, row.need_date, row.status = short, req.need_date, ShortageStatus.OPEN
            row.production_line_id = req.production_line_id
        if row.id is None:
            uow.flush()  # the event names the new row
        uow.record(ShortageRaised(shortage_id=row.id, work_order_id=row.work_order_id, material_id=row.material_id,
                                  site_id=row.site_id, quantity=short, need_date=row.need_date,
                                  cover_date=row.cover_date))
    elif row is not None and row.status == ShortageStatus.OPEN:
        closed = not req.open or req.remaining <= 0
        row.status = ShortageStatus.CLOSED if closed else ShortageStatus.COVERED
        row.resolved_at = clock.now()
        uow.record(ShortageCovered(shortage_id=row.id, work_order_id=row.work_order_id,
                                   material_id=row.material_id, site_id=row.site_id, closed=closed))


def plan_work_order(uow: UnitOfWork, work_order_id: int, touched: Touched) -> None:
    """Requirements, reservations and shortages of one work order, after its release or any change."""
    s = uow.session
    wo = get_work_order(s, work_order_id)
    if wo is None:
        return
    reqs = sync_requirements(uow, wo)
    day = plant_today(s)
    # The work order's reservations and shortages in two reads, not two per component.
    held: dict[int, list[Reservation]] = defaultdict(list)
    for r in s.scalars(select(Reservation).where(
            Reservation.demand_kind == DEMAND, Reservation.demand_id == wo.id,
            Reservation.status == ReservationStatus.ACTIVE).order_by(Reservation.id)):
        held[r.material_id].append(r)
    shortages = {sh.material_id: sh for sh in s.scalars(select(Shortage).where(Shortage.work_order_id == wo.id))}
    for req in reqs:
        plan_requirement(uow, req, day, reservations=held.get(req.material_id, []),
                         shortage=shortages.get(req.material_id))
        touched.add((req.material_id, req.site_id))


def close_work_order(uow: UnitOfWork, work_order_id: int, touched: Touched) -> None:
    """A cancelled or completed work order needs nothing more: its reservations are given back (all of them,
    bought or not) and its shortages closed."""
    s = uow.session
    reqs = requirements_of(s, work_order_id)
    for req in reqs:
        req.open = False
        touched.add((req.material_id, req.site_id))
    inventory.release_demand(uow, DEMAND, work_order_id)
    for req in reqs:
        _record_shortage(uow, req, ZERO)


def consume(uow: UnitOfWork, work_order_id: int, material_id: int, lot_id: int | None, location_id: int | None,
            quantity: Decimal, touched: Touched) -> None:
    """Material went into the work order: what it consumed no longer needs setting aside. The reservations on
    the consumed lot are given back and the rest re-planned, so nothing is counted twice."""
    s = uow.session
    req = s.scalar(select(MaterialRequirement).where(MaterialRequirement.work_order_id == work_order_id,
                                                     MaterialRequirement.material_id == material_id))
    if req is None:
        return
    req.consumed = q(req.consumed + q(quantity))
    for r in active_reservations(s, work_order_id, material_id):
        if r.lot_id == lot_id and (location_id is None or r.location_id in (None, location_id)):
            inventory.release_reservation(uow, r.id)
    plan_requirement(uow, req)
    touched.add((req.material_id, req.site_id))


def cover_shortages(uow: UnitOfWork, material_ids: Iterable[int], touched: Touched,
                    site_id: int | None = None) -> None:
    """Stock arrived or came free: set it aside for the open shortages of these materials, oldest need first."""
    s = uow.session
    ids = list(set(material_ids))
    if not ids:
        return
    stmt = select(Shortage).where(Shortage.material_id.in_(ids), Shortage.status == ShortageStatus.OPEN)
    if site_id is not None:
        stmt = stmt.where(Shortage.site_id == site_id)
    shortages = list(s.scalars(stmt.order_by(Shortage.need_date, Shortage.id)))
    if not shortages:
        return
    day = plant_today(s)
    for shortage in shortages:
        req = s.scalar(select(MaterialRequirement).where(
            MaterialRequirement.work_order_id == shortage.work_order_id,
            MaterialRequirement.material_id == shortage.material_id))
        if req is not None:
            plan_requirement(uow, req, day)
        touched.add((shortage.material_id, shortage.site_id))


def release_lot_reservations(uow: UnitOfWork, lot_id: int, touched: Touched) -> None:
    """A lot was held or scrapped: work orders counting on it get other stock, or a shortage."""
    s = uow.session
    reservations = list(s.scalars(select(Reservation).where(
        Reservation.lot_id == lot_id, Reservation.status == ReservationStatus.ACTIVE,
        Reservation.demand_kind == DEMAND)))
    for r in reservations:
        inventory.release_reservation(uow, r.id)
    for work_order_id in sorted({r.demand_id for r in reservations}):
        wo = get_work_order(s, work_order_id)
        if wo is not None and wo.status in OPEN_WORK_ORDER_STATUSES:
            plan_work_order(uow, work_order_id, touched)
