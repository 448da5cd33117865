"""Machine connectors as data: where each source is, how to reach it, and what it is doing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.connect.choices import ConnectorKind
from synfab.core import clock
from synfab.core.choices import ChoiceType
from synfab.core.crypto import EncryptedText
from synfab.core.db import Base, UtcDateTime, Versioned
from synfab.core.scoping import ScopeNodes, Scoped
from synfab.plant.models import PlantNode


class _InSite(Scoped):
    __object_type__ = "connector"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return cls._site_column().in_(nodes.subtree)

    @classmethod
    def _site_column(cls) -> Any:
        return cls.site_id  # type: ignore[attr-defined]


class Connector(_InSite, Versioned, Base):
    """One source of machine data (an OPC UA server, a Modbus device, a broker) in one site.

    `config` follows the protocol's schema; passwords and private keys live encrypted in `secret`."""

    __tablename__ = "connector"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ConnectorKind] = mapped_column(ChoiceType(ConnectorKind, 20))
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[str | None] = mapped_column(EncryptedText())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)

    site: Mapped[PlantNode] = relationship(viewonly=True)

    __audit_exclude__ = ("secret",)


class ConnectorStatus(_InSite, Base):
    """What a running connector last reported: written every few seconds by the process that runs it."""

    __audited__ = False
    __tablename__ = "connector_status"

    connector_id: Mapped[int] = mapped_column(ForeignKey("connector.id", ondelete="CASCADE"), primary_key=True,
                                              autoincrement=False)
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    running: Mapped[bool] = mapped_column(Boolean, default=False)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_data_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    points_per_s: Mapped[float] = mapped_column(Float, default=0.0)
    points_total: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    unmapped: Mapped[int] = mapped_column(Integer, default=0)
    buffer_fill: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str | None] = mapped_column(Text)
    process: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)


class QuarantinedInput(_InSite, Base):
    """Input a connector could not read — kept with its reason, never silently dropped."""

    __audited__ = False
    __tablename__ = "quarantined_input"
    __table_args__ = (Index("ix_quarantined_input_connector_at", "connector_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connector.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)


class UnmappedAddress(_InSite, Base):
    """An address a source sends that no tag maps yet: listed for mapping, with what it last sent."""

    __audited__ = False
    __tablename__ = "unmapped_address"
    __table_args__ = (UniqueConstraint("connector_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connector_id: Mapped[int] = mapped_column(ForeignKey("connector.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    address: Mapped[str] = mapped_column(String(300))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_value: Mapped[str | None] = mapped_column(String(200))
    last_ts_ms: Mapped[int | None] = mapped_column(BigInteger)
