"""JSON shapes of the dispatch schedule API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from synfab.orders.choices import OperationStatus, Priority
from synfab.orders.schemas import QtyOut
from synfab.planning.schedule.service import MAX_BREAKDOWN_MINUTES


class ScheduledOperationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    operation_id: int
    work_order_id: int
    work_order_code: str
    material_id: int
    material_code: str
    material_name: str
    seq: int
    name: str
    work_center_id: int | None
    work_center_code: str | None
    sequence: int
    quantity: QtyOut
    good_qty: QtyOut
    scrap_qty: QtyOut
    status: OperationStatus
    planned_minutes: QtyOut
    planned_start: datetime | None
    planned_end: datetime | None
    due_date: date
    priority: Priority
    at_risk: bool
    version: int


class WorkOrderScheduleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    work_order_id: int
    code: str
    due_date: date
    due_at: datetime | None
    projected_start: datetime | None
    projected_end: datetime | None
    at_risk: bool
    lateness_minutes: int
    scheduled: bool
    operations: list[ScheduledOperationRead]


class AtRiskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    work_order_id: int
    code: str
    material_code: str
    priority: Priority
    due_date: date
    projected_end: datetime | None
    lateness_minutes: int


class RebuildRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    trigger: str
    anchor: datetime
    operations: int
    changed_operations: int
    changed_work_order_ids: list[int]
    at_risk: int
    milliseconds: int


class BreakdownCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=200)]
    expected_minutes: Annotated[int, Field(ge=1, le=MAX_BREAKDOWN_MINUTES)]
    note: Annotated[str | None, Field(default=None, max_length=2000)] = None


class BreakdownEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = None


class BreakdownRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    work_center_id: int
    started_at: datetime
    expected_until: datetime
    reason: str
    note: str | None
    reported_by: str
    ended_at: datetime | None
    ended_by: str | None
    version: int
