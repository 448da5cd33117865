"""Platform pages: home, language switch, health checks, API docs, and the outbox administration."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from synfab.core import clock
from synfab.core.errors import Invalid
from synfab.core.i18n import LOCALES, N_, _l
from synfab.core.models import OutboxMessage, OutboxStatus
from synfab.core.outbox import outbox_counts, retry_outbox
from synfab.migrations import current_revision, head_revision
from synfab.people.service import Principal, profile
from synfab.web.deps import PUBLIC, CurrentUser, DbDep, SessionDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.middleware import LANG_COOKIE
from synfab.web.templating import NavItem, render

router = APIRouter()

NAV = [NavItem(N_("Administration"), N_("Event delivery"), "/admin/outbox", "outbox.view", "⇄")]

# Contexts contributing figures to the home page with `home_cards(session, principal)` in their pages module.
HOME_CONTEXTS = ("plant", "catalog", "orders", "inventory", "people.skills")


def _safe_next(url: str | None) -> str:
    """Only local paths: a language switch must not become an open redirect."""
    return url if url and url.startswith("/") and not url.startswith("//") else "/"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    cards: list[dict[str, Any]] = []
    for name in HOME_CONTEXTS:
        try:
            module = importlib.import_module(f"synfab.{name}.pages")
        except ModuleNotFoundError:
            continue
        if hasattr(module, "home_cards"):
            cards.extend(module.home_cards(session, user))
    return render(request, "home.html", cards=cards)


@router.get("/lang/{locale}", dependencies=[PUBLIC])
def switch_language(locale: str, request: Request, db: DbDep, next: str | None = None) -> Response:
    if locale not in LOCALES:
        raise Invalid("unknown_locale", _l("This language is not offered."))
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        with db.uow() as uow:
            profile.set_own_locale(uow, principal.user_id, locale)
            uow.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", httponly=False)
    return response


@router.get("/healthz", dependencies=[PUBLIC], tags=["health"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[PUBLIC], tags=["health"])
def readyz(db: DbDep) -> Response:
    """Readiness: the database answers and its schema is at the migration head."""
    try:
        db.ping()
        current, head = current_revision(db), head_revision(db)
    except Exception as exc:  # the probe reports, it does not fail
        return JSONResponse({"status": "unavailable", "database": "unreachable", "detail": str(exc)[:200]}, 503)
    ok = current == head
    return JSONResponse({"status": "ok" if ok else "unavailable", "database": "ok",
                         "migration": current, "head": head}, status_code=200 if ok else 503)


@router.get("/favicon.ico", dependencies=[PUBLIC], include_in_schema=False)
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=308)


@router.get("/api/docs", dependencies=[PUBLIC], response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request) -> Response:
    return render(request, "api_docs.html")


# -- outbox ------------------------------------------------------------------------------------------------

class OutboxRow(BaseModel):
    id: int
    event_id: str
    event_type: str
    consumer: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    available_at: str
    created_at: str


def _outbox_query(lq: ListQuery) -> Any:
    stmt = select(OutboxMessage)
    status = lq.filters.get("status")
    if status in {s.value for s in OutboxStatus}:
        stmt = stmt.where(OutboxMessage.status == status)
    else:
        stmt = stmt.where(OutboxMessage.status != OutboxStatus.DONE)
    if lq.q:
        stmt = stmt.where(OutboxMessage.event_type.contains(lq.q) | OutboxMessage.consumer.contains(lq.q))
    return stmt


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, session: SessionDep, db: DbDep,
                user: Annotated[Principal, require("outbox.view")]) -> Response:
    lq = ListQuery.from_request(request, ["status"])
    page = paginate(session, _outbox_query(lq), lq, {"id": OutboxMessage.id, "attempts": OutboxMessage.attempts},
                    [OutboxMessage.id.desc()])
    return render(request, "outbox.html", page=page, lq=lq, counts=outbox_counts(db), statuses=OutboxStatus,
                  now=clock.now())


@router.post("/admin/outbox/retry")
def outbox_retry_form(db: DbDep, user: Annotated[Principal, require("outbox.change")],
                      ids: Annotated[list[int] | None, Form()] = None) -> Response:
    retry_outbox(db, ids or None)
    return RedirectResponse("/admin/outbox", status_code=303)


@router.get("/api/v1/outbox", tags=["outbox"])
def outbox_list(request: Request, session: SessionDep, user: Annotated[Principal, require("outbox.view")],
                status: Annotated[OutboxStatus | None, Query()] = None) -> dict[str, Any]:
    """Undelivered outbox rows (or those of one status), newest first, with counts by status."""
    lq = ListQuery.from_request(request, ["status"])
    page = paginate(session, _outbox_query(lq), lq, {}, [OutboxMessage.id.desc()])
    return {
        "total": page.total,
        "items": [OutboxRow(
            id=r.id, event_id=r.event_id, event_type=r.event_type, consumer=r.consumer, status=r.status,
            attempts=r.attempts, last_error=r.last_error, available_at=r.available_at.isoformat(),
            created_at=r.created_at.isoformat(),
        ).model_dump() for r in page.items],
        "counts": {k.value: v for k, v in outbox_counts(request.app.state.db).items()},
    }


class RetryRequest(BaseModel):
    ids: list[int] | None = None


@router.post("/api/v1/outbox/retry", tags=["outbox"])
def outbox_retry(body: RetryRequest, db: DbDep,
                 user: Annotated[Principal, require("outbox.change")]) -> dict[str, int]:
    """Deliver failed rows again now (all of them, or the given ids)."""
    return {"requeued": retry_outbox(db, body.ids)}
