"""Orders pages: sales orders (list, entry form, detail with lines, work orders and timeline), work orders,
customers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synfab.catalog.models import Bom, Material, Routing
from synfab.core import clock
from synfab.core.errors import DomainError, Invalid
from synfab.core.i18n import N_, _, _l
from synfab.core.models import EventRecord
from synfab.core.uow import UnitOfWork
from synfab.orders import service
from synfab.orders.choices import (
    CANCELLABLE_WORK_ORDER_STATUSES, CHANGEABLE_LINE_STATUSES, OPEN_LINE_STATUSES, OPEN_ORDER_STATUSES,
    OPEN_WORK_ORDER_STATUSES, REVISION_REVIEW_REASONS, Priority, ReviewReason, SalesOrderStatus, WorkOrderStatus,
)
from synfab.orders.models import Customer, SalesOrder, WorkOrder
from synfab.orders.service.sales_orders import cancellation_note
from synfab.orders.schemas import (
    CustomerCreate, SalesOrderCreate, SalesOrderLineCreate, SalesOrderLineUpdate, WorkOrderCreate, WorkOrderUpdate,
)
from synfab.people.service import Principal
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode
from synfab.web.forms import checked as _checked
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/orders")
S = TypeVar("S", bound=BaseModel)

NAV = [
    NavItem(N_("Production"), N_("Sales orders"), "/orders/sales-orders", "sales_order.view", "▤"),
    NavItem(N_("Production"), N_("Work orders"), "/orders/work-orders", "work_order.view", "⚙"),
    NavItem(N_("Master data"), N_("Customers"), "/orders/customers", "customer.view", "☺"),
]

OrderViewer = Annotated[Principal, require("sales_order.view")]
OrderCreator = Annotated[Principal, require("sales_order.create")]
OrderChanger = Annotated[Principal, require("sales_order.change")]
WorkOrderViewer = Annotated[Principal, require("work_order.view")]
WorkOrderCreator = Annotated[Principal, require("work_order.create")]
WorkOrderChanger = Annotated[Principal, require("work_order.change")]
CustomerViewer = Annotated[Principal, require("customer.view")]
CustomerCreator = Annotated[Principal, require("customer.create")]

SALES_ORDER_FILTERS = ("status", "customer_id", "site_id", "due_from", "due_to")
WORK_ORDER_FILTERS = ("status", "material_id", "production_line_id", "site_id", "due_from", "due_to",
                      "sales_order_id")
# Rows offered on the order entry form; empty ones are skipped.
NEW_ORDER_LINES = 5


def _today(session: Session) -> date:
    """Today at the first site (the one most plants have); UTC without any site."""
    sites = plant.list_nodes(session, levels=[Level.SITE])
    return service.site_today(session, sites[0]) if sites else clock.now().date()


def home_cards(session: Session, user: Principal) -> list[dict[str, Any]]:
    today = _today(session)
    figures = service.open_figures(session, today)
    cards = []
    if user.can("sales_order.view"):
        open_statuses = ",".join(st.value for st in sorted(OPEN_ORDER_STATUSES, key=list(SalesOrderStatus).index))
        cards += [
            {"label": _("Open sales orders"), "value": figures["open_sales_orders"],
             "url": f"/orders/sales-orders?status={open_statuses}"},
            {"label": _("Order lines due in the next 7 days or overdue"), "value": figures["lines_due_soon"],
             "url": f"/orders/sales-orders?due_to={(today + timedelta(days=7)).isoformat()}&sort=due"},
        ]
    if user.can("work_order.view"):
        open_wo = ",".join(st.value for st in sorted(OPEN_WORK_ORDER_STATUSES, key=list(WorkOrderStatus).index))
        cards.append({"label": _("Open work orders"), "value": figures["open_work_orders"],
                      "url": f"/orders/work-orders?status={open_wo}"})
    return cards


def _sites(session: Session) -> list[PlantNode]:
    return plant.list_nodes(session, levels=[Level.SITE])


def _lines(session: Session) -> list[PlantNode]:
    return plant.list_nodes(session, levels=[Level.LINE])


def _materials(session: Session) -> list[Material]:
    return list(session.scalars(select(Material).where(Material.active.is_(True)).order_by(Material.code)))


# -- sales orders -----------------------------------------------------------------------------------------------


@router.get("/sales-orders", response_class=HTMLResponse)
def sales_orders_page(request: Request, session: SessionDep, user: OrderViewer) -> Response:
    lq = ListQuery.from_request(request, SALES_ORDER_FILTERS)
    stmt = service.sales_order_query(q=lq.q, **lq.filters)
    page = paginate(session, stmt, lq, service.SALES_ORDER_SORTS, [SalesOrder.code.desc()])
    return render(request, "orders/sales_orders.html", page=page, lq=lq, statuses=SalesOrderStatus,
                  customers=service.list_customers(session, active_only=False), today=_today(session))


def _new_order_form(request: Request, session: Session, *, values: dict[str, Any] | None = None,
                    error: DomainError | None = None) -> Response:
    sites = _sites(session)
    values = values or {}
    lines = values.get("lines") or [{} for _i in range(NEW_ORDER_LINES)]
    return render(
        request, "orders/sales_order_new.html", customers=service.list_customers(session), sites=sites,
        materials=_materials(session), priorities=Priority, values=values, lines=lines, error=error,
        today=_today(session), status_code=error.status_code if error else 200,
    )


@router.get("/sales-orders/new", response_class=HTMLResponse)
def new_sales_order_page(request: Request, session: SessionDep, user: OrderCreator) -> Response:
    return _new_order_form(request, session)


def _decimal(text: str, field: str) -> Decimal:
    try:
        number = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise Invalid("not_a_number", _l("{field}: enter a number, not {value}.", field=field, value=text))
    return number


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid("not_a_date", _l("{field}: enter a date as YYYY-MM-DD, not {value}.",
                                       field=field, value=text)) from None


def _priority(text: str) -> Priority | None:
    if not text:
        return None
    try:
        return Priority(text)
    except ValueError:
        raise Invalid("bad_priority", _l("Choose one of the offered priorities.")) from None




def _order_from_form(session: Session, form: dict[str, Any]) -> SalesOrderCreate:
    """The order the entry form describes; materials are typed by code."""
    lines = []
    for i, row in enumerate(form["lines"], start=1):
        if not (row["material"] or row["quantity"]):
            continue
        what = _("Line {n}", n=i)
        if not row["material"]:
            raise Invalid("material_required", _l("{field}: choose a material.", field=what))
        material = session.scalar(select(Material).where(Material.code == row["material"].strip()))
        if material is None:
            raise Invalid("material_not_found", _l("{field}: there is no material with code {code}.",
                                                   field=what, code=row["material"]))
        quantity = _decimal(row["quantity"] or "0", what)
        if quantity <= 0:
            raise Invalid("quantity_not_positive", _l("{field}: the quantity must be more than 0.", field=what))
        if not row["due_date"]:
            raise Invalid("due_date_required", _l("{field}: give a due date.", field=what))
        lines.append(_checked(SalesOrderLineCreate, material_id=material.id, quantity=quantity,
                              due_date=_day(row["due_date"], what), priority=_priority(row["priority"])))
    if not lines:
        raise Invalid("no_lines", _l("Enter at least one line with a material and a quantity."))
    if not form["customer_id"].isdigit():
        raise Invalid("customer_required", _l("Choose the customer."))
    return _checked(
        SalesOrderCreate, code=form["code"] or None, customer_id=int(form["customer_id"]),
        site_id=form["site_id"], order_date=_day(form["order_date"], _("Order date")) if form["order_date"] else None,
        customer_po=form["customer_po"] or None, priority=_priority(form["priority"]) or Priority.NORMAL,
        note=form["note"] or None, lines=lines,
    )


@router.post("/sales-orders")
def create_sales_order(
    request: Request, uow: UowDep, user: OrderCreator, idempotency_key: Annotated[str, Form()],
    site_id: Annotated[int, Form()], customer_id: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "", order_date: Annotated[str, Form()] = "",
    customer_po: Annotated[str, Form()] = "", priority: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    line_material: Annotated[list[str] | None, Form()] = None, line_quantity: Annotated[list[str] | None, Form()] = None,
    line_due_date: Annotated[list[str] | None, Form()] = None, line_priority: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Enter an order from the form; the same form sent twice creates one order."""
    rows = max(len(line_material or []), len(line_quantity or []), len(line_due_date or []))

    def cell(values: list[str] | None, i: int) -> str:
        return (values[i] if values and i < len(values) else "").strip()

    form = {
        "code": code.strip(), "customer_id": customer_id, "site_id": site_id, "order_date": order_date.strip(),
        "customer_po": customer_po.strip(), "priority": priority, "note": note.strip(),
        "lines": [{"material": cell(line_material, i), "quantity": cell(line_quantity, i),
                   "due_date": cell(line_due_date, i), "priority": cell(line_priority, i)} for i in range(rows)],
    }
    done = uow.claim_idempotency(idempotency_key, "orders.create_sales_order")
    if done is not None:
        return RedirectResponse(f"/orders/sales-orders/{done['id']}", status_code=303)
    try:
        order = service.create_sales_order(uow, _order_from_form(uow.session, form))
    except DomainError as exc:
        uow.rollback()
        return _new_order_form(request, uow.session, values=form, error=exc)
    uow.complete_idempotency(idempotency_key, {"id": order.id})
    uow.commit()
    return RedirectResponse(f"/orders/sales-orders/{order.id}", status_code=303)


_FIELD_LABELS = {
    "customer_id": _l("Customer"), "site_id": _l("Site"), "order_date": _l("Order date"),
    "customer_po": _l("Customer PO"), "priority": _l("Priority"), "note": _l("Note"), "status": _l("Status"),
}


def _value_text(field: str, value: str | None) -> str:
    if value is None:
        return "—"
    if field == "status":
        return str(SalesOrderStatus(value).label)
    if field == "priority":
        return str(Priority(value).label)
    return value


def _timeline_text(row: EventRecord, materials: dict[int, str] | None = None) -> str:
    """One line of the order's history in the reader's language (`materials`: codes by id, for consequences)."""
    p = row.payload
    t = row.type
    code_of = (materials or {}).get
    if t == "ScheduleRebuilt":
        return _("Schedule re-planned: {n} operations moved", n=p["changed_operations"])
    if t == "WorkOrderAtRisk":
        return _("Work order {code} at risk: about {minutes} minutes late", code=p["code"],
                 minutes=p["lateness_minutes"])
    if t == "WorkOrderBackOnTrack":
        return _("Work order {code} back on track", code=p["code"])
    if t == "StockReserved":
        return _("{quantity} of {material} reserved", quantity=_qty_text(str(p["quantity"])),
                 material=code_of(p["material_id"], p["material_id"]))
    if t == "ReservationReleased":
        return _("Reservation of {material} given back", material=code_of(p["material_id"], p["material_id"]))
    if t == "ShortageRaised":
        return _("Short of {material}: {quantity}, covered by {date}", material=code_of(p["material_id"], "?"),
                 quantity=_qty_text(p["quantity"]), date=p.get("cover_date") or "—")
    if t == "ShortageCovered":
        return _("Shortage of {material} covered", material=code_of(p["material_id"], p["material_id"]))
    if t == "PurchaseSuggestionsChanged":
        return _("Purchase suggestions for {material}: {quantity} to order", material=code_of(p["material_id"], "?"),
                 quantity=_qty_text(p["total_quantity"]))
    if t == "SalesOrderCreated":
        return _("Order {code} entered with {n} lines", code=p["code"], n=p["line_count"])
    if t == "SalesOrderChanged":
        parts = [f"{_FIELD_LABELS.get(k, k)}: {_value_text(k, old)} → {_value_text(k, new)}"
                 for k, (old, new) in p["changes"].items()]
        return _("Order changed: {changes}", changes="; ".join(parts))
    if t == "SalesOrderCancelled":
        return _("Order cancelled")
    if t == "SalesOrdersImported":
        return _("Order imported from {source} (with {n} other orders)", source=p["source"],
                 n=len(p["order_ids"]) - 1)
    if t == "SalesOrderLineAdded":
        return _("Line {line_no} added: {quantity}, due {due}", line_no=p["line_no"],
                 quantity=_qty_text(p["quantity"]), due=p["due_date"])
    if t == "SalesOrderLineCancelled":
        return _("Line {line_no} cancelled", line_no=p["line_no"])
    if t in ("SalesOrderLineChanged", "WorkOrderChanged"):
        parts = []
        if p["old_quantity"] != p["new_quantity"] and Decimal(p["old_quantity"]) != Decimal(p["new_quantity"]):
            parts.append(_("quantity {old} → {new}", old=_qty_text(p["old_quantity"]), new=_qty_text(p["new_quantity"])))
        if p["old_due_date"] != p["new_due_date"]:
            parts.append(_("due date {old} → {new}", old=p["old_due_date"], new=p["new_due_date"]))
        if p["old_priority"] != p["new_priority"]:
            parts.append(_("priority {old} → {new}", old=Priority(p["old_priority"]).label,
                           new=Priority(p["new_priority"]).label))
        if t == "WorkOrderChanged":
            return _("Work order {code} changed: {changes}", code=p["code"], changes="; ".join(parts))
        return _("Line {line_no} changed: {changes}", line_no=p["line_no"], changes="; ".join(parts))
    if t == "WorkOrderCreated":
        return _("Work order {code} created for {quantity}", code=p["code"], quantity=_qty_text(p["quantity"]))
    if t == "WorkOrderCancelled":
        return _("Work order {code} cancelled", code=p["code"])
    if t == "ShipmentCreated":
        return _("Shipment {code} prepared", code=p["code"])
    if t == "ShipmentShipped":
        parts = [_("line {line_no}: {quantity}", line_no=no, quantity=_qty_text(qty))
                 for _id, no, qty, _total in p["lines"]]
        return _("Shipment {code} shipped ({lines})", code=p["code"], lines="; ".join(parts))
    if t == "ShipmentCancelled":
        return _("Shipment {code} cancelled", code=p["code"])
    if t == "WorkOrderNeedsReview":
        return _("Work order {code} waits for the planner: {reason} ({note})", code=p["code"],
                 reason=ReviewReason(p["reason"]).label, note=p.get("note") or "—")
    if t == "WorkOrderRevised":
        parts = []
        if p["old_bom_id"] != p["new_bom_id"]:
            parts.append(_("BOM revision {old} → {new}", old=p["old_bom_revision"] or "—", new=p["new_bom_revision"]))
        if p["old_routing_id"] != p["new_routing_id"]:
            parts.append(_("routing revision {old} → {new}", old=p["old_routing_revision"] or "—",
                           new=p["new_routing_revision"]))
        return _("Work order {code} follows the revisions in effect: {changes}", code=p["code"],
                 changes="; ".join(parts))
    if t == "WorkOrderReviewed":
        return _("Work order {code} reviewed by the planner", code=p["code"])
    if t == "WorkOrderCompleted":
        return _("Work order {code} completed: {quantity} good", code=p["code"], quantity=_qty_text(p["good_qty"]))
    if t == "ProductionReleased":
        return _("Production released: work order {code} with {n} work orders for its components", code=p["code"],
                 n=len(p["work_order_ids"]) - 1)
    return t


def _qty_text(value: str) -> str:
    return format(Decimal(value).normalize(), "f")


def _order_detail(request: Request, session: Session, order_id: int, *, error: DomainError | None = None) -> Response:
    order = service.get_sales_order(session, order_id)
    work_orders = service.work_orders_for_lines(session, [ln.id for ln in order.lines])
    rows = service.order_timeline(session, order)
    ids = {r.payload["material_id"] for r in rows if isinstance(r.payload.get("material_id"), int)}
    codes = dict(session.execute(select(Material.id, Material.code).where(Material.id.in_(ids))).all()) if ids else {}
    # Newest change first, each followed by what it caused (one correlation = one chain).
    chains: list[list[EventRecord]] = []
    for row in rows:
        if chains and row.correlation_id and chains[-1][0].correlation_id == row.correlation_id:
            chains[-1].append(row)
        else:
            chains.append([row])
    timeline = [(row, _timeline_text(row, codes)) for chain in reversed(chains) for row in chain]
    return render(
        request, "orders/sales_order.html", order=order, work_orders=work_orders, timeline=timeline,
        tz=plant.time_zone_of(session, order.site), priorities=Priority, today=_today(session),
        changeable=CHANGEABLE_LINE_STATUSES, open_lines=OPEN_LINE_STATUSES, materials=_materials(session),
        releasable={ln.id for ln in order.lines if service.line_releasable(ln, work_orders.get(ln.id, []))},
        order_open=order.status in OPEN_ORDER_STATUSES, error=error,
        notes={ln.id: note for ln in order.lines if (note := cancellation_note(ln)) is not None},
        status_code=error.status_code if error else 200,
    )


@router.get("/sales-orders/{order_id}", response_class=HTMLResponse)
def sales_order_page(order_id: int, request: Request, session: SessionDep, user: OrderViewer) -> Response:
    return _order_detail(request, session, order_id)


def _on_order(request: Request, uow: UnitOfWork, order_id: int, action: Any, *, key: str | None = None,
              scope: str = "", redirect: str | None = None) -> Response:
    """Run a change from the order page: back to the page, or the page again with the reason it was refused."""
    if key is not None:
        done = uow.claim_idempotency(key, scope)
        if done is not None:
            return RedirectResponse(done.get("url", f"/orders/sales-orders/{order_id}"), status_code=303)
    try:
        result = action()
    except DomainError as exc:
        uow.rollback()
        return _order_detail(request, uow.session, order_id, error=exc)
    url = redirect.format(result=result) if redirect else f"/orders/sales-orders/{order_id}"
    if key is not None:
        uow.complete_idempotency(key, {"url": url})
    uow.commit()
    return RedirectResponse(url, status_code=303)


@router.post("/sales-orders/{order_id}/lines")
def add_line(
    order_id: int, request: Request, uow: UowDep, user: OrderChanger, idempotency_key: Annotated[str, Form()],
    material: Annotated[str, Form()], quantity: Annotated[str, Form()], due_date: Annotated[str, Form()],
    priority: Annotated[str, Form()] = "",
) -> Response:
    """Add a line from the order page; the form sent twice adds one line."""
    def action() -> Any:
        found = uow.session.scalar(select(Material).where(Material.code == material.strip()))
        if found is None:
            raise Invalid("material_not_found", _l("There is no material with code {code}.", code=material))
        qty = _decimal(quantity, _("Quantity"))
        if qty <= 0:
            raise Invalid("quantity_not_positive", _l("{field}: the quantity must be more than 0.",
                                                      field=_("Quantity")))
        return service.add_sales_order_line(uow, order_id, _checked(
            SalesOrderLineCreate, material_id=found.id, quantity=qty, due_date=_day(due_date, _("Due date")),
            priority=_priority(priority)))

    return _on_order(request, uow, order_id, action, key=idempotency_key, scope="orders.add_line")


@router.post("/sales-orders/{order_id}/lines/{line_id}")
def change_line(
    order_id: int, line_id: int, request: Request, uow: UowDep, user: OrderChanger,
    version: Annotated[int, Form()], quantity: Annotated[str, Form()], due_date: Annotated[str, Form()],
    priority: Annotated[str, Form()],
) -> Response:
    def action() -> Any:
        qty = _decimal(quantity, _("Quantity"))
        if qty <= 0:
            raise Invalid("quantity_not_positive", _l("{field}: the quantity must be more than 0.",
                                                      field=_("Quantity")))
        return service.change_sales_order_line(uow, order_id, line_id, _checked(
            SalesOrderLineUpdate, version=version, quantity=qty, due_date=_day(due_date, _("Due date")),
            priority=_priority(priority)))

    return _on_order(request, uow, order_id, action)


@router.post("/sales-orders/{order_id}/lines/{line_id}/cancel")
def cancel_line(order_id: int, line_id: int, request: Request, uow: UowDep, user: OrderChanger,
                version: Annotated[int, Form()]) -> Response:
    return _on_order(request, uow, order_id,
                     lambda: service.cancel_sales_order_line(uow, order_id, line_id, version))


@router.post("/sales-orders/{order_id}/cancel")
def cancel_order(order_id: int, request: Request, uow: UowDep, user: OrderChanger,
                 version: Annotated[int, Form()]) -> Response:
    return _on_order(request, uow, order_id, lambda: service.cancel_sales_order(uow, order_id, version))


@router.post("/sales-orders/{order_id}/lines/{line_id}/work-orders")
def create_line_work_order(order_id: int, line_id: int, request: Request, uow: UowDep, user: WorkOrderCreator,
                           idempotency_key: Annotated[str, Form()]) -> Response:
    """Make a work order for the line (its material, quantity, due date and site); sent twice, one work order."""
    def action() -> Any:
        line = service.get_sales_order_line(uow.session, order_id, line_id)
        return service.create_work_order(uow, WorkOrderCreate(sales_order_line_id=line.id)).id

    return _on_order(request, uow, order_id, action, key=idempotency_key, scope="orders.create_line_work_order",
                     redirect="/orders/work-orders/{result}")


@router.post("/sales-orders/{order_id}/lines/{line_id}/release")
def release_line(order_id: int, line_id: int, request: Request, uow: UowDep, user: WorkOrderCreator,
                 idempotency_key: Annotated[str, Form()], version: Annotated[int, Form()]) -> Response:
    """Release production of the line: its work order and those of the components it makes; sent twice, once."""
    return _on_order(request, uow, order_id,
                     lambda: service.release_sales_order_line(uow, order_id, line_id, version),
                     key=idempotency_key, scope="orders.release_line")


# -- work orders ------------------------------------------------------------------------------------------------


@router.get("/work-orders", response_class=HTMLResponse)
def work_orders_page(request: Request, session: SessionDep, user: WorkOrderViewer) -> Response:
    lq = ListQuery.from_request(request, WORK_ORDER_FILTERS)
    stmt = service.work_order_query(q=lq.q, **lq.filters)
    page = paginate(session, stmt, lq, service.WORK_ORDER_SORTS, [WorkOrder.code.desc()])
    made = select(WorkOrder.material_id).distinct()
    materials = list(session.scalars(select(Material).where(Material.id.in_(made)).order_by(Material.code)))
    return render(request, "orders/work_orders.html", page=page, lq=lq, statuses=WorkOrderStatus,
                  lines=_lines(session), materials=materials, today=_today(session),
                  open_statuses=OPEN_WORK_ORDER_STATUSES)


def _work_order_detail(request: Request, session: Session, work_order_id: int, *,
                       error: DomainError | None = None) -> Response:
    wo = service.get_work_order(session, work_order_id)
    children = list(session.scalars(select(WorkOrder).where(WorkOrder.parent_id == wo.id).order_by(WorkOrder.code)))
    return render(
        request, "orders/work_order.html", wo=wo, children=children,
        routing=session.get(Routing, wo.routing_id) if wo.routing_id else None,
        bom=session.get(Bom, wo.bom_id) if wo.bom_id else None,
        order_line=wo.sales_order_line, tz=plant.time_zone_of(session, wo.site), priorities=Priority,
        total_minutes=sum((op.planned_minutes for op in wo.operations), Decimal(0)),
        open=wo.status in OPEN_WORK_ORDER_STATUSES, cancellable=wo.status in CANCELLABLE_WORK_ORDER_STATUSES,
        revision_review=wo.review_reason in REVISION_REVIEW_REASONS,
        error=error, status_code=error.status_code if error else 200,
    )


@router.get("/work-orders/{work_order_id}", response_class=HTMLResponse)
def work_order_page(work_order_id: int, request: Request, session: SessionDep, user: WorkOrderViewer) -> Response:
    return _work_order_detail(request, session, work_order_id)


def _on_work_order(request: Request, uow: UnitOfWork, work_order_id: int, action: Any) -> Response:
    try:
        action()
    except DomainError as exc:
        uow.rollback()
        return _work_order_detail(request, uow.session, work_order_id, error=exc)
    uow.commit()
    return RedirectResponse(f"/orders/work-orders/{work_order_id}", status_code=303)


@router.post("/work-orders/{work_order_id}")
def change_work_order(
    work_order_id: int, request: Request, uow: UowDep, user: WorkOrderChanger, version: Annotated[int, Form()],
    quantity: Annotated[str, Form()], due_date: Annotated[str, Form()], priority: Annotated[str, Form()],
) -> Response:
    def action() -> Any:
        qty = _decimal(quantity, _("Quantity"))
        if qty <= 0:
            raise Invalid("quantity_not_positive", _l("{field}: the quantity must be more than 0.",
                                                      field=_("Quantity")))
        return service.change_work_order(uow, work_order_id, _checked(
            WorkOrderUpdate, version=version, quantity=qty, due_date=_day(due_date, _("Due date")),
            priority=_priority(priority)))

    return _on_work_order(request, uow, work_order_id, action)


@router.post("/work-orders/{work_order_id}/reviewed")
def mark_reviewed(work_order_id: int, request: Request, uow: UowDep, user: WorkOrderChanger,
                  version: Annotated[int, Form()]) -> Response:
    return _on_work_order(request, uow, work_order_id, lambda: service.mark_reviewed(uow, work_order_id, version))


@router.post("/work-orders/{work_order_id}/cancel")
def cancel_work_order(work_order_id: int, request: Request, uow: UowDep, user: WorkOrderChanger,
                      version: Annotated[int, Form()]) -> Response:
    return _on_work_order(request, uow, work_order_id,
                          lambda: service.cancel_work_order(uow, work_order_id, version))


# -- customers --------------------------------------------------------------------------------------------------


def _customers_page(request: Request, session: Session, *, error: DomainError | None = None,
                    values: dict[str, str] | None = None) -> Response:
    lq = ListQuery.from_request(request, ["active"])
    stmt = service.customer_query(q=lq.q, active=lq.filters.get("active"))
    page = paginate(session, stmt, lq, service.CUSTOMER_SORTS, [Customer.code])
    open_orders: dict[int, int] = dict(session.execute(  # type: ignore[arg-type]
        select(SalesOrder.customer_id, func.count())
        .where(SalesOrder.status.in_([st.value for st in OPEN_ORDER_STATUSES]),
               SalesOrder.customer_id.in_([c.id for c in page.items]))
        .group_by(SalesOrder.customer_id)).all())
    return render(request, "orders/customers.html", page=page, lq=lq, open_orders=open_orders, error=error,
                  values=values or {}, status_code=error.status_code if error else 200)


@router.get("/customers", response_class=HTMLResponse)
def customers_page(request: Request, session: SessionDep, user: CustomerViewer) -> Response:
    return _customers_page(request, session)


@router.post("/customers")
def create_customer(
    request: Request, uow: UowDep, user: CustomerCreator, idempotency_key: Annotated[str, Form()],
    code: Annotated[str, Form()], name: Annotated[str, Form()], name_en: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
) -> Response:
    """Add a customer from the list page; the form sent twice adds one customer."""
    done = uow.claim_idempotency(idempotency_key, "orders.create_customer")
    if done is not None:
        return RedirectResponse("/orders/customers", status_code=303)
    values = {"code": code.strip(), "name": name.strip(), "name_en": name_en.strip(), "contact": contact.strip(),
              "phone": phone.strip()}
    try:
        customer = service.create_customer(uow, _checked(CustomerCreate, **{k: v or None for k, v in values.items()}))
    except DomainError as exc:
        uow.rollback()
        return _customers_page(request, uow.session, error=exc, values=values)
    uow.complete_idempotency(idempotency_key, {"id": customer.id})
    uow.commit()
    return RedirectResponse(f"/orders/customers?q={customer.code}", status_code=303)
