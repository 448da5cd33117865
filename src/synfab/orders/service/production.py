"""Stock follows production: what the terminal consumes and makes becomes moves in the ledger by itself.

- A scanned lot is consumed into the work order (checked: a component of its BOM, usable — not on hold, not
  consumed or scrapped, not expired — and enough on hand), from the line's WIP location when it is there, else
  from the one location of the site that holds enough; the input lot is linked to the work order's output lot.
- Components marked `backflush` are consumed by themselves when their operation (or, without one, the last
  operation) reports output: from the line's WIP location, earliest expiry first, else earliest received.
- Good output of the last operation is a production receipt into the output lot: finished goods of the site for
  a work order of its own, the parent's line-side WIP for a component's work order.

The person at the terminal may change the work order, not stock: the moves are posted as the system, after the
work order's scope has been checked for the person (`require_in_scope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_UP, Decimal

from sqlalchemy import func, select

from synfab.catalog import service as catalog
from synfab.catalog.models import Bom, BomLine
from synfab.core.errors import Invalid
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.choices import LotStatus, MoveKind
from synfab.inventory.models import Lot, StockBalance, StockMove
from synfab.inventory.schemas import LotCreate, MoveIn
from synfab.inventory.service.ledger import plain
from synfab.orders.events import MaterialConsumed, OutputLotProduced
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.plant import service as plant
from synfab.plant.choices import StorageRole
from synfab.plant.models import PlantNode

QTY_STEP = Decimal("0.000001")


# -- where production takes and puts stock ------------------------------------------------------------------


def _node(uow: UnitOfWork, node_id: int) -> PlantNode:
    return plant.get_node(uow.session, node_id)


def wip_location(uow: UnitOfWork, wo: WorkOrder) -> PlantNode:
    """The line-side WIP location of the work order's line (of its site when it has no line)."""
    owner = _node(uow, wo.production_line_id or wo.site_id)
    found = plant.storage_location(uow.session, owner, StorageRole.WIP)
    if found is None:
        raise Invalid("no_wip_location", _l(
            "{node} has no line-side WIP location; add a storage zone with the role \u201cline-side WIP\u201d under it.",
            node=owner.code))
    return found


def output_location(uow: UnitOfWork, wo: WorkOrder) -> PlantNode:
    """Where good output of the last operation goes: the parent's WIP for a component, else finished goods."""
    if wo.parent_id is not None:
        parent = uow.session.scalar(select(WorkOrder).where(WorkOrder.id == wo.parent_id))
        if parent is not None:
            return wip_location(uow, parent)
    site = _node(uow, wo.site_id)
    found = plant.storage_location(uow.session, site, StorageRole.FINISHED_GOODS)
    if found is None:
        raise Invalid("no_finished_goods_location", _l(
            "Site {site} has no finished-goods location; add a storage zone with the role \u201cfinished goods\u201d.",
            site=site.code))
    return found


def output_lot(uow: UnitOfWork, wo: WorkOrder, *, new: bool = False) -> Lot:
    """The lot the work order's output goes into now; created (code: work order code + running number) on first
    use or when a new one is asked for (a full pallet, a new shift)."""
    s = uow.session
    if wo.output_lot_id is not None and not new:
        current = s.scalar(select(Lot).where(Lot.id == wo.output_lot_id))
        if current is not None:
            return current
    taken = set(s.scalars(select(Lot.code).where(Lot.code.startswith(f"{wo.code}-"))))
    number = 1
    while f"{wo.code}-{number:02d}" in taken:
        number += 1
    lot = inventory.create_lot(uow, LotCreate(code=f"{wo.code}-{number:02d}", material_id=wo.material_id,
                                              note=str(_l("Output of work order {code}", code=wo.code))),
                               made_at_id=wo.production_line_id or wo.site_id)
    wo.output_lot_id = lot.id
    return lot


# -- consumption --------------------------------------------------------------------------------------------


def _bom_lines(uow: UnitOfWork, wo: WorkOrder) -> list[BomLine]:
    if wo.bom_id is None:
        return []
    bom = uow.session.get(Bom, wo.bom_id)
    return sorted(bom.lines, key=lambda ln: ln.position) if bom is not None else []


def _check_usable(lot: Lot, today: date) -> None:
    if lot.status == LotStatus.HOLD:
        raise Invalid("lot_on_hold", _l("Lot {lot} is on hold ({reason}) and cannot be consumed.",
                                        lot=lot.code, reason=lot.status_reason or "—"))
    if lot.status in (LotStatus.CONSUMED, LotStatus.SCRAPPED):
        raise Invalid("lot_closed", _l("Lot {lot} is {status}; nothing is left to consume.", lot=lot.code,
                                       status=lot.status.label))
    if lot.is_expired(today):
        raise Invalid("lot_expired", _l("Lot {lot} expired on {date} and cannot be consumed.", lot=lot.code,
                                        date=lot.expires_on.isoformat() if lot.expires_on else ""))


def _source_location(uow: UnitOfWork, wo: WorkOrder, lot: Lot, quantity: Decimal) -> int:
    """The line's WIP location when it holds enough of the lot, else the one place of the site that does."""
    site = _node(uow, wo.site_id)
    balances = [b for b in inventory.lot_balances(uow.session, lot.id) if b.quantity > 0]
    wip = plant.storage_location(uow.session, _node(uow, wo.production_line_id or wo.site_id), StorageRole.WIP)
    here = [b for b in balances if _node(uow, b.location_id).path.startswith(site.path)]
    enough = sorted((b for b in here if b.quantity >= quantity),
                    key=lambda b: (wip is None or b.location_id != wip.id, -b.quantity, b.location_code))
    if enough:
        return enough[0].location_id
    where = ", ".join(f"{b.location_code} {plain(b.quantity)}" for b in here) or "—"
    raise Invalid("not_enough_on_hand", _l(
        "Lot {lot} has not enough on hand for {quantity} {unit} at one location of {site} ({where}).",
        lot=lot.code, quantity=plain(quantity), unit=catalog.get_material(uow.session, lot.material_id).unit.code,
        site=site.code, where=where))


@dataclass
class Consumed:
    lot: Lot
    move: StockMove


def consume_lot(uow: UnitOfWork, wo: WorkOrder, op: WorkOrderOperation, lot_code: str,
                quantity: Decimal) -> Consumed:
    """Consume a scanned lot into the work order at an operation (see the module text for the checks)."""
    s = uow.session
    lot = s.scalar(select(Lot).where(Lot.code == lot_code.strip()))
    if lot is None:
        raise Invalid("lot_not_found", _l("There is no lot {code}; check the label and scan again.",
                                          code=lot_code.strip()))
    lines = _bom_lines(uow, wo)
    if lot.material_id not in {ln.component_id for ln in lines}:
        material = catalog.get_material(s, lot.material_id)
        expected = ", ".join(ln.component.code for ln in lines) or "—"
        raise Invalid("wrong_material", _l(
            "Lot {lot} is {material}, which work order {code} does not use; it needs: {expected}.",
            lot=lot.code, material=material.code, code=wo.code, expected=expected))
    _check_usable(lot, inventory.today(s))
    quantity = Decimal(quantity).quantize(QTY_STEP)
    source = _source_location(uow, wo, lot, quantity)
    target = output_lot(uow, wo)
    moves = inventory.post_moves(uow, [MoveIn(
        kind=MoveKind.CONSUMPTION, material_id=lot.material_id, lot_id=lot.id, from_location_id=source,
        quantity=quantity, reference=wo.code, reason=f"{op.seq} {op.name}"[:200])])
    inventory.link_lots(uow, lot.id, target.id, quantity, move_id=moves[0].id)
    uow.record(MaterialConsumed(work_order_id=wo.id, code=wo.code, operation_id=op.id, material_id=lot.material_id,
                                lot_id=lot.id, location_id=source, quantity=quantity, backflushed=False))
    return Consumed(lot, moves[0])


def _backflush_lines(uow: UnitOfWork, wo: WorkOrder, op: WorkOrderOperation, last: bool) -> list[BomLine]:
    return [ln for ln in _bom_lines(uow, wo) if ln.backflush
            and (ln.operation_seq == op.seq or (ln.operation_seq is None and last))]


def backflush(uow: UnitOfWork, wo: WorkOrder, op: WorkOrderOperation, made: Decimal, last: bool) -> list[StockMove]:
    """Consume the backflushed components of this operation for `made` units (good + scrap) from line-side WIP,
    earliest expiry first, else earliest received; refused, naming the shortfall, when WIP has not enough."""
    lines = _backflush_lines(uow, wo, op, last)
    if not lines or made <= 0:
        return []
    s = uow.session
    bom = s.get(Bom, wo.bom_id)
    wip = wip_location(uow, wo)
    today = inventory.today(s)
    target = output_lot(uow, wo)
    moves: list[MoveIn] = []
    links: list[tuple[int | None, Decimal]] = []
    for ln in lines:
        component = ln.component
        need = (made * ln.quantity / (bom.base_quantity or Decimal(1))).quantize(QTY_STEP, rounding=ROUND_UP)
        need = catalog.convert(s, need, ln.unit_id, component.unit_id, component.id).quantize(
            QTY_STEP, rounding=ROUND_UP)
        left = need
        for lot_id, on_hand in _wip_stock(uow, component.id, wip.id, today):
            take = min(left, on_hand)
            if take <= 0:
                continue
            moves.append(MoveIn(kind=MoveKind.CONSUMPTION, material_id=component.id, lot_id=lot_id,
                                from_location_id=wip.id, quantity=take, reference=wo.code,
                                reason=f"{op.seq} {op.name} (backflush)"[:200]))
            links.append((lot_id, take))
            left -= take
            if left <= 0:
                break
        if left > 0:
            raise Invalid("backflush_short", _l(
                "Backflush of {material}: {need} {unit} needed at {location}, only {have} {unit} there; bring the "
                "material to the line first.", material=component.code, need=plain(need), unit=component.unit.code,
                location=wip.code, have=plain(need - left)))
    posted = inventory.post_moves(uow, moves)
    for move, (lot_id, take) in zip(posted, links, strict=True):
        if lot_id is not None:
            inventory.link_lots(uow, lot_id, target.id, take, move_id=move.id)
        uow.record(MaterialConsumed(work_order_id=wo.id, code=wo.code, operation_id=op.id,
                                    material_id=move.material_id, lot_id=lot_id, location_id=wip.id, quantity=take,
                                    backflushed=True))
    return posted


def _wip_stock(uow: UnitOfWork, material_id: int, location_id: int, today: date) -> list[tuple[int | None, Decimal]]:
    """Usable stock of a material at one location, in the order backflush takes it."""
    rows = uow.session.execute(
        select(StockBalance.lot_id, StockBalance.quantity, Lot.status, Lot.expires_on, Lot.received_on, Lot.id)
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .where(StockBalance.material_id == material_id, StockBalance.location_id == location_id,
               StockBalance.quantity > 0)).all()
    usable = [r for r in rows if r.lot_id is None or (r.status == LotStatus.AVAILABLE and not (
        r.expires_on is not None and r.expires_on < today))]
    usable.sort(key=lambda r: (r.expires_on is None, r.expires_on or date.max, r.received_on or date.max,
                               r.lot_id or 0))
    return [(r.lot_id, Decimal(str(r.quantity))) for r in usable]


# -- output -------------------------------------------------------------------------------------------------


def receive_output(uow: UnitOfWork, wo: WorkOrder, op: WorkOrderOperation, good: Decimal,
                   *, new_lot: bool = False) -> StockMove:
    """Good output of the last operation into the output lot (see `output_location`)."""
    lot = output_lot(uow, wo, new=new_lot)
    target = output_location(uow, wo)
    moves = inventory.post_moves(uow, [MoveIn(
        kind=MoveKind.PRODUCTION, material_id=wo.material_id, lot_id=lot.id, to_location_id=target.id,
        quantity=good, reference=wo.code, reason=f"{op.seq} {op.name}"[:200])])
    uow.record(OutputLotProduced(work_order_id=wo.id, code=wo.code, operation_id=op.id, material_id=wo.material_id,
                                 lot_id=lot.id, location_id=target.id, quantity=good))
    return moves[0]


@dataclass
class StockLine:
    kind: MoveKind
    lot_id: int | None
    lot_code: str | None
    material_code: str
    quantity: Decimal
    location_code: str
    reason: str | None


def work_order_stock(session: object, wo: WorkOrder) -> list[StockLine]:
    """What went into a work order and what came out, newest first. Whoever may see the work order sees these
    moves, wherever the stock came from (a line's operator consumes from the site's store)."""
    from synfab.catalog.models import Material

    location = PlantNode.__table__.alias("move_location")
    rows = session.execute(  # type: ignore[attr-defined]
        select(StockMove.kind, StockMove.lot_id, Lot.code, Material.code, StockMove.quantity, location.c.code,
               StockMove.reason)
        .join(Material, Material.id == StockMove.material_id).outerjoin(Lot, Lot.id == StockMove.lot_id)
        .join(location, location.c.id == func.coalesce(StockMove.from_location_id, StockMove.to_location_id))
        .where(StockMove.reference == wo.code,
               StockMove.kind.in_([MoveKind.CONSUMPTION.value, MoveKind.PRODUCTION.value]))
        .order_by(StockMove.id.desc()).execution_options(unrestricted=True)).all()
    return [StockLine(MoveKind(k) if not isinstance(k, MoveKind) else k, lot_id, lot_code, material, Decimal(str(q)),
                      where, reason) for k, lot_id, lot_code, material, q, where, reason in rows]
