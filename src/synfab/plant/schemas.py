"""JSON shapes of the plant API (Create / Update / Read families)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from synfab.plant.choices import Level, StorageRole


def _without_offset(value: time) -> time:
    if value.tzinfo is not None:
        raise PydanticCustomError("time_with_offset", "a shift time has no time zone")
    return value


# Shift and break times are wall-clock times at the plant ("08:00", "16:30:00"), read in the site's time zone:
# no UTC offset, and the schema says so (a plain `time` promises RFC 3339's "08:00:00Z").
WallTime = Annotated[time, AfterValidator(_without_offset), WithJsonSchema({
    "type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$", "examples": ["08:00"]})]


class NodeCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    level: Level
    parent_id: int | None = None
    time_zone: str | None = None
    shift_calendar_id: int | None = None
    equipment_class_id: int | None = None
    capacity: int = Field(default=1, ge=1, le=1000)
    storage_role: StorageRole | None = None
    sort_order: int = 0
    description: str | None = None


class NodeUpdate(BaseModel):
    """Fields left out stay as they are; `version` is the one the client loaded."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = None
    parent_id: int | None = None
    time_zone: str | None = None
    shift_calendar_id: int | None = None
    equipment_class_id: int | None = None
    capacity: int | None = Field(default=None, ge=1, le=1000)
    storage_role: StorageRole | None = None
    sort_order: int | None = None
    description: str | None = None
    active: bool | None = None


class NodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None
    level: Level
    parent_id: int | None
    path: str
    depth: int
    time_zone: str | None
    shift_calendar_id: int | None
    equipment_class_id: int | None
    capacity: int
    storage_role: StorageRole | None
    sort_order: int
    description: str | None
    active: bool
    version: int
    updated_at: datetime
    updated_by: str


class EquipmentClassCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = None
    description: str | None = None


class EquipmentClassRead(EquipmentClassCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int


class BreakIn(BaseModel):
    start: WallTime
    end: WallTime


class ShiftIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = None
    start: WallTime
    end: WallTime
    weekdays: str = Field(default="12345", pattern=r"^[1-7]{1,7}$")
    breaks: list[BreakIn] = []


class ExceptionIn(BaseModel):
    day: date
    working: bool = False
    note: str | None = None


class CalendarCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    shifts: list[ShiftIn] = []
    exceptions: list[ExceptionIn] = []


class CalendarUpdate(BaseModel):
    """Replaces the calendar's shifts and exception days with the ones given."""

    version: int
    name: str | None = None
    description: str | None = None
    shifts: list[ShiftIn]
    exceptions: list[ExceptionIn] = []


class BreakRead(BreakIn):
    model_config = ConfigDict(from_attributes=True)


class ShiftRead(ShiftIn):
    model_config = ConfigDict(from_attributes=True)

    breaks: list[BreakRead] = []


class ExceptionRead(ExceptionIn):
    model_config = ConfigDict(from_attributes=True)


class CalendarRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    description: str | None
    version: int
    shifts: list[ShiftRead]
    exceptions: list[ExceptionRead]


class PlannedTimeRead(BaseModel):
    node_id: int
    start: datetime
    end: datetime
    planned_seconds: float
    shifts: list[ShiftWindowRead]


class ShiftWindowRead(BaseModel):
    shift_code: str
    day: date
    start: datetime
    end: datetime
    planned_seconds: float


PlannedTimeRead.model_rebuild()
