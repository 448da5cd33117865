"""Shipment pages: the list (with Excel export), a shipment (pick lots with suggestions, ship, cancel) and an
order's delivery status (what is shipped, open, and which open part was cancelled)."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.connect.files.pages import xlsx_response
from synfab.core.errors import Invalid
from synfab.core.i18n import N_, _, _l
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.service.ledger import exact
from synfab.orders import service as orders
from synfab.orders.choices import LineStatus
from synfab.orders.models import SalesOrder
from synfab.orders.service.sales_orders import cancellation_note
from synfab.orders.shipments import service
from synfab.orders.shipments.api import shipment_read
from synfab.orders.shipments.choices import ShipmentStatus
from synfab.orders.shipments.schemas import PickIn, ShipmentCreate
from synfab.people.service import Principal
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/shipments")

NAV = [NavItem(N_("Orders"), N_("Shipments"), "/shipments", "shipment.view", "⛟")]

Viewer = Annotated[Principal, require("shipment.view")]
Creator = Annotated[Principal, require("shipment.create")]
Changer = Annotated[Principal, require("shipment.change")]
Version = Annotated[int | None, Form()]


def _done(request: Request, url: str) -> Response:
    if "hx-request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _once(request: Request, uow: UnitOfWork, key: str, scope: str, action: Any, url: Any) -> Response:
    """Run a form once per idempotency key, then show where it leads (`url` of the action's result)."""
    done = uow.claim_idempotency(key, scope)
    if done is not None:
        return _done(request, done.get("url", "/shipments"))
    result = action()
    target = url(result)
    uow.complete_idempotency(key, {"url": target})
    uow.commit()
    return _done(request, target)


def _status(value: str | None) -> ShipmentStatus | None:
    return ShipmentStatus(value) if value in {s.value for s in ShipmentStatus} else None


# -- list -------------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def shipments_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    lq = ListQuery.from_request(request, ["status"])
    stmt = service.shipment_query(_status(lq.filters.get("status")), q=lq.q or None)
    page = paginate(session, stmt, lq, service.SHIPMENT_SORTS, service.SHIPMENT_ORDER, scalars=False)
    return render(request, "shipments/list.html", page=page, lq=lq, statuses=ShipmentStatus,
                  tz=inventory.plant_time_zone(session))


EXPORT_COLUMNS = (_l("Shipment"), _l("Sales order"), _l("Customer code"), _l("Customer"), _l("Status"),
                  _l("Shipped at (UTC)"), _l("Quantity"))


@router.get("/export.xlsx")
def export_shipments(request: Request, session: SessionDep, user: Viewer) -> Response:
    """The shipments matching the list's filters, all pages, as an Excel workbook."""
    lq = ListQuery.from_request(request, ["status"])
    stmt = service.shipment_query(_status(lq.filters.get("status")), q=lq.q or None)
    book = Workbook(write_only=True)
    ws = book.create_sheet(_("Shipments")[:31])
    ws.append([str(c) for c in EXPORT_COLUMNS])
    for r in session.execute(stmt.order_by(*service.SHIPMENT_ORDER)):
        ws.append([r.code, r.order_code, r.customer_code, r.customer_name, str(r.status.label),
                   r.shipped_at.replace(tzinfo=None) if r.shipped_at else None, exact(r.quantity)])
    buf = io.BytesIO()
    book.save(buf)
    return xlsx_response(buf.getvalue(), f"{_('Shipments')}.xlsx")


@router.post("")
def create_shipment(request: Request, uow: UowDep, user: Creator, order: Annotated[str, Form()],
                    idempotency_key: Annotated[str, Form()], carrier: Annotated[str, Form()] = "") -> Response:
    """A draft shipment for the order with this code (or id); a form sent twice creates one."""
    def action() -> Any:
        text = order.strip()
        found = uow.session.scalar(select(SalesOrder).where(SalesOrder.code == text))
        if found is None and text.isdigit():
            found = uow.session.scalar(select(SalesOrder).where(SalesOrder.id == int(text)))
        if found is None:
            raise Invalid("sales_order_not_found", _l("There is no sales order with code {code}.", code=text))
        return service.create_shipment(uow, ShipmentCreate(sales_order_id=found.id, carrier=carrier or None))

    return _once(request, uow, idempotency_key, "shipments.create", action, lambda s: f"/shipments/{s.id}")


# -- an order's delivery status -----------------------------------------------------------------------------


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def delivery_page(order_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    """Where each line of an order stands, what was cancelled of it, and the order's shipments."""
    order = orders.get_sales_order(session, order_id)
    notes = [note for line in order.lines if (note := cancellation_note(line)) is not None]
    return render(request, "shipments/delivery.html", order=order, delivery=service.delivery_status(session, order_id),
                  notes=notes, shipments=service.shipments_of_order(session, order_id),
                  tz=inventory.plant_time_zone(session), line_statuses=LineStatus)


# -- one shipment ---------------------------------------------------------------------------------------------


def _shipment_page(request: Request, session: Session, shipment_id: int) -> Response:
    shipment = service.get_shipment(session, shipment_id)
    order = orders.get_sales_order(session, shipment.sales_order_id)
    draft = shipment.status == ShipmentStatus.DRAFT
    suggestions = {line.id: service.suggest_lots(session, order.id, line.id)
                   for line in order.lines if draft and service.open_quantity(line) > 0}
    return render(request, "shipments/shipment.html", shipment=shipment, view=shipment_read(session, shipment),
                  order=order, delivery=service.delivery_status(session, order.id), suggestions=suggestions,
                  draft=draft, tz=inventory.plant_time_zone(session), line_statuses=LineStatus)


@router.get("/{shipment_id}", response_class=HTMLResponse)
def shipment_page(shipment_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    return _shipment_page(request, session, shipment_id)


def _quantity(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise Invalid("quantity_not_positive", _l("{field}: the quantity must be more than 0.", field=_("Quantity")))
    return value


@router.post("/{shipment_id}/pick")
def pick_lot(shipment_id: int, request: Request, uow: UowDep, user: Changer,
             sales_order_line_id: Annotated[int, Form()], stock: Annotated[str, Form()],
             quantity: Annotated[str, Form()], idempotency_key: Annotated[str, Form()],
             version: Version = None) -> Response:
    """Pick from a suggested stock (`lot_id:location_id`) against an order line; sent twice, picked once."""
    def action() -> Any:
        service.get_shipment(uow.session, shipment_id)  # a shipment out of scope is not found, whatever was sent
        try:
            lot_id, location_id = (int(x) for x in stock.split(":", 1))
        except ValueError:
            raise Invalid("stock_not_chosen", _l("Choose the lot and location to pick from.")) from None
        return service.pick_lot(uow, shipment_id, PickIn(
            sales_order_line_id=sales_order_line_id, lot_id=lot_id, from_location_id=location_id,
            quantity=_quantity(quantity), version=version))

    return _once(request, uow, idempotency_key, "shipments.pick", action, lambda _r: f"/shipments/{shipment_id}")


@router.post("/{shipment_id}/lines/{shipment_line_id}/remove")
def unpick_line(shipment_id: int, shipment_line_id: int, request: Request, uow: UowDep, user: Changer,
                idempotency_key: Annotated[str, Form()], version: Version = None) -> Response:
    return _once(request, uow, idempotency_key, "shipments.unpick",
                 lambda: service.unpick_line(uow, shipment_id, shipment_line_id, version),
                 lambda _r: f"/shipments/{shipment_id}")


@router.post("/{shipment_id}/ship")
def ship(shipment_id: int, request: Request, uow: UowDep, user: Changer, idempotency_key: Annotated[str, Form()],
         version: Version = None, carrier: Annotated[str, Form()] = "",
         tracking_no: Annotated[str, Form()] = "") -> Response:
    """Ship the draft; the form's key makes a double click ship once."""
    def action() -> Any:
        return service.ship(uow, shipment_id, version=version, carrier=carrier or None,
                            tracking_no=tracking_no or None)

    return _once(request, uow, idempotency_key, "shipments.ship", action, lambda _r: f"/shipments/{shipment_id}")


@router.post("/{shipment_id}/cancel")
def cancel_shipment(shipment_id: int, request: Request, uow: UowDep, user: Changer,
                    idempotency_key: Annotated[str, Form()], version: Version = None) -> Response:
    return _once(request, uow, idempotency_key, "shipments.cancel",
                 lambda: service.cancel_shipment(uow, shipment_id, version), lambda _r: f"/shipments/{shipment_id}")
