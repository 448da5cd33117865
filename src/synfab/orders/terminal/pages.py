"""The operator terminal pages: pick a work center, see its dispatch list, work one operation with large buttons and
a scan field (a barcode scanner types the lot code and Enter). Each form carries a fresh submission key, so a
double tap or a resend after a dropped connection does nothing twice."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core.errors import DomainError, Invalid, NotFound
from synfab.core.i18n import N_, _, _l
from synfab.core.uow import UnitOfWork
from synfab.orders import service
from synfab.orders.choices import ACTIVE_OPERATION_STATUSES, PauseReason, ScrapReason
from synfab.orders.models import WorkOrderOperation
from synfab.orders.schemas import ConsumeIn, OperationCommand, PauseIn, ReportIn
from synfab.orders.service.operations import RUNNING_WORK, STARTABLE
from synfab.orders.service.production import work_order_stock
from synfab.people.service import Principal
from synfab.planning.schedule import service as schedule
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.telemetry import service as machine_data
from synfab.web.forms import checked as _checked
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/terminal")

NAV = [NavItem(N_("Production"), N_("Operator terminal"), "/terminal", "work_order.view", "▣")]

Viewer = Annotated[Principal, require("work_order.view")]
Worker = Annotated[Principal, require("work_order.change")]
StopCoder = Annotated[Principal, require("equipment_data.change")]


def _new_key() -> str:
    return uuid.uuid4().hex


@router.get("", response_class=HTMLResponse)
def terminal_home(request: Request, session: SessionDep, user: Viewer) -> Response:
    centers = plant.list_nodes(session, levels=[Level.WORK_CENTER])
    return render(request, "terminal/home.html", centers=centers)


# Where a terminal stands: a work center, or a whole line (its work centers' lists together).
TERMINAL_LEVELS = frozenset({Level.WORK_CENTER, Level.LINE})


def _dispatch_page(request: Request, session: Session, node_id: int, *, error: DomainError | None = None,
                   done: str | None = None) -> Response:
    center = schedule.schedule_node(session, node_id)
    if center.level not in TERMINAL_LEVELS:
        raise NotFound("work_center_not_found", _l("{code} is not a work center or a line.", code=center.code))
    down = schedule.open_breakdowns(session, [center.id])
    machines = machine_data.machines_at(session, center.id) if center.level is Level.WORK_CENTER else []
    return render(request, "terminal/dispatch.html", center=center, ops=schedule.dispatch_list(session, center.id),
                  tz=plant.time_zone_of(session, center), down=down, key=_new_key(), error=error, done=done,
                  machines=machines, now_ms=int(time.time() * 1000), status_code=error.status_code if error else 200)


@router.get("/work-centers/{node_id}", response_class=HTMLResponse)
def dispatch_page(node_id: int, request: Request, session: SessionDep, user: Viewer,
                  done: str | None = None) -> Response:
    """The dispatch list, in the order the schedule plans it."""
    return _dispatch_page(request, session, node_id, done=done)


@router.post("/work-centers/{node_id}/breakdown")
def report_breakdown(node_id: int, request: Request, uow: UowDep, user: Worker, client_key: Annotated[str, Form()],
                     reason: Annotated[str, Form()] = "", minutes: Annotated[str, Form()] = "") -> Response:
    """"Report breakdown" at the machine: the schedule moves its work, the planner is told."""
    try:
        if uow.claim_idempotency(client_key, "terminal.breakdown") is None:
            try:
                expected = int(minutes.strip() or "0")
            except ValueError:
                raise Invalid("not_a_number", _l("{field}: enter a number, not {value}.", field=_("Expected minutes"),
                                                  value=minutes)) from None
            schedule.report_breakdown(uow, node_id, reason, expected)
    except DomainError as exc:
        uow.rollback()
        return _dispatch_page(request, uow.session, node_id, error=exc)
    uow.commit()
    return RedirectResponse(f"/terminal/work-centers/{node_id}?done=breakdown", status_code=303)


@router.post("/work-centers/{node_id}/stops/{interval_id}")
def code_stop(node_id: int, interval_id: int, request: Request, uow: UowDep, user: StopCoder,
              client_key: Annotated[str, Form()], reason_id: Annotated[str, Form()] = "") -> Response:
    """Say why the machine stopped, from its reason tree, right at the machine."""
    try:
        if uow.claim_idempotency(client_key, "terminal.stop_reason") is None:
            if not reason_id.strip().isdigit():
                raise Invalid("stop_reason_required", _l("Choose why the machine stopped."))
            machine_data.code_stop(uow, interval_id, int(reason_id))
    except DomainError as exc:
        uow.rollback()
        return _dispatch_page(request, uow.session, node_id, error=exc)
    uow.commit()
    return RedirectResponse(f"/terminal/work-centers/{node_id}?done=stop_coded", status_code=303)


def _operation(session: Session, operation_id: int) -> WorkOrderOperation:
    op = session.scalar(select(WorkOrderOperation).where(WorkOrderOperation.id == operation_id))
    if op is None:
        raise NotFound("operation_not_found", _l("Operation {id} does not exist.", id=operation_id))
    return op


def _operation_page(request: Request, session: Session, operation_id: int, *, error: DomainError | None = None,
                    done: str | None = None) -> Response:
    op = _operation(session, operation_id)
    wo = op.work_order
    return render(
        request, "terminal/operation.html", op=op, wo=wo, stock=work_order_stock(session, wo),
        key=_new_key(), pause_reasons=PauseReason, scrap_reasons=ScrapReason, active=op.status in
        ACTIVE_OPERATION_STATUSES, startable=op.status in STARTABLE and wo.status in RUNNING_WORK,
        open_qty=max(wo.quantity - op.good_qty - op.scrap_qty, Decimal(0)), error=error, done=done,
        status_code=error.status_code if error else 200)


@router.get("/operations/{operation_id}", response_class=HTMLResponse)
def operation_page(operation_id: int, request: Request, session: SessionDep, user: Viewer,
                   done: str | None = None) -> Response:
    return _operation_page(request, session, operation_id, done=done)




def _quantity(text: str, field: str) -> Decimal:
    try:
        value = Decimal((text or "0").strip().replace(",", "") or "0")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise Invalid("not_a_quantity", _l("{field}: enter a quantity of 0 or more, not {value}.", field=field,
                                           value=text))
    return value


def _submit(request: Request, uow: UnitOfWork, operation_id: int, action: Any, done: str) -> Response:
    """Run a terminal command: back to the operation with what happened, or the page again with the reason."""
    try:
        op = _operation(uow.session, operation_id)
        action(op)
    except DomainError as exc:
        uow.rollback()
        try:
            return _operation_page(request, uow.session, operation_id, error=exc)
        except NotFound as missing:
            raise missing from None
    uow.commit()
    return RedirectResponse(f"/terminal/operations/{operation_id}?done={done}", status_code=303)


@router.post("/operations/{operation_id}/start")
def start(operation_id: int, request: Request, uow: UowDep, user: Worker,
          client_key: Annotated[str, Form()], version: Annotated[int, Form()]) -> Response:
    return _submit(request, uow, operation_id, lambda op: service.start(
        uow, op.work_order_id, op.id, _checked(OperationCommand, version=version, client_key=client_key)), "started")


@router.post("/operations/{operation_id}/pause")
def pause(operation_id: int, request: Request, uow: UowDep, user: Worker, client_key: Annotated[str, Form()],
          version: Annotated[int, Form()], reason: Annotated[str, Form()] = "",
          note: Annotated[str, Form()] = "") -> Response:
    return _submit(request, uow, operation_id, lambda op: service.pause_operation(
        uow, op.work_order_id, op.id, _checked(PauseIn, version=version, client_key=client_key,
                                               reason=reason or None, note=note.strip() or None)), "paused")


@router.post("/operations/{operation_id}/resume")
def resume(operation_id: int, request: Request, uow: UowDep, user: Worker, client_key: Annotated[str, Form()],
           version: Annotated[int, Form()]) -> Response:
    return _submit(request, uow, operation_id, lambda op: service.resume_operation(
        uow, op.work_order_id, op.id, _checked(OperationCommand, version=version, client_key=client_key)), "resumed")


@router.post("/operations/{operation_id}/report")
def report(operation_id: int, request: Request, uow: UowDep, user: Worker, client_key: Annotated[str, Form()],
           version: Annotated[int, Form()], good: Annotated[str, Form()] = "", scrap: Annotated[str, Form()] = "",
           scrap_reason: Annotated[str, Form()] = "", rework: Annotated[str, Form()] = "",
           complete: Annotated[str, Form()] = "") -> Response:
    def action(op: WorkOrderOperation) -> Any:
        return service.report_production(uow, op.work_order_id, op.id, _checked(
            ReportIn, version=version, client_key=client_key, good=_quantity(good, _("Good")),
            scrap=_quantity(scrap, _("Scrapped")), rework=_quantity(rework, _("Rework")),
            scrap_reason=scrap_reason or None, complete=bool(complete)))
    return _submit(request, uow, operation_id, action, "completed" if complete else "reported")


@router.post("/operations/{operation_id}/consume")
def consume(operation_id: int, request: Request, uow: UowDep, user: Worker, client_key: Annotated[str, Form()],
            lot_code: Annotated[str, Form()] = "", quantity: Annotated[str, Form()] = "") -> Response:
    def action(op: WorkOrderOperation) -> Any:
        amount = _quantity(quantity, _("Quantity"))
        if not lot_code.strip():
            raise Invalid("lot_code_required", _l("Scan or type the lot code."))
        return service.consume(uow, op.work_order_id, op.id, _checked(
            ConsumeIn, lot_code=lot_code.strip(), quantity=amount, client_key=client_key))
    return _submit(request, uow, operation_id, action, "consumed")
