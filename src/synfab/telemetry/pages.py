"""Machine pages: the equipment status board (live), and a machine with its tags, a trend chart, its state
timeline over the last day and the stops still waiting for a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from collections.abc import Callable, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.errors import DomainError, Invalid, NotFound
from synfab.core.i18n import N_, _, _l, current_locale
from synfab.core.uow import UnitOfWork
from synfab.people.service import Principal
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode
from synfab.telemetry import board, service
from synfab.telemetry.choices import DataType, MachineState
from synfab.telemetry.models import DowntimeReason, Sample, StateInterval, Tag
from synfab.telemetry.schemas import StatusRead, TrendRead
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/machines")

NAV = [NavItem(N_("Production"), N_("Equipment status"), "/machines", "equipment_data.view", "◉")]

Viewer = Annotated[Principal, require("equipment_data.view")]
Changer = Annotated[Principal, require("equipment_data.change")]

# The ranges a trend offers, and the one shown first.
RANGES_MS = {"1h": 3_600_000, "8h": 8 * 3_600_000, "24h": 24 * 3_600_000, "7d": 7 * 86_400_000}
DEFAULT_RANGE = "8h"
TIMELINE_MS = 24 * 3_600_000
# Chart colours of the badge colours a Choice names (the badges themselves are styled in CSS).
HEX = {"green": "#43a047", "yellow": "#fbc02d", "blue": "#1e88e5", "red": "#e53935", "grey": "#90a4ae",
       "black": "#37474f", "orange": "#fb8c00", "teal": "#00897b", "purple": "#8e24aa", "brown": "#6d4c41"}


def _int(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid("invalid_number", _l("{name} must be a whole number.", name=name)) from None


def elapsed(ms: int) -> str:
    """A duration the way a board says it: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    seconds = max(ms, 0) // 1000
    if seconds < 60:
        return _("{n} s", n=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return _("{n} min", n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("{h} h {m} min", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return _("{d} d {h} h", d=days, h=hours)


def now_ms() -> int:
    return int(clock.now().timestamp() * 1000)


def when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def chart_json(option: dict[str, Any]) -> str:
    """An ECharts option for a `data-chart` attribute (synfab.js draws it: the CSP allows no inline script).
    Left as text for the template to escape into the attribute."""
    return json.dumps(option, ensure_ascii=False, separators=(",", ":"))


# -- the status board --------------------------------------------------------------------------------------


def _lines(session: Session, statuses: list[StatusRead]) -> list[PlantNode]:
    """The lines that have machines on the board, in plant order."""
    wanted = {s.line_id for s in statuses if s.line_id is not None}
    return [n for n in plant.list_nodes(session, levels=[Level.LINE]) if n.id in wanted]


def _board(session: Session, line_id: str | None) -> dict[str, Any]:
    selected = _int(line_id, "line_id")
    statuses = board.status_board(session)
    lines = _lines(session, statuses)
    if selected is not None and selected not in {n.id for n in lines}:
        plant.get_node(session, selected)  # out of scope or unknown: 404; a line without machines: empty board
    now = now_ms()
    groups: list[tuple[PlantNode | None, list[dict[str, Any]]]] = []
    for line in [*lines, None]:
        if selected is not None and (line is None or line.id != selected):
            continue
        cards = [_card(s, now) for s in statuses if s.line_id == (line.id if line else None)]
        if cards:
            groups.append((line, cards))
    counts = {state: sum(1 for s in statuses if s.state is state and (selected is None or s.line_id == selected))
              for state in MachineState}
    return {"groups": groups, "lines": lines, "selected": selected, "counts": counts,
            "tz": plant.main_time_zone(session), "board_url": "/machines/board" + (
                f"?line_id={selected}" if selected is not None else "")}


def _card(status: StatusRead, now: int) -> dict[str, Any]:
    planned = status.planned_qty
    percent = min(status.counted_qty / planned * 100, 100.0) if planned else None
    return {"s": status, "since": elapsed(now - status.since_ms) if status.since_ms else None,
            "percent": round(percent, 1) if percent is not None else None}


@router.get("", response_class=HTMLResponse)
def board_page(request: Request, session: SessionDep, user: Viewer, line_id: str | None = None) -> Response:
    """Every machine of the reader's plant as a card, by line: refreshed live and every few seconds."""
    return render(request, "telemetry/board.html", **_board(session, line_id))


@router.get("/board", response_class=HTMLResponse)
def board_cards(request: Request, session: SessionDep, user: Viewer, line_id: str | None = None) -> Response:
    """The cards alone, for the board's refresh."""
    return render(request, "telemetry/_cards.html", **_board(session, line_id))


# -- one machine ------------------------------------------------------------------------------------------


def _machine(session: Session, equipment_id: int) -> PlantNode:
    node = plant.get_node(session, equipment_id)
    if not service.list_tags(session, equipment_id) and session.scalar(
            select(StateInterval.id).where(StateInterval.equipment_id == equipment_id).limit(1)) is None:
        raise NotFound("machine_not_found", _l("{code} has no machine data.", code=node.code))
    return node


def last_values(session: Session, tags: Sequence[Tag]) -> dict[int, tuple[int, float | None]]:
    """Each tag's latest stored value with its time."""
    out: dict[int, tuple[int, float | None]] = {}
    for tag in tags:
        row = session.execute(select(Sample.ts_ms, Sample.value).where(Sample.tag_id == tag.id)
                              .order_by(Sample.ts_ms.desc()).limit(1)).first()
        if row is not None:
            out[tag.id] = (row[0], row[1])
    return out


def state_intervals(session: Session, equipment_id: int, start_ms: int, end_ms: int) -> list[StateInterval]:
    """A machine's states overlapping [start, end), oldest first."""
    return list(session.scalars(select(StateInterval).where(
        StateInterval.equipment_id == equipment_id, StateInterval.start_ms < end_ms,
        or_(StateInterval.end_ms.is_(None), StateInterval.end_ms > start_ms)).order_by(StateInterval.start_ms)))


def _reason_options(reasons: Sequence[DowntimeReason]) -> list[tuple[int, str]]:
    """The reason tree flattened for a select box: children under their parent, indented."""
    by_parent: dict[int | None, list[DowntimeReason]] = {}
    ids = {r.id for r in reasons}
    for r in reasons:
        by_parent.setdefault(r.parent_id if r.parent_id in ids else None, []).append(r)
    locale = current_locale()
    out: list[tuple[int, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for r in by_parent.get(parent, []):
            out.append((r.id, "\u2003" * depth + f"{r.code} · {r.display_name(locale)}"))
            walk(r.id, depth + 1)

    walk(None, 0)
    return out


def _range(value: str | None) -> str:
    key = value or DEFAULT_RANGE
    if key not in RANGES_MS:
        raise Invalid("trend_range_unknown", _l("Unknown range {value}; use 1h, 8h, 24h or 7d.", value=key))
    return key


def _trend_option(trend: TrendRead, tag: Tag, start: int, end: int) -> dict[str, Any]:
    name = tag.name or tag.signal
    step = "end" if tag.datatype is DataType.BOOL else False
    line = {"type": "line", "showSymbol": False, "step": step, "sampling": "lttb"}
    if trend.resolution == "raw":
        series = [line | {"name": name, "data": [[p.ts_ms, p.value] for p in trend.points]}]
    else:
        faint = {"lineStyle": {"width": 1, "opacity": .55}, "itemStyle": {"color": "#90a4ae"}}
        series = [line | faint | {"name": _("Minimum"), "data": [[p.ts_ms, p.min] for p in trend.points]},
                  line | faint | {"name": _("Maximum"), "data": [[p.ts_ms, p.max] for p in trend.points]},
                  line | {"name": _("Average"), "data": [[p.ts_ms, p.value] for p in trend.points],
                          "itemStyle": {"color": "#1565c0"}}]
    return {
        "animation": False, "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 64, "containLabel": True},
        "toolbox": {"right": 8, "feature": {
            "dataZoom": {"yAxisIndex": "none", "title": {"zoom": _("Zoom"), "back": _("Undo zoom")}},
            "restore": {"title": _("Reset")}}},
        "xAxis": {"type": "time", "min": start, "max": end},
        "yAxis": {"type": "value", "scale": True, "name": tag.unit or ""},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "bottom": 12}],
        "series": series,
    }


def _timeline_option(intervals: list[StateInterval], start: int, end: int) -> dict[str, Any]:
    """The last day as coloured bands, one series per state so the legend names the colours."""
    bands: dict[MachineState, list[Any]] = {}
    for i in intervals:
        lo, hi = max(i.start_ms, start), min(i.end_ms or end, end)
        if hi > lo:
            text = f"{i.state.label} · {elapsed((i.end_ms or end) - i.start_ms)}"
            if i.reason is not None:
                text += f" · {i.reason.display_name(current_locale())}"
            bands.setdefault(i.state, []).append([{"name": text, "xAxis": lo}, {"xAxis": hi}])
    series = [{"type": "line", "name": str(state.label), "data": [[start, 0], [end, 0]], "showSymbol": False,
               "lineStyle": {"opacity": 0}, "itemStyle": {"color": HEX[state.colour]},
               "markArea": {"itemStyle": {"color": HEX[state.colour]}, "label": {"show": False}, "data": data}}
              for state, data in bands.items()]
    return {"animation": False, "tooltip": {"trigger": "item"}, "legend": {"top": 0},
            "grid": {"left": 8, "right": 16, "top": 32, "bottom": 24, "containLabel": True},
            "xAxis": {"type": "time", "min": start, "max": end}, "yAxis": {"type": "value", "show": False},
            "dataZoom": [{"type": "inside"}], "series": series}


def _trend(session: Session, equipment_id: int, tags: Sequence[Tag], tag_id: str | None,
           range_key: str | None) -> dict[str, Any]:
    key = _range(range_key)
    wanted = _int(tag_id, "tag_id")
    if wanted is not None:
        tag = next((t for t in tags if t.id == wanted), None)
        if tag is None:
            raise NotFound("tag_not_found", _l("Tag {id} does not exist.", id=wanted))
    else:  # a measured value first: counters and on/off signals say less as a curve
        tag = next((t for t in tags if t.datatype is DataType.FLOAT), tags[0] if tags else None)
    if tag is None:
        return {"tag": None, "range": key, "ranges": list(RANGES_MS), "equipment_id": equipment_id}
    end = now_ms()
    start = end - RANGES_MS[key]
    trend = service.trend(session, tag.id, start, end)
    window = urlencode({"start_ms": start, "end_ms": end})
    return {"tag": tag, "range": key, "ranges": list(RANGES_MS), "equipment_id": equipment_id, "trend": trend,
            "option": chart_json(_trend_option(trend, tag, start, end)),
            "csv_url": f"/api/v1/tags/{tag.id}/trend.csv?{window}",
            "xlsx_url": f"/api/v1/tags/{tag.id}/trend.xlsx?{window}"}


def _machine_page(request: Request, session: Session, equipment_id: int, *, tag_id: str | None = None,
                  range_key: str | None = None, error: DomainError | None = None) -> Response:
    node = _machine(session, equipment_id)
    tz = plant.time_zone_of(session, node)
    tags = service.list_tags(session, equipment_id)
    status = next((s for s in board.status_board(session) if s.equipment_id == equipment_id), None)
    now = now_ms()
    intervals = state_intervals(session, equipment_id, now - TIMELINE_MS, now)
    stops = service.uncoded_stops(session, equipment_id)
    return render(
        request, "telemetry/machine.html", node=node, tz=tz, tags=tags, values=last_values(session, tags),
        status=status, since=elapsed(now - status.since_ms) if status and status.since_ms else None,
        trend=_trend(session, equipment_id, tags, tag_id, range_key),
        timeline=chart_json(_timeline_option(intervals, now - TIMELINE_MS, now)), has_timeline=bool(intervals),
        stops=[{"i": s, "lasted": elapsed((s.end_ms or now) - s.start_ms)} for s in stops],
        reasons=_reason_options(service.reasons_for(session, equipment_id)), when=when, error=error,
        status_code=error.status_code if error else 200)


@router.get("/{equipment_id}", response_class=HTMLResponse)
def machine_page(equipment_id: int, request: Request, session: SessionDep, user: Viewer,
                 tag_id: str | None = None, range: str | None = None) -> Response:  # noqa: A002 — the query name
    return _machine_page(request, session, equipment_id, tag_id=tag_id, range_key=range)


@router.get("/{equipment_id}/trend", response_class=HTMLResponse)
def machine_trend(equipment_id: int, request: Request, session: SessionDep, user: Viewer,
                  tag_id: str | None = None, range: str | None = None) -> Response:  # noqa: A002
    """The trend panel alone, for the range buttons and the tag picker."""
    _machine(session, equipment_id)
    tags = service.list_tags(session, equipment_id)
    return render(request, "telemetry/_trend.html", trend=_trend(session, equipment_id, tags, tag_id, range),
                  tags=tags)


def _act(request: Request, uow: UnitOfWork, equipment_id: int, action: Callable[[], object]) -> Response:
    try:
        action()
    except DomainError as exc:
        uow.rollback()
        return _machine_page(request, uow.session, equipment_id, error=exc)
    uow.commit()
    return RedirectResponse(f"/machines/{equipment_id}#stops", status_code=303)


@router.post("/{equipment_id}/stops/{interval_id}")
def code_stop(equipment_id: int, interval_id: int, request: Request, uow: UowDep, user: Changer,
              reason_id: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    """Give one of the machine's stops its reason."""
    def act() -> None:
        interval = uow.session.get(StateInterval, interval_id)
        if interval is None or interval.equipment_id != equipment_id:
            raise NotFound("stop_not_found", _l("Stop {id} does not exist.", id=interval_id))
        reason = _int(reason_id, "reason_id")
        if reason is None:
            raise Invalid("stop_reason_required", _l("Choose the reason of the stop."))
        service.code_stop(uow, interval_id, reason, note.strip() or None)

    plant.get_node(uow.session, equipment_id)  # out of scope or unknown: 404 before anything else
    return _act(request, uow, equipment_id, act)
