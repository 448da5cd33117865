"""Shared pieces of the orders services: text of changes, generated codes, filters, references."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Date, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.choices import Choice
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine, WorkOrder
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode

M = TypeVar("M", SalesOrder, WorkOrder)

# Columns the lists (pages, API, export) may be sorted by.
CUSTOMER_SORTS: dict[str, ColumnElement[Any]] = {"code": Customer.code, "name": Customer.name}
SALES_ORDER_SORTS: dict[str, Any] = {
    "code": SalesOrder.code, "customer": Customer.name, "order_date": SalesOrder.order_date,
    # Orders without open lines count as due last, on every engine (NULLs sort differently in each).
    "due": func.coalesce(SalesOrder.earliest_due_date, literal(date.max, Date)),
    "priority": SalesOrder.priority, "status": SalesOrder.status,
}
SALES_ORDER_LINE_SORTS: dict[str, Any] = {
    "order": SalesOrder.code, "customer": Customer.name, "material": Material.code,
    "due": SalesOrderLine.due_date, "priority": SalesOrderLine.priority, "quantity": SalesOrderLine.quantity,
}
WORK_ORDER_SORTS: dict[str, Any] = {
    "code": WorkOrder.code, "material": Material.code, "quantity": WorkOrder.quantity, "due": WorkOrder.due_date,
    "priority": WorkOrder.priority, "status": WorkOrder.status, "created": WorkOrder.created_at,
}


# -- shared helpers -----------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None else str(value.value if isinstance(value, Choice) else value)


def _apply(record: Any, fields: dict[str, Any]) -> dict[str, list[str | None]]:
    """Set the fields that differ; return field → [old, new] as text for the event."""
    changes: dict[str, list[str | None]] = {}
    for key, value in fields.items():
        old = getattr(record, key)
        if old != value:
            changes[key] = [_text(old), _text(value)]
            setattr(record, key, value)
    return changes


def site_today(session: Session, site: PlantNode) -> date:
    """Today's date at a site (its time zone), for order dates and generated codes."""
    return clock.now().astimezone(plant.time_zone_of(session, site)).date()


def _next_code(session: Session, model: type[M], prefix: str) -> str:
    taken = session.scalars(select(model.code).where(model.code.startswith(prefix, autoescape=True)))
    numbers = [int(c[len(prefix):]) for c in taken if c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"


def _insert_with_code(session: Session, record: M, prefix: str, explicit: str | None) -> None:
    """Insert a record under its explicit code, or the next free generated one.

    Two people creating at the same moment on PostgreSQL can compute the same next number: the loser's
    savepoint is rolled back and it takes the following number.
    """
    model = type(record)
    for _attempt in range(5):
        record.code = explicit or _next_code(session, model, prefix)
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
            return
        except IntegrityError:
            if explicit or session.scalar(select(model.id).where(model.code == record.code)) is None:
                raise
    raise Conflict("code_generation_busy", _l("Many records are being created right now; please try again."))


def _choice_values(choice: type[Choice], value: Any, name: str) -> list[str] | None:
    """Filter values of a status: one, several, or comma-separated; stored values or labels."""
    if value is None or value == "":
        return None
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value  # a Choice is a str too
    found = []
    for item in items:
        try:
            found.append(choice.parse(str(item)).value)
        except ValueError:
            raise Invalid("bad_filter", _l("{value} is not a known value for the filter {name}.",
                                           value=item, name=name)) from None
    return found or None


def _int_filter(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid("bad_filter", _l("The filter {name} needs a number, not {value}.",
                                       name=name, value=value)) from None


def _date_filter(value: Any, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid("bad_filter", _l("The filter {name} needs a date as YYYY-MM-DD, not {value}.",
                                       name=name, value=value)) from None


def _search(q: str | None, *columns: InstrumentedAttribute[Any] | ColumnElement[Any]) -> ColumnElement[bool] | None:
    text = (q or "").strip()
    if not text:
        return None
    return or_(*(col.icontains(text, autoescape=True) for col in columns))


# -- references ---------------------------------------------------------------------------------------------


def _site(session: Session, site_id: int) -> PlantNode:
    try:
        node = plant.get_node(session, site_id)
    except NotFound:
        raise Invalid("site_not_found", _l("Site {id} does not exist.", id=site_id)) from None
    if node.level != Level.SITE:
        raise Invalid("not_a_site", _l("{code} is a {level}, not a site; orders and work orders belong to a site.",
                                       code=node.code, level=node.level.label))
    return node


def _material(session: Session, material_id: int) -> Material:
    return catalog.active_material(session, material_id)


def _customer_for_order(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise Invalid("customer_not_found", _l("Customer {id} does not exist.", id=customer_id))
    if not customer.active:
        raise Invalid("customer_inactive", _l(
            "Customer {code} is inactive; reactivate the customer or choose another one.", code=customer.code))
    return customer
