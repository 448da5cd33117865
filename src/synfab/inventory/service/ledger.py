"""The stock ledger: the one door that writes stock, the balance kept with it, and on-hand questions.

Every change of stock is a list of immutable moves posted by `post_moves`; `stock_balance` is updated in
the same transaction, by one batched upsert per call. `ledger_balance_mismatches` proves the two agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, insert, select, union_all
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.changes import note_created
from synfab.core.context import current_actor
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import LazyText, _l
from synfab.core.ids import new_id
from synfab.core.uow import UnitOfWork
from synfab.inventory.choices import (
    BLOCKED_WHEN_HELD, CLOSED_LOT_STATUSES, PUTS_TO, TAKES_FROM, LotStatus, MoveKind,
)
from synfab.inventory.events import LotConsumed, StockMoved
from synfab.inventory.models import Lot, StockBalance, StockMove
from synfab.inventory.schemas import BalanceMismatch, MoveIn, OnHandTarget
from synfab.plant import service as plant
from synfab.plant.choices import STORAGE_LEVELS
from synfab.plant.models import PlantNode

Key = tuple[int, int, int]  # (material_id, location_id, lot_key); lot_key = lot id, or 0 without a lot
PLACES = Decimal("0.000001")  # the ledger's precision (Qty() keeps 6 places)
_CHUNK = 900  # ids per IN (...) list, well under every engine's parameter limit
T = TypeVar("T")


def _chunks(items: Iterable[T], size: int = _CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def exact(value: Decimal | int | float | None) -> Decimal:
    """A quantity at the ledger's precision (SQLite hands sums back through floating point)."""
    return Decimal(str(value or 0)).quantize(PLACES)


def plain(value: Decimal) -> str:
    """A quantity for a message: 12, 12.5 — never 12.000000."""
    text = format(exact(value).normalize(), "f")
    return "0" if text == "-0" else text


# -- references, loaded in bulk and checked once ----------------------------------------------------------


@dataclass
class Refs:
    """What a batch of moves refers to, loaded once: None marks an id that does not exist."""

    materials: dict[int, Material | None]
    locations: dict[int, PlantNode | None]
    lots: dict[int, Lot | None]


def load_refs(session: Session, material_ids: Iterable[int], location_ids: Iterable[int | None],
              lot_ids: Iterable[int | None], arriving: Iterable[int | None] = ()) -> Refs:
    """`arriving`: lots that moves bring into a place (receipts): found even when the person does not see them
    yet — a new lot has no stock anywhere until its receipt, whose place is checked to be in their scope."""
    lots: dict[int, Lot | None] = {i: None for i in {i for i in lot_ids if i is not None}}
    for chunk in _chunks(lots):
        for lot in session.scalars(select(Lot).where(Lot.id.in_(chunk))):
            lots[lot.id] = lot
    unseen = [i for i in {i for i in arriving if i is not None} if lots.get(i, 0) is None]
    for chunk in _chunks(unseen):
        for lot in session.scalars(select(Lot).where(Lot.id.in_(chunk)).execution_options(unrestricted=True)):
            lots[lot.id] = lot
    material_set = set(material_ids) | {lot.material_id for lot in lots.values() if lot is not None}
    location_set = {i for i in location_ids if i is not None}
    # One query each fills the identity map, so the lookups below cost no round trip per id. The map only
    # holds weak references: `loaded` keeps the rows alive until the lookups have found them.
    loaded: list[object] = []
    for chunk in _chunks(material_set):
        loaded.extend(session.scalars(select(Material).where(Material.id.in_(chunk))))
    for chunk in _chunks(location_set):
        loaded.extend(session.scalars(select(PlantNode).where(PlantNode.id.in_(chunk))))
    materials: dict[int, Material | None] = {}
    for mid in material_set:
        try:
            materials[mid] = catalog.get_material(session, mid)
        except NotFound:
            materials[mid] = None
    locations: dict[int, PlantNode | None] = {}
    for lid in location_set:
        try:
            locations[lid] = plant.get_node(session, lid)
        except NotFound:
            locations[lid] = None
    return Refs(materials, locations, lots)


@dataclass(frozen=True)
class Problem:
    """What is wrong with one line of a batch (0-based `index`)."""

    index: int
    code: str
    message: LazyText

    def as_detail(self) -> dict[str, Any]:
        return {"index": self.index, "line": self.index + 1, "code": self.code,
                "message": self.message.both()}


def reject(problems: Sequence[Problem], total: int) -> Invalid:
    """One error for a batch: the first problem in words (with its line when there are several), every
    problem in `details`."""
    first = problems[0]
    message = first.message if total == 1 else _l(
        "Line {line} of {total}: {problem} Nothing was posted.", line=first.index + 1, total=total,
        problem=first.message)
    return Invalid(first.code, message, details=[p.as_detail() for p in problems])


def _check_location(i: int, refs: Refs, location_id: int) -> Problem | None:
    node = refs.locations.get(location_id)
    if node is None:
        return Problem(i, "location_not_found", _l("Storage location {id} does not exist.", id=location_id))
    if node.level not in STORAGE_LEVELS:
        return Problem(i, "not_a_storage_location", _l(
            "{code} is a {level}, not a storage location; stock is kept in storage zones and storage units.",
            code=node.code, level=node.level.label))
    return None


def check_line(i: int, refs: Refs, kind: MoveKind, material_id: int, lot_id: int | None,
               from_id: int | None, to_id: int | None) -> list[Problem]:
    """Everything about one move that does not depend on quantities."""
    problems: list[Problem] = []
    material = refs.materials.get(material_id)
    if material is None:
        problems.append(Problem(i, "material_not_found", _l("Material {id} does not exist.", id=material_id)))
    if kind == MoveKind.ADJUSTMENT:
        if (from_id is None) == (to_id is None):
            problems.append(Problem(i, "adjustment_location", _l(
                "An adjustment names exactly one location: the source to take stock off, "
                "or the destination to add it to.")))
    else:
        if kind in TAKES_FROM and from_id is None:
            problems.append(Problem(i, "move_source_required", _l(
                "A {kind} needs the location the stock comes from.", kind=kind.label)))
        if kind not in TAKES_FROM and from_id is not None:
            problems.append(Problem(i, "move_source_not_expected", _l(
                "A {kind} takes no stock out of a location; leave the source empty.", kind=kind.label)))
        if kind in PUTS_TO and to_id is None:
            problems.append(Problem(i, "move_destination_required", _l(
                "A {kind} needs the location the stock goes to.", kind=kind.label)))
        if kind not in PUTS_TO and to_id is not None:
            problems.append(Problem(i, "move_destination_not_expected", _l(
                "A {kind} puts no stock into a location; leave the destination empty.", kind=kind.label)))
        if kind == MoveKind.TRANSFER and from_id is not None and from_id == to_id:
            problems.append(Problem(i, "transfer_same_location", _l(
                "A transfer needs two different locations.")))
    for location_id in (from_id, to_id):
        if location_id is not None and (p := _check_location(i, refs, location_id)) is not None:
            problems.append(p)
    if material is None:
        return problems
    if lot_id is None:
        if material.lot_tracked:
            problems.append(Problem(i, "lot_required", _l(
                "{material} is tracked by lot; name the lot of this move.", material=material.code)))
        return problems
    lot = refs.lots.get(lot_id)
    if lot is None:
        problems.append(Problem(i, "lot_not_found", _l("Lot {id} does not exist.", id=lot_id)))
    elif lot.material_id != material_id:
        other = refs.materials.get(lot.material_id)
        problems.append(Problem(i, "lot_of_other_material", _l(
            "Lot {lot} is of material {lot_material}, not {material}.", lot=lot.code,
            lot_material=other.code if other else lot.material_id, material=material.code)))
    elif lot.status in CLOSED_LOT_STATUSES:
        problems.append(Problem(i, "lot_closed", _l(
            "Lot {lot} is {status} and takes no more moves; use a new lot.", lot=lot.code,
            status=lot.status.label)))
    elif lot.status == LotStatus.HOLD and kind in BLOCKED_WHEN_HELD:
        problems.append(Problem(i, "lot_on_hold", _l(
            "Lot {lot} is on hold ({reason}); release it before it is issued, consumed or shipped.",
            lot=lot.code, reason=lot.status_reason or "—")))
    return problems


# -- balances -------------------------------------------------------------------------------------------


def key_of(material_id: int, location_id: int, lot_id: int | None) -> Key:
    return (material_id, location_id, lot_id or 0)


def read_balances(session: Session, keys: Iterable[Key], *, lock: bool = False) -> dict[Key, Decimal]:
    """Kept balances of some keys (missing ones are 0). `lock` holds the rows until commit (PostgreSQL),
    so two batches taking from the same place cannot both pass the negative-stock check."""
    wanted = set(keys)
    found: dict[Key, Decimal] = {k: Decimal(0) for k in wanted}
    if not wanted:
        return found
    locations = sorted({k[1] for k in wanted})
    for chunk in _chunks(sorted({k[0] for k in wanted})):
        stmt = (select(StockBalance.material_id, StockBalance.location_id, StockBalance.lot_key,
                       StockBalance.quantity)
                .where(StockBalance.material_id.in_(chunk), StockBalance.location_id.in_(locations))
                .order_by(StockBalance.id))
        if lock:
            stmt = stmt.with_for_update()
        for material_id, location_id, lot_key, quantity in session.execute(stmt):
            key = (material_id, location_id, lot_key)
            if key in found:
                found[key] = exact(quantity)
    return found


def _upsert_balances(session: Session, deltas: dict[Key, Decimal]) -> None:
    """Add each delta to its balance row (creating it), in one statement for the whole batch."""
    rows = [{"material_id": m, "location_id": loc, "lot_id": lot or None, "lot_key": lot, "quantity": q}
            for (m, loc, lot), q in sorted(deltas.items()) if q != 0]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    table = StockBalance.__table__
    stmt = dialect_insert(table)
    # Relative, so concurrent writers add up; rounded, so SQLite's floating point cannot leave 1e-17 behind.
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.material_id, table.c.location_id, table.c.lot_key],
        set_={"quantity": func.round(table.c.quantity + stmt.excluded.quantity, 6)},
    )
    session.execute(stmt, rows)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, StockBalance):
            session.expire(obj)


# -- posting --------------------------------------------------------------------------------------------


def post_moves(uow: UnitOfWork, moves: Sequence[MoveIn]) -> list[StockMove]:
    """Post stock moves, all of them or none: the only function that changes stock.

    Checks every move first — kind and locations (storage nodes only), material, lot (required when the
    material is lot-tracked, of the same material, not consumed or scrapped, not on hold for issue,
    consumption and shipment) and enough stock at each source location and lot, in batch order — and
    raises one `Invalid` naming every problem (`details`) without writing anything. Then inserts the
    immutable moves and adds them to `stock_balance` with one upsert per call. A lot consumed down to
    zero everywhere becomes `consumed` (event LotConsumed). Records one StockMoved event per call.
    """
    if not moves:
        return []
    refs = load_refs(uow.session, [m.material_id for m in moves],
                     [loc for m in moves for loc in (m.from_location_id, m.to_location_id)],
                     [m.lot_id for m in moves], [m.lot_id for m in moves if m.kind == MoveKind.RECEIPT])
    return _post(uow, moves, refs)


def _post(uow: UnitOfWork, moves: Sequence[MoveIn], refs: Refs) -> list[StockMove]:
    """`post_moves` with the references already loaded (`refs` covers every id the moves name)."""
    s = uow.session
    problems: list[Problem] = []
    for i, m in enumerate(moves):
        problems.extend(check_line(i, refs, m.kind, m.material_id, m.lot_id, m.from_location_id,
                                   m.to_location_id))
    bad = {p.index for p in problems}

    sources = [key_of(m.material_id, m.from_location_id, m.lot_id) for i, m in enumerate(moves)
               if i not in bad and m.from_location_id is not None]
    running = read_balances(s, sources, lock=True)
    deltas: dict[Key, Decimal] = defaultdict(Decimal)
    for i, m in enumerate(moves):
        if i in bad:
            continue
        quantity = exact(m.quantity)
        if m.from_location_id is not None:
            src = key_of(m.material_id, m.from_location_id, m.lot_id)
            if running[src] < quantity:
                problems.append(_short(i, refs, m, running[src], quantity))
                continue
            running[src] -= quantity
            deltas[src] -= quantity
        if m.to_location_id is not None:
            dst = key_of(m.material_id, m.to_location_id, m.lot_id)
            if dst in running:
                running[dst] += quantity
            deltas[dst] += quantity
    if problems:
        problems.sort(key=lambda p: p.index)
        raise reject(problems, len(moves))

    event_id, actor, now = new_id(), current_actor().username, clock.now()
    rows = [{
        "kind": m.kind, "material_id": m.material_id, "lot_id": m.lot_id,
        "from_location_id": m.from_location_id, "to_location_id": m.to_location_id,
        "quantity": exact(m.quantity), "moved_at": m.moved_at or now, "reference": m.reference,
        "reason": m.reason, "actor": actor, "event_id": event_id,
    } for m in moves]
    # A plain executemany, then the rows back by their event: RETURNING in parameter order makes SQLite
    # insert row by row, far too slow for an opening-stock import of thousands of moves.
    s.execute(insert(StockMove.__table__), rows)
    posted = list(s.scalars(select(StockMove).where(StockMove.event_id == event_id).order_by(StockMove.id)))
    note_created(s, posted)  # past the ORM's flush: the audit log is told of each move
    _upsert_balances(s, deltas)
    _close_consumed_lots(uow, refs, {m.lot_id for m in moves if m.kind == MoveKind.CONSUMPTION and m.lot_id})
    uow.record(StockMoved(
        id=event_id, move_ids=[mv.id for mv in posted], kinds=sorted({m.kind.value for m in moves}),
        material_ids=sorted({m.material_id for m in moves}),
        location_ids=sorted({loc for m in moves for loc in (m.from_location_id, m.to_location_id) if loc}),
        lot_ids=sorted({m.lot_id for m in moves if m.lot_id}),
    ))
    return posted


def _short(i: int, refs: Refs, m: MoveIn, on_hand: Decimal, asked: Decimal) -> Problem:
    material = refs.materials[m.material_id]
    node = refs.locations[m.from_location_id]  # type: ignore[index]
    params = {"material": material.code if material else m.material_id,
              "location": node.code if node else "", "on_hand": plain(on_hand), "asked": plain(asked),
              "unit": material.unit.code if material else ""}
    lot = refs.lots.get(m.lot_id) if m.lot_id else None
    if lot is not None:
        return Problem(i, "insufficient_stock", _l(
            "Not enough {material} of lot {lot} at {location}: on hand {on_hand} {unit}, "
            "asked {asked} {unit}.", lot=lot.code, **params))
    return Problem(i, "insufficient_stock", _l(
        "Not enough {material} at {location}: on hand {on_hand} {unit}, asked {asked} {unit}.", **params))


def _close_consumed_lots(uow: UnitOfWork, refs: Refs, lot_ids: set[int]) -> None:
    if not lot_ids:
        return
    totals = dict(uow.session.execute(
        select(StockBalance.lot_id, func.sum(StockBalance.quantity))
        .where(StockBalance.lot_id.in_(lot_ids)).group_by(StockBalance.lot_id)).all())
    for lot_id in sorted(lot_ids):
        lot = refs.lots[lot_id]
        if lot is not None and exact(totals.get(lot_id)) == 0 and lot.status not in CLOSED_LOT_STATUSES:
            lot.status = LotStatus.CONSUMED
            uow.record(LotConsumed(lot_id=lot.id, code=lot.code, material_id=lot.material_id))


def set_on_hand_many(uow: UnitOfWork, targets: Sequence[OnHandTarget], reason: str,
                     reference: str | None = None) -> list[StockMove]:
    """Make on hand equal each target (a stock count, an opening-stock file) with adjustment moves of the
    differences, posted together. Targets already met post nothing, so a file imported twice changes
    nothing the second time. Every target is checked, including those already met."""
    if not targets:
        return []
    s = uow.session
    seen: dict[Key, int] = {}
    problems: list[Problem] = []
    refs = load_refs(s, [t.material_id for t in targets], [t.location_id for t in targets],
                     [t.lot_id for t in targets])
    for i, t in enumerate(targets):
        key = key_of(t.material_id, t.location_id, t.lot_id)
        if key in seen:
            problems.append(Problem(i, "on_hand_target_repeated", _l(
                "Line {line} names the same material, location and lot as line {first}.",
                line=i + 1, first=seen[key] + 1)))
        seen.setdefault(key, i)
        problems.extend(check_line(i, refs, MoveKind.ADJUSTMENT, t.material_id, t.lot_id, None,
                                   t.location_id))
    if problems:
        raise reject(problems, len(targets))
    current = read_balances(s, seen, lock=True)
    moves: list[MoveIn] = []
    for t in targets:
        key = key_of(t.material_id, t.location_id, t.lot_id)
        difference = exact(t.quantity) - current[key]
        if difference == 0:
            continue
        moves.append(MoveIn(
            kind=MoveKind.ADJUSTMENT, material_id=t.material_id, lot_id=t.lot_id, quantity=abs(difference),
            from_location_id=t.location_id if difference < 0 else None,
            to_location_id=t.location_id if difference > 0 else None, reason=reason, reference=reference,
        ))
    return _post(uow, moves, refs) if moves else []


def set_on_hand(uow: UnitOfWork, material_id: int, location_id: int, lot_id: int | None,
                target_quantity: Decimal, reason: str, reference: str | None = None) -> StockMove | None:
    """Make on hand of one material at one location and lot equal `target_quantity` with an adjustment of
    the difference; None when it already is (no move is posted)."""
    if target_quantity < 0:
        raise Invalid("negative_on_hand", _l("On hand cannot be below zero (asked {quantity}).",
                                             quantity=plain(target_quantity)))
    posted = set_on_hand_many(uow, [OnHandTarget(material_id=material_id, location_id=location_id,
                                                 lot_id=lot_id, quantity=target_quantity)], reason, reference)
    return posted[0] if posted else None


# -- reading -------------------------------------------------------------------------------------------


def on_hand(session: Session, material_id: int, location_id: int | None = None, lot_id: int | None = None,
            *, with_sublocations: bool = False) -> Decimal:
    """On hand of a material: everywhere, or at one location (with its storage units when asked), of one lot
    or of all. A move from a location can take at most its on hand at exactly that location and lot."""
    stmt = select(func.sum(StockBalance.quantity)).where(StockBalance.material_id == material_id)
    if location_id is not None:
        if with_sublocations:
            stmt = stmt.where(StockBalance.location_id.in_(plant.subtree_ids(session, location_id)))
        else:
            stmt = stmt.where(StockBalance.location_id == location_id)
    if lot_id is not None:
        stmt = stmt.where(StockBalance.lot_id == lot_id)
    return exact(session.scalar(stmt))


def ledger_balance_mismatches(session: Session) -> list[BalanceMismatch]:
    """Every (material, location, lot) where the kept balance differs from the sum of the ledger.

    Recomputes on hand from all moves, so it reads the whole ledger: for IT checks and tests, not pages.
    An empty list means `stock_balance` is exactly what the moves say.
    """
    lot_key = func.coalesce(StockMove.lot_id, 0)
    incoming = select(StockMove.material_id.label("material_id"),
                      StockMove.to_location_id.label("location_id"), lot_key.label("lot_key"),
                      StockMove.quantity.label("quantity")).where(StockMove.to_location_id.is_not(None))
    outgoing = select(StockMove.material_id, StockMove.from_location_id, lot_key, -StockMove.quantity
                      ).where(StockMove.from_location_id.is_not(None))
    both = union_all(incoming, outgoing).subquery()
    ledger: dict[Key, Decimal] = {
        (m, loc, lot): exact(q) for m, loc, lot, q in session.execute(
            select(both.c.material_id, both.c.location_id, both.c.lot_key, func.sum(both.c.quantity))
            .group_by(both.c.material_id, both.c.location_id, both.c.lot_key))
    }
    kept: dict[Key, Decimal] = {
        (m, loc, lot): exact(q) for m, loc, lot, q in session.execute(
            select(StockBalance.material_id, StockBalance.location_id, StockBalance.lot_key,
                   StockBalance.quantity))
    }
    found = []
    for key in sorted(set(ledger) | set(kept)):
        moved, balance = ledger.get(key, Decimal(0)), kept.get(key, Decimal(0))
        if moved != balance:
            found.append(BalanceMismatch(material_id=key[0], location_id=key[1], lot_id=key[2] or None,
                                         ledger_quantity=moved, balance_quantity=balance))
    return found

