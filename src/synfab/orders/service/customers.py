"""Customers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from synfab.core.db import check_version
from synfab.core.errors import Conflict, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders.events import (
    CustomerChanged,
    CustomerCreated,
)
from synfab.orders.models import Customer
from synfab.orders.schemas import (
    CustomerCreate,
    CustomerUpdate,
)
from synfab.orders.service.common import _apply, _search

# -- customers ----------------------------------------------------------------------------------------------


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer_not_found", _l("Customer {id} does not exist.", id=customer_id))
    return customer


def customer_by_code(session: Session, code: str) -> Customer:
    customer = session.scalar(select(Customer).where(Customer.code == code))
    if customer is None:
        raise NotFound("customer_not_found", _l("There is no customer with code {code}.", code=code))
    return customer


def create_customer(uow: UnitOfWork, data: CustomerCreate) -> Customer:
    """Add a customer; a code already in use is refused with the customer that has it."""
    s = uow.session
    taken = s.scalar(select(Customer).where(Customer.code == data.code))
    if taken is not None:
        raise Conflict("customer_code_taken", _l("The customer code {code} is already used by {name}.",
                                                 code=data.code, name=taken.name))
    customer = Customer(**data.model_dump())
    s.add(customer)
    s.flush()
    uow.record(CustomerCreated(customer_id=customer.id, code=customer.code))
    return customer


def update_customer(uow: UnitOfWork, customer_id: int, data: CustomerUpdate) -> Customer:
    """Change a customer's name, contact or active flag (the code stays); a stale `version` gets 409."""
    customer = get_customer(uow.session, customer_id)
    check_version(customer, data.version)
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if fields.get("name") is None:
        fields.pop("name", None)
    if fields.get("active") is None:
        fields.pop("active", None)
    changes = _apply(customer, fields)
    if changes:
        uow.record(CustomerChanged(customer_id=customer.id, code=customer.code, changes=changes))
    return customer


def customer_query(q: str | None = None, active: bool | str | None = None) -> Select[Any]:
    """Customers for the list and the export.

    Filters: `q` (part of the code, name, English name or contact), `active` (true/false; "1"/"0" too).
    """
    stmt = select(Customer)
    cond = _search(q, Customer.code, Customer.name, Customer.name_en, Customer.contact)
    if cond is not None:
        stmt = stmt.where(cond)
    if isinstance(active, str):
        active = None if active == "" else active.lower() in ("1", "true", "yes", "on")
    if active is not None:
        stmt = stmt.where(Customer.active.is_(active))
    return stmt


def list_customers(session: Session, *, active_only: bool = True) -> list[Customer]:
    """Customers by code, for select boxes."""
    return list(session.scalars(customer_query(active=True if active_only else None).order_by(Customer.code)))
