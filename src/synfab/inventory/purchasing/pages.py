"""Purchasing pages: suppliers (with the materials they sell), purchase orders, and receiving against a line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.connect.files.export import export_workbook
from synfab.connect.files.pages import xlsx_response
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import N_, current_locale
from synfab.core.uow import UnitOfWork
from synfab.inventory.models import Lot
from synfab.inventory.purchasing import service
from synfab.inventory.purchasing.choices import RECEIVABLE_PO_STATUSES, PurchaseOrderStatus
from synfab.inventory.purchasing.imports import PurchaseOrderKind, SupplierKind
from synfab.inventory.purchasing.models import Supplier
from synfab.inventory.purchasing.schemas import ReceiveIn, SupplierCreate, SupplierItemIn, SupplierUpdate
from synfab.people.service import Principal
from synfab.plant import service as plant
from synfab.plant.choices import STORAGE_LEVELS, Level
from synfab.plant.models import PlantNode
from synfab.web.forms import after_form as _done
from synfab.web.forms import optional_int as _int
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/purchasing")

NAV = [
    NavItem(N_("Purchasing"), N_("Purchase orders"), "/purchasing/orders", "purchase_order.view", "▤"),
    NavItem(N_("Purchasing"), N_("Suppliers"), "/purchasing/suppliers", "supplier.view", "☰"),
]

SupplierViewer = Annotated[Principal, require("supplier.view")]
SupplierCreator = Annotated[Principal, require("supplier.create")]
SupplierChanger = Annotated[Principal, require("supplier.change")]
Viewer = Annotated[Principal, require("purchase_order.view")]
Changer = Annotated[Principal, require("purchase_order.change")]
Version = Annotated[int | None, Form()]

SUPPLIER_FILTERS = ("active",)
ORDER_FILTERS = ("status", "supplier_id", "material_id")




def _once(request: Request, uow: UnitOfWork, key: str, scope: str, url: str, action: Any) -> Response:
    """Run a form once per idempotency key (a double click does it once), then go to `url`."""
    if uow.claim_idempotency(key, scope) is not None:
        return _done(request, url)
    action()
    uow.complete_idempotency(key, {})
    uow.commit()
    return _done(request, url)


def _export(session: Session, kind: Any, request: Request) -> Response:
    locale = current_locale()
    filters = {k: v for k, v in request.query_params.items() if v}
    return xlsx_response(export_workbook(session, [kind], filters, locale),
                         f"{kind.sheet_title(locale)}-{date.today().isoformat()}.xlsx")


# -- suppliers ------------------------------------------------------------------------------------------------


@router.get("/suppliers", response_class=HTMLResponse)
def suppliers_page(request: Request, session: SessionDep, user: SupplierViewer) -> Response:
    lq = ListQuery.from_request(request, SUPPLIER_FILTERS)
    active = {"yes": True, "no": False}.get(lq.filters.get("active", ""))
    page = paginate(session, service.supplier_query(lq.q or None, active), lq, service.SUPPLIER_SORTS,
                    service.SUPPLIER_ORDER)
    return render(request, "purchasing/suppliers.html", page=page, lq=lq)


@router.get("/suppliers.xlsx")
def suppliers_export(request: Request, session: SessionDep, user: SupplierViewer) -> Response:
    return _export(session, SupplierKind(), request)


@router.post("/suppliers")
def create_supplier(request: Request, uow: UowDep, user: SupplierCreator,
                    code: Annotated[str, Form(min_length=1, max_length=40)],
                    name: Annotated[str, Form(min_length=1, max_length=200)],
                    idempotency_key: Annotated[str, Form()], name_en: Annotated[str, Form()] = "",
                    contact: Annotated[str, Form()] = "",
                    lead_time_days: Annotated[int | None, Form(ge=0, le=3650)] = None) -> Response:
    data = SupplierCreate(code=code, name=name, name_en=name_en or None, contact=contact or None,
                          lead_time_days=lead_time_days)
    done = uow.claim_idempotency(idempotency_key, "purchasing.create_supplier")
    if done is not None:
        return _done(request, f"/purchasing/suppliers/{done.get('id', '')}")
    supplier = service.create_supplier(uow, data)
    uow.complete_idempotency(idempotency_key, {"id": supplier.id})
    uow.commit()
    return _done(request, f"/purchasing/suppliers/{supplier.id}")


@router.get("/suppliers/{supplier_id}", response_class=HTMLResponse)
def supplier_page(supplier_id: int, request: Request, session: SessionDep, user: SupplierViewer) -> Response:
    supplier = service.get_supplier(session, supplier_id)
    items = service.items_of_supplier(session, supplier.id)
    return render(request, "purchasing/supplier.html", supplier=supplier, items=items)


@router.post("/suppliers/{supplier_id}")
def update_supplier(supplier_id: int, request: Request, uow: UowDep, user: SupplierChanger,
                    name: Annotated[str, Form(min_length=1, max_length=200)],
                    idempotency_key: Annotated[str, Form()], version: Version = None,
                    name_en: Annotated[str, Form()] = "", contact: Annotated[str, Form()] = "",
                    lead_time_days: Annotated[int | None, Form(ge=0, le=3650)] = None,
                    active: Annotated[bool, Form()] = False) -> Response:
    data = SupplierUpdate(version=version, name=name, name_en=name_en or None, contact=contact or None,
                          lead_time_days=lead_time_days, active=active)
    return _once(request, uow, idempotency_key, "purchasing.update_supplier", f"/purchasing/suppliers/{supplier_id}",
                 lambda: service.update_supplier(uow, supplier_id, data))


@router.post("/suppliers/{supplier_id}/items")
def set_supplier_item(supplier_id: int, request: Request, uow: UowDep, user: SupplierChanger,
                      material_code: Annotated[str, Form(min_length=1, max_length=40)],
                      idempotency_key: Annotated[str, Form()],
                      min_order_qty: Annotated[Decimal, Form(ge=0, max_digits=18, decimal_places=6)] = Decimal(0),
                      pack_size: Annotated[Decimal, Form(ge=0, max_digits=18, decimal_places=6)] = Decimal(0),
                      lead_time_days: Annotated[int | None, Form(ge=0, le=3650)] = None,
                      unit_price: Annotated[Decimal | None, Form(ge=0, max_digits=18, decimal_places=6)] = None,
                      preferred: Annotated[bool, Form()] = False) -> Response:
    try:
        material_id = catalog.material_by_code(uow.session, material_code).id
    except NotFound as exc:
        raise Invalid(exc.code, exc.message) from None
    data = SupplierItemIn(material_id=material_id, min_order_qty=min_order_qty, pack_size=pack_size,
                          lead_time_days=lead_time_days, unit_price=unit_price, preferred=preferred)
    return _once(request, uow, idempotency_key, "purchasing.set_supplier_item",
                 f"/purchasing/suppliers/{supplier_id}", lambda: service.set_supplier_item(uow, supplier_id, data))


# -- purchase orders ------------------------------------------------------------------------------------------


def _suppliers(session: Session) -> list[Supplier]:
    return list(session.scalars(service.supplier_query().order_by(Supplier.code)))


def _material(session: Session, material_id: int | None) -> Material | None:
    if material_id is None:
        return None
    try:
        return catalog.get_material(session, material_id)
    except NotFound:
        return None


def _site(session: Session, site_id: int) -> PlantNode | None:
    """The order's site, when the reader may see the plant (a supplier's people may not)."""
    return session.scalar(select(PlantNode).where(PlantNode.id == site_id))


def _site_codes(session: Session) -> dict[int, str]:
    return dict(session.execute(select(PlantNode.id, PlantNode.code).where(PlantNode.level == Level.SITE)).all())


@router.get("/orders", response_class=HTMLResponse)
def orders_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    lq = ListQuery.from_request(request, ORDER_FILTERS)
    material_id = _int(lq.filters.get("material_id"))
    stmt = service.purchase_order_query(lq.filters.get("status"), _int(lq.filters.get("supplier_id")), None,
                                        material_id, lq.q or None)
    page = paginate(session, stmt, lq, service.PO_SORTS, service.PO_ORDER)
    return render(request, "purchasing/orders.html", page=page, lq=lq, statuses=PurchaseOrderStatus,
                  sites=_site_codes(session),
                  suppliers=_suppliers(session), material=_material(session, material_id))


@router.get("/orders.xlsx")
def orders_export(request: Request, session: SessionDep, user: Viewer) -> Response:
    return _export(session, PurchaseOrderKind(), request)


@router.get("/orders/{purchase_order_id}", response_class=HTMLResponse)
def order_page(purchase_order_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    order = service.get_purchase_order(session, purchase_order_id)
    site = _site(session, order.site_id)
    locations = [n for n in plant.list_nodes(session, levels=STORAGE_LEVELS)
                 if site is not None and n.path.startswith(site.path)]
    receipts = service.receipts_of(session, order.id)
    lot_ids = [r.lot_id for r in receipts if r.lot_id]
    lots = dict(session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(lot_ids))).all()) if lot_ids else {}
    return render(request, "purchasing/order.html", order=order, site=site, locations=locations,
                  receipts=receipts, lots=lots, receivable=order.status in RECEIVABLE_PO_STATUSES,
                  tolerance=service.OVER_RECEIPT_TOLERANCE * 100)


@router.post("/orders/{purchase_order_id}/place")
def place_order(purchase_order_id: int, request: Request, uow: UowDep, user: Changer,
                idempotency_key: Annotated[str, Form()], version: Version = None) -> Response:
    return _once(request, uow, idempotency_key, "purchasing.place", f"/purchasing/orders/{purchase_order_id}",
                 lambda: service.place_purchase_order(uow, purchase_order_id, version))


@router.post("/orders/{purchase_order_id}/cancel")
def cancel_order(purchase_order_id: int, request: Request, uow: UowDep, user: Changer,
                 idempotency_key: Annotated[str, Form()], version: Version = None) -> Response:
    return _once(request, uow, idempotency_key, "purchasing.cancel", f"/purchasing/orders/{purchase_order_id}",
                 lambda: service.cancel_purchase_order(uow, purchase_order_id, version))


@router.post("/orders/{purchase_order_id}/lines/{po_line_id}/receive")
def receive_line(purchase_order_id: int, po_line_id: int, request: Request, uow: UowDep, user: Changer,
                 quantity: Annotated[Decimal, Form(gt=0, max_digits=18, decimal_places=6)],
                 location_id: Annotated[int, Form()],
                 idempotency_key: Annotated[str, Form(min_length=8, max_length=80)],
                 lot_code: Annotated[str, Form(max_length=60)] = "",
                 supplier_lot: Annotated[str, Form(max_length=60)] = "",
                 expires_on: Annotated[date | None, Form()] = None) -> Response:
    """Receive against a line; the form's key makes a double submit receive once."""
    data = ReceiveIn(quantity=quantity, location_id=location_id, lot_code=lot_code.strip() or None,
                     supplier_lot=supplier_lot.strip() or None, expires_on=expires_on,
                     client_key=idempotency_key if all(c.isalnum() or c in "_.:-" for c in idempotency_key) else None)
    service.receive_purchase_order_line(uow, purchase_order_id, po_line_id, data)
    uow.commit()
    return _done(request, f"/purchasing/orders/{purchase_order_id}")
