"""Machine data JSON API: tags, trends (raw or rolled up, CSV/Excel), the status board, stops and their reasons."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from openpyxl import Workbook

from synfab.connect.files.pages import xlsx_response
from synfab.core.i18n import _
from synfab.people.service import Principal
from synfab.telemetry import board, service
from synfab.telemetry.schemas import CodeStopIn, IntervalRead, StatusRead, TagCreate, TagRead, TrendRead
from synfab.web.deps import SessionDep, UowDep, require

router = APIRouter(prefix="/api/v1", tags=["machine data"])

Viewer = Annotated[Principal, require("equipment_data.view")]
Creator = Annotated[Principal, require("equipment_data.create")]
Changer = Annotated[Principal, require("equipment_data.change")]


@router.get("/tags")
def list_tags(session: SessionDep, user: Viewer, equipment_id: int | None = None,
              connector_id: int | None = None) -> list[TagRead]:
    return [TagRead.model_validate(t) for t in service.list_tags(session, equipment_id, connector_id)]


@router.post("/tags", status_code=201)
def create_tag(body: TagCreate, uow: UowDep, user: Creator) -> TagRead:
    """Map a source address onto a machine's signal (scale, offset, deadband, sampling)."""
    tag = service.create_tag(uow, body)
    uow.commit()
    return TagRead.model_validate(tag)


def _range(start: int | None, end: int | None) -> tuple[int, int]:
    now = int(datetime.now(UTC).timestamp() * 1000)
    end = end or now
    return (start if start is not None else end - 3_600_000), end


@router.get("/tags/{tag_id}/trend")
def trend(tag_id: int, session: SessionDep, user: Viewer, start_ms: int | None = None, end_ms: int | None = None,
          resolution: Annotated[str, Query(pattern="^(auto|raw|1m|5m|15m|1h|1d)$")] = "auto") -> TrendRead:
    """A tag's values: raw for short ranges, minute rollups (min/avg/max) grouped to the resolution beyond."""
    start, end = _range(start_ms, end_ms)
    return service.trend(session, tag_id, start, end, resolution)


def _rows(t: TrendRead) -> tuple[list[str], list[list[Any]]]:
    headers = [_("Time (UTC)"), _("Value"), _("Minimum"), _("Maximum"), _("Samples")]
    rows = [[datetime.fromtimestamp(p.ts_ms / 1000, UTC).replace(tzinfo=None), p.value, p.min, p.max, p.count]
            for p in t.points]
    return headers, rows


@router.get("/tags/{tag_id}/trend.csv")
def trend_csv(tag_id: int, session: SessionDep, user: Viewer, start_ms: int | None = None,
              end_ms: int | None = None, resolution: str = "auto") -> Response:
    start, end = _range(start_ms, end_ms)
    headers, rows = _rows(service.trend(session, tag_id, start, end, resolution))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows([[r[0].isoformat(sep=" "), *r[1:]] for r in rows])
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="trend-{tag_id}.csv"'})


@router.get("/tags/{tag_id}/trend.xlsx")
def trend_xlsx(tag_id: int, session: SessionDep, user: Viewer, start_ms: int | None = None,
               end_ms: int | None = None, resolution: str = "auto") -> Response:
    start, end = _range(start_ms, end_ms)
    t = service.trend(session, tag_id, start, end, resolution)
    headers, rows = _rows(t)
    book = Workbook(write_only=True)
    ws = book.create_sheet(t.signal[:31])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    data = io.BytesIO()
    book.save(data)
    return xlsx_response(data.getvalue(), f"trend-{t.signal}-{tag_id}.xlsx")


@router.get("/machines/status")
def machine_status(session: SessionDep, user: Viewer, line_id: int | None = None) -> list[StatusRead]:
    """Every machine's state, current operation, count against plan and last stop reason."""
    return board.status_board(session, line_id)


@router.get("/machines/{equipment_id}/stops")
def stops(equipment_id: int, session: SessionDep, user: Viewer) -> dict[str, Any]:
    """A machine's stops still waiting for a reason, and the reasons it can be given."""
    return {
        "stops": [IntervalRead.model_validate(i) for i in service.uncoded_stops(session, equipment_id)],
        "reasons": [{"id": r.id, "code": r.code, "name": r.display_name("zh_CN"), "name_en": r.display_name("en"),
                     "parent_id": r.parent_id, "planned": r.planned}
                    for r in service.reasons_for(session, equipment_id)],
    }


@router.post("/stops/{interval_id}/reason")
def code_stop(interval_id: int, body: CodeStopIn, uow: UowDep, user: Changer) -> IntervalRead:
    interval = service.code_stop(uow, interval_id, body.reason_id, body.note)
    uow.commit()
    return IntervalRead.model_validate(interval)
