"""Materials pages: purchase suggestions (select → purchase orders, dismiss, run MRP) and shortages."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synfab.connect.files.export import export_workbook
from synfab.connect.files.pages import xlsx_response
from synfab.core.i18n import N_, _, current_locale
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.purchasing.models import Supplier
from synfab.people.service import Principal
from synfab.planning.materials import service
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus
from synfab.planning.materials.imports import ShortageKind, SuggestionKind
from synfab.web.forms import after_form as _done
from synfab.web.forms import optional_int as _int
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/materials")

NAV = [
    NavItem(N_("Purchasing"), N_("Purchase suggestions"), "/materials/suggestions", "purchase_order.view", "✚"),
    NavItem(N_("Production"), N_("Shortages"), "/materials/shortages", "work_order.view", "⚠"),
]

WorkOrderViewer = Annotated[Principal, require("work_order.view")]
Viewer = Annotated[Principal, require("purchase_order.view")]
Creator = Annotated[Principal, require("purchase_order.create")]
Changer = Annotated[Principal, require("purchase_order.change")]
Version = Annotated[int | None, Form()]

SUGGESTION_FILTERS = ("status", "supplier_id")
SHORTAGE_FILTERS = ("status",)


def home_cards(session: Session, user: Principal) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    if user.can("work_order.view"):
        count = session.scalar(select(func.count()).select_from(service.shortage_query("open").subquery())) or 0
        cards.append({"label": _("Open shortages"), "value": count, "url": "/materials/shortages"})
    return cards




def _export(session: Session, kind: Any, request: Request) -> Response:
    locale = current_locale()
    filters = {k: v for k, v in request.query_params.items() if v}
    return xlsx_response(export_workbook(session, [kind], filters, locale),
                         f"{kind.sheet_title(locale)}-{date.today().isoformat()}.xlsx")


def _status(lq: ListQuery, choice: Any) -> str | None:
    """The status filter: open unless another (or "all") is chosen."""
    value = lq.filters.get("status", "open")
    return None if value == "all" else value if value in {c.value for c in choice} else "open"


# -- purchase suggestions ---------------------------------------------------------------------------------------


@router.get("/suggestions", response_class=HTMLResponse)
def suggestions_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    lq = ListQuery.from_request(request, SUGGESTION_FILTERS)
    stmt = service.suggestion_query(_status(lq, SuggestionStatus), None, _int(lq.filters.get("supplier_id")), None,
                                    lq.q or None)
    page = paginate(session, stmt, lq, service.SUGGESTION_SORTS, service.SUGGESTION_ORDER, scalars=False)
    suppliers = list(session.scalars(select(Supplier).order_by(Supplier.code)))
    return render(request, "materials/suggestions.html", page=page, lq=lq, statuses=SuggestionStatus,
                  suppliers=suppliers, status=lq.filters.get("status", "open"), today=inventory.today(session))


@router.get("/suggestions.xlsx")
def suggestions_export(request: Request, session: SessionDep, user: Viewer) -> Response:
    return _export(session, SuggestionKind(), request)


def _once(request: Request, uow: UnitOfWork, key: str, scope: str, url: str, action: Any) -> Response:
    if uow.claim_idempotency(key, scope) is not None:
        return _done(request, url)
    action()
    uow.complete_idempotency(key, {})
    uow.commit()
    return _done(request, url)


@router.post("/suggestions/convert")
def convert_suggestions(request: Request, uow: UowDep, user: Creator, idempotency_key: Annotated[str, Form()],
                        suggestion_id: Annotated[list[int], Form()]) -> Response:
    """The chosen suggestions become draft purchase orders, one per supplier; shows the purchase orders."""
    return _once(request, uow, idempotency_key, "materials.convert", "/purchasing/orders?status=draft",
                 lambda: service.convert_suggestions(uow, suggestion_id))


@router.post("/suggestions/{suggestion_id}/dismiss")
def dismiss_suggestion(suggestion_id: int, request: Request, uow: UowDep, user: Changer,
                       idempotency_key: Annotated[str, Form()], version: Version = None) -> Response:
    return _once(request, uow, idempotency_key, "materials.dismiss", "/materials/suggestions",
                 lambda: service.dismiss_suggestion(uow, suggestion_id, version))


@router.post("/mrp/run")
def run_mrp(request: Request, uow: UowDep, user: Creator, idempotency_key: Annotated[str, Form()]) -> Response:
    """Net all open demand now (the handlers keep suggestions current; this catches up on everything)."""
    return _once(request, uow, idempotency_key, "materials.run_mrp", "/materials/suggestions",
                 lambda: service.run_mrp(uow))


# -- shortages --------------------------------------------------------------------------------------------------


@router.get("/shortages", response_class=HTMLResponse)
def shortages_page(request: Request, session: SessionDep, user: WorkOrderViewer) -> Response:
    lq = ListQuery.from_request(request, SHORTAGE_FILTERS)
    stmt = service.shortage_query(_status(lq, ShortageStatus), None, None, lq.q or None)
    page = paginate(session, stmt, lq, service.SHORTAGE_SORTS, service.SHORTAGE_ORDER, scalars=False)
    return render(request, "materials/shortages.html", page=page, lq=lq, statuses=ShortageStatus,
                  status=lq.filters.get("status", "open"))


@router.get("/shortages.xlsx")
def shortages_export(request: Request, session: SessionDep, user: WorkOrderViewer) -> Response:
    return _export(session, ShortageKind(), request)
