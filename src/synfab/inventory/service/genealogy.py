"""Lot genealogy: which lots went into which, traced backward (where from) and forward (where to)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog.models import Material
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.inventory.events import LotsLinked
from synfab.inventory.models import Lot, LotLink, StockMove
from synfab.inventory.schemas import TraceLine
from synfab.inventory.service.ledger import exact
from synfab.inventory.service.lots import get_lot

# Deeper than any real product structure; a bound so damaged data cannot make a trace run away.
MAX_LEVELS = 50


def link_lots(uow: UnitOfWork, input_lot_id: int, output_lot_id: int, quantity: Decimal,
              move_id: int | None = None) -> LotLink:
    """Record that `quantity` of the input lot went into the output lot (optionally the consumption move).

    A link that would make a lot its own ancestor is refused with the cycle named.
    """
    s = uow.session
    try:
        source, target = get_lot(s, input_lot_id), get_lot(s, output_lot_id)
    except NotFound as exc:
        raise Invalid(exc.code, exc.message) from None
    if quantity <= 0:
        raise Invalid("link_quantity_not_positive",
                      _l("The quantity that went into the lot must be above zero."))
    if source.id == target.id:
        raise Invalid("genealogy_cycle", _l("Lot {lot} cannot go into itself.", lot=source.code))
    if move_id is not None:
        move = s.get(StockMove, move_id)
        if move is None:
            raise Invalid("move_not_found", _l("Stock move {id} does not exist.", id=move_id))
        if move.lot_id not in (source.id, target.id):
            raise Invalid("move_of_other_lot", _l(
                "Stock move {id} is not a move of lot {input} or {output}.", id=move_id, input=source.code,
                output=target.code))
    # The output already being upstream of the input would close a loop.
    path = _path_up(s, source.id, target.id)
    if path is not None:
        codes = dict(s.execute(select(Lot.id, Lot.code).where(Lot.id.in_(path))).all())
        cycle = " → ".join([*(codes[i] for i in path), source.code, target.code])
        raise Invalid("genealogy_cycle", _l(
            "Linking {input} into {output} would make a cycle: {cycle}.", input=source.code,
            output=target.code, cycle=cycle))
    link = LotLink(input_lot_id=source.id, output_lot_id=target.id, quantity=exact(quantity), move_id=move_id)
    s.add(link)
    uow.flush()
    uow.record(LotsLinked(link_id=link.id, input_lot_id=source.id, output_lot_id=target.id,
                          quantity=exact(quantity)))
    return link


def _path_up(session: Session, start: int, wanted: int) -> list[int] | None:
    """If `wanted` is upstream of `start`: the lots from `wanted` down the flow to the one that went into
    `start` (input → output order). None when it is not."""
    came_from: dict[int, int] = {}
    frontier, seen = {start}, {start}
    for _ in range(MAX_LEVELS):
        if not frontier:
            return None
        rows = session.execute(select(LotLink.output_lot_id, LotLink.input_lot_id)
                               .where(LotLink.output_lot_id.in_(frontier))).all()
        frontier = set()
        for child, parent in rows:
            if parent in seen:
                continue
            seen.add(parent)
            came_from[parent] = child
            if parent == wanted:
                chain, node = [parent], parent
                while came_from.get(node, start) != start:
                    node = came_from[node]
                    chain.append(node)
                return chain
            frontier.add(parent)
    return None


def _trace(session: Session, lot_id: int, backward: bool) -> list[TraceLine]:
    get_lot(session, lot_id)
    near, far = (LotLink.output_lot_id, LotLink.input_lot_id) if backward else \
        (LotLink.input_lot_id, LotLink.output_lot_id)
    lines: list[TraceLine] = []
    frontier, seen = [lot_id], {lot_id}
    level = 0
    while frontier and level < MAX_LEVELS:
        level += 1
        rows = session.execute(
            select(near, far, LotLink.quantity, Lot.code, Lot.status, Material.id, Material.code,
                   Material.name, Material.name_en)
            .join(Lot, Lot.id == far).join(Material, Material.id == Lot.material_id)
            .where(near.in_(frontier)).order_by(near, Lot.code, LotLink.id)).all()
        frontier = []
        for linked, other, quantity, code, status, material_id, material_code, name, name_en in rows:
            lines.append(TraceLine(level=level, lot_id=other, lot_code=code, lot_status=status,
                                   material_id=material_id, material_code=material_code, material_name=name,
                                   material_name_en=name_en, quantity=exact(quantity), linked_lot_id=linked))
            # A lot reached by two paths is listed on both, but its own links are followed once.
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    return lines


def trace_backward(session: Session, lot_id: int) -> list[TraceLine]:
    """Every lot that went into this one, at all levels (1 = direct inputs), with each link's quantity."""
    return _trace(session, lot_id, backward=True)


def trace_forward(session: Session, lot_id: int) -> list[TraceLine]:
    """Every lot this one went into, at all levels (1 = direct outputs): the recall scope."""
    return _trace(session, lot_id, backward=False)
