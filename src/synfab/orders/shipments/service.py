"""Shipments: pick finished lots against a sales order's lines, ship them (partial deliveries allowed), and
see where a lot went — down to the shipments and customers a recall must reach.

Writes take a unit of work and never commit; reads take a session. Stock only changes through
`inventory.post_moves` (one call per shipment, all lines or none); the order's lines and status through
the orders service rules (`refresh_sales_order_status`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.db import check_version
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import LazyText, _l
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.choices import CLOSED_LOT_STATUSES, LotStatus, MoveKind
from synfab.inventory.models import Lot, StockBalance
from synfab.inventory.schemas import MoveIn
from synfab.inventory.service.ledger import exact, plain
from synfab.orders.choices import OPEN_LINE_STATUSES, OPEN_ORDER_STATUSES, LineStatus
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine
from synfab.orders.service.common import _insert_with_code, _search, site_today
from synfab.orders.service.sales_orders import get_sales_order, refresh_sales_order_status
from synfab.orders.shipments.choices import ShipmentStatus
from synfab.orders.shipments.events import ShipmentCancelled, ShipmentCreated, ShipmentShipped
from synfab.orders.shipments.models import Shipment, ShipmentLine
from synfab.orders.shipments.schemas import (
    DeliveryLine,
    LotSuggestion,
    PickIn,
    RecallCustomer,
    RecallLot,
    RecallScope,
    RecallShipment,
    ShipmentCreate,
)
from synfab.plant import service as plant
from synfab.plant.choices import STORAGE_LEVELS
from synfab.plant.models import PlantNode

ZERO = Decimal(0)


# -- reading ------------------------------------------------------------------------------------------------


def get_shipment(session: Session, shipment_id: int) -> Shipment:
    shipment = session.scalar(select(Shipment).where(Shipment.id == shipment_id)
                              .options(selectinload(Shipment.lines)))
    if shipment is None:
        raise NotFound("shipment_not_found", _l("Shipment {id} does not exist.", id=shipment_id))
    return shipment


def shipment_by_code(session: Session, code: str) -> Shipment:
    shipment = session.scalar(select(Shipment).where(Shipment.code == code.strip())
                              .options(selectinload(Shipment.lines)))
    if shipment is None:
        raise NotFound("shipment_not_found", _l("There is no shipment with code {code}.", code=code))
    return shipment


SHIPMENT_SORTS: dict[str, Any] = {
    "code": Shipment.code, "order": SalesOrder.code, "customer": Customer.code, "status": Shipment.status,
    "shipped_at": Shipment.shipped_at,
}
SHIPMENT_ORDER = (Shipment.id.desc(),)


def shipment_query(status: ShipmentStatus | None = None, sales_order_id: int | None = None,
                   customer_id: int | None = None, q: str | None = None) -> Select[Any]:
    """Shipments with their order, customer and total quantity: one row each (list page, API, export).

    Filters: `status`, `sales_order_id`, `customer_id`, `q` (part of the shipment, order or customer code,
    customer name, carrier or tracking number). Sort keys: `SHIPMENT_SORTS`."""
    total = (select(func.coalesce(func.sum(ShipmentLine.quantity), 0))
             .where(ShipmentLine.shipment_id == Shipment.id).correlate(Shipment).scalar_subquery())
    stmt = (select(Shipment.id, Shipment.code, Shipment.sales_order_id, SalesOrder.code.label("order_code"),
                   Customer.code.label("customer_code"), Customer.name.label("customer_name"), Shipment.status,
                   Shipment.shipped_at, total.label("quantity"))
            .join(SalesOrder, SalesOrder.id == Shipment.sales_order_id)
            .join(Customer, Customer.id == Shipment.customer_id))
    if status is not None:
        stmt = stmt.where(Shipment.status == status)
    if sales_order_id is not None:
        stmt = stmt.where(Shipment.sales_order_id == sales_order_id)
    if customer_id is not None:
        stmt = stmt.where(Shipment.customer_id == customer_id)
    cond = _search(q, Shipment.code, SalesOrder.code, Customer.code, Customer.name, Shipment.carrier,
                   Shipment.tracking_no)
    if cond is not None:
        stmt = stmt.where(cond)
    return stmt


def shipments_of_order(session: Session, order_id: int) -> list[Shipment]:
    return list(session.scalars(select(Shipment).where(Shipment.sales_order_id == order_id)
                                .options(selectinload(Shipment.lines)).order_by(Shipment.id)))


def _picked_on_drafts(session: Session, line_ids: Iterable[int], *, exclude_line: int | None = None
                      ) -> dict[int, Decimal]:
    """Quantities picked on draft shipments per sales order line: promised, not yet gone."""
    ids = list(line_ids)
    if not ids:
        return {}
    stmt = (select(ShipmentLine.sales_order_line_id, func.sum(ShipmentLine.quantity))
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .where(Shipment.status == ShipmentStatus.DRAFT, ShipmentLine.sales_order_line_id.in_(ids))
            .group_by(ShipmentLine.sales_order_line_id))
    if exclude_line is not None:
        stmt = stmt.where(ShipmentLine.id != exclude_line)
    return {line_id: exact(q) for line_id, q in session.execute(stmt)}


def open_quantity(line: SalesOrderLine) -> Decimal:
    """What a line still asks to be delivered: nothing once it is shipped, short-closed or cancelled."""
    if line.status not in OPEN_LINE_STATUSES:
        return ZERO
    return max(ZERO, exact(line.quantity) - exact(line.shipped_quantity))


def cancelled_quantity(line: SalesOrderLine) -> Decimal:
    """The part of a line that was cancelled: all of a cancelled line, the open rest of a short-closed one."""
    if line.status == LineStatus.CANCELLED:
        return exact(line.quantity)
    if line.status == LineStatus.SHIPPED:
        return max(ZERO, exact(line.quantity) - exact(line.shipped_quantity))
    return ZERO


def delivery_status(session: Session, order_id: int) -> list[DeliveryLine]:
    """Each line of an order: ordered, shipped, still open, and the part cancelled."""
    order = get_sales_order(session, order_id)
    return [DeliveryLine(line_id=ln.id, line_no=ln.line_no, material_code=ln.material.code,
                         status=ln.status.value, ordered=exact(ln.quantity),
                         shipped=exact(ln.shipped_quantity), open=open_quantity(ln),
                         cancelled=cancelled_quantity(ln))
            for ln in order.lines]


def suggest_lots(session: Session, order_id: int, line_id: int) -> list[LotSuggestion]:
    """Lots to pick for an order line: usable stock of its material at the order's site, first expiring
    first (FEFO), then oldest received (FIFO); `suggested` covers the line's open quantity in that order."""
    order = get_sales_order(session, order_id)
    line = _line_of(order, line_id)
    today = inventory.today(session)
    left = open_quantity(line) - _picked_on_drafts(session, [line.id]).get(line.id, ZERO)
    rows = session.execute(
        select(StockBalance.lot_id, Lot.code, StockBalance.location_id, PlantNode.code, StockBalance.quantity,
               Lot.expires_on, Lot.received_on)
        .join(Lot, Lot.id == StockBalance.lot_id).join(PlantNode, PlantNode.id == StockBalance.location_id)
        .where(StockBalance.material_id == line.material_id, StockBalance.quantity > 0,
               Lot.status == LotStatus.AVAILABLE,
               (Lot.expires_on.is_(None)) | (Lot.expires_on >= today),
               StockBalance.location_id.in_(plant.subtree_ids(session, order.site_id)))
        .order_by(Lot.expires_on.is_(None), Lot.expires_on, Lot.received_on, Lot.code, PlantNode.code)).all()
    out: list[LotSuggestion] = []
    for lot_id, code, location_id, location_code, quantity, expires, received in rows:
        on_hand = exact(quantity)
        take = max(ZERO, min(on_hand, left))
        left -= take
        out.append(LotSuggestion(lot_id=lot_id, lot_code=code, location_id=location_id,
                                 location_code=location_code, on_hand=on_hand, expires_on=expires,
                                 received_on=received, suggested=take))
    return out


# -- writing ------------------------------------------------------------------------------------------------


def _line_of(order: SalesOrder, line_id: int) -> SalesOrderLine:
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        raise Invalid("sales_order_line_not_found", _l("Sales order {code} has no line with id {id}.",
                                                       code=order.code, id=line_id))
    return line


def _check_draft(shipment: Shipment) -> None:
    if shipment.status != ShipmentStatus.DRAFT:
        raise Invalid("shipment_not_draft", _l(
            "Shipment {code} is {status}; only a draft shipment can be changed, shipped or cancelled.",
            code=shipment.code, status=shipment.status.label))


def _touch(shipment: Shipment) -> None:
    """A change to the lines is a change to the shipment: its version moves, so a stale form gets 409."""
    shipment.updated_at = clock.now()


def create_shipment(uow: UnitOfWork, data: ShipmentCreate) -> Shipment:
    """A draft shipment for an open sales order, from the order's site to its customer.

    The code is SH-YYYYMMDD-NNNN (the site's date). Records ShipmentCreated."""
    s = uow.session
    try:
        order = get_sales_order(s, data.sales_order_id)
    except NotFound as exc:
        raise Invalid(exc.code, exc.message) from None
    if order.status not in OPEN_ORDER_STATUSES:
        raise Invalid("sales_order_not_open", _l(
            "Sales order {code} is {status}; there is nothing left to ship.", code=order.code,
            status=order.status.label))
    site = plant.get_node(s, order.site_id)
    shipment = Shipment(sales_order_id=order.id, customer_id=order.customer_id, site_id=order.site_id,
                        status=ShipmentStatus.DRAFT, carrier=_text(data.carrier), tracking_no=_text(data.tracking_no),
                        note=_text(data.note))
    _insert_with_code(s, shipment, f"SH-{site_today(s, site):%Y%m%d}-", None)
    uow.record(ShipmentCreated(shipment_id=shipment.id, code=shipment.code, order_id=order.id,
                               customer_id=order.customer_id, site_id=order.site_id))
    return shipment


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


@dataclass(frozen=True)
class _Pick:
    """One quantity to check: what a pick asks, or a picked line again at shipping."""

    line: SalesOrderLine
    lot_id: int
    location_id: int
    quantity: Decimal


def _lot_problem(lot: Lot | None, lot_id: int, line: SalesOrderLine, material: Material,
                 today: Any) -> tuple[str, LazyText] | None:
    """Why a lot cannot go out on a line, or None."""
    if lot is None:
        return "lot_not_found", _l("Lot {id} does not exist.", id=lot_id)
    if lot.material_id != line.material_id:
        return "lot_of_other_material", _l(
            "Lot {lot} is not of material {material} that line {line_no} orders.", lot=lot.code,
            material=material.code, line_no=line.line_no)
    if lot.status == LotStatus.HOLD:
        return "lot_on_hold", _l("Lot {lot} is on hold ({reason}) and cannot be shipped.", lot=lot.code,
                                 reason=lot.status_reason or "—")
    if lot.status in CLOSED_LOT_STATUSES:
        return "lot_closed", _l("Lot {lot} is {status} and cannot be shipped.", lot=lot.code,
                                status=lot.status.label)
    if lot.is_expired(today):
        return "lot_expired", _l("Lot {lot} expired on {date} and cannot be shipped.", lot=lot.code,
                                 date=lot.expires_on.isoformat() if lot.expires_on else "")
    return None


def _check_picks(session: Session, order: SalesOrder, picks: list[_Pick], *,
                 already: dict[int, Decimal], same_stock: dict[tuple[int, int], Decimal]) -> None:
    """Refuse the first pick that is wrong: lot usable and of the line's material, at a storage location of
    the order's site with enough on hand, and no more than the line's open quantity.

    `already`: other quantities promised per order line (other picks); `same_stock`: per (lot, location),
    quantities already taken from that stock by other picks of this shipment."""
    today = inventory.today(session)
    site_nodes = set(plant.subtree_ids(session, order.site_id))
    asked_line: dict[int, Decimal] = defaultdict(Decimal)
    asked_stock: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for pick in picks:
        line, quantity = pick.line, exact(pick.quantity)
        material = session.scalar(select(Material).where(Material.id == line.material_id))
        assert material is not None
        if line.status not in OPEN_LINE_STATUSES:
            raise Invalid("sales_order_line_not_open", _l(
                "Line {line_no} of sales order {code} is {status}; nothing is left to ship on it.",
                line_no=line.line_no, code=order.code, status=line.status.label))
        lot = session.scalar(select(Lot).where(Lot.id == pick.lot_id))
        problem = _lot_problem(lot, pick.lot_id, line, material, today)
        if problem is not None:
            raise Invalid(*problem)
        assert lot is not None
        node = session.scalar(select(PlantNode).where(PlantNode.id == pick.location_id))
        if node is None or node.level not in STORAGE_LEVELS or node.id not in site_nodes:
            raise Invalid("location_not_at_site", _l(
                "Location {id} is not a storage location of the site this order ships from.", id=pick.location_id))
        key = (lot.id, node.id)
        asked_stock[key] += quantity
        on_hand = inventory.on_hand(session, line.material_id, node.id, lot.id)
        wanted = asked_stock[key] + same_stock.get(key, ZERO)
        if wanted > on_hand:
            raise Invalid("insufficient_stock", _l(
                "Not enough of lot {lot} at {location}: on hand {on_hand} {unit}, asked {asked} {unit}.",
                lot=lot.code, location=node.code, on_hand=plain(on_hand), unit=material.unit.code,
                asked=plain(wanted)))
        asked_line[line.id] += quantity
        open_qty = open_quantity(line) - already.get(line.id, ZERO)
        if asked_line[line.id] > open_qty:
            raise Invalid("more_than_open", _l(
                "Line {line_no} of sales order {code} has {open} {unit} open (ordered {ordered}, shipped "
                "{shipped}, picked {picked}); {asked} {unit} is more.", line_no=line.line_no, code=order.code,
                open=plain(max(open_qty, ZERO)), unit=material.unit.code, ordered=plain(line.quantity),
                shipped=plain(line.shipped_quantity), picked=plain(already.get(line.id, ZERO)),
                asked=plain(asked_line[line.id])))


def pick_lot(uow: UnitOfWork, shipment_id: int, data: PickIn) -> ShipmentLine:
    """Pick a quantity of a lot at a location against a line of the shipment's order.

    Refused, with the reason, when the lot is of another material, on hold, expired, consumed or scrapped,
    when the location holds less of it than asked (counting what this shipment already picked there), or
    when it is more than the line's open quantity (less what draft shipments already picked for it)."""
    s = uow.session
    shipment = get_shipment(s, shipment_id)
    check_version(shipment, data.version)
    _check_draft(shipment)
    order = get_sales_order(s, shipment.sales_order_id)
    line = _line_of(order, data.sales_order_line_id)
    same_stock: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for picked in shipment.lines:
        if picked.lot_id is not None:
            same_stock[(picked.lot_id, picked.from_location_id)] += exact(picked.quantity)
    _check_picks(s, order, [_Pick(line, data.lot_id, data.from_location_id, data.quantity)],
                 already=_picked_on_drafts(s, [line.id]), same_stock=same_stock)
    picked = ShipmentLine(sales_order_line_id=line.id, material_id=line.material_id, lot_id=data.lot_id,
                          from_location_id=data.from_location_id, quantity=exact(data.quantity))
    shipment.lines.append(picked)
    _touch(shipment)
    uow.flush()
    return picked


def unpick_line(uow: UnitOfWork, shipment_id: int, line_id: int, version: int | None = None) -> Shipment:
    """Take a picked line off a draft shipment."""
    s = uow.session
    shipment = get_shipment(s, shipment_id)
    check_version(shipment, version)
    _check_draft(shipment)
    picked = next((ln for ln in shipment.lines if ln.id == line_id), None)
    if picked is None:
        raise NotFound("shipment_line_not_found", _l("Shipment {code} has no line with id {id}.",
                                                     code=shipment.code, id=line_id))
    # Deleted as itself, not dropped from the collection as an orphan: the write-scope check sees it as a
    # deletion at the start of the flush (an orphan only becomes one during the flush).
    s.delete(picked)
    _touch(shipment)
    uow.flush()
    s.expire(shipment, ["lines"])
    return shipment


def ship(uow: UnitOfWork, shipment_id: int, *, version: int | None = None, idempotency_key: str | None = None,
         carrier: str | None = None, tracking_no: str | None = None) -> Shipment:
    """Ship a draft: every picked line checked again, then one `post_moves` call with a SHIPMENT move per
    line (all or nothing), the order lines' shipped quantities and statuses (partially shipped / shipped)
    and the order's status updated. Records ShipmentShipped (with the order id, for its timeline).

    With `idempotency_key`, a second call with the same key returns the shipment without shipping again."""
    s = uow.session
    if idempotency_key:
        done = uow.claim_idempotency(idempotency_key, "shipments.ship")
        if done is not None:
            return get_shipment(s, done.get("id", shipment_id))
    shipment = get_shipment(s, shipment_id)
    check_version(shipment, version)
    _check_draft(shipment)
    if not shipment.lines:
        raise Invalid("shipment_empty", _l("Shipment {code} has no picked lots; pick before shipping.",
                                           code=shipment.code))
    order = get_sales_order(s, shipment.sales_order_id)
    lines = {ln.id: ln for ln in order.lines}
    picks = [_Pick(lines[p.sales_order_line_id], p.lot_id or 0, p.from_location_id, p.quantity)
             for p in shipment.lines]
    # Checked again as things stand now (a lot may have been put on hold or used since it was picked). Other
    # drafts' picks are promises, not deliveries: the shipment that leaves first takes the open quantity.
    _check_picks(s, order, picks, already={}, same_stock={})
    reference = f"{shipment.code} {order.code}"
    moves = inventory.post_moves(uow, [
        MoveIn(kind=MoveKind.SHIPMENT, material_id=p.material_id, lot_id=p.lot_id,
               from_location_id=p.from_location_id, quantity=p.quantity, reference=reference[:120])
        for p in shipment.lines])
    shipped_now: dict[int, Decimal] = defaultdict(Decimal)
    for picked, move in zip(shipment.lines, moves, strict=True):
        picked.move_id = move.id
        shipped_now[picked.sales_order_line_id] += exact(picked.quantity)
    shipment.status, shipment.shipped_at = ShipmentStatus.SHIPPED, clock.now()
    if carrier is not None:
        shipment.carrier = _text(carrier)
    if tracking_no is not None:
        shipment.tracking_no = _text(tracking_no)
    uow.flush()
    # What was delivered is a consequence of shipping, not an order edit: whoever may ship records it on the
    # order even without the right to change sales orders (the shipment itself was checked above).
    with uow.as_system():
        for line_id, quantity in shipped_now.items():
            line = lines[line_id]
            line.shipped_quantity = exact(line.shipped_quantity) + quantity
            line.status = LineStatus.SHIPPED if line.shipped_quantity >= exact(line.quantity) \
                else LineStatus.PARTIALLY_SHIPPED
        uow.flush()
        refresh_sales_order_status(uow, order)
    uow.record(ShipmentShipped(
        shipment_id=shipment.id, code=shipment.code, order_id=order.id, order_code=order.code,
        customer_id=order.customer_id, move_ids=[m.id for m in moves],
        lot_ids=sorted({p.lot_id for p in shipment.lines if p.lot_id}),
        lines=[(line_id, lines[line_id].line_no, q, exact(lines[line_id].shipped_quantity))
               for line_id, q in sorted(shipped_now.items())]))
    if idempotency_key:
        uow.complete_idempotency(idempotency_key, {"id": shipment.id})
    return shipment


def cancel_shipment(uow: UnitOfWork, shipment_id: int, version: int | None = None) -> Shipment:
    """Drop a draft shipment: its picks are released; nothing had left the stock."""
    shipment = get_shipment(uow.session, shipment_id)
    check_version(shipment, version)
    _check_draft(shipment)
    shipment.status = ShipmentStatus.CANCELLED
    uow.flush()
    uow.record(ShipmentCancelled(shipment_id=shipment.id, code=shipment.code, order_id=shipment.sales_order_id))
    return shipment


# -- recall -------------------------------------------------------------------------------------------------


def shipped_lots(session: Session, lot_ids: Iterable[int]) -> list[Any]:
    """Shipped quantities of some lots with their shipment, order and customer (the reader's scope)."""
    ids = sorted(set(lot_ids))
    rows: list[Any] = []
    for start in range(0, len(ids), 900):
        rows.extend(session.execute(
            select(ShipmentLine.lot_id, Shipment.id, Shipment.code, Shipment.shipped_at, SalesOrder.id,
                   SalesOrder.code, Customer.id, Customer.code, Customer.name,
                   func.sum(ShipmentLine.quantity))
            .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
            .join(SalesOrder, SalesOrder.id == Shipment.sales_order_id)
            .join(Customer, Customer.id == Shipment.customer_id)
            .where(Shipment.status == ShipmentStatus.SHIPPED, ShipmentLine.lot_id.in_(ids[start:start + 900]))
            .group_by(ShipmentLine.lot_id, Shipment.id, Shipment.code, Shipment.shipped_at, SalesOrder.id,
                      SalesOrder.code, Customer.id, Customer.code, Customer.name)).all())
    return rows


def recall_scope(session: Session, lot_id: int) -> RecallScope:
    """What a recall of a lot reaches: the lot and every lot made from it (forward trace, all levels) with
    what is still on hand, the shipments that carried any of them, and the customers who got them.

    Everything is read in the reader's scope: lots, shipments and customers they may not see are left out."""
    lot = session.scalar(select(Lot).where(Lot.id == lot_id))
    if lot is None:
        raise NotFound("lot_not_found", _l("Lot {id} does not exist.", id=lot_id))
    material = session.scalar(select(Material).where(Material.id == lot.material_id))
    assert material is not None
    levels: dict[int, tuple[int, str, str, str]] = {lot.id: (0, lot.code, lot.status.value, material.code)}
    for tl in inventory.trace_forward(session, lot.id):
        if tl.lot_id not in levels:
            levels[tl.lot_id] = (tl.level, tl.lot_code, tl.lot_status.value, tl.material_code)
    on_hand: dict[int, Decimal] = defaultdict(Decimal)
    ids = list(levels)
    for start in range(0, len(ids), 900):
        for lid, quantity in session.execute(
                select(StockBalance.lot_id, func.sum(StockBalance.quantity))
                .where(StockBalance.lot_id.in_(ids[start:start + 900])).group_by(StockBalance.lot_id)):
            on_hand[lid] = exact(quantity)
    shipments: list[RecallShipment] = []
    shipped: dict[int, Decimal] = defaultdict(Decimal)
    customers: dict[int, dict[str, Any]] = {}
    for lid, sid, scode, at, oid, ocode, cid, ccode, cname, quantity in shipped_lots(session, ids):
        level, lcode, _status, mcode = levels[lid]
        q = exact(quantity)
        shipments.append(RecallShipment(
            level=level, lot_id=lid, lot_code=lcode, material_code=mcode, shipment_id=sid, shipment_code=scode,
            shipped_at=at, sales_order_id=oid, order_code=ocode, customer_id=cid, customer_code=ccode,
            customer_name=cname, quantity=q))
        shipped[lid] += q
        c = customers.setdefault(cid, {"code": ccode, "name": cname, "shipments": set(), "quantity": ZERO})
        c["shipments"].add(sid)
        c["quantity"] += q
    shipments.sort(key=lambda r: (r.customer_code, r.shipment_code, r.level, r.lot_code))
    return RecallScope(
        lot_id=lot.id, lot_code=lot.code,
        lots=[RecallLot(level=lv, lot_id=lid, lot_code=code, lot_status=status, material_code=mcode,
                        on_hand=on_hand[lid], shipped=shipped[lid])
              for lid, (lv, code, status, mcode) in sorted(levels.items(), key=lambda kv: (kv[1][0], kv[1][1]))],
        shipments=shipments,
        customers=[RecallCustomer(customer_id=cid, customer_code=c["code"], customer_name=c["name"],
                                  shipments=len(c["shipments"]), quantity=c["quantity"])
                   for cid, c in sorted(customers.items(), key=lambda kv: kv[1]["code"])],
        on_hand=sum(on_hand.values(), ZERO), shipped=sum(shipped.values(), ZERO))
