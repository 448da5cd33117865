"""The rows list pages show and exports write: each `*_query` builds a Select without a session.

The page pages it (`web.listing.paginate`) with the sort keys named in `*_SORTS`; the Excel export runs
the same Select. Column labels are the export's column names.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import aliased

from synfab.catalog.models import Material, Unit
from synfab.core import clock
from synfab.inventory.choices import CLOSED_LOT_STATUSES, LotStatus, MoveKind
from synfab.inventory.models import Lot, StockBalance, StockMove
from synfab.plant.models import PlantNode

Location = aliased(PlantNode, name="location")
FromLocation = aliased(PlantNode, name="from_location")
ToLocation = aliased(PlantNode, name="to_location")


def _path_of(location_id: int) -> Any:
    return select(PlantNode.path).where(PlantNode.id == location_id).scalar_subquery()


def _in_subtree(node: Any, location_id: int) -> ColumnElement[bool]:
    """The node is the location or lies under it (its storage units)."""
    return node.path.startswith(_path_of(location_id))


def _material_matches(q: str) -> ColumnElement[bool]:
    return or_(Material.code.icontains(q, autoescape=True), Material.name.icontains(q, autoescape=True),
               Material.name_en.icontains(q, autoescape=True))


def _lot_status_is(status: LotStatus | str) -> ColumnElement[bool]:
    """Stock without a lot counts as available."""
    value = LotStatus(status)
    if value == LotStatus.AVAILABLE:
        return or_(StockBalance.lot_id.is_(None), Lot.status == value)
    return Lot.status == value


def _today(today: date | None) -> date:
    return today or clock.now().date()


# -- stock on hand ------------------------------------------------------------------------------------


def stock_query(material_id: int | None = None, location_id: int | None = None,
                lot_status: LotStatus | str | None = None, q: str | None = None) -> Select[Any]:
    """On hand by material × location × lot, only where it is not zero.

    Filters: `material_id`; `location_id` (that location and every storage unit under it); `lot_status`
    (stock without a lot counts as available); `q` (material code or name, or lot code).
    Columns: material_id, material_code, material_name, material_name_en, unit, lot_id, lot_code,
    lot_status, expires_on, supplier_lot, location_id, location_code, location_name, location_name_en,
    quantity.
    """
    stmt = (
        select(StockBalance.material_id, Material.code.label("material_code"),
               Material.name.label("material_name"), Material.name_en.label("material_name_en"),
               Unit.code.label("unit"), StockBalance.lot_id, Lot.code.label("lot_code"),
               Lot.status.label("lot_status"), Lot.expires_on.label("expires_on"),
               Lot.supplier_lot.label("supplier_lot"), StockBalance.location_id,
               Location.code.label("location_code"), Location.name.label("location_name"),
               Location.name_en.label("location_name_en"), StockBalance.quantity)
        .join(Material, Material.id == StockBalance.material_id)
        .join(Unit, Unit.id == Material.unit_id)
        .join(Location, Location.id == StockBalance.location_id)
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .where(StockBalance.quantity != 0)
    )
    return _stock_filters(stmt, material_id, location_id, lot_status, q)


def _stock_filters(stmt: Select[Any], material_id: int | None, location_id: int | None,
                   lot_status: LotStatus | str | None, q: str | None) -> Select[Any]:
    if material_id is not None:
        stmt = stmt.where(StockBalance.material_id == material_id)
    if location_id is not None:
        stmt = stmt.where(_in_subtree(Location, location_id))
    if lot_status:
        stmt = stmt.where(_lot_status_is(lot_status))
    if q:
        stmt = stmt.where(or_(_material_matches(q), Lot.code.icontains(q, autoescape=True)))
    return stmt


STOCK_SORTS: dict[str, ColumnElement[Any]] = {
    "material": Material.code, "location": Location.code, "lot": Lot.code, "expires": Lot.expires_on,
    "status": Lot.status, "quantity": StockBalance.quantity,
}
STOCK_ORDER = (Location.code, Material.code, Lot.code)


def stock_by_location_query(material_id: int | None = None, location_id: int | None = None,
                            lot_status: LotStatus | str | None = None, q: str | None = None) -> Select[Any]:
    """On hand per location × material (the subtotal of its lots), with the same filters as `stock_query`.

    Columns: location_id, location_code, location_name, location_name_en, material_id, material_code,
    material_name, material_name_en, unit, lots (how many lots), quantity.
    """
    quantity = func.sum(StockBalance.quantity)
    stmt = (
        select(StockBalance.location_id, Location.code.label("location_code"),
               Location.name.label("location_name"), Location.name_en.label("location_name_en"),
               StockBalance.material_id, Material.code.label("material_code"),
               Material.name.label("material_name"), Material.name_en.label("material_name_en"),
               Unit.code.label("unit"), func.count(StockBalance.lot_id).label("lots"),
               quantity.label("quantity"))
        .join(Material, Material.id == StockBalance.material_id)
        .join(Unit, Unit.id == Material.unit_id)
        .join(Location, Location.id == StockBalance.location_id)
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .where(StockBalance.quantity != 0)
    )
    stmt = _stock_filters(stmt, material_id, location_id, lot_status, q)
    return stmt.group_by(StockBalance.location_id, Location.code, Location.name, Location.name_en,
                         StockBalance.material_id, Material.code, Material.name, Material.name_en, Unit.code)


STOCK_BY_LOCATION_SORTS: dict[str, ColumnElement[Any]] = {
    "location": Location.code, "material": Material.code, "quantity": func.sum(StockBalance.quantity),
}
STOCK_BY_LOCATION_ORDER = (Location.code, Material.code)


# -- lots ---------------------------------------------------------------------------------------------


def lot_query(material_id: int | None = None, status: LotStatus | str | None = None,
              location_id: int | None = None, expired: bool | None = None, q: str | None = None, *,
              expiring_within_days: int | None = None, today: date | None = None) -> Select[Any]:
    """Lots with their material and on hand.

    Filters: `material_id`; `status`; `location_id` (lots with stock at that location or under it — then
    `on_hand` is what is there); `expired` (True: expiry date before `today`, False: not expired or no
    expiry); `q` (lot code, supplier lot, material code or name); `expiring_within_days` (still in stock,
    not consumed or scrapped, expiring between `today` and that many days later).
    Columns: id, code, material_id, material_code, material_name, material_name_en, unit, status,
    received_on, expires_on, supplier_lot, parent_id, on_hand.
    """
    day = _today(today)
    stock = select(StockBalance.lot_id.label("lot_id"), func.sum(StockBalance.quantity).label("on_hand")) \
        .where(StockBalance.lot_id.is_not(None))
    if location_id is not None:
        stock = stock.join(Location, Location.id == StockBalance.location_id) \
            .where(_in_subtree(Location, location_id))
    held = stock.group_by(StockBalance.lot_id).subquery("lot_stock")
    on_hand = func.coalesce(held.c.on_hand, 0)
    stmt = (
        select(Lot.id, Lot.code, Lot.material_id, Material.code.label("material_code"),
               Material.name.label("material_name"), Material.name_en.label("material_name_en"),
               Unit.code.label("unit"), Lot.status, Lot.received_on, Lot.expires_on, Lot.supplier_lot,
               Lot.parent_id, on_hand.label("on_hand"))
        .join(Material, Material.id == Lot.material_id)
        .join(Unit, Unit.id == Material.unit_id)
        .outerjoin(held, held.c.lot_id == Lot.id)
    )
    if material_id is not None:
        stmt = stmt.where(Lot.material_id == material_id)
    if status:
        stmt = stmt.where(Lot.status == LotStatus(status))
    if location_id is not None:
        stmt = stmt.where(on_hand != 0)
    if expired is True:
        stmt = stmt.where(Lot.expires_on < day)
    elif expired is False:
        stmt = stmt.where(or_(Lot.expires_on.is_(None), Lot.expires_on >= day))
    if expiring_within_days is not None:
        stmt = stmt.where(Lot.expires_on >= day, Lot.expires_on <= day + timedelta(days=expiring_within_days),
                          Lot.status.not_in(list(CLOSED_LOT_STATUSES)), on_hand != 0)
    if q:
        stmt = stmt.where(or_(Lot.code.icontains(q, autoescape=True),
                              Lot.supplier_lot.icontains(q, autoescape=True), _material_matches(q)))
    return stmt


LOT_SORTS: dict[str, ColumnElement[Any]] = {
    "code": Lot.code, "material": Material.code, "status": Lot.status, "received": Lot.received_on,
    "expires": Lot.expires_on,
}
LOT_ORDER = (Lot.code,)


# -- moves --------------------------------------------------------------------------------------------


def move_query(material_id: int | None = None, lot_id: int | None = None, location_id: int | None = None,
               kind: MoveKind | str | None = None, start: datetime | None = None, end: datetime | None = None,
               q: str | None = None) -> Select[Any]:
    """The ledger, one row per move.

    Filters: `material_id`; `lot_id`; `location_id` (moves from or to that location or under it); `kind`;
    `start` ≤ moved_at < `end`; `q` (material code or name, lot code, reference).
    Columns: id, moved_at, kind, material_id, material_code, material_name, material_name_en, unit, lot_id,
    lot_code, from_location_id, from_location_code, to_location_id, to_location_code, quantity, reference,
    reason, actor, event_id.
    """
    stmt = (
        select(StockMove.id, StockMove.moved_at, StockMove.kind, StockMove.material_id,
               Material.code.label("material_code"), Material.name.label("material_name"),
               Material.name_en.label("material_name_en"), Unit.code.label("unit"), StockMove.lot_id,
               Lot.code.label("lot_code"), StockMove.from_location_id,
               FromLocation.code.label("from_location_code"),
               StockMove.to_location_id, ToLocation.code.label("to_location_code"), StockMove.quantity,
               StockMove.reference, StockMove.reason, StockMove.actor, StockMove.event_id)
        .join(Material, Material.id == StockMove.material_id)
        .join(Unit, Unit.id == Material.unit_id)
        .outerjoin(Lot, Lot.id == StockMove.lot_id)
        .outerjoin(FromLocation, FromLocation.id == StockMove.from_location_id)
        .outerjoin(ToLocation, ToLocation.id == StockMove.to_location_id)
    )
    if material_id is not None:
        stmt = stmt.where(StockMove.material_id == material_id)
    if lot_id is not None:
        stmt = stmt.where(StockMove.lot_id == lot_id)
    if location_id is not None:
        stmt = stmt.where(or_(_in_subtree(FromLocation, location_id), _in_subtree(ToLocation, location_id)))
    if kind:
        stmt = stmt.where(StockMove.kind == MoveKind(kind))
    if start is not None:
        stmt = stmt.where(StockMove.moved_at >= start)
    if end is not None:
        stmt = stmt.where(StockMove.moved_at < end)
    if q:
        stmt = stmt.where(or_(_material_matches(q), Lot.code.icontains(q, autoescape=True),
                              StockMove.reference.icontains(q, autoescape=True)))
    return stmt


MOVE_SORTS: dict[str, ColumnElement[Any]] = {
    "moved_at": StockMove.moved_at, "kind": StockMove.kind, "material": Material.code, "lot": Lot.code,
    "quantity": StockMove.quantity,
}
MOVE_ORDER = (StockMove.moved_at.desc(), StockMove.id.desc())


def lots_on_hold_count_query() -> Select[Any]:
    return select(func.count()).select_from(Lot).where(Lot.status == LotStatus.HOLD)


def expiring_lots_count_query(days: int = 30, today: date | None = None) -> Select[Any]:
    inner = lot_query(expiring_within_days=days, today=today).subquery()
    return select(func.count()).select_from(inner)


