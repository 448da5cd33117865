"""Plant JSON API: the tree, equipment classes, shift calendars and planned operation time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from synfab.people.service import Principal
from synfab.plant import service
from synfab.plant.choices import Level
from synfab.plant.schemas import (
    CalendarCreate, CalendarRead, CalendarUpdate, EquipmentClassCreate, EquipmentClassRead, NodeCreate, NodeRead,
    NodeUpdate, PlannedTimeRead, ShiftWindowRead,
)
from synfab.web.deps import SessionDep, UowDep, require

router = APIRouter(prefix="/api/v1/plant", tags=["plant"])

Viewer = Annotated[Principal, require("plant.view")]
Creator = Annotated[Principal, require("plant.create")]
Changer = Annotated[Principal, require("plant.change")]


@router.get("/nodes")
def list_nodes(session: SessionDep, user: Viewer, level: Annotated[list[Level] | None, Query()] = None,
               under: int | None = None) -> list[NodeRead]:
    """Plant nodes in tree order, optionally of some levels or under one node."""
    return [NodeRead.model_validate(n) for n in service.list_nodes(session, levels=level, under=under)]


@router.post("/nodes", status_code=201)
def create_node(body: NodeCreate, uow: UowDep, user: Creator) -> NodeRead:
    node = service.create_node(uow, body)
    uow.commit()
    return NodeRead.model_validate(node)


@router.get("/nodes/{node_id}")
def get_node(node_id: int, session: SessionDep, user: Viewer) -> NodeRead:
    return NodeRead.model_validate(service.get_node(session, node_id))


@router.patch("/nodes/{node_id}")
def update_node(node_id: int, body: NodeUpdate, uow: UowDep, user: Changer) -> NodeRead:
    """Change a node; moving it (`parent_id`) moves its subtree. A stale `version` gets 409."""
    node = service.update_node(uow, node_id, body)
    uow.commit()
    return NodeRead.model_validate(node)


@router.get("/nodes/{node_id}/planned-time")
def planned_time(node_id: int, start: datetime, end: datetime, session: SessionDep, user: Viewer) -> PlannedTimeRead:
    """Planned operation time of a node between two instants, with the shift occurrences behind it."""
    wt = service.working_time_for(session, node_id)
    windows = wt.windows(start, end)
    return PlannedTimeRead(
        node_id=node_id, start=start, end=end, planned_seconds=wt.planned_time(start, end).total_seconds(),
        shifts=[ShiftWindowRead(shift_code=w.shift_code, day=w.day, start=w.start, end=w.end,
                                planned_seconds=w.planned.total_seconds()) for w in windows],
    )


@router.get("/equipment-classes")
def list_equipment_classes(session: SessionDep, user: Viewer) -> list[EquipmentClassRead]:
    return [EquipmentClassRead.model_validate(c) for c in service.list_equipment_classes(session)]


@router.post("/equipment-classes", status_code=201)
def create_equipment_class(body: EquipmentClassCreate, uow: UowDep, user: Creator) -> EquipmentClassRead:
    ec = service.create_equipment_class(uow, body)
    uow.commit()
    return EquipmentClassRead.model_validate(ec)


@router.get("/calendars")
def list_calendars(session: SessionDep, user: Viewer) -> list[CalendarRead]:
    return [CalendarRead.model_validate(c) for c in service.list_calendars(session)]


@router.post("/calendars", status_code=201)
def create_calendar(body: CalendarCreate, uow: UowDep, user: Creator) -> CalendarRead:
    cal = service.create_calendar(uow, body)
    uow.commit()
    return CalendarRead.model_validate(service.get_calendar(uow.session, cal.id))


@router.get("/calendars/{calendar_id}")
def get_calendar(calendar_id: int, session: SessionDep, user: Viewer) -> CalendarRead:
    return CalendarRead.model_validate(service.get_calendar(session, calendar_id))


@router.put("/calendars/{calendar_id}")
def update_calendar(calendar_id: int, body: CalendarUpdate, uow: UowDep, user: Changer) -> CalendarRead:
    """Replace a calendar's shifts and exception days."""
    cal = service.update_calendar(uow, calendar_id, body)
    uow.commit()
    return CalendarRead.model_validate(service.get_calendar(uow.session, cal.id))
