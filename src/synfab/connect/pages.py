"""Connector pages: every connector's health (refreshed every few seconds) with Start/Stop and "Test connection",
and one connector's quarantined input and unmapped addresses, each exportable to Excel."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from openpyxl import Workbook
from sqlalchemy.orm import Session

from synfab.connect import manager, service
from synfab.connect.files.pages import xlsx_response
from synfab.connect.runtime import SourceError
from synfab.connect.schemas import ConnectorRead, ConnectorUpdate
from synfab.core.errors import DomainError, Invalid, Unavailable
from synfab.core.i18n import N_, _, _l
from synfab.core.uow import UnitOfWork
from synfab.people.service import Principal
from synfab.plant import service as plant
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/connectors")

NAV = [NavItem(N_("Administration"), N_("Machine connectors"), "/connectors", "connector.view", "⇌")]

Viewer = Annotated[Principal, require("connector.view")]
Changer = Annotated[Principal, require("connector.change")]

BUFFER_WARNING = 0.7  # the on-disk buffer this full means the store is not keeping up
PAYLOAD_EXCERPT = 160


def _zones(session: Session, connectors: Sequence[ConnectorRead]) -> tuple[dict[int, Any], dict[int, ZoneInfo]]:
    """Each connector's site, and the site's time zone (times are shown where the machines are)."""
    sites = plant.nodes_by_id(session, {c.site_id for c in connectors})
    return sites, {sid: plant.time_zone_of(session, node) for sid, node in sites.items()}


def _list_page(request: Request, session: Session, *, error: DomainError | None = None,
               probe: dict[str, Any] | None = None) -> Response:
    rows = service.read_connectors(session, service.list_connectors(session))
    sites, zones = _zones(session, rows)
    return render(request, "connect/connectors.html", rows=rows, sites=sites, zones=zones,
                  warning=BUFFER_WARNING, error=error, probe=probe, status_code=error.status_code if error else 200)


def _detail_page(request: Request, session: Session, connector_id: int, *, error: DomainError | None = None,
                 probe: dict[str, Any] | None = None) -> Response:
    row = service.read_connectors(session, [service.get_connector(session, connector_id)])[0]
    sites, zones = _zones(session, [row])
    return render(request, "connect/connector.html", c=row, site=sites.get(row.site_id),
                  tz=zones.get(row.site_id, ZoneInfo("UTC")), warning=BUFFER_WARNING,
                  quarantined=service.quarantined(session, connector_id),
                  unmapped=service.unmapped(session, connector_id), excerpt=PAYLOAD_EXCERPT, error=error, probe=probe,
                  status_code=error.status_code if error else 200)


def _page(request: Request, session: Session, connector_id: int, back: str, **kw: Any) -> Response:
    if back == "detail":
        return _detail_page(request, session, connector_id, **kw)
    return _list_page(request, session, **kw)


def _back_url(connector_id: int, back: str) -> str:
    return f"/connectors/{connector_id}" if back == "detail" else "/connectors"


@router.get("", response_class=HTMLResponse)
def connectors_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    """The connectors in the reader's sites with their health; the table refreshes itself every 5 s."""
    return _list_page(request, session)


@router.get("/{connector_id}", response_class=HTMLResponse)
def connector_page(connector_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    return _detail_page(request, session, connector_id)


def _act(request: Request, uow: UnitOfWork, connector_id: int, back: str, action: Callable[[], object]) -> Response:
    try:
        action()
    except DomainError as exc:
        uow.rollback()
        return _page(request, uow.session, connector_id, back, error=exc)
    uow.commit()
    return RedirectResponse(_back_url(connector_id, back), status_code=303)


@router.post("/{connector_id}/enabled")
def set_enabled(connector_id: int, request: Request, uow: UowDep, user: Changer, enabled: Annotated[str, Form()],
                version: Annotated[str, Form()], back: Annotated[str, Form()] = "list") -> Response:
    """Start or stop a connector: the process that runs it follows within seconds."""
    def act() -> None:
        service.get_connector(uow.session, connector_id)  # in scope, or 404 — before looking at the form
        try:
            seen = int(version)
        except ValueError:
            raise Invalid("invalid_number", _l("{name} must be a whole number.", name="version")) from None
        on = enabled.strip().lower() in ("1", "true", "on")
        service.update_connector(uow, connector_id, ConnectorUpdate(version=seen, enabled=on))

    return _act(request, uow, connector_id, back, act)


@router.post("/{connector_id}/test", response_class=HTMLResponse)
async def test_connection(connector_id: int, request: Request, session: SessionDep, user: Changer,
                          back: Annotated[str, Form()] = "list") -> Response:
    """Connect once with the saved settings and show what answered, or why nothing did."""
    connector = service.get_connector(session, connector_id)  # in scope, or 404
    try:
        summary = await manager.probe(request.app.state.db, connector_id)
    except manager.NoSource:
        error: DomainError = Invalid("connector_has_no_source", _l(
            "An HTTP ingest connector has no source to test: devices post their data to synfab."))
        return _page(request, session, connector_id, back, error=error)
    except SourceError as exc:
        error = Unavailable("connector_test_failed", _l("The connection test failed: {reason}", reason=str(exc)))
        return _page(request, session, connector_id, back, error=error)
    return _page(request, session, connector_id, back,
                 probe={"code": connector.code, "summary": summary if isinstance(summary, dict) else {}})


def _workbook(title: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    ws = book.create_sheet(title[:31])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _local(value: Any, tz: ZoneInfo) -> Any:
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


@router.get("/{connector_id}/quarantine.xlsx")
def export_quarantine(connector_id: int, session: SessionDep, user: Viewer) -> Response:
    """The input this connector could not read, with its reasons, as a workbook."""
    connector = service.get_connector(session, connector_id)
    tz = plant.time_zone_of(session, plant.get_node(session, connector.site_id))
    rows = [[_local(q.received_at, tz), q.reason, q.detail, q.payload]
            for q in service.quarantined(session, connector_id, limit=100_000)]
    headers = [_("Received"), _("Reason"), _("Detail"), _("Payload")]
    return xlsx_response(_workbook(_("Quarantined input"), headers, rows),
                         f"{connector.code}-{_('Quarantined input')}.xlsx")


@router.get("/{connector_id}/unmapped.xlsx")
def export_unmapped(connector_id: int, session: SessionDep, user: Viewer) -> Response:
    """The addresses this connector's source sends that no tag maps yet, as a workbook."""
    connector = service.get_connector(session, connector_id)
    tz = plant.time_zone_of(session, plant.get_node(session, connector.site_id))
    rows = [[u.address, u.count, u.last_value, _local(u.first_seen, tz), _local(u.last_seen, tz)]
            for u in service.unmapped(session, connector_id)]
    headers = [_("Address"), _("Times received"), _("Last value"), _("First seen"), _("Last seen")]
    return xlsx_response(_workbook(_("Unmapped addresses"), headers, rows),
                         f"{connector.code}-{_('Unmapped addresses')}.xlsx")
