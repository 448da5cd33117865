"""Purchasing JSON API: suppliers and their items, purchase orders, receiving against a line."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from synfab.inventory.purchasing import service
from synfab.inventory.purchasing.choices import PurchaseOrderStatus
from synfab.inventory.purchasing.models import PurchaseOrder, Supplier
from synfab.inventory.purchasing.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderPage,
    PurchaseOrderRead,
    PurchaseOrderUpdate,
    ReceiptRead,
    ReceiveIn,
    SupplierCreate,
    SupplierDetail,
    SupplierItemIn,
    SupplierItemRead,
    SupplierPage,
    SupplierRead,
    SupplierUpdate,
    VersionIn,
)
from synfab.people.service import Principal
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate

router = APIRouter(prefix="/api/v1", tags=["purchasing"])

SupplierViewer = Annotated[Principal, require("supplier.view")]
SupplierCreator = Annotated[Principal, require("supplier.create")]
SupplierChanger = Annotated[Principal, require("supplier.change")]
Viewer = Annotated[Principal, require("purchase_order.view")]
Creator = Annotated[Principal, require("purchase_order.create")]
Changer = Annotated[Principal, require("purchase_order.change")]


def _detail(supplier: Supplier, items: list[SupplierItemRead]) -> SupplierDetail:
    return SupplierDetail(**SupplierRead.model_validate(supplier).model_dump(), items=items)


# -- suppliers ------------------------------------------------------------------------------------------------


@router.get("/suppliers")
def list_suppliers(request: Request, session: SessionDep, user: SupplierViewer, q: str | None = None,
                   active: bool | None = None, material_id: int | None = None) -> SupplierPage:
    """Suppliers by code; `material_id` lists those who sell that material. Paged with `page` and `per_page`."""
    lq = ListQuery.from_request(request)
    page = paginate(session, service.supplier_query(q, active, material_id), lq, service.SUPPLIER_SORTS,
                    service.SUPPLIER_ORDER)
    return SupplierPage(total=page.total, page=page.number, per_page=lq.per_page,
                        items=[SupplierRead.model_validate(s) for s in page.items])


@router.post("/suppliers", status_code=201)
def create_supplier(body: SupplierCreate, uow: UowDep, user: SupplierCreator) -> SupplierRead:
    """A new supplier; a used code gets 409."""
    supplier = service.create_supplier(uow, body)
    uow.commit()
    return SupplierRead.model_validate(supplier)


@router.get("/suppliers/{supplier_id}")
def get_supplier(supplier_id: int, session: SessionDep, user: SupplierViewer) -> SupplierDetail:
    supplier = service.get_supplier(session, supplier_id)
    items = [SupplierItemRead.model_validate(i) for i in service.items_of_supplier(session, supplier.id)]
    return _detail(supplier, items)


@router.patch("/suppliers/{supplier_id}")
def update_supplier(supplier_id: int, body: SupplierUpdate, uow: UowDep, user: SupplierChanger) -> SupplierRead:
    """Change a supplier; a stale `version` gets 409."""
    supplier = service.update_supplier(uow, supplier_id, body)
    uow.commit()
    return SupplierRead.model_validate(supplier)


@router.get("/suppliers/{supplier_id}/items")
def list_supplier_items(supplier_id: int, session: SessionDep, user: SupplierViewer) -> list[SupplierItemRead]:
    """The materials a supplier sells, with minimum order quantity, pack size, lead time and price."""
    supplier = service.get_supplier(session, supplier_id)
    return [SupplierItemRead.model_validate(i) for i in service.items_of_supplier(session, supplier.id)]


@router.put("/suppliers/{supplier_id}/items")
def set_supplier_item(supplier_id: int, body: SupplierItemIn, uow: UowDep, user: SupplierChanger) -> SupplierItemRead:
    """Set the supplier's terms for a material (created or replaced); purchase suggestions of the material
    follow at once."""
    item = service.set_supplier_item(uow, supplier_id, body)
    uow.commit()
    return SupplierItemRead.model_validate(item)


@router.delete("/suppliers/{supplier_id}/items/{material_id}", status_code=204)
def remove_supplier_item(supplier_id: int, material_id: int, uow: UowDep, user: SupplierChanger) -> None:
    service.remove_supplier_item(uow, supplier_id, material_id)
    uow.commit()


# -- purchase orders ------------------------------------------------------------------------------------------


def _read(order: PurchaseOrder) -> PurchaseOrderRead:
    return PurchaseOrderRead.model_validate(order)


@router.get("/purchase-orders")
def list_purchase_orders(request: Request, session: SessionDep, user: Viewer, status: PurchaseOrderStatus | None = None,
                         supplier_id: int | None = None, site_id: int | None = None, material_id: int | None = None,
                         q: str | None = None) -> PurchaseOrderPage:
    """Purchase orders in your scope, newest first. Paged with `page` and `per_page`."""
    lq = ListQuery.from_request(request)
    stmt = service.purchase_order_query(status.value if status else None, supplier_id, site_id, material_id, q)
    page = paginate(session, stmt, lq, service.PO_SORTS, service.PO_ORDER)
    return PurchaseOrderPage(total=page.total, page=page.number, per_page=lq.per_page,
                             items=[_read(o) for o in page.items])


@router.post("/purchase-orders", status_code=201)
def create_purchase_order(body: PurchaseOrderCreate, uow: UowDep, user: Creator) -> PurchaseOrderRead:
    """A draft purchase order (code PO-YYYYMMDD-n unless given)."""
    order = service.create_purchase_order(uow, body)
    uow.commit()
    return _read(order)


@router.get("/purchase-orders/{purchase_order_id}")
def get_purchase_order(purchase_order_id: int, session: SessionDep, user: Viewer) -> PurchaseOrderRead:
    return _read(service.get_purchase_order(session, purchase_order_id))


@router.patch("/purchase-orders/{purchase_order_id}")
def change_purchase_order(purchase_order_id: int, body: PurchaseOrderUpdate, uow: UowDep,
                          user: Changer) -> PurchaseOrderRead:
    """Change the note, the supplier of a draft, line quantities or due dates, or add lines. Two people changing
    the same order: the second (stale `version`) gets 409 and nothing of theirs is written."""
    order = service.change_purchase_order(uow, purchase_order_id, body)
    uow.commit()
    return _read(order)


@router.post("/purchase-orders/{purchase_order_id}/place")
def place_purchase_order(purchase_order_id: int, body: VersionIn, uow: UowDep, user: Changer) -> PurchaseOrderRead:
    """Place a draft with the supplier."""
    order = service.place_purchase_order(uow, purchase_order_id, body.version)
    uow.commit()
    return _read(order)


@router.post("/purchase-orders/{purchase_order_id}/cancel")
def cancel_purchase_order(purchase_order_id: int, body: VersionIn, uow: UowDep, user: Changer) -> PurchaseOrderRead:
    """Cancel an order nothing was received against."""
    order = service.cancel_purchase_order(uow, purchase_order_id, body.version)
    uow.commit()
    return _read(order)


@router.post("/purchase-orders/{purchase_order_id}/lines/{po_line_id}/receive", status_code=201)
def receive_purchase_order_line(purchase_order_id: int, po_line_id: int, body: ReceiveIn, uow: UowDep,
                                user: Changer) -> ReceiptRead:
    """Receive goods against a line into a new lot at a storage location of the order's site. A `client_key`
    sent again returns the first receipt; over the tolerance is refused (422)."""
    receipt = service.receive_purchase_order_line(uow, purchase_order_id, po_line_id, body)
    uow.commit()
    return ReceiptRead.model_validate(receipt)


@router.get("/purchase-orders/{purchase_order_id}/receipts")
def list_receipts(purchase_order_id: int, session: SessionDep, user: Viewer) -> list[ReceiptRead]:
    order = service.get_purchase_order(session, purchase_order_id)
    return [ReceiptRead.model_validate(r) for r in service.receipts_of(session, order.id)]
