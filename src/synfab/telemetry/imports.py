"""Machine-data kinds for Excel/CSV/YAML import and export: tags (tag lists are long), state models per
equipment class, and downtime reason trees."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.connect.files.spec import (
    Column, ImportContext, ImportKind, Row, choice_parser, parse_bool, parse_decimal, parse_int, parse_text,
)
from synfab.connect.imports import dump_mapping, parse_mapping
from synfab.connect.models import Connector
from synfab.core.errors import DomainError
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant.choices import PRODUCTIVE_LEVELS
from synfab.plant.models import EquipmentClass, PlantNode
from synfab.telemetry import service
from synfab.telemetry.choices import DataType
from synfab.telemetry.models import DowntimeReason, StateModel, Tag
from synfab.telemetry.schemas import TagCreate


def _float(value: Any) -> float:
    return float(parse_decimal(value))


class TagKind(ImportKind):
    name = "tags"
    title = _l("Tags")
    sheet_names = ("点位", "点表", "tags", "tag list")
    permission = "equipment_data.create"
    view_permission = "equipment_data.view"
    depends_on = ("connectors", "plant")
    key = ("connector", "address")
    columns = (
        Column("connector", "Connector", "连接器", required=True, example="PLC-CAL"),
        Column("address", "Address", "地址", lambda v: parse_text(v, 300), required=True,
               example="ns=2;s=CNC-01.Temperature"),
        Column("equipment", "Equipment", "设备", required=True, example="CNC-01"),
        Column("signal", "Signal", "信号", required=True, example="temperature"),
        Column("name", "Name", "名称"),
        Column("datatype", "Data type", "数据类型", choice_parser(DataType), example="float"),
        Column("unit", "Unit", "单位", example="°C"),
        Column("scale", "Scale", "倍率", _float, example="0.1"),
        Column("offset", "Offset", "偏移", _float, example="0"),
        Column("deadband", "Deadband", "死区", _float, example="0.5"),
        Column("sampling_ms", "Sampling (ms)", "采样间隔(毫秒)", parse_int, example="1000"),
        Column("enabled", "Enabled", "启用", parse_bool, example="yes"),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        connectors = dict(s.execute(select(Connector.code, Connector.id)).all())
        nodes = {n.code: n for n in s.scalars(select(PlantNode).where(PlantNode.level.in_(PRODUCTIVE_LEVELS)))}
        existing = {(t.connector_id, t.address): t for t in s.scalars(select(Tag))}
        for row in rows:
            if not row.ok:
                continue
            v = row.values
            connector = connectors.get(v["connector"])
            node = nodes.get(v["equipment"])
            if connector is None:
                ctx.error(row, "connector", "connector_not_found", _l("There is no connector with code {code}.",
                                                                     code=v["connector"]))
            if node is None:
                ctx.error(row, "equipment", "equipment_not_found", _l(
                    "There is no work center or equipment with code {code}.", code=v["equipment"]))
            if connector is None or node is None:
                continue
            data = {"equipment_id": node.id, "signal": v["signal"], "name": v.get("name"),
                    "datatype": v.get("datatype") or DataType.FLOAT, "unit": v.get("unit"),
                    "scale": v.get("scale", 1.0) if v.get("scale") is not None else 1.0,
                    "offset": v.get("offset") or 0.0, "deadband": v.get("deadband") or 0.0,
                    "sampling_ms": v.get("sampling_ms") or 0,
                    "enabled": v.get("enabled") is not False}
            found = existing.get((connector, v["address"]))
            try:
                if found is None:
                    service.create_tag(uow, TagCreate(connector_id=connector, address=v["address"], **data))
                    ctx.count("created")
                elif any(getattr(found, k) != val for k, val in data.items()):
                    for k, val in data.items():
                        setattr(found, k, val)
                    ctx.count("updated")
                else:
                    ctx.count("unchanged")
            except DomainError as exc:
                ctx.refused(row, exc, {"tag_signal_taken": "signal", "tag_equipment_invalid": "equipment"})
            except ValueError as exc:  # pydantic: a signal name with spaces, a negative deadband …
                ctx.error(row, "signal", "tag_invalid", _l("This tag is not valid: {detail}",
                                                           detail=str(exc).splitlines()[-1][:200]))

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        connectors = dict(session.execute(select(Connector.id, Connector.code)).all())
        nodes = dict(session.execute(select(PlantNode.id, PlantNode.code)).all())
        for t in service.list_tags(session):
            yield {"connector": connectors.get(t.connector_id), "address": t.address,
                   "equipment": nodes.get(t.equipment_id), "signal": t.signal, "name": t.name,
                   "datatype": t.datatype, "unit": t.unit, "scale": t.scale, "offset": t.offset,
                   "deadband": t.deadband, "sampling_ms": t.sampling_ms, "enabled": t.enabled}


class StateModelKind(ImportKind):
    name = "state_models"
    title = _l("Machine state models")
    sheet_names = ("状态模型", "state models")
    permission = "equipment_data.create"
    view_permission = "equipment_data.view"
    depends_on = ("equipment_classes",)
    key = ("equipment_class",)
    columns = (
        Column("equipment_class", "Equipment class", "设备类别", required=True, example="CNC-LATHE"),
        Column("definition", "Rules", "规则", parse_mapping, required=True,
               example='{"rules": [{"state": "down", "when": {"signal": "alarm", "op": "ne", "value": 0}}]}'),
        Column("enabled", "Enabled", "启用", parse_bool, example="yes"),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        classes = dict(uow.session.execute(select(EquipmentClass.code, EquipmentClass.id)).all())
        for row in rows:
            if not row.ok:
                continue
            cls = classes.get(row.values["equipment_class"])
            if cls is None:
                ctx.error(row, "equipment_class", "equipment_class_not_found", _l(
                    "There is no equipment class with code {code}.", code=row.values["equipment_class"]))
                continue
            model = service.set_state_model(uow, cls, row.values["definition"], row.values.get("enabled") is not False)
            if model.error:  # kept, disabled, with its error: the row says what is wrong
                ctx.warning(row, "definition", "state_model_invalid", _l(
                    "Saved but not used until corrected: {error}", error=model.error))
            ctx.count("updated" if model.version > 1 else "created")

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        classes = dict(session.execute(select(EquipmentClass.id, EquipmentClass.code)).all())
        for m in session.scalars(select(StateModel).order_by(StateModel.equipment_class_id)):
            yield {"equipment_class": classes.get(m.equipment_class_id), "definition": dump_mapping(m.definition),
                   "enabled": m.enabled}


class DowntimeReasonKind(ImportKind):
    name = "downtime_reasons"
    title = _l("Downtime reasons")
    sheet_names = ("停机原因", "downtime reasons")
    permission = "equipment_data.create"
    view_permission = "equipment_data.view"
    depends_on = ("equipment_classes",)
    columns = (
        Column("code", "Code", "编码", required=True, example="MECH"),
        Column("name", "Name", "名称", required=True, example="机械故障"),
        Column("name_en", "English name", "英文名称", example="Mechanical failure"),
        Column("parent", "Parent", "上级", example=""),
        Column("equipment_class", "Equipment class", "设备类别", example=""),
        Column("planned", "Planned", "计划内", parse_bool, example="no"),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        classes = dict(s.execute(select(EquipmentClass.code, EquipmentClass.id)).all())
        reasons = {r.code: r for r in s.scalars(select(DowntimeReason))}
        for row in rows:  # parents first: a parent must come before its children in the file
            if not row.ok:
                continue
            v = row.values
            parent = reasons.get(v["parent"]) if v.get("parent") else None
            if v.get("parent") and parent is None:
                ctx.error(row, "parent", "parent_not_found", _l(
                    "There is no reason {code} above this row.", code=v["parent"]))
                continue
            cls = classes.get(v["equipment_class"]) if v.get("equipment_class") else None
            if v.get("equipment_class") and cls is None:
                ctx.error(row, "equipment_class", "equipment_class_not_found", _l(
                    "There is no equipment class with code {code}.", code=v["equipment_class"]))
                continue
            data = {"name": v["name"], "name_en": v.get("name_en"), "parent_id": parent.id if parent else None,
                    "equipment_class_id": cls, "planned": bool(v.get("planned"))}
            found = reasons.get(v["code"])
            if found is None:
                found = DowntimeReason(code=v["code"], **data)
                s.add(found)
                s.flush()
                reasons[found.code] = found
                ctx.count("created")
            elif any(getattr(found, k) != val for k, val in data.items()):
                for k, val in data.items():
                    setattr(found, k, val)
                ctx.count("updated")
            else:
                ctx.count("unchanged")

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        classes = dict(session.execute(select(EquipmentClass.id, EquipmentClass.code)).all())
        reasons = list(session.scalars(select(DowntimeReason).order_by(DowntimeReason.id)))
        codes = {r.id: r.code for r in reasons}
        for r in reasons:
            yield {"code": r.code, "name": r.name, "name_en": r.name_en, "parent": codes.get(r.parent_id),
                   "equipment_class": classes.get(r.equipment_class_id), "planned": r.planned}


KINDS = [TagKind, StateModelKind, DowntimeReasonKind]
