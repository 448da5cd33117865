"""Orders JSON API: customers, sales orders with their lines, work orders with their operations."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import Select
from sqlalchemy.orm import Session

from synfab.core.uow import UnitOfWork
from synfab.orders import service
from synfab.orders.choices import SalesOrderStatus, WorkOrderStatus
from synfab.orders.models import Customer, SalesOrder, WorkOrder
from synfab.orders.schemas import (
    CustomerCreate, CustomerRead, CustomerUpdate, Paged, SalesOrderCreate, SalesOrderLineCreate, SalesOrderLineRead,
    SalesOrderLineUpdate, SalesOrderRead, SalesOrderSummary, SalesOrderUpdate, VersionIn, WorkOrderCreate,
    WorkOrderRead, WorkOrderSummary, WorkOrderUpdate,
)
from synfab.orders.schemas import ConsumeIn, OperationCommand, PauseIn, ReportIn, TerminalResult
from synfab.people.service import Principal
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, Page, paginate

router = APIRouter(prefix="/api/v1")

CustomerViewer = Annotated[Principal, require("customer.view")]
CustomerCreator = Annotated[Principal, require("customer.create")]
CustomerChanger = Annotated[Principal, require("customer.change")]
OrderViewer = Annotated[Principal, require("sales_order.view")]
OrderCreator = Annotated[Principal, require("sales_order.create")]
OrderChanger = Annotated[Principal, require("sales_order.change")]
WorkOrderViewer = Annotated[Principal, require("work_order.view")]
WorkOrderCreator = Annotated[Principal, require("work_order.create")]
WorkOrderChanger = Annotated[Principal, require("work_order.change")]
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=80)]


def _page(request: Request, session: Session, stmt: Select[Any], sorts: dict[str, Any], default: list[Any]) -> Page:
    """Paging and sorting from `page`, `per_page` (25, 50, 100, 200), `sort` and `dir=desc`."""
    return paginate(session, stmt, ListQuery.from_request(request), sorts, default)


def _replayed(uow: UnitOfWork, key: str | None, scope: str) -> int | None:
    """The id a request with this Idempotency-Key already created, if any."""
    if key is None:
        return None
    done = uow.claim_idempotency(key, scope)
    return None if done is None else int(done["id"])


# -- customers ----------------------------------------------------------------------------------------------


@router.get("/customers", tags=["customers"])
def list_customers(request: Request, session: SessionDep, user: CustomerViewer, q: str | None = None,
                   active: bool | None = None) -> Paged[CustomerRead]:
    """Customers by code; `q` searches code, name and contact. Sort by `code` or `name`."""
    page = _page(request, session, service.customer_query(q=q, active=active), service.CUSTOMER_SORTS,
                 [Customer.code])
    return Paged[CustomerRead](total=page.total, page=page.number, per_page=page.query.per_page,
                               items=[CustomerRead.model_validate(c) for c in page.items])


@router.post("/customers", status_code=201, tags=["customers"])
def create_customer(body: CustomerCreate, uow: UowDep, user: CustomerCreator) -> CustomerRead:
    customer = service.create_customer(uow, body)
    uow.commit()
    return CustomerRead.model_validate(customer)


@router.get("/customers/{customer_id}", tags=["customers"])
def get_customer(customer_id: int, session: SessionDep, user: CustomerViewer) -> CustomerRead:
    return CustomerRead.model_validate(service.get_customer(session, customer_id))


@router.patch("/customers/{customer_id}", tags=["customers"])
def update_customer(customer_id: int, body: CustomerUpdate, uow: UowDep, user: CustomerChanger) -> CustomerRead:
    """Change a customer (not its code). A stale `version` gets 409."""
    customer = service.update_customer(uow, customer_id, body)
    uow.commit()
    return CustomerRead.model_validate(customer)


# -- sales orders -------------------------------------------------------------------------------------------


@router.get("/sales-orders", tags=["sales orders"])
def list_sales_orders(
    request: Request, session: SessionDep, user: OrderViewer,
    status: Annotated[list[SalesOrderStatus] | None, Query()] = None, customer_id: int | None = None,
    site_id: int | None = None, due_from: date | None = None, due_to: date | None = None, q: str | None = None,
) -> Paged[SalesOrderSummary]:
    """Sales orders, filtered: an order is due in [`due_from`, `due_to`] if any open line is.

    Sort by `code`, `customer`, `order_date`, `due` (earliest open due date), `priority` or `status`.
    """
    stmt = service.sales_order_query(status=status, customer_id=customer_id, site_id=site_id, due_from=due_from,
                                     due_to=due_to, q=q)
    page = _page(request, session, stmt, service.SALES_ORDER_SORTS, [SalesOrder.code])
    return Paged[SalesOrderSummary](total=page.total, page=page.number, per_page=page.query.per_page,
                                    items=[SalesOrderSummary.of(o) for o in page.items])


@router.post("/sales-orders", status_code=201, tags=["sales orders"])
def create_sales_order(body: SalesOrderCreate, uow: UowDep, user: OrderCreator,
                       idempotency_key: IdempotencyKeyHeader = None) -> SalesOrderRead:
    """Enter an order with its lines. With an `Idempotency-Key` header, a repeated request creates nothing."""
    done = _replayed(uow, idempotency_key, "sales_order.create")
    if done is not None:
        return SalesOrderRead.of(service.get_sales_order(uow.session, done))
    order = service.create_sales_order(uow, body)
    if idempotency_key is not None:
        uow.complete_idempotency(idempotency_key, {"id": order.id})
    uow.commit()
    return SalesOrderRead.of(order)


@router.get("/sales-orders/{order_id}", tags=["sales orders"])
def get_sales_order(order_id: int, session: SessionDep, user: OrderViewer) -> SalesOrderRead:
    return SalesOrderRead.of(service.get_sales_order(session, order_id))


@router.patch("/sales-orders/{order_id}", tags=["sales orders"])
def update_sales_order(order_id: int, body: SalesOrderUpdate, uow: UowDep, user: OrderChanger) -> SalesOrderRead:
    """Change the header. A stale `version` gets 409."""
    order = service.update_sales_order(uow, order_id, body)
    uow.commit()
    return SalesOrderRead.of(order)


@router.post("/sales-orders/{order_id}/cancel", tags=["sales orders"])
def cancel_sales_order(order_id: int, uow: UowDep, user: OrderChanger,
                       body: VersionIn | None = None) -> SalesOrderRead:
    """Cancel the order and its open lines."""
    order = service.cancel_sales_order(uow, order_id, body.version if body else None)
    uow.commit()
    return SalesOrderRead.of(order)


@router.post("/sales-orders/{order_id}/lines", status_code=201, tags=["sales orders"])
def add_sales_order_line(order_id: int, body: SalesOrderLineCreate, uow: UowDep,
                         user: OrderChanger) -> SalesOrderLineRead:
    line = service.add_sales_order_line(uow, order_id, body)
    uow.commit()
    return SalesOrderLineRead.of(line)


@router.patch("/sales-orders/{order_id}/lines/{line_id}", tags=["sales orders"])
def change_sales_order_line(order_id: int, line_id: int, body: SalesOrderLineUpdate, uow: UowDep,
                            user: OrderChanger) -> SalesOrderLineRead:
    """Change quantity, due date or priority of a line. A stale `version` (the line's) gets 409."""
    line = service.change_sales_order_line(uow, order_id, line_id, body)
    uow.commit()
    return SalesOrderLineRead.of(line)


@router.post("/sales-orders/{order_id}/lines/{line_id}/release", status_code=201, tags=["sales orders"])
def release_sales_order_line(order_id: int, line_id: int, uow: UowDep, user: WorkOrderCreator,
                             body: VersionIn | None = None) -> list[WorkOrderRead]:
    """Release production of an open line: its work order and child work orders for the make components of the
    BOM, all levels, parent first; the line becomes released. A line with open work orders gets 409."""
    made = service.release_sales_order_line(uow, order_id, line_id, body.version if body else None)
    uow.commit()
    return [WorkOrderRead.of(wo) for wo in made]


@router.post("/sales-orders/{order_id}/lines/{line_id}/cancel", tags=["sales orders"])
def cancel_sales_order_line(order_id: int, line_id: int, uow: UowDep, user: OrderChanger,
                            body: VersionIn | None = None) -> SalesOrderLineRead:
    line = service.cancel_sales_order_line(uow, order_id, line_id, body.version if body else None)
    uow.commit()
    return SalesOrderLineRead.of(line)


# -- work orders --------------------------------------------------------------------------------------------


@router.get("/work-orders", tags=["work orders"])
def list_work_orders(
    request: Request, session: SessionDep, user: WorkOrderViewer,
    status: Annotated[list[WorkOrderStatus] | None, Query()] = None, material_id: int | None = None,
    production_line_id: int | None = None, site_id: int | None = None, due_from: date | None = None,
    due_to: date | None = None, sales_order_id: int | None = None, q: str | None = None,
) -> Paged[WorkOrderSummary]:
    """Work orders, filtered. Sort by `code`, `material`, `quantity`, `due`, `priority`, `status` or `created`."""
    stmt = service.work_order_query(status=status, material_id=material_id, production_line_id=production_line_id,
                                    site_id=site_id, due_from=due_from, due_to=due_to,
                                    sales_order_id=sales_order_id, q=q)
    page = _page(request, session, stmt, service.WORK_ORDER_SORTS, [WorkOrder.code])
    return Paged[WorkOrderSummary](total=page.total, page=page.number, per_page=page.query.per_page,
                                   items=[WorkOrderSummary.of(w) for w in page.items])


@router.post("/work-orders", status_code=201, tags=["work orders"])
def create_work_order(body: WorkOrderCreate, uow: UowDep, user: WorkOrderCreator,
                      idempotency_key: IdempotencyKeyHeader = None) -> WorkOrderRead:
    """Create a work order with the operations of the routing in effect on its due date."""
    done = _replayed(uow, idempotency_key, "work_order.create")
    if done is not None:
        return WorkOrderRead.of(service.get_work_order(uow.session, done))
    wo = service.create_work_order(uow, body)
    if idempotency_key is not None:
        uow.complete_idempotency(idempotency_key, {"id": wo.id})
    uow.commit()
    return WorkOrderRead.of(wo)


@router.post("/work-orders/release", status_code=201, tags=["work orders"])
def release_work_order(body: WorkOrderCreate, uow: UowDep, user: WorkOrderCreator) -> list[WorkOrderRead]:
    """Release production (for stock, or for a sales order line): the work order and a child work order for every
    make component of its bill of materials, all levels, parent first."""
    made = service.release_work_order(uow, body)
    uow.commit()
    return [WorkOrderRead.of(wo) for wo in made]


@router.get("/work-orders/{work_order_id}", tags=["work orders"])
def get_work_order(work_order_id: int, session: SessionDep, user: WorkOrderViewer) -> WorkOrderRead:
    return WorkOrderRead.of(service.get_work_order(session, work_order_id))


@router.patch("/work-orders/{work_order_id}", tags=["work orders"])
def change_work_order(work_order_id: int, body: WorkOrderUpdate, uow: UowDep,
                      user: WorkOrderChanger) -> WorkOrderRead:
    """Change quantity, due date, priority or note. A stale `version` gets 409."""
    wo = service.change_work_order(uow, work_order_id, body)
    uow.commit()
    return WorkOrderRead.of(wo)


@router.post("/work-orders/{work_order_id}/operations/{operation_id}/start", tags=["operator terminal"])
def start_operation(work_order_id: int, operation_id: int, uow: UowDep, user: WorkOrderChanger,
                    body: OperationCommand | None = None) -> TerminalResult:
    """Start an operation as the signed-in operator. 403 `not_qualified` names the skill, the level needed and
    the level held, unless a supervisor signed an override (`/api/v1/skills/qualification-override`). A repeated
    `client_key` answers the first result (`replayed`)."""
    result = service.start(uow, work_order_id, operation_id, body or OperationCommand())
    uow.commit()
    return result


@router.post("/work-orders/{work_order_id}/operations/{operation_id}/pause", tags=["operator terminal"])
def pause_operation(work_order_id: int, operation_id: int, uow: UowDep, user: WorkOrderChanger,
                    body: PauseIn) -> TerminalResult:
    """Pause a running operation with a reason."""
    result = service.pause_operation(uow, work_order_id, operation_id, body)
    uow.commit()
    return result


@router.post("/work-orders/{work_order_id}/operations/{operation_id}/resume", tags=["operator terminal"])
def resume_operation(work_order_id: int, operation_id: int, uow: UowDep, user: WorkOrderChanger,
                     body: OperationCommand | None = None) -> TerminalResult:
    result = service.resume_operation(uow, work_order_id, operation_id, body or OperationCommand())
    uow.commit()
    return result


@router.post("/work-orders/{work_order_id}/operations/{operation_id}/report", tags=["operator terminal"])
def report_production(work_order_id: int, operation_id: int, uow: UowDep, user: WorkOrderChanger,
                      body: ReportIn) -> TerminalResult:
    """Report good, scrap (with a reason) and rework; `complete` ends the operation. Backflush and the production
    receipt of the last operation are posted to the stock ledger in the same transaction. More than the work
    order's quantity plus the tolerance is refused (`over_reported`)."""
    result = service.report_production(uow, work_order_id, operation_id, body)
    uow.commit()
    return result


@router.post("/work-orders/{work_order_id}/operations/{operation_id}/consume", tags=["operator terminal"])
def consume_lot(work_order_id: int, operation_id: int, uow: UowDep, user: WorkOrderChanger,
                body: ConsumeIn) -> TerminalResult:
    """Consume a scanned lot: refused with the reason when it is the wrong material, on hold, expired, used up or
    not on hand in that quantity; linked to the work order's output lot (genealogy)."""
    result = service.consume(uow, work_order_id, operation_id, body)
    uow.commit()
    return result


@router.post("/work-orders/{work_order_id}/reviewed", tags=["work orders"])
def mark_reviewed(work_order_id: int, uow: UowDep, user: WorkOrderChanger,
                  body: VersionIn | None = None) -> WorkOrderRead:
    """The planner decided about a work order a change could not reach by itself (`review_reason`): clear the flag."""
    wo = service.mark_reviewed(uow, work_order_id, body.version if body else None)
    uow.commit()
    return WorkOrderRead.of(wo)


@router.post("/work-orders/{work_order_id}/cancel", tags=["work orders"])
def cancel_work_order(work_order_id: int, uow: UowDep, user: WorkOrderChanger,
                      body: VersionIn | None = None) -> WorkOrderRead:
    wo = service.cancel_work_order(uow, work_order_id, body.version if body else None)
    uow.commit()
    return WorkOrderRead.of(wo)

