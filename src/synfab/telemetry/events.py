"""What machines did, as domain events."""

from __future__ import annotations

from dataclasses import dataclass

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class MachineStateChanged(Event):
    equipment_id: int
    equipment_code: str
    state: str
    previous: str | None
    at_ms: int
    operation_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class MachineDown(Event):
    """A machine stopped unplanned (or lost its connection is *not* this: that is `offline`)."""

    equipment_id: int
    equipment_code: str
    at_ms: int
    work_center_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class DowntimeCoded(Event):
    interval_id: int
    equipment_id: int
    reason_code: str


@dataclass(frozen=True, kw_only=True)
class BufferFillingUp(Event):
    """A connector process's store-and-forward buffer is filling: the store is not taking data."""

    process: str
    fill: float
