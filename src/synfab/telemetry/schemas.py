"""Tags, state models, trends and stops in and out of the API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synfab.telemetry.choices import DataType, MachineState, TimeElement


class TagCreate(BaseModel):
    connector_id: int
    address: str = Field(min_length=1, max_length=300)
    equipment_id: int
    signal: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str | None = Field(default=None, max_length=200)
    datatype: DataType = DataType.FLOAT
    unit: str | None = Field(default=None, max_length=20)
    scale: float = 1.0
    offset: float = 0.0
    deadband: float = Field(default=0.0, ge=0)
    sampling_ms: int = Field(default=0, ge=0)
    tag_class_id: int | None = None
    enabled: bool = True


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connector_id: int
    address: str
    equipment_id: int
    signal: str
    name: str | None
    datatype: DataType
    unit: str | None
    scale: float
    offset: float
    deadband: float
    sampling_ms: int
    enabled: bool
    version: int


class TrendPoint(BaseModel):
    ts_ms: int
    value: float | None = None
    min: float | None = None
    max: float | None = None
    count: int | None = None


class TrendRead(BaseModel):
    tag_id: int
    signal: str
    unit: str | None
    resolution: str  # "raw" or "1m", "5m", "1h", …
    points: list[TrendPoint]


class StatusRead(BaseModel):
    equipment_id: int
    equipment_code: str
    equipment_name: str
    line_id: int | None
    state: MachineState
    since_ms: int
    operation_id: int | None
    work_order_code: str | None = None
    operation_name: str | None = None
    planned_qty: float | None = None
    counted_qty: float = 0.0
    scrap_qty: float = 0.0
    last_stop_reason: str | None = None
    signals: dict[str, Any] = Field(default_factory=dict)


class IntervalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    equipment_id: int
    state: MachineState
    time_element: TimeElement | None
    start_ms: int
    end_ms: int | None
    operation_id: int | None
    reason_id: int | None
    coded_by: str | None


class CodeStopIn(BaseModel):
    reason_id: int
    note: str | None = Field(default=None, max_length=400)
