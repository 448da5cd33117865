"""Machine connectors JSON API: configuration, health, test connection, quarantine, and the HTTP ingest."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request

from synfab.connect import manager, service
from synfab.telemetry.service import list_tags
from synfab.connect.choices import ConnectorKind
from synfab.connect.pipeline import TelemetryPipeline
from synfab.connect.runtime import Reading, SourceError, now_ms
from synfab.connect.schemas import (
    ConnectorCreate, ConnectorRead, ConnectorUpdate, IngestIn, IngestPoint, IngestResult,
)
from synfab.core.errors import Invalid, Unavailable
from synfab.core.i18n import _l
from synfab.people.service import Principal
from synfab.web.deps import SessionDep, UowDep, require

router = APIRouter(prefix="/api/v1", tags=["connectors"])

Viewer = Annotated[Principal, require("connector.view")]
Creator = Annotated[Principal, require("connector.create")]
Changer = Annotated[Principal, require("connector.change")]
Sender = Annotated[Principal, require("equipment_data.create")]


def telemetry_pipeline(app: FastAPI) -> TelemetryPipeline:
    """This server's machine-data pipeline (buffer and writer), made and started when first needed."""
    pipeline: TelemetryPipeline | None = app.state.telemetry
    if pipeline is None:
        settings = app.state.settings
        pipeline = TelemetryPipeline.at(app.state.db, Path(settings.buffer_dir),
                                        max_bytes=settings.buffer_max_mb * 1024 * 1024)
        pipeline.start()
        app.state.telemetry = pipeline
    return pipeline


@router.get("/connectors")
def list_connectors(session: SessionDep, user: Viewer) -> list[ConnectorRead]:
    """Connectors in the caller's scope with their health: connected, last data, points/s, errors, buffer fill."""
    return service.read_connectors(session, service.list_connectors(session))


@router.post("/connectors", status_code=201)
def create_connector(body: ConnectorCreate, uow: UowDep, user: Creator) -> ConnectorRead:
    connector = service.create_connector(uow, body)
    uow.commit()
    return service.read_connectors(uow.session, [connector])[0]


@router.get("/connectors/{connector_id}")
def get_connector(connector_id: int, session: SessionDep, user: Viewer) -> ConnectorRead:
    return service.read_connectors(session, [service.get_connector(session, connector_id)])[0]


@router.patch("/connectors/{connector_id}")
def update_connector(connector_id: int, body: ConnectorUpdate, uow: UowDep, user: Changer) -> ConnectorRead:
    """Change settings, secret or `enabled` (start/stop): the process running it follows within seconds."""
    connector = service.update_connector(uow, connector_id, body)
    uow.commit()
    return service.read_connectors(uow.session, [connector])[0]


@router.post("/connectors/{connector_id}/test")
async def test_connection(connector_id: int, request: Request, session: SessionDep, user: Changer) -> dict[str, Any]:
    """Connect once with the saved settings and say what answered (or why nothing did)."""
    service.get_connector(session, connector_id)  # in scope, or 404
    try:
        summary = await manager.probe(request.app.state.db, connector_id)
    except manager.NoSource:
        raise Invalid("connector_has_no_source", _l("An HTTP ingest connector has no source to test: devices "
                                                    "post their data to synfab.")) from None
    except SourceError as exc:
        raise Unavailable("connector_test_failed", _l("The connection test failed: {reason}", reason=str(exc))) \
            from None
    return {"ok": True, "summary": summary}


@router.get("/connectors/{connector_id}/browse")
async def browse(connector_id: int, session: SessionDep, user: Changer, node_id: str | None = None) -> dict[str, Any]:
    """An OPC UA connector's server, one level at a time (default: the Objects folder), to pick nodes to map;
    each child says whether it has children and, for variables, the address a tag would use."""
    connector = service.get_connector(session, connector_id)
    if connector.kind is not ConnectorKind.OPCUA:  # other sources say what they have by sending it (unmapped)
        return {"node_id": node_id, "browsable": False, "children": []}
    from synfab.connect.opcua.coordinator import browse as browse_server

    try:
        children = await browse_server(connector.config, connector.secret, node_id)
    except SourceError as exc:
        raise Unavailable("connector_test_failed", _l("The connection test failed: {reason}", reason=str(exc))) \
            from None
    mapped = {t.address for t in list_tags(session, connector_id=connector.id)}
    return {"node_id": node_id, "browsable": True,
            "children": [{**c, "mapped": c.get("node_id") in mapped} for c in children]}


@router.get("/connectors/{connector_id}/quarantine")
def quarantine(connector_id: int, session: SessionDep, user: Viewer) -> list[dict[str, Any]]:
    service.get_connector(session, connector_id)
    return [{"id": q.id, "received_at": q.received_at, "reason": q.reason, "detail": q.detail,
             "payload": q.payload} for q in service.quarantined(session, connector_id)]


@router.get("/connectors/{connector_id}/unmapped")
def unmapped(connector_id: int, session: SessionDep, user: Viewer) -> list[dict[str, Any]]:
    """Addresses the source sends that no tag maps yet."""
    service.get_connector(session, connector_id)
    return [{"address": u.address, "count": u.count, "last_value": u.last_value, "last_ts_ms": u.last_ts_ms,
             "first_seen": u.first_seen, "last_seen": u.last_seen} for u in service.unmapped(session, connector_id)]


def _timestamp(point: IngestPoint, received_ms: int) -> int | None:
    ts = point.timestamp
    if ts is None:
        return received_ms
    if isinstance(ts, (int, float)):
        return int(ts)
    try:
        return int(datetime.fromisoformat(ts).timestamp() * 1000)
    except ValueError:
        return None


@router.post("/ingest", status_code=202, response_model=IngestResult)
def ingest(body: IngestIn, request: Request, session: SessionDep, user: Sender) -> IngestResult:
    """Batched values from devices and scripts (authenticate with an API token). Accepted once on disk: a
    2xx answer means the points will be stored, exactly once per (address, time)."""
    connector = service.connector_for_sending(session, body.connector, user.restriction)
    if connector.kind is not ConnectorKind.HTTP:
        raise Invalid("connector_not_http", _l("Connector {code} is not an HTTP ingest connector.",
                                               code=connector.code))
    if not connector.enabled:
        raise Unavailable("connector_disabled", _l("Connector {code} is stopped.", code=connector.code))
    intake = telemetry_pipeline(request.app).intake(connector.id, connector.code)
    received = now_ms()
    readings: list[Reading] = []
    bad = 0
    for point in body.points:
        ts = _timestamp(point, received)
        if ts is None:
            intake.quarantine("bad_timestamp", f"{point.address}: timestamp {point.timestamp!r}",
                              point.model_dump_json())
            bad += 1
            continue
        readings.append(Reading(point.address, ts, point.value, point.quality))
    if not intake.readings(readings):
        raise Unavailable("buffer_full", _l("synfab cannot take more machine data now (its buffer is full); "
                                            "send the batch again later."))
    if not intake.health.connected:
        intake.connected(True)
    return IngestResult(accepted=len(readings), quarantined=bad)
