"""Schedule pages: a Gantt-like chart of the work centers over a few days, the dispatch list below it, work
orders at risk, open breakdowns with "Report breakdown" and "End", "Rebuild", and an Excel export."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from openpyxl import Workbook
from sqlalchemy.orm import Session

from synfab.connect.files.pages import xlsx_response
from synfab.core import clock
from synfab.core.errors import DomainError, Invalid
from synfab.core.i18n import N_, _, _l
from synfab.people.service import Principal
from synfab.planning.schedule import service
from synfab.plant import service as plant
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/schedule")

NAV = [NavItem(N_("Production"), N_("Production schedule"), "/schedule", "work_order.view", "▥")]

Viewer = Annotated[Principal, require("work_order.view")]
Changer = Annotated[Principal, require("work_order.change")]

MAX_DAYS = 31
COLOURS = ("#4e79a7", "#59a14f", "#9c755f", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#8cd17d")


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("invalid_date", _l("{name} must be a date like 2026-12-01.", name=name)) from None


def _int(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid("invalid_number", _l("{name} must be a whole number.", name=name)) from None


def _window(session: Session, day: str | None, days: str | None) -> tuple[ZoneInfo, date, int, datetime, datetime]:
    tz = plant.main_time_zone(session)
    first = _date(day, "day") or clock.now().astimezone(tz).date()
    count = min(max(_int(days, "days") or 3, 1), MAX_DAYS)
    start = datetime.combine(first, time(0), tzinfo=tz)
    return tz, first, count, start, start + timedelta(days=count)


def _bars(lines: list[service.ScheduledLine], start: datetime, end: datetime) -> dict[int, list[dict[str, Any]]]:
    """Bars per work center, placed in percent of the window."""
    span = (end - start).total_seconds()
    bars: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        if line.work_center_id is None or line.planned_start is None or line.planned_end is None:
            continue
        lo, hi = max(line.planned_start, start), min(line.planned_end, end)
        if hi <= lo and not (line.planned_start == line.planned_end and start <= lo < end):
            continue
        left = (lo - start).total_seconds() / span * 100
        width = max((hi - lo).total_seconds() / span * 100, 0.3)
        bars.setdefault(line.work_center_id, []).append({
            "line": line, "left": round(left, 3), "width": round(min(width, 100 - left), 3),
            "colour": "#e15759" if line.at_risk else COLOURS[line.work_order_id % len(COLOURS)]})
    return bars


def _page(request: Request, session: Session, *, node_id: str | None = None, day: str | None = None,
          days: str | None = None, error: DomainError | None = None) -> Response:
    tz, first, count, start, end = _window(session, day, days)
    centers = service.work_centers(session)
    selected = _int(node_id, "node_id")
    node = service.schedule_node(session, selected) if selected is not None else None
    window_lines = service.list_schedule(session, date_from=start, date_to=end, limit=5000)
    shown_centers = [c for c in centers if node is None or c.id == node.id or c.path.startswith(node.path)]
    dispatch = service.dispatch_list(session, node.id) if node is not None else []
    ticks = [{"left": round(i / count * 100, 3), "label": (first + timedelta(days=i))} for i in range(count)]
    return render(
        request, "schedule/schedule.html", tz=tz, first=first, days=count, start=start, end=end,
        centers=shown_centers, all_centers=centers, node=node, bars=_bars(window_lines, start, end), ticks=ticks,
        dispatch=dispatch, at_risk=service.at_risk_work_orders(session, limit=50),
        breakdowns=service.open_breakdowns(session), last_run=service.last_run(session),
        centers_by_id={c.id: c for c in centers}, prev_day=(first - timedelta(days=count)).isoformat(),
        next_day=(first + timedelta(days=count)).isoformat(), error=error,
        status_code=error.status_code if error else 200)


@router.get("", response_class=HTMLResponse)
def schedule_page(request: Request, session: SessionDep, user: Viewer, node_id: str | None = None,
                  day: str | None = None, days: str | None = None) -> Response:
    return _page(request, session, node_id=node_id, day=day, days=days)


@router.get("/export.xlsx")
def export_schedule(request: Request, session: SessionDep, user: Viewer, node_id: str | None = None,
                    day: str | None = None, days: str | None = None) -> Response:
    """The scheduled operations (of the chosen work center or line, in the shown days) as a workbook."""
    tz, first, count, start, end = _window(session, day, days)
    selected = _int(node_id, "node_id")
    lines = service.list_schedule(session, node_id=selected, date_from=start, date_to=end, limit=100_000)
    book = Workbook(write_only=True)
    ws = book.create_sheet(_("Production schedule")[:31])
    headers = [_("Work center"), _("Sequence"), _("Work order"), _("Material"), _("Material name"), _("Operation"),
               _("Quantity"), _("Status"), _("Planned start"), _("Planned end"), _("Due date"), _("Priority"),
               _("At risk")]
    ws.append(headers)
    for line in lines:
        ws.append([line.work_center_code or "", line.sequence, line.work_order_code, line.material_code,
                   line.material_name, f"{line.seq} {line.name}", float(line.quantity), str(line.status.label),
                   line.planned_start.astimezone(tz).replace(tzinfo=None) if line.planned_start else None,
                   line.planned_end.astimezone(tz).replace(tzinfo=None) if line.planned_end else None,
                   line.due_date, str(line.priority.label), _("Yes") if line.at_risk else _("No")])
    buffer = io.BytesIO()
    book.save(buffer)
    return xlsx_response(buffer.getvalue(), f"{_('Production schedule')}-{first.isoformat()}.xlsx")


def _back(node_id: str | None) -> str:
    return f"/schedule?node_id={node_id}" if node_id else "/schedule"


def _act(request: Request, uow: Any, action: Any, node_id: str | None) -> Response:
    try:
        action()
    except DomainError as exc:
        uow.rollback()
        return _page(request, uow.session, node_id=node_id if node_id and node_id.isdigit() else None, error=exc)
    uow.commit()
    return RedirectResponse(_back(node_id), status_code=303)


@router.post("/rebuild")
def rebuild(request: Request, uow: UowDep, user: Changer, node_id: Annotated[str, Form()] = "") -> Response:
    return _act(request, uow, lambda: service.rebuild_schedule(uow, "manual", full=True), node_id)


@router.post("/breakdowns")
def report_breakdown(request: Request, uow: UowDep, user: Changer, work_center_id: Annotated[str, Form()],
                     reason: Annotated[str, Form()], expected_minutes: Annotated[str, Form()],
                     node_id: Annotated[str, Form()] = "") -> Response:
    def act() -> None:
        center = _int(work_center_id, "work_center_id")
        minutes = _int(expected_minutes, "expected_minutes")
        if center is None or minutes is None:
            raise Invalid("breakdown_fields_required", _l("Choose the work center and the expected minutes."))
        service.report_breakdown(uow, center, reason, minutes)

    return _act(request, uow, act, node_id)


@router.post("/breakdowns/{outage_id}/end")
def end_breakdown(outage_id: int, request: Request, uow: UowDep, user: Changer,
                  node_id: Annotated[str, Form()] = "") -> Response:
    return _act(request, uow, lambda: service.end_breakdown(uow, outage_id), node_id)
