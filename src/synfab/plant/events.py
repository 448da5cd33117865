from __future__ import annotations

from dataclasses import dataclass

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class PlantNodeCreated(Event):
    node_id: int
    code: str
    level: str
    parent_id: int | None


@dataclass(frozen=True, kw_only=True)
class PlantNodeChanged(Event):
    node_id: int
    code: str
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class PlantNodeMoved(Event):
    node_id: int
    code: str
    old_parent_id: int | None
    new_parent_id: int


@dataclass(frozen=True, kw_only=True)
class ShiftCalendarChanged(Event):
    calendar_id: int
    code: str
