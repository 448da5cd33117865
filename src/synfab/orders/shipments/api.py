"""Shipments JSON API: create a shipment for an order, pick lots (with suggestions), ship, cancel a draft,
and an order's delivery status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog.models import Material
from synfab.inventory.models import Lot
from synfab.orders.shipments import service
from synfab.orders.shipments.choices import ShipmentStatus
from synfab.orders.shipments.models import Shipment
from synfab.orders.shipments.schemas import (
    DeliveryLine,
    LotSuggestion,
    PickIn,
    ShipIn,
    ShipmentCreate,
    ShipmentLineRead,
    ShipmentPage,
    ShipmentRead,
    ShipmentRow,
    VersionIn,
)
from synfab.people.service import Principal
from synfab.plant.models import PlantNode
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate

router = APIRouter(prefix="/api/v1", tags=["shipments"])

Viewer = Annotated[Principal, require("shipment.view")]
Creator = Annotated[Principal, require("shipment.create")]
Changer = Annotated[Principal, require("shipment.change")]


def shipment_read(session: Session, shipment: Shipment) -> ShipmentRead:
    """A shipment with its order, customer and picked lines (codes looked up once for all lines)."""
    from synfab.orders.service import get_sales_order

    order = get_sales_order(session, shipment.sales_order_id)
    line_nos = {ln.id: ln.line_no for ln in order.lines}
    lots = dict(session.execute(select(Lot.id, Lot.code).where(
        Lot.id.in_({ln.lot_id for ln in shipment.lines if ln.lot_id}))).all()) if shipment.lines else {}
    materials = dict(session.execute(select(Material.id, Material.code).where(
        Material.id.in_({ln.material_id for ln in shipment.lines}))).all()) if shipment.lines else {}
    places = dict(session.execute(select(PlantNode.id, PlantNode.code).where(
        PlantNode.id.in_({ln.from_location_id for ln in shipment.lines}))).all()) if shipment.lines else {}
    return ShipmentRead(
        id=shipment.id, code=shipment.code, sales_order_id=order.id, order_code=order.code,
        customer_id=order.customer_id, customer_code=order.customer.code, customer_name=order.customer.name,
        site_id=shipment.site_id, status=shipment.status, shipped_at=shipment.shipped_at, carrier=shipment.carrier,
        tracking_no=shipment.tracking_no, note=shipment.note, version=shipment.version,
        lines=[ShipmentLineRead(
            id=ln.id, sales_order_line_id=ln.sales_order_line_id, line_no=line_nos.get(ln.sales_order_line_id, 0),
            material_id=ln.material_id, material_code=materials.get(ln.material_id, ""), lot_id=ln.lot_id,
            lot_code=lots.get(ln.lot_id) if ln.lot_id else None, from_location_id=ln.from_location_id,
            location_code=places.get(ln.from_location_id, ""), quantity=ln.quantity, move_id=ln.move_id)
            for ln in shipment.lines])


@router.get("/shipments")
def list_shipments(request: Request, session: SessionDep, user: Viewer, status: ShipmentStatus | None = None,
                   sales_order_id: int | None = None, customer_id: int | None = None,
                   q: str | None = None) -> ShipmentPage:
    """Shipments, newest first; paged with `page` and `per_page`."""
    lq = ListQuery.from_request(request)
    stmt = service.shipment_query(status, sales_order_id, customer_id, q)
    page = paginate(session, stmt, lq, service.SHIPMENT_SORTS, service.SHIPMENT_ORDER, scalars=False)
    return ShipmentPage(total=page.total, page=page.number, per_page=lq.per_page,
                        items=[ShipmentRow.model_validate(r) for r in page.items])


@router.post("/shipments", status_code=201)
def create_shipment(body: ShipmentCreate, uow: UowDep, user: Creator) -> ShipmentRead:
    """A draft shipment for an open sales order (its site and customer)."""
    shipment = service.create_shipment(uow, body)
    uow.commit()
    return shipment_read(uow.session, shipment)


@router.get("/shipments/{shipment_id}")
def get_shipment(shipment_id: int, session: SessionDep, user: Viewer) -> ShipmentRead:
    return shipment_read(session, service.get_shipment(session, shipment_id))


@router.post("/shipments/{shipment_id}/lines", status_code=201)
def pick_lot(shipment_id: int, body: PickIn, uow: UowDep, user: Changer) -> ShipmentRead:
    """Pick a lot against a line of the order: refused (422, with the reason) for a lot of another material,
    on hold, expired or consumed, more than on hand at the location, or more than the line's open quantity."""
    service.pick_lot(uow, shipment_id, body)
    uow.commit()
    return shipment_read(uow.session, service.get_shipment(uow.session, shipment_id))


@router.post("/shipments/{shipment_id}/lines/{shipment_line_id}/remove")
def unpick_line(shipment_id: int, shipment_line_id: int, uow: UowDep, user: Changer,
                body: VersionIn | None = None) -> ShipmentRead:
    shipment = service.unpick_line(uow, shipment_id, shipment_line_id, body.version if body else None)
    uow.commit()
    return shipment_read(uow.session, shipment)


@router.post("/shipments/{shipment_id}/ship")
def ship(shipment_id: int, uow: UowDep, user: Changer, body: ShipIn | None = None) -> ShipmentRead:
    """Ship: the stock leaves (SHIPMENT moves), the order lines' shipped quantities and statuses follow.
    With `idempotency_key`, a repeated call returns the shipment without shipping twice."""
    body = body or ShipIn()
    shipment = service.ship(uow, shipment_id, version=body.version, idempotency_key=body.idempotency_key,
                            carrier=body.carrier, tracking_no=body.tracking_no)
    uow.commit()
    return shipment_read(uow.session, shipment)


@router.post("/shipments/{shipment_id}/cancel")
def cancel_shipment(shipment_id: int, uow: UowDep, user: Changer, body: VersionIn | None = None) -> ShipmentRead:
    shipment = service.cancel_shipment(uow, shipment_id, body.version if body else None)
    uow.commit()
    return shipment_read(uow.session, shipment)


@router.get("/sales-orders/{order_id}/delivery")
def delivery_status(order_id: int, session: SessionDep, user: Viewer) -> list[DeliveryLine]:
    """Each line of the order: ordered, shipped, open, and the open part cancelled."""
    return service.delivery_status(session, order_id)


@router.get("/sales-orders/{order_id}/lines/{line_id}/lot-suggestions")
def lot_suggestions(order_id: int, line_id: int, session: SessionDep, user: Viewer) -> list[LotSuggestion]:
    """Usable lots of the line's material at the order's site, first expiring first, then oldest."""
    return service.suggest_lots(session, order_id, line_id)
