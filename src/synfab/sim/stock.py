"""Where the simulated people find material: the components an operation uses, usable stock by lot and place,
the stores a line is supplied from, and reservations that move with the stock (`sim.factory`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.models import Bom
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.choices import LotStatus, ReservationStatus
from synfab.inventory.models import Lot, Reservation, StockBalance
from synfab.inventory.schemas import MoveIn, ReservationCreate
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.planning.materials.service.reservations import DEMAND
from synfab.plant import service as plant
from synfab.plant.choices import STORAGE_LEVELS, Level, StorageRole
from synfab.plant.models import PlantNode

QTY = Decimal("0.000001")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Need:
    """A component an operation uses: how much per unit made, in the component's unit."""

    material_id: int
    per_unit: Decimal


def operation_needs(s: Session, wo: WorkOrder, op: WorkOrderOperation, *, first: bool) -> list[Need]:
    """The lot-tracked components an operation uses: BOM lines of its step, and those of no step at the first."""
    if wo.bom_id is None:
        return []
    bom = s.get(Bom, wo.bom_id)
    if bom is None:
        return []
    needs: dict[int, Decimal] = {}
    for ln in bom.lines:
        if not (ln.operation_seq == op.seq or (ln.operation_seq is None and first)):
            continue
        component = ln.component
        if not component.lot_tracked:
            continue
        per_unit = catalog.convert(s, ln.quantity / (bom.base_quantity or Decimal(1)), ln.unit_id,
                                   component.unit_id, component.id)
        needs[component.id] = needs.get(component.id, ZERO) + per_unit
    return [Need(m, q) for m, q in needs.items() if q > 0]


def usable_stock(s: Session, material_id: int, location_ids: list[int],
                 today: date) -> list[tuple[int, int, Decimal]]:
    """(lot, location, quantity) of usable lots of a material at some locations: first expiring, then oldest."""
    if not location_ids:
        return []
    rows = s.execute(
        select(StockBalance.lot_id, StockBalance.location_id, StockBalance.quantity, Lot.expires_on, Lot.received_on)
        .join(Lot, Lot.id == StockBalance.lot_id)
        .where(StockBalance.material_id == material_id, StockBalance.location_id.in_(location_ids),
               StockBalance.quantity > 0, Lot.status == LotStatus.AVAILABLE,
               (Lot.expires_on.is_(None)) | (Lot.expires_on >= today))).all()
    rows = sorted(rows, key=lambda r: (r[3] is None, r[3] or date.max, r[4] or date.max, r[0], r[1]))
    return [(lot, loc, Decimal(str(q)).quantize(QTY)) for lot, loc, q, _e, _r in rows]


def reservations_by_place(s: Session, material_id: int) -> defaultdict[tuple[int | None, int | None],
                                                                        dict[int, Decimal]]:
    """Active reservations of a material by (lot, location), per work order."""
    held: defaultdict[tuple[int | None, int | None], dict[int, Decimal]] = defaultdict(dict)
    for r in s.scalars(select(Reservation).where(Reservation.material_id == material_id,
                                                 Reservation.status == ReservationStatus.ACTIVE)):
        place = held[(r.lot_id, r.location_id)]
        demand = r.demand_id if r.demand_kind == DEMAND else -r.id
        place[demand] = place.get(demand, ZERO) + Decimal(str(r.quantity))
    return held


def carry_reservations(uow: UnitOfWork, work_order_id: int, move: MoveIn) -> None:
    """What was set aside for the work order at the place stock left moves with it to where it went, as far as
    the stock there is still free (a lot at the line may have gone into other work since it was set aside)."""
    s = uow.session
    left = Decimal(move.quantity)
    for r in inventory.reservations_for_demand(s, DEMAND, work_order_id, ReservationStatus.ACTIVE):
        if left <= 0:
            break
        if r.lot_id != move.lot_id or r.location_id != move.from_location_id:
            continue
        quantity = Decimal(str(r.quantity))
        moved = min(left, quantity)
        inventory.release_reservation(uow, r.id)
        for location_id, wanted in ((move.to_location_id, moved), (r.location_id, quantity - moved)):
            free = min(inventory.available(s, r.material_id, location_id, r.lot_id),
                       inventory.available(s, r.material_id))
            if min(wanted, free) > 0:
                inventory.reserve(uow, ReservationCreate(material_id=r.material_id, quantity=min(wanted, free),
                                                         demand_kind=DEMAND, demand_id=work_order_id,
                                                         lot_id=r.lot_id, location_id=location_id))
        left -= moved


def store_locations(s: Session, wip: PlantNode) -> list[int]:
    """Where the storekeeper may fetch material for a line's WIP: the site's storage locations except finished
    goods, quarantine and other lines' WIP."""
    site = plant.site_of(s, wip) or wip
    nodes = plant.list_nodes(s, levels=list(STORAGE_LEVELS), under=site.id)
    lines = [n for n in plant.list_nodes(s, levels=[Level.LINE], under=site.id) if not wip.path.startswith(n.path)]
    closed = [n.path for n in nodes if n.storage_role in (StorageRole.FINISHED_GOODS, StorageRole.QUARANTINE)]
    return [n.id for n in nodes if n.id != wip.id and not any(n.path.startswith(p) for p in closed)
            and not any(n.path.startswith(line.path) for line in lines)]


def stock_covers(s: Session, material_id: int, quantity: Decimal, today: date) -> bool:
    found = s.scalar(select(func.sum(StockBalance.quantity)).join(Lot, Lot.id == StockBalance.lot_id).where(
        StockBalance.material_id == material_id, StockBalance.quantity > 0, Lot.status == LotStatus.AVAILABLE,
        (Lot.expires_on.is_(None)) | (Lot.expires_on >= today)))
    return found is not None and Decimal(str(found)) >= quantity
