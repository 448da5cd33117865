"""Lot genealogy: which lots went into which, traced backward (where from) and forward (where to)."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, bindparam, exists, or_, select, true
from sqlalchemy.orm import Session

from synfab.catalog.models import Material
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.scoping import ScopeNodes
from synfab.core.uow import UnitOfWork
from synfab.inventory.choices import LotStatus
from synfab.inventory.events import LotsLinked
from synfab.inventory.models import Lot, LotLink, StockBalance, StockMove
from synfab.inventory.service.ledger import exact
from synfab.inventory.service.lots import get_lot

@dataclass(frozen=True, slots=True)
class TraceStep:
    """One genealogy link seen from the traced lot: level 1 are its direct inputs (or outputs). The API
    shows it as `schemas.TraceLine`; a plain value here because a trace can have thousands of them."""

    level: int
    lot_id: int
    lot_code: str
    lot_status: LotStatus
    material_id: int
    material_code: str
    material_name: str
    material_name_en: str | None
    quantity: Decimal
    # The lot one level closer to the traced one that this line is linked to.
    linked_lot_id: int


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


def _visible_lot(nodes: ScopeNodes | None, far: Any, made_at: Any) -> Any:
    """A column telling whether the lot `far` is in the reader's stock scope (always true unrestricted): stock of it
    in scope, or made in scope (`Lot.scope_criteria`).

    Checked on every row of the one trace query, so the scope costs no extra round trip."""
    if nodes is None:
        return true()
    balance = StockBalance.__table__.alias("trace_balance")
    return or_(exists().where(balance.c.lot_id == far, balance.c.location_id.in_(nodes.subtree)),
               made_at.in_(nodes.subtree))


def _trace_statement(nodes: ScopeNodes | None, backward: bool) -> Select[Any]:
    link, lot, material = LotLink.__table__, Lot.__table__, Material.__table__
    near, far = (link.c.output_lot_id, link.c.input_lot_id) if backward else \
        (link.c.input_lot_id, link.c.output_lot_id)
    anchor = select(lot.c.id.label("id")).where(lot.c.id == bindparam("trace_lot_id"),
                                                _visible_lot(nodes, lot.c.id, lot.c.made_at_id))
    reach = anchor.cte("trace_reach", recursive=True)
    reach = reach.union(select(far).join(reach, near == reach.c.id))
    return (select(near, far, link.c.quantity, link.c.id, lot.c.code, lot.c.status, material.c.id, material.c.code,
                   material.c.name, material.c.name_en, _visible_lot(nodes, far, lot.c.made_at_id).label("visible"))
            .select_from(link).join(reach, near == reach.c.id).join(lot, lot.c.id == far)
            .join(material, material.c.id == lot.c.material_id))


# SQL text of the trace per (engine, direction, grants): building and compiling the statement costs several
# times the query itself, and it only depends on these. Bounded like the session's read criteria.
_TRACE_SQL: dict[Hashable, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}
_TRACE_SQL_MAX = 512
_TRACE_SQL_LOCK = threading.Lock()


def _trace_sql(session: Session, backward: bool) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    restriction = session.info.get("restriction")
    dialect = session.get_bind().dialect
    key = (dialect.name, backward, restriction.key if restriction is not None else None)
    found = _TRACE_SQL.get(key)
    if found is None:
        nodes = restriction.nodes("stock", "view") if restriction is not None else None
        compiled = _trace_statement(nodes, backward).compile(dialect=dialect)
        found = (compiled.string, tuple(compiled.positiontup) if compiled.positiontup else None,
                 dict(compiled.params))
        with _TRACE_SQL_LOCK:
            if len(_TRACE_SQL) >= _TRACE_SQL_MAX:
                _TRACE_SQL.pop(next(iter(_TRACE_SQL)))
            _TRACE_SQL[key] = found
    return found


def trace_edges(session: Session, lot_id: int, backward: bool) -> list[Any]:
    """Every genealogy link reachable from a lot in one direction, in one recursive query.

    Rows: (near lot, far lot, quantity, link id, far lot's code, status, material id, code, name, name_en,
    far lot visible). The recursive part follows lot ids with UNION, so each lot is expanded once and damaged
    data with a cycle still ends. The reader's stock scope is part of the query: the start lot must be in it
    (else its anchor row is filtered out and nothing is reached), and each row says whether its lot is.
    The session's per-entity read criteria do not apply to this plain SQL; the `visible` column stands in.
    """
    sql, order, params = _trace_sql(session, backward)
    values = {**params, "trace_lot_id": lot_id}
    args: Any = tuple(values[name] for name in order) if order is not None else values
    # The driver's cursor on the session's own connection (same transaction): SQLAlchemy's result machinery
    # would cost a tenth of the whole trace, and these rows need none of it.
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


_STATUS = {status.value: status for status in LotStatus}


def _trace(session: Session, lot_id: int, backward: bool) -> list[TraceStep]:
    edges = trace_edges(session, lot_id, backward)
    if not edges:
        _get_visible_lot(session, lot_id)  # no link, or a lot the reader may not see: 404 for the latter
        return []
    # Lines of one level come in the order of the lot they hang on, then lot code, then link.
    edges.sort(key=itemgetter(0, 4, 3))
    by_near: dict[int, list[Any]] = {}
    for row in edges:
        if row[10]:  # lots outside the reader's scope are neither listed nor followed
            by_near.setdefault(row[0], []).append(row)
    quantities: dict[Any, Decimal] = {}
    lines: list[TraceStep] = []
    frontier, seen = [lot_id], {lot_id}
    level = 0
    # Levels are the breadth-first distance from the traced lot, in memory over the fetched links.
    while frontier and level < MAX_LEVELS:
        level += 1
        reached = []
        for near in sorted(frontier):
            for _near, other, quantity, _link, code, status, material_id, material_code, name, name_en, _v \
                    in by_near.get(near, ()):
                q = quantities.get(quantity)
                if q is None:
                    q = quantities[quantity] = exact(quantity)
                lines.append(TraceStep(level, other, code, _STATUS[status], material_id, material_code, name, name_en,
                                       q, near))
                # A lot reached by two paths is listed on both, but its own links are followed once.
                if other not in seen:
                    seen.add(other)
                    reached.append(other)
        frontier = reached
    return lines


def _get_visible_lot(session: Session, lot_id: int) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.id == lot_id))
    if lot is None:
        raise NotFound("lot_not_found", _l("Lot {id} does not exist.", id=lot_id))
    return lot


def trace_backward(session: Session, lot_id: int) -> list[TraceStep]:
    """Every lot that went into this one, at all levels (1 = direct inputs), with each link's quantity."""
    return _trace(session, lot_id, backward=True)


def trace_forward(session: Session, lot_id: int) -> list[TraceStep]:
    """Every lot this one went into, at all levels (1 = direct outputs): the recall scope."""
    return _trace(session, lot_id, backward=False)
