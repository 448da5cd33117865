"""The live equipment status board: each machine's state, current order, count against plan, last stop reason."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core.i18n import current_locale
from synfab.orders.service.operations import describe_operations
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode
from synfab.telemetry.choices import MachineState
from synfab.telemetry.models import DowntimeReason, MachineStatus, StateInterval, Tag
from synfab.telemetry.schemas import StatusRead
from synfab.telemetry.service import counted


def _line_of(node: PlantNode, nodes: dict[int, PlantNode]) -> int | None:
    parent = nodes.get(node.parent_id) if node.parent_id else None
    while parent is not None and parent.level is not Level.LINE:
        parent = nodes.get(parent.parent_id) if parent.parent_id else None
    return parent.id if parent is not None else None


def status_board(session: Session, line_id: int | None = None) -> list[StatusRead]:
    """Machines that have tags, in plant order; optionally those of one line."""
    locale = current_locale()
    equipment_ids = set(session.scalars(select(Tag.equipment_id).distinct()))
    statuses = {s.equipment_id: s for s in session.scalars(select(MachineStatus))}
    equipment_ids |= set(statuses)
    if not equipment_ids:
        return []
    nodes = {n.id: n for n in session.scalars(select(PlantNode))}
    operations = {s.operation_id for s in statuses.values() if s.operation_id}
    described = describe_operations(session, operations)
    counts = counted(session, list(operations))
    last_reason: dict[int, str] = {}
    coded = session.execute(
        select(StateInterval.equipment_id, DowntimeReason)
        .join(DowntimeReason, DowntimeReason.id == StateInterval.reason_id)
        .where(StateInterval.equipment_id.in_(equipment_ids)).order_by(StateInterval.start_ms))
    for equipment_id, reason in coded:
        last_reason[equipment_id] = reason.display_name(locale)
    out: list[StatusRead] = []
    for equipment_id in sorted(equipment_ids, key=lambda i: (nodes[i].path, nodes[i].sort_order, nodes[i].code)
                               if i in nodes else ("", 0, "")):
        node = nodes.get(equipment_id)
        if node is None:
            continue  # outside the caller's scope
        line = _line_of(node, nodes)
        if line_id is not None and line != line_id:
            continue
        status = statuses.get(equipment_id)
        op = status.operation_id if status else None
        wo_code, op_name, qty = described.get(op, (None, None, None)) if op else (None, None, None)
        produced, scrap = counts.get(op, (0.0, 0.0)) if op else (0.0, 0.0)
        out.append(StatusRead(
            equipment_id=equipment_id, equipment_code=node.code, equipment_name=node.display_name(locale),
            line_id=line, state=status.state if status else MachineState.OFFLINE,
            since_ms=status.since_ms if status else 0, operation_id=op, work_order_code=wo_code,
            operation_name=op_name, planned_qty=float(qty) if qty is not None else None, counted_qty=produced,
            scrap_qty=scrap, last_stop_reason=last_reason.get(equipment_id),
            signals={k: v[1] for k, v in (status.signals or {}).items()} if status else {}))
    return out
