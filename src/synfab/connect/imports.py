"""Connector kind for Excel/CSV/YAML import and export (secrets are never exported nor imported: set them on the
connector's page)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.connect import service
from synfab.connect.choices import ConnectorKind
from synfab.connect.kinds import check_config
from synfab.connect.models import Connector
from synfab.connect.files.spec import CellError, Column, ImportContext, ImportKind, Row, choice_parser, parse_bool
from synfab.connect.schemas import ConnectorCreate
from synfab.core.errors import DomainError
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode


def parse_mapping(value: Any) -> dict[str, Any]:
    """A cell holding settings as JSON or YAML text (a YAML file gives the mapping itself)."""
    if isinstance(value, dict):
        return value
    try:
        data = yaml.safe_load(str(value)) if str(value).strip() else {}
    except yaml.YAMLError as exc:
        raise CellError("not_a_mapping", _l("Write the settings as JSON or YAML: {detail}",
                                            detail=str(exc).splitlines()[0][:120])) from None
    if not isinstance(data, dict):
        raise CellError("not_a_mapping", _l("Write the settings as JSON or YAML key/value pairs."))
    return data


def dump_mapping(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


class ConnectorKindImport(ImportKind):
    name = "connectors"
    title = _l("Machine connectors")
    sheet_names = ("连接器", "connectors")
    permission = "connector.create"
    view_permission = "connector.view"
    depends_on = ("plant",)
    columns = (
        Column("code", "Code", "编码", required=True, example="PLC-CAL"),
        Column("name", "Name", "名称", required=True, example="卡钳线 OPC UA"),
        Column("kind", "Protocol", "协议", choice_parser(ConnectorKind), required=True, example="opcua"),
        Column("site", "Site", "工厂", required=True, example="SH"),
        Column("config", "Settings", "设置", parse_mapping, example='{"endpoint": "opc.tcp://10.0.0.5:4840"}'),
        Column("enabled", "Enabled", "启用", parse_bool, example="yes"),
        Column("description", "Description", "说明"),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        sites = {n.code: n.id for n in s.scalars(select(PlantNode).where(PlantNode.level == Level.SITE))}
        existing = {c.code: c for c in s.scalars(select(Connector))}
        for row in rows:
            if not row.ok:
                continue
            v = row.values
            site = sites.get(v["site"])
            if site is None:
                ctx.error(row, "site", "site_not_found", _l("There is no site with code {code}.", code=v["site"]))
                continue
            config = v.get("config") or {}
            found = existing.get(v["code"])
            try:
                if found is None:
                    service.create_connector(uow, ConnectorCreate(
                        code=v["code"], name=v["name"], kind=v["kind"], site_id=site, config=config,
                        enabled=v.get("enabled", True) is not False, description=v.get("description")))
                    ctx.count("created")
                    continue
                checked = check_config(found.kind, config)
                changes = {"name": v["name"], "config": checked, "description": v.get("description")}
                if v.get("enabled") is not None:
                    changes["enabled"] = v["enabled"]
                if any(getattr(found, k) != val for k, val in changes.items()):
                    for k, val in changes.items():
                        setattr(found, k, val)
                    ctx.count("updated")
                else:
                    ctx.count("unchanged")
            except DomainError as exc:
                ctx.refused(row, exc, {"connector_config_invalid": "config", "connector_code_taken": "code"})

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        sites = dict(session.execute(select(PlantNode.id, PlantNode.code).where(PlantNode.level == Level.SITE)).all())
        for c in service.list_connectors(session):
            yield {"code": c.code, "name": c.name, "kind": c.kind, "site": sites.get(c.site_id),
                   "config": dump_mapping(c.config), "enabled": c.enabled, "description": c.description}


KINDS = [ConnectorKindImport]
