"""Machine connectors: configure them (scoped to their site), and read their health."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.connect.kinds import check_config
from synfab.connect.models import Connector, ConnectorStatus, QuarantinedInput, UnmappedAddress
from synfab.connect.schemas import ConnectorCreate, ConnectorHealthRead, ConnectorRead, ConnectorUpdate
from synfab.core.db import check_version
from synfab.core.errors import Conflict, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode


def get_connector(session: Session, connector_id: int) -> Connector:
    connector = session.get(Connector, connector_id)
    if connector is None:
        raise NotFound("connector_not_found", _l("Connector {id} does not exist.", id=connector_id))
    return connector


def connector_by_code(session: Session, code: str) -> Connector:
    connector = session.scalar(select(Connector).where(Connector.code == code))
    if connector is None:
        raise NotFound("connector_not_found", _l("Connector {id} does not exist.", id=code))
    return connector


def connector_for_sending(session: Session, code: str, restriction: Any) -> Connector:
    """The connector a device sends to: a token with `equipment_data.create` over the connector's site may, even
    without seeing connectors' settings (`connector.view`)."""
    row = session.execute(select(Connector, PlantNode.path).join(PlantNode, PlantNode.id == Connector.site_id)
                          .where(Connector.code == code).execution_options(unrestricted=True)).first()
    if row is None or (restriction is not None and not restriction.allows_node("equipment_data", "create", row[1])):
        raise NotFound("connector_not_found", _l("Connector {id} does not exist.", id=code))
    return row[0]


def _site(session: Session, site_id: int) -> PlantNode:
    node = session.get(PlantNode, site_id)
    if node is None or node.level is not Level.SITE:
        raise NotFound("site_not_found", _l("Site {id} does not exist.", id=site_id))
    return node


def create_connector(uow: UnitOfWork, data: ConnectorCreate) -> Connector:
    """Add a connector to a site; its settings are checked against its protocol's schema."""
    s = uow.session
    _site(s, data.site_id)
    if s.scalar(select(Connector.id).where(Connector.code == data.code)) is not None:
        raise Conflict("connector_code_taken", _l("A connector with code {code} already exists.", code=data.code))
    connector = Connector(code=data.code, name=data.name, kind=data.kind, site_id=data.site_id,
                          config=check_config(data.kind, data.config), secret=data.secret or None,
                          enabled=data.enabled, description=data.description)
    s.add(connector)
    s.flush()
    return connector


def update_connector(uow: UnitOfWork, connector_id: int, data: ConnectorUpdate) -> Connector:
    connector = get_connector(uow.session, connector_id)
    check_version(connector, data.version)
    if data.name is not None:
        connector.name = data.name
    if data.config is not None:
        connector.config = check_config(connector.kind, data.config)
    if data.secret is not None:
        connector.secret = data.secret or None
    if data.enabled is not None:
        connector.enabled = data.enabled
    if data.description is not None:
        connector.description = data.description
    uow.session.flush()
    return connector


def list_connectors(session: Session) -> Sequence[Connector]:
    return session.scalars(select(Connector).order_by(Connector.code)).all()


def health_of(session: Session, connector_ids: list[int]) -> dict[int, ConnectorHealthRead]:
    rows = session.scalars(select(ConnectorStatus).where(ConnectorStatus.connector_id.in_(connector_ids)))
    return {r.connector_id: ConnectorHealthRead.model_validate(r, from_attributes=True) for r in rows}


def read_connectors(session: Session, connectors: Sequence[Connector]) -> list[ConnectorRead]:
    health = health_of(session, [c.id for c in connectors])
    return [ConnectorRead(id=c.id, code=c.code, name=c.name, kind=c.kind, site_id=c.site_id, config=c.config,
                          has_secret=bool(c.secret), enabled=c.enabled, description=c.description, version=c.version,
                          health=health.get(c.id, ConnectorHealthRead())) for c in connectors]


def quarantined(session: Session, connector_id: int | None = None, limit: int = 200) -> Sequence[QuarantinedInput]:
    q = select(QuarantinedInput).order_by(QuarantinedInput.id.desc()).limit(limit)
    if connector_id is not None:
        q = q.where(QuarantinedInput.connector_id == connector_id)
    return session.scalars(q).all()


def unmapped(session: Session, connector_id: int | None = None) -> Sequence[UnmappedAddress]:
    q = select(UnmappedAddress).order_by(UnmappedAddress.connector_id, UnmappedAddress.address)
    if connector_id is not None:
        q = q.where(UnmappedAddress.connector_id == connector_id)
    return session.scalars(q).all()
