"""Machine data for people: tags, state models, trends, the status board, and coding stops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synfab.core.context import current_actor
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant.choices import PRODUCTIVE_LEVELS
from synfab.plant.models import EquipmentClass, PlantNode
from synfab.telemetry.choices import MachineState
from synfab.telemetry.events import DowntimeCoded
from synfab.telemetry.models import (
    DowntimeReason, MachineCount, MachineStatus, Rollup, Sample, StateInterval, StateModel, Tag,
)
from synfab.telemetry.schemas import TagCreate, TrendPoint, TrendRead
from synfab.telemetry.states import definition_error

STOPPED = (MachineState.DOWN, MachineState.IDLE, MachineState.PLANNED_STOP)


def get_tag(session: Session, tag_id: int) -> Tag:
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise NotFound("tag_not_found", _l("Tag {id} does not exist.", id=tag_id))
    return tag


def create_tag(uow: UnitOfWork, data: TagCreate) -> Tag:
    """Map a source address onto a machine's signal."""
    s = uow.session
    from synfab.connect.service import get_connector  # connectors own their table; a tag names one

    get_connector(s, data.connector_id)
    node = s.get(PlantNode, data.equipment_id)
    if node is None or node.level not in PRODUCTIVE_LEVELS:
        raise Invalid("tag_equipment_invalid", _l("A tag belongs to a work center or a piece of equipment."))
    if s.scalar(select(Tag.id).where(Tag.connector_id == data.connector_id, Tag.address == data.address)):
        raise Conflict("tag_address_taken", _l("Address {address} is already mapped on this connector.",
                                                address=data.address))
    if s.scalar(select(Tag.id).where(Tag.equipment_id == data.equipment_id, Tag.signal == data.signal)):
        raise Conflict("tag_signal_taken", _l("{equipment} already has a signal {signal}.", equipment=node.code,
                                               signal=data.signal))
    tag = Tag(**data.model_dump())
    s.add(tag)
    s.flush()
    return tag


def list_tags(session: Session, equipment_id: int | None = None, connector_id: int | None = None) -> Sequence[Tag]:
    q = select(Tag).order_by(Tag.equipment_id, Tag.signal)
    if equipment_id is not None:
        q = q.where(Tag.equipment_id == equipment_id)
    if connector_id is not None:
        q = q.where(Tag.connector_id == connector_id)
    return session.scalars(q).all()


def set_state_model(uow: UnitOfWork, equipment_class_id: int, definition: dict[str, Any],
                    enabled: bool = True) -> StateModel:
    """Store an equipment class's state model. One that does not validate is kept, disabled, with its error."""
    s = uow.session
    if s.get(EquipmentClass, equipment_class_id) is None:
        raise NotFound("equipment_class_not_found", _l("Equipment class {id} does not exist.", id=equipment_class_id))
    model = s.scalar(select(StateModel).where(StateModel.equipment_class_id == equipment_class_id))
    if model is None:
        model = StateModel(equipment_class_id=equipment_class_id, definition={})
        s.add(model)
    error = definition_error(definition)
    model.definition, model.error, model.enabled = definition, error, enabled and error is None
    s.flush()
    return model


# -- trends ----------------------------------------------------------------------------------------------

RESOLUTIONS_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000}
RAW_LIMIT = 5_000


def trend(session: Session, tag_id: int, start_ms: int, end_ms: int, resolution: str = "auto",
          max_points: int = 1_000) -> TrendRead:
    """A tag's values in [start, end): raw samples for short ranges, rolled-up minutes (min/avg/max) beyond."""
    tag = get_tag(session, tag_id)
    if end_ms <= start_ms:
        raise Invalid("trend_range_invalid", _l("The end of the range must be after its start."))
    if resolution == "auto":
        raw_count = session.scalar(select(func.count()).select_from(Sample).where(
            Sample.tag_id == tag_id, Sample.ts_ms >= start_ms, Sample.ts_ms < end_ms)) or 0
        if raw_count <= max_points:
            resolution = "raw"
        else:
            span = (end_ms - start_ms) / max_points
            resolution = next((k for k, v in RESOLUTIONS_MS.items() if v >= span), "1d")
    if resolution == "raw":
        rows = session.execute(select(Sample.ts_ms, Sample.value).where(
            Sample.tag_id == tag_id, Sample.ts_ms >= start_ms, Sample.ts_ms < end_ms)
            .order_by(Sample.ts_ms).limit(RAW_LIMIT))
        points = [TrendPoint(ts_ms=ts, value=v) for ts, v in rows]
    elif resolution in RESOLUTIONS_MS:
        step = RESOLUTIONS_MS[resolution]
        bucket = (Rollup.minute_ms - Rollup.minute_ms % step).label("bucket")
        rows = session.execute(
            select(bucket, func.min(Rollup.min), func.max(Rollup.max), func.sum(Rollup.sum), func.sum(Rollup.count))
            .where(Rollup.tag_id == tag_id, Rollup.minute_ms >= start_ms - start_ms % 60_000, Rollup.minute_ms < end_ms)
            .group_by(bucket).order_by(bucket))
        points = [TrendPoint(ts_ms=int(b), value=(total / n) if n else None, min=lo, max=hi, count=int(n or 0))
                  for b, lo, hi, total, n in rows]
    else:
        raise Invalid("trend_resolution_invalid", _l("Unknown resolution {value}; use raw, 1m, 5m, 15m, 1h or 1d.",
                                                     value=resolution))
    return TrendRead(tag_id=tag.id, signal=tag.signal, unit=tag.unit, resolution=resolution, points=points)


# -- stops -----------------------------------------------------------------------------------------------


def reasons_for(session: Session, equipment_id: int) -> Sequence[DowntimeReason]:
    """The reason tree offered for a machine: its class's reasons and the ones for every machine."""
    node = session.get(PlantNode, equipment_id)
    if node is None:
        raise NotFound("plant_node_not_found", _l("Plant node {id} does not exist.", id=equipment_id))
    q = select(DowntimeReason).where(DowntimeReason.active.is_(True))
    q = q.where(DowntimeReason.equipment_class_id.is_(None) | (DowntimeReason.equipment_class_id
                                                               == node.equipment_class_id))
    return session.scalars(q.order_by(DowntimeReason.code)).all()


def uncoded_stops(session: Session, equipment_id: int, min_ms: int = 60_000, limit: int = 20) -> list[StateInterval]:
    """Stops of a machine without a reason yet, newest first (short ones below `min_ms` are not asked about)."""
    rows = session.scalars(select(StateInterval).where(
        StateInterval.equipment_id == equipment_id, StateInterval.state == MachineState.DOWN,
        StateInterval.reason_id.is_(None)).order_by(StateInterval.start_ms.desc()).limit(limit * 3)).all()
    out = [r for r in rows if r.end_ms is None or r.end_ms - r.start_ms >= min_ms]
    return out[:limit]


def code_stop(uow: UnitOfWork, interval_id: int, reason_id: int, note: str | None = None) -> StateInterval:
    """Give a stop its reason from the machine's reason tree."""
    s = uow.session
    interval = s.get(StateInterval, interval_id)
    if interval is None:
        raise NotFound("stop_not_found", _l("Stop {id} does not exist.", id=interval_id))
    if interval.state not in STOPPED:
        raise Invalid("not_a_stop", _l("Only a stop can be given a reason."))
    reason = s.get(DowntimeReason, reason_id)
    allowed = {r.id for r in reasons_for(s, interval.equipment_id)}
    if reason is None or reason.id not in allowed:
        raise Invalid("stop_reason_invalid", _l("This reason is not in the machine's reason tree."))
    interval.reason_id, interval.note, interval.coded_by = reason.id, note, current_actor().username
    from synfab.core.db import require_in_scope

    require_in_scope(s, interval, "change")
    uow.record(DowntimeCoded(interval_id=interval.id, equipment_id=interval.equipment_id, reason_code=reason.code))
    s.flush()
    return interval


@dataclass
class MachineAtCenter:
    """A machine of a work center as the operator terminal shows it: its state and the stops to explain."""

    equipment_id: int
    code: str
    name: str
    state: MachineState | None
    since_ms: int | None
    stops: list[StateInterval]
    reasons: Sequence[DowntimeReason]


def machines_at(session: Session, work_center_id: int) -> list[MachineAtCenter]:
    """The work center itself and the equipment under it that send machine data, with their uncoded stops."""
    from synfab.core.i18n import current_locale

    nodes = session.scalars(select(PlantNode).where(
        (PlantNode.id == work_center_id) | (PlantNode.parent_id == work_center_id)).order_by(PlantNode.code)).all()
    with_data = set(session.scalars(select(Tag.equipment_id).where(Tag.equipment_id.in_([n.id for n in nodes]))))
    out = []
    for node in nodes:
        if node.id not in with_data:
            continue
        status = session.get(MachineStatus, node.id)
        out.append(MachineAtCenter(node.id, node.code, node.display_name(current_locale()),
                                   status.state if status else None, status.since_ms if status else None,
                                   uncoded_stops(session, node.id), reasons_for(session, node.id)))
    return out


def counted(session: Session, operation_ids: list[int]) -> dict[int, tuple[float, float]]:
    """Parts the machines counted per operation: (produced, scrap)."""
    if not operation_ids:
        return {}
    rows = session.execute(select(MachineCount.operation_key, func.sum(MachineCount.produced),
                                  func.sum(MachineCount.scrap))
                           .where(MachineCount.operation_key.in_(operation_ids)).group_by(MachineCount.operation_key))
    return {op: (float(p or 0), float(sc or 0)) for op, p, sc in rows}


def statuses(session: Session) -> Sequence[MachineStatus]:
    return session.scalars(select(MachineStatus).order_by(MachineStatus.equipment_id)).all()
