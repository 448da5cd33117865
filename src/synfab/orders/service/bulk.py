"""Many sales orders at once (the Excel importer, ERP sync): new orders and lines are inserted in a few bulk
statements; changes to existing ones go through the same functions as a change on a page, with their events.

The rules are the ones `create_sales_order` applies (customer and material active, the order at a site, due
dates not before the order date); a problem is returned with the caller's reference instead of raised, so one
import can report every bad row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.context import current_actor
from synfab.core.db import bulk_insert
from synfab.core.errors import DomainError, Invalid
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import LineStatus, Priority, SalesOrderStatus
from synfab.orders.events import SalesOrdersImported
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine
from synfab.orders.schemas import SalesOrderLineCreate, SalesOrderLineUpdate, SalesOrderUpdate
from synfab.orders.service.sales_orders import (
    _check_due, add_sales_order_line, change_sales_order_line, get_sales_order, update_sales_order,
)
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode

# SQLite allows 32,766 bound parameters per statement; stay well below on every engine.
_CHUNK = 5000


@dataclass
class LineIn:
    line_no: int
    material_id: int
    quantity: Decimal  # in the material's base unit
    due_date: date
    priority: Priority | None
    ref: Any = None  # the caller's handle for problems (a spreadsheet row)


@dataclass
class OrderIn:
    code: str
    customer_id: int
    site_id: int
    order_date: date | None
    customer_po: str | None
    priority: Priority | None
    lines: list[LineIn]
    ref: Any = None


@dataclass
class Problem:
    ref: Any
    field: str  # customer, site, material, due_date, order … — what the problem is about
    error: DomainError


@dataclass
class SaveResult:
    created: list[Any] = field(default_factory=list)  # refs of lines inserted
    updated: list[Any] = field(default_factory=list)
    unchanged: list[Any] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _active(session: Session, model: type[Customer] | type[Material], ids: set[int]) -> dict[int, tuple[str, bool]]:
    found: dict[int, tuple[str, bool]] = {}
    for chunk in _chunks(sorted(ids)):
        found.update({i: (c, a) for i, c, a in session.execute(
            select(model.id, model.code, model.active).where(model.id.in_(chunk)))})
    return found


def _check_references(session: Session, orders: list[OrderIn], result: SaveResult) -> set[int]:
    """Indexes of the orders whose customer, site and materials may take an order."""
    customers = _active(session, Customer, {o.customer_id for o in orders})
    materials = _active(session, Material, {ln.material_id for o in orders for ln in o.lines})
    sites = {i: (c, lv) for i, c, lv in session.execute(
        select(PlantNode.id, PlantNode.code, PlantNode.level).where(PlantNode.id.in_({o.site_id for o in orders})))}
    good = set()
    for i, order in enumerate(orders):
        ok = True
        code, active = customers.get(order.customer_id, ("", False))
        if order.customer_id not in customers:
            result.problems.append(Problem(order.ref, "customer", Invalid(
                "customer_not_found", _l("Customer {id} does not exist.", id=order.customer_id))))
            ok = False
        elif not active:
            result.problems.append(Problem(order.ref, "customer", Invalid("customer_inactive", _l(
                "Customer {code} is inactive; reactivate the customer or choose another one.", code=code))))
            ok = False
        site = sites.get(order.site_id)
        if site is None or site[1] != Level.SITE:
            result.problems.append(Problem(order.ref, "site", Invalid("not_a_site", _l(
                "{code} is not a site; orders belong to a site.", code=site[0] if site else order.site_id))))
            ok = False
        for line in order.lines:
            mcode, mactive = materials.get(line.material_id, ("", False))
            if not mactive:
                result.problems.append(Problem(line.ref, "material", Invalid("material_inactive", _l(
                    "Material {code} is inactive; reactivate it in the catalog or choose another material.",
                    code=mcode or line.material_id))))
                ok = False
            if line.quantity <= 0:
                result.problems.append(Problem(line.ref, "quantity", Invalid(
                    "quantity_not_positive", _l("The quantity must be greater than zero."))))
                ok = False
        if ok:
            good.add(i)
    return good


def save_sales_orders(uow: UnitOfWork, orders: list[OrderIn], source: str) -> SaveResult:
    """Insert new orders, add new lines and change existing ones; lines not named are left as they are.

    New orders are written in bulk and announced by one `SalesOrdersImported` event; changes to existing
    orders record the usual SalesOrderChanged / SalesOrderLineAdded / SalesOrderLineChanged events.
    """
    s = uow.session
    result = SaveResult()
    if not orders:
        return result
    good = _check_references(s, orders, result)
    existing = _stored(s, [o.code for o in orders])
    today = clock.now().date()
    new_orders: list[OrderIn] = []
    for i, order in enumerate(orders):
        if i not in good:
            continue
        ordered = order.order_date or today
        due_ok = True
        for line in order.lines:
            try:
                _check_due(ordered, line.line_no, line.due_date)
            except Invalid as exc:
                result.problems.append(Problem(line.ref, "due_date", exc))
                due_ok = False
        if not due_ok:
            continue
        stored = existing.get(order.code)
        if stored is not None and _same(order, stored):
            result.unchanged.extend(ln.ref for ln in order.lines)
        elif stored is not None:
            _change_existing(uow, order, stored.id, result)
        else:
            new_orders.append(order)
    if new_orders and not result.problems:
        _insert_new(uow, new_orders, today, result, source)
    return result


@dataclass
class _Stored:
    id: int
    header: dict[str, Any]
    lines: dict[int, tuple[int, Decimal, date, Priority]]  # line_no → material, quantity, due date, priority


_HEADER = ("customer_id", "site_id", "order_date", "customer_po", "priority")


def _stored(session: Session, codes: list[str]) -> dict[str, _Stored]:
    """The stored orders among `codes`, with their lines, in a few queries (no ORM objects)."""
    found: dict[str, _Stored] = {}
    for chunk in _chunks(codes):
        for row in session.execute(select(SalesOrder.id, SalesOrder.code, *(getattr(SalesOrder, k) for k in _HEADER))
                                   .where(SalesOrder.code.in_(chunk))):
            found[row.code] = _Stored(row.id, {k: getattr(row, k) for k in _HEADER}, {})
    by_id = {o.id: o for o in found.values()}
    for chunk in _chunks(list(by_id)):
        for ln in session.execute(select(SalesOrderLine.order_id, SalesOrderLine.line_no, SalesOrderLine.material_id,
                                         SalesOrderLine.quantity, SalesOrderLine.due_date, SalesOrderLine.priority)
                                  .where(SalesOrderLine.order_id.in_(chunk))):
            by_id[ln.order_id].lines[ln.line_no] = (ln.material_id, ln.quantity, ln.due_date, ln.priority)
    return found


def _same(order: OrderIn, stored: _Stored) -> bool:
    """Whether a stored order already says everything the incoming one says (fields left empty match anything)."""
    for key in _HEADER:
        value = getattr(order, key)
        if value is not None and stored.header[key] != value:
            return False
    for line in order.lines:
        have = stored.lines.get(line.line_no)
        if have is None or have[:3] != (line.material_id, line.quantity, line.due_date):
            return False
        if line.priority is not None and have[3] != line.priority:
            return False
    return True


def _insert_new(uow: UnitOfWork, orders: list[OrderIn], today: date, result: SaveResult, source: str) -> None:
    s = uow.session
    now, who = clock.now(), current_actor().username
    stamp = {"version": 1, "created_at": now, "updated_at": now, "updated_by": who}
    ids: dict[str, int] = {}
    header_rows = [{
        "code": o.code, "customer_id": o.customer_id, "site_id": o.site_id, "order_date": o.order_date or today,
        "customer_po": o.customer_po, "priority": o.priority or Priority.NORMAL, "status": SalesOrderStatus.OPEN,
        **stamp} for o in orders]
    # Straight to the driver (core.db.bulk_insert): per-row statement machinery would cost more than the
    # inserts themselves; the new ids are read back by code.
    conn = s.connection()
    bulk_insert(s, SalesOrder.__table__, header_rows, audit={"source": source})
    for chunk in _chunks([o.code for o in orders]):
        ids.update(dict(conn.execute(select(SalesOrder.code, SalesOrder.id).where(SalesOrder.code.in_(chunk))).all()))
    line_rows = [{
        "order_id": ids[o.code], "line_no": ln.line_no, "material_id": ln.material_id, "quantity": ln.quantity,
        "due_date": ln.due_date, "priority": ln.priority or o.priority or Priority.NORMAL, "status": LineStatus.OPEN,
        **stamp} for o in orders for ln in o.lines]
    bulk_insert(s, SalesOrderLine.__table__, line_rows, audit={"source": source})
    result.created.extend(ln.ref for o in orders for ln in o.lines)
    uow.record(SalesOrdersImported(order_ids=[ids[o.code] for o in orders], line_count=len(line_rows),
                                   source=source))


def _change_existing(uow: UnitOfWork, data: OrderIn, order_id: int, result: SaveResult) -> None:
    """Bring one stored order in line with the incoming one, through the page's own change functions."""
    s = uow.session
    order = get_sales_order(s, order_id)
    header: dict[str, Any] = {}
    for key, value in (("customer_id", data.customer_id), ("site_id", data.site_id),
                       ("order_date", data.order_date), ("customer_po", data.customer_po),
                       ("priority", data.priority)):
        if value is not None and getattr(order, key) != value:
            header[key] = value
    try:
        if header:
            update_sales_order(uow, order.id, SalesOrderUpdate(version=order.version, **header))
        lines = {ln.line_no: ln for ln in order.lines}
        for line in data.lines:
            found = lines.get(line.line_no)
            if found is None:
                add_sales_order_line(uow, order.id, SalesOrderLineCreate(
                    line_no=line.line_no, material_id=line.material_id, quantity=line.quantity,
                    due_date=line.due_date, priority=line.priority))
                result.created.append(line.ref)
                continue
            if found.material_id != line.material_id:
                result.problems.append(Problem(line.ref, "material", Invalid("line_material_changed", _l(
                    "Line {line_no} of {code} is for another material; cancel it and add a new line instead.",
                    line_no=line.line_no, code=order.code))))
                continue
            change = {k: v for k, v in (("quantity", line.quantity), ("due_date", line.due_date),
                                        ("priority", line.priority)) if v is not None and getattr(found, k) != v}
            if change:
                change_sales_order_line(uow, order.id, found.id, SalesOrderLineUpdate(version=found.version, **change))
                result.updated.append(line.ref)
            elif header:
                result.updated.append(line.ref)
            else:
                result.unchanged.append(line.ref)
    except DomainError as exc:
        result.problems.append(Problem(data.ref, "order", exc))
