"""Connectors in and out of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synfab.connect.choices import ConnectorKind


class ConnectorCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    kind: ConnectorKind
    site_id: int
    config: dict[str, Any] = Field(default_factory=dict)
    # A password, or for OPC UA a JSON object with "password" and "private_key_pem": stored encrypted.
    secret: str | None = None
    enabled: bool = True
    description: str | None = None


class ConnectorUpdate(BaseModel):
    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    secret: str | None = None
    enabled: bool | None = None
    description: str | None = None


class ConnectorHealthRead(BaseModel):
    running: bool = False
    connected: bool = False
    since: datetime | None = None
    last_data_at: datetime | None = None
    points_per_s: float = 0.0
    points_total: int = 0
    errors: int = 0
    quarantined: int = 0
    unmapped: int = 0
    buffer_fill: float = 0.0
    last_error: str | None = None
    process: str | None = None
    updated_at: datetime | None = None


class ConnectorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: ConnectorKind
    site_id: int
    config: dict[str, Any]
    has_secret: bool
    enabled: bool
    description: str | None
    version: int
    health: ConnectorHealthRead


class IngestPoint(BaseModel):
    """One value for the HTTP ingest: the tag's address on this connector, its time (ms or ISO) and value."""

    address: str = Field(min_length=1, max_length=300)
    value: Any = None
    timestamp: int | float | str | None = None
    quality: int = Field(default=0, ge=0, le=2)


class IngestIn(BaseModel):
    connector: str = Field(min_length=1, max_length=40, description="The HTTP connector's code.")
    points: list[IngestPoint] = Field(min_length=1, max_length=50_000)


class IngestResult(BaseModel):
    accepted: int
    quarantined: int
