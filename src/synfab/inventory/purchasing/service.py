"""Purchasing use cases: suppliers and their items, purchase orders, and receiving against them into lots.

Writes take a `UnitOfWork` and never commit; reads take a `Session`. Stock is only ever changed through
`inventory.service.post_moves` (a receipt into a lot).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.context import current_actor
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.purchasing.choices import (
    CHANGEABLE_PO_STATUSES,
    OPEN_PO_STATUSES,
    RECEIVABLE_PO_STATUSES,
    PurchaseOrderStatus,
)
from synfab.inventory.purchasing.events import (
    PurchaseOrderCancelled,
    PurchaseOrderChanged,
    PurchaseOrderCreated,
    PurchaseOrderPlaced,
    PurchaseReceived,
    SupplierChanged,
    SupplierCreated,
    SupplierItemChanged,
)
from synfab.inventory.purchasing.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    Supplier,
    SupplierItem,
)
from synfab.inventory.purchasing.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderLineIn,
    PurchaseOrderUpdate,
    ReceiveIn,
    SupplierCreate,
    SupplierItemIn,
    SupplierUpdate,
)
from synfab.inventory.schemas import LotCreate, MoveIn
from synfab.plant import service as plant
from synfab.plant.choices import STORAGE_LEVELS, Level
from synfab.plant.models import PlantNode

# How much more than ordered may be received on a line (a fraction: 0.05 = 5 %) before it is refused.
OVER_RECEIPT_TOLERANCE = Decimal("0.05")
QTY = Decimal("0.000001")


def _q(value: Decimal | int | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(QTY)


def _plain(value: Decimal) -> str:
    text = format(_q(value).normalize(), "f")
    return "0" if text == "-0" else text


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- suppliers ------------------------------------------------------------------------------------------------


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    found = session.scalar(select(Supplier).where(Supplier.id == supplier_id))
    if found is None:
        raise NotFound("supplier_not_found", _l("Supplier {id} does not exist.", id=supplier_id))
    return found


def _supplier_ref(session: Session, supplier_id: int) -> Supplier:
    """A supplier a request names: unknown or inactive is the request's fault (422)."""
    found = session.scalar(select(Supplier).where(Supplier.id == supplier_id))
    if found is None:
        raise Invalid("supplier_not_found", _l("Supplier {id} does not exist.", id=supplier_id))
    if not found.active:
        raise Invalid("supplier_inactive", _l("Supplier {code} is inactive; reactivate it or choose another.",
                                              code=found.code))
    return found


def supplier_query(q: str | None = None, active: bool | None = None,
                   material_id: int | None = None) -> Select[tuple[Supplier]]:
    """Suppliers for the list page, the API and the export."""
    stmt = select(Supplier)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Supplier.code.ilike(like), Supplier.name.ilike(like), Supplier.name_en.ilike(like)))
    if active is not None:
        stmt = stmt.where(Supplier.active.is_(active))
    if material_id is not None:
        stmt = stmt.where(Supplier.id.in_(select(SupplierItem.supplier_id)
                                          .where(SupplierItem.material_id == material_id)))
    return stmt


SUPPLIER_SORTS = {"code": Supplier.code, "name": Supplier.name, "lead_time": Supplier.lead_time_days}
SUPPLIER_ORDER = (Supplier.code,)


def create_supplier(uow: UnitOfWork, data: SupplierCreate) -> Supplier:
    """A new supplier; its code is unique."""
    s = uow.session
    code = data.code.strip()
    if s.scalar(select(Supplier.id).where(Supplier.code == code)) is not None:
        raise Conflict("supplier_code_taken", _l("The supplier code {code} is already used.", code=code))
    supplier = Supplier(code=code, name=data.name.strip(), name_en=data.name_en, contact=data.contact,
                        lead_time_days=data.lead_time_days, active=data.active)
    s.add(supplier)
    uow.flush()
    uow.record(SupplierCreated(supplier_id=supplier.id, code=supplier.code))
    return supplier


def update_supplier(uow: UnitOfWork, supplier_id: int, data: SupplierUpdate) -> Supplier:
    supplier = get_supplier(uow.session, supplier_id)
    check_version(supplier, data.version)
    changes: dict[str, list[str | None]] = {}
    for key in ("name", "name_en", "contact", "lead_time_days", "active"):
        if key not in data.model_fields_set:
            continue
        value = getattr(data, key)
        if key in ("name", "active") and value is None:
            continue
        if getattr(supplier, key) != value:
            changes[key] = [_text(getattr(supplier, key)), _text(value)]
            setattr(supplier, key, value)
    if changes:
        uow.flush()
        uow.record(SupplierChanged(supplier_id=supplier.id, code=supplier.code, changes=changes))
    return supplier


def _buyable_material(session: Session, material_id: int) -> Material:
    return catalog.active_material(session, material_id)


def set_supplier_item(uow: UnitOfWork, supplier_id: int, data: SupplierItemIn) -> SupplierItem:
    """Set a supplier's terms for a material (created or replaced). Marking it preferred un-marks the material's
    other preferred supplier: purchase suggestions name one."""
    s = uow.session
    supplier = get_supplier(s, supplier_id)
    material = _buyable_material(s, data.material_id)
    item = s.scalar(select(SupplierItem).where(SupplierItem.supplier_id == supplier.id,
                                               SupplierItem.material_id == material.id))
    if item is None:
        item = SupplierItem(supplier_id=supplier.id, material_id=material.id)
        s.add(item)
    item.min_order_qty, item.pack_size = _q(data.min_order_qty), _q(data.pack_size)
    item.lead_time_days, item.unit_price, item.currency = data.lead_time_days, data.unit_price, data.currency
    item.preferred = data.preferred
    if data.preferred:
        for other in s.scalars(select(SupplierItem).where(SupplierItem.material_id == material.id,
                                                          SupplierItem.supplier_id != supplier.id,
                                                          SupplierItem.preferred.is_(True))):
            other.preferred = False
    uow.flush()
    uow.record(SupplierItemChanged(supplier_id=supplier.id, material_id=material.id))
    return item


def remove_supplier_item(uow: UnitOfWork, supplier_id: int, material_id: int) -> None:
    s = uow.session
    item = s.scalar(select(SupplierItem).where(SupplierItem.supplier_id == supplier_id,
                                               SupplierItem.material_id == material_id))
    if item is None:
        raise NotFound("supplier_item_not_found", _l("The supplier does not sell material {id}.", id=material_id))
    s.delete(item)
    uow.flush()
    uow.record(SupplierItemChanged(supplier_id=supplier_id, material_id=material_id, removed=True))


def items_of_supplier(session: Session, supplier_id: int) -> list[SupplierItem]:
    return list(session.scalars(select(SupplierItem).where(SupplierItem.supplier_id == supplier_id)
                                .order_by(SupplierItem.id)))


@dataclass(frozen=True)
class SourcingTerms:
    """Whom a material is bought from and on what terms, for purchase suggestions."""

    supplier_id: int | None
    min_order_qty: Decimal
    pack_size: Decimal
    lead_time_days: int


def sourcing_terms(session: Session, material: Material) -> SourcingTerms:
    """The preferred active supplier's terms (else the active supplier with the shortest lead time); without a
    supplier, the material's own lead time and no rounding."""
    return sourcing_terms_many(session, [material])[material.id]


def sourcing_terms_many(session: Session, materials: Iterable[Material]) -> dict[int, SourcingTerms]:
    """`sourcing_terms` of several materials in one read."""
    by_id = {m.id: m for m in materials}
    rows: dict[int, list[tuple[SupplierItem, int | None]]] = {m: [] for m in by_id}
    if by_id:
        for item, supplier_lead in session.execute(
                select(SupplierItem, Supplier.lead_time_days).join(Supplier, Supplier.id == SupplierItem.supplier_id)
                .where(SupplierItem.material_id.in_(list(by_id)), Supplier.active.is_(True))).all():
            rows[item.material_id].append((item, supplier_lead))
    out = {}
    for material_id, material in by_id.items():
        def lead(item: SupplierItem, supplier_lead: int | None, material: Material = material) -> int:
            return next((d for d in (item.lead_time_days, supplier_lead, material.lead_time_days)
                         if d is not None), 0)

        found = rows[material_id]
        if not found:
            out[material_id] = SourcingTerms(None, Decimal(0), Decimal(0), material.lead_time_days or 0)
            continue
        item, supplier_lead = min(found, key=lambda r: (not r[0].preferred, lead(r[0], r[1]), r[0].supplier_id))
        out[material_id] = SourcingTerms(item.supplier_id, _q(item.min_order_qty), _q(item.pack_size),
                                         lead(item, supplier_lead))
    return out


def order_quantity(net: Decimal, min_order_qty: Decimal, pack_size: Decimal) -> Decimal:
    """What to order for a net need: at least the minimum, in whole packs (rounded up)."""
    quantity = max(_q(net), _q(min_order_qty))
    if pack_size > 0:
        quantity = (quantity / pack_size).to_integral_value(rounding=ROUND_CEILING) * pack_size
    return _q(quantity)


# -- purchase orders ------------------------------------------------------------------------------------------


def get_purchase_order(session: Session, purchase_order_id: int) -> PurchaseOrder:
    found = session.scalar(select(PurchaseOrder).where(PurchaseOrder.id == purchase_order_id)
                           .options(selectinload(PurchaseOrder.lines)))
    if found is None:
        raise NotFound("purchase_order_not_found", _l("Purchase order {id} does not exist.", id=purchase_order_id))
    return found


def get_purchase_order_line(session: Session, purchase_order_id: int, line_id: int) -> PurchaseOrderLine:
    order = get_purchase_order(session, purchase_order_id)
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        raise NotFound("purchase_order_line_not_found", _l(
            "Purchase order {code} has no line {id}.", code=order.code, id=line_id))
    return line


def purchase_order_query(status: str | None = None, supplier_id: int | None = None, site_id: int | None = None,
                         material_id: int | None = None, q: str | None = None,
                         open_only: bool = False) -> Select[tuple[PurchaseOrder]]:
    """Purchase orders for the list page, the API and the export."""
    stmt = select(PurchaseOrder).join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
    if status:
        values = [v for v in str(status).split(",") if v in {c.value for c in PurchaseOrderStatus}]
        stmt = stmt.where(PurchaseOrder.status.in_([PurchaseOrderStatus(v) for v in values]))
    if open_only:
        stmt = stmt.where(PurchaseOrder.status.in_(list(OPEN_PO_STATUSES)))
    if supplier_id is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id == supplier_id)
    if site_id is not None:
        stmt = stmt.where(PurchaseOrder.site_id == site_id)
    if material_id is not None:
        stmt = stmt.where(PurchaseOrder.id.in_(select(PurchaseOrderLine.order_id)
                                               .where(PurchaseOrderLine.material_id == material_id)))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(PurchaseOrder.code.ilike(like), Supplier.code.ilike(like), Supplier.name.ilike(like)))
    return stmt


PO_SORTS = {"code": PurchaseOrder.code, "supplier": Supplier.code, "status": PurchaseOrder.status,
            "order_date": PurchaseOrder.order_date}
PO_ORDER = (PurchaseOrder.order_date.desc(), PurchaseOrder.id.desc())


def _site(session: Session, site_id: int) -> PlantNode:
    try:
        node = plant.get_node(session, site_id)
    except NotFound:
        raise Invalid("site_not_found", _l("Site {id} does not exist.", id=site_id)) from None
    if node.level != Level.SITE:
        raise Invalid("not_a_site", _l("{code} is a {level}, not a site; a purchase order is delivered to a site.",
                                       code=node.code, level=node.level.label))
    return node


def _site_today(session: Session, site: PlantNode) -> date:
    return clock.now().astimezone(plant.time_zone_of(session, site)).date()


def _next_code(session: Session, prefix: str) -> str:
    taken = session.scalars(select(PurchaseOrder.code).where(PurchaseOrder.code.startswith(prefix, autoescape=True))
                            .execution_options(unrestricted=True))
    numbers = [int(c[len(prefix):]) for c in taken if c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _line(session: Session, order: PurchaseOrder, line_no: int, data: PurchaseOrderLineIn) -> PurchaseOrderLine:
    material = _buyable_material(session, data.material_id)
    return PurchaseOrderLine(line_no=line_no, material_id=material.id, site_id=order.site_id,
                             quantity=_q(data.quantity), received_quantity=Decimal(0), due_date=data.due_date,
                             unit_price=data.unit_price, open=True)


def create_purchase_order(uow: UnitOfWork, data: PurchaseOrderCreate) -> PurchaseOrder:
    """A draft purchase order to an active supplier for a site, numbered PO-YYYYMMDD-n unless a code is given."""
    s = uow.session
    supplier = _supplier_ref(s, data.supplier_id)
    site = _site(s, data.site_id)
    today = _site_today(s, site)
    order = PurchaseOrder(supplier_id=supplier.id, site_id=site.id, status=PurchaseOrderStatus.DRAFT,
                          order_date=today, note=data.note)
    order.lines = [_line(s, order, 10 * (i + 1), line) for i, line in enumerate(data.lines)]
    explicit = data.code.strip() if data.code else None
    if explicit and s.scalar(select(PurchaseOrder.id).where(PurchaseOrder.code == explicit)
                             .execution_options(unrestricted=True)) is not None:
        raise Conflict("purchase_order_code_taken", _l("The purchase order code {code} is already used.",
                                                       code=explicit))
    prefix = f"PO-{today:%Y%m%d}-"
    # Two people creating at once on PostgreSQL may compute the same number: the loser takes the next one.
    for _attempt in range(5):
        order.code = explicit or _next_code(s, prefix)
        try:
            with s.begin_nested():
                s.add(order)
                s.flush()
            break
        except IntegrityError:
            if explicit:
                raise
    else:
        raise Conflict("code_generation_busy", _l("Many records are being created right now; please try again."))
    uow.record(PurchaseOrderCreated(purchase_order_id=order.id, code=order.code, supplier_id=supplier.id,
                                    site_id=site.id, material_ids=sorted({ln.material_id for ln in order.lines})))
    return order


def _check_changeable(order: PurchaseOrder) -> None:
    if order.status not in CHANGEABLE_PO_STATUSES:
        raise Conflict("purchase_order_closed", _l(
            "Purchase order {code} is {status}; it can no longer be changed.", code=order.code,
            status=order.status.label))


def _touch(order: PurchaseOrder) -> None:
    """A change of lines only is still a change of the order: its version moves, so a stale edit gets 409."""
    order.updated_at = clock.now()
    flag_modified(order, "updated_at")


def _refresh_status(order: PurchaseOrder) -> None:
    """Lines close when all has arrived; the order follows its lines."""
    for line in order.lines:
        line.open = order.status in OPEN_PO_STATUSES and line.received_quantity < line.quantity
    if order.status in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.CANCELLED):
        return
    if all(ln.received_quantity >= ln.quantity for ln in order.lines):
        order.status = PurchaseOrderStatus.RECEIVED
        for line in order.lines:
            line.open = False
    elif any(ln.received_quantity > 0 for ln in order.lines):
        order.status = PurchaseOrderStatus.PARTIALLY_RECEIVED
    else:
        order.status = PurchaseOrderStatus.ORDERED


def change_purchase_order(uow: UnitOfWork, purchase_order_id: int, data: PurchaseOrderUpdate) -> PurchaseOrder:
    """Change the note, the supplier (drafts only), line quantities and due dates, or add lines. A line never
    goes below what was received. A stale `version` gets 409."""
    s = uow.session
    order = get_purchase_order(s, purchase_order_id)
    check_version(order, data.version)
    _check_changeable(order)
    changes: dict[str, list[str | None]] = {}
    touched: set[int] = set()
    if data.supplier_id is not None and data.supplier_id != order.supplier_id:
        if order.status != PurchaseOrderStatus.DRAFT:
            raise Conflict("purchase_order_placed", _l(
                "Purchase order {code} has been placed; the supplier can only be changed on a draft.",
                code=order.code))
        supplier = _supplier_ref(s, data.supplier_id)
        changes["supplier"] = [order.supplier.code, supplier.code]
        order.supplier_id = supplier.id
    if "note" in data.model_fields_set and data.note != order.note:
        changes["note"] = [order.note, data.note]
        order.note = data.note
    by_id = {ln.id: ln for ln in order.lines}
    for change in data.lines:
        if change.id is None:
            if change.material_id is None or change.quantity is None or change.due_date is None:
                raise Invalid("purchase_order_line_incomplete", _l(
                    "A new line needs a material, a quantity and a due date."))
            line = _line(s, order, max((ln.line_no for ln in order.lines), default=0) + 10, PurchaseOrderLineIn(
                material_id=change.material_id, quantity=change.quantity, due_date=change.due_date,
                unit_price=change.unit_price))
            order.lines.append(line)
            touched.add(line.material_id)
            changes[f"line {line.line_no}"] = [None, _plain(line.quantity)]
            continue
        line = by_id.get(change.id)
        if line is None:
            raise Invalid("purchase_order_line_not_found", _l(
                "Purchase order {code} has no line {id}.", code=order.code, id=change.id))
        if change.material_id is not None and change.material_id != line.material_id:
            raise Invalid("purchase_order_line_material", _l(
                "The material of line {line_no} cannot be changed; add a new line instead.", line_no=line.line_no))
        if change.quantity is not None and _q(change.quantity) != line.quantity:
            if _q(change.quantity) < line.received_quantity:
                raise Invalid("quantity_below_received", _l(
                    "Line {line_no} has received {received} already; its quantity cannot go below that.",
                    line_no=line.line_no, received=_plain(line.received_quantity)))
            changes[f"line {line.line_no} quantity"] = [_plain(line.quantity), _plain(change.quantity)]
            line.quantity = _q(change.quantity)
            touched.add(line.material_id)
        if change.due_date is not None and change.due_date != line.due_date:
            changes[f"line {line.line_no} due"] = [line.due_date.isoformat(), change.due_date.isoformat()]
            line.due_date = change.due_date
            touched.add(line.material_id)
        if change.unit_price is not None:
            line.unit_price = change.unit_price
    _refresh_status(order)
    if changes:
        _touch(order)
        uow.flush()
        uow.record(PurchaseOrderChanged(purchase_order_id=order.id, code=order.code, site_id=order.site_id,
                                        material_ids=sorted(touched), changes=changes))
    return order


def place_purchase_order(uow: UnitOfWork, purchase_order_id: int, version: int | None = None) -> PurchaseOrder:
    """Place a draft with its supplier: goods can then be received against it."""
    order = get_purchase_order(uow.session, purchase_order_id)
    check_version(order, version)
    if order.status != PurchaseOrderStatus.DRAFT:
        raise Conflict("purchase_order_not_draft", _l(
            "Purchase order {code} is {status}; only a draft can be placed.", code=order.code,
            status=order.status.label))
    order.status = PurchaseOrderStatus.ORDERED
    order.placed_at = clock.now()
    uow.flush()
    uow.record(PurchaseOrderPlaced(purchase_order_id=order.id, code=order.code, supplier_id=order.supplier_id,
                                   site_id=order.site_id))
    return order


def cancel_purchase_order(uow: UnitOfWork, purchase_order_id: int, version: int | None = None) -> PurchaseOrder:
    """Call off an order nothing has been received against; its quantities stop counting as expected."""
    order = get_purchase_order(uow.session, purchase_order_id)
    check_version(order, version)
    if order.status not in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.ORDERED):
        raise Conflict("purchase_order_not_cancellable", _l(
            "Purchase order {code} is {status}; only a draft or ordered purchase order with nothing received can be "
            "cancelled.", code=order.code, status=order.status.label))
    order.status = PurchaseOrderStatus.CANCELLED
    for line in order.lines:
        line.open = False
    uow.flush()
    uow.record(PurchaseOrderCancelled(purchase_order_id=order.id, code=order.code, site_id=order.site_id,
                                      material_ids=sorted({ln.material_id for ln in order.lines})))
    return order


# -- receiving ------------------------------------------------------------------------------------------------


def _receiving_location(session: Session, order: PurchaseOrder, location_id: int) -> PlantNode:
    try:
        node = plant.get_node(session, location_id)
    except NotFound:
        raise Invalid("location_not_found", _l("Location {id} does not exist.", id=location_id)) from None
    if node.level not in STORAGE_LEVELS:
        raise Invalid("not_a_storage_location", _l(
            "Goods are received into a storage location; {code} is not one.", code=node.code))
    site = plant.get_node(session, order.site_id)
    if not node.path.startswith(site.path):
        raise Invalid("location_of_other_site", _l(
            "{location} is not at {site}, where purchase order {code} is delivered.", location=node.code,
            site=site.code, code=order.code))
    return node


def receive_purchase_order_line(uow: UnitOfWork, purchase_order_id: int, line_id: int, data: ReceiveIn,
                                version: int | None = None) -> PurchaseReceipt:
    """Receive goods against a purchase order line: a new lot (code given or generated; expiry given or from
    the material's shelf life) is put into a storage location of the order's site by a receipt move; the line
    and the order's status follow. More than the ordered quantity plus the tolerance is refused. Sent again with
    the same `client_key`, the first receipt is returned and nothing is received twice."""
    s = uow.session
    if data.client_key:
        done = uow.claim_idempotency(data.client_key, "purchasing.receive")
        if done is not None:
            receipt = s.scalar(select(PurchaseReceipt).where(PurchaseReceipt.id == done.get("receipt_id")))
            if receipt is not None:
                return receipt
    line = get_purchase_order_line(s, purchase_order_id, line_id)
    order = line.order
    check_version(order, version)
    if order.status not in RECEIVABLE_PO_STATUSES:
        raise Conflict("purchase_order_not_receivable", _l(
            "Purchase order {code} is {status}; goods are received against placed orders only.", code=order.code,
            status=order.status.label))
    quantity = _q(data.quantity)
    limit = _q(line.quantity * (1 + OVER_RECEIPT_TOLERANCE))
    if line.received_quantity + quantity > limit:
        material = line.material
        raise Invalid("over_receipt", _l(
            "Line {line_no} of {code} ordered {ordered} {unit} and has received {received}; {asked} more would "
            "exceed the {tolerance} % tolerance (at most {left} more).", line_no=line.line_no, code=order.code,
            ordered=_plain(line.quantity), unit=material.unit.code, received=_plain(line.received_quantity),
            asked=_plain(quantity), tolerance=_plain(OVER_RECEIPT_TOLERANCE * 100),
            left=_plain(max(limit - line.received_quantity, Decimal(0)))))
    location = _receiving_location(s, order, data.location_id)
    material = catalog.get_material(s, line.material_id)
    lot_id = None
    if material.lot_tracked or data.lot_code:
        count = len(list(s.scalars(select(PurchaseReceipt.id).where(PurchaseReceipt.line_id == line.id))))
        code = (data.lot_code or "").strip() or f"{order.code}-{line.line_no}-{count + 1}"
        lot = inventory.create_lot(uow, LotCreate(code=code, material_id=material.id,
                                                  received_on=_site_today(s, plant.get_node(s, order.site_id)),
                                                  expires_on=data.expires_on, supplier_lot=data.supplier_lot))
        lot_id = lot.id
    moves = inventory.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=material.id, lot_id=lot_id,
                                              to_location_id=location.id, quantity=quantity,
                                              reference=f"{order.code}/{line.line_no}")])
    receipt = PurchaseReceipt(line_id=line.id, order_id=order.id, site_id=order.site_id, material_id=material.id,
                              lot_id=lot_id, location_id=location.id, quantity=quantity, move_id=moves[0].id,
                              received_at=clock.now(), received_by=current_actor().username)
    s.add(receipt)
    line.received_quantity = _q(line.received_quantity + quantity)
    _refresh_status(order)
    _touch(order)
    uow.flush()
    uow.record(PurchaseReceived(purchase_order_id=order.id, code=order.code, line_id=line.id,
                                material_id=material.id, site_id=order.site_id, lot_id=lot_id,
                                location_id=location.id, quantity=quantity, receipt_id=receipt.id,
                                due_date=line.due_date))
    if data.client_key:
        uow.complete_idempotency(data.client_key, {"receipt_id": receipt.id})
    return receipt


def receipts_of(session: Session, purchase_order_id: int) -> list[PurchaseReceipt]:
    return list(session.scalars(select(PurchaseReceipt).where(PurchaseReceipt.order_id == purchase_order_id)
                                .order_by(PurchaseReceipt.id)))


# -- what MRP reads ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledReceipt:
    line_id: int
    order_code: str
    due_date: date
    open_quantity: Decimal


def scheduled_receipts(session: Session, material_id: int, site_id: int) -> list[ScheduledReceipt]:
    """Open purchase order lines of a material for a site (draft orders included: they are on their way to
    being placed), earliest due first."""
    return scheduled_receipts_many(session, [material_id], site_id)[material_id]


def scheduled_receipts_many(session: Session, material_ids: Iterable[int],
                            site_id: int) -> dict[int, list[ScheduledReceipt]]:
    """`scheduled_receipts` of several materials at one site in one read."""
    ids = sorted(set(material_ids))
    out: dict[int, list[ScheduledReceipt]] = {m: [] for m in ids}
    if not ids:
        return out
    rows = session.execute(
        select(PurchaseOrderLine.material_id, PurchaseOrderLine.id, PurchaseOrder.code, PurchaseOrderLine.due_date,
               PurchaseOrderLine.quantity, PurchaseOrderLine.received_quantity)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .where(PurchaseOrderLine.material_id.in_(ids), PurchaseOrderLine.site_id == site_id,
               PurchaseOrderLine.open.is_(True))
        .order_by(PurchaseOrderLine.due_date, PurchaseOrderLine.id)).all()
    for material_id, line_id, code, due, quantity, received in rows:
        if _q(quantity) > _q(received):
            out[material_id].append(ScheduledReceipt(line_id, code, due, _q(quantity) - _q(received)))
    return out


def material_ids_of_orders(session: Session, order_ids: Iterable[int]) -> set[int]:
    ids = list(order_ids)
    if not ids:
        return set()
    return set(session.scalars(select(PurchaseOrderLine.material_id).where(PurchaseOrderLine.order_id.in_(ids))))
