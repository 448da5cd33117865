"""Connectors, tag lists, state models and reason trees import from YAML and Excel, all or nothing, row by row."""

from __future__ import annotations

import io

import openpyxl
from sqlalchemy import func, select

from synfab.connect.files.export import export_workbook
from synfab.connect.files.registry import kinds
from synfab.connect.files.runner import run_import
from synfab.connect.models import Connector
from synfab.core.db import Database
from synfab.plant.models import EquipmentClass
from synfab.telemetry.models import DowntimeReason, StateModel, Tag
from tests.conftest import MiniPlant

YAML = """
connectors:
  - code: PLC-L1
    name: 一线 OPC UA
    kind: opcua
    site: SH
    config: {endpoint: "opc.tcp://10.0.0.5:4840", publishing_interval_ms: 500}
tags:
  - {connector: PLC-L1, address: "ns=2;s=WC1.Running", equipment: WC1, signal: running, datatype: bool}
  - {connector: PLC-L1, address: "ns=2;s=WC1.Temp", equipment: WC1, signal: temperature, unit: "°C", scale: 0.1,
     deadband: 0.5, sampling_ms: 1000}
state_models:
  - equipment_class: LATHE
    definition:
      rules:
        - {state: down, when: {signal: alarm, op: ne, value: 0}}
        - {state: running, when: {signal: running, op: eq, value: 1}}
      counters: {produced: part_count}
downtime_reasons:
  - {code: MECH, name: 机械故障, name_en: Mechanical failure}
  - {code: MECH-SPINDLE, name: 主轴故障, parent: MECH, equipment_class: LATHE}
"""


def _lathe(db: Database) -> None:
    with db.uow() as uow:
        uow.session.add(EquipmentClass(code="LATHE", name="车床"))
        uow.commit()


def _counts(db: Database) -> tuple[int, ...]:
    with db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Connector, Tag, StateModel, DowntimeReason))


def test_a_yaml_file_imports_connectors_tags_models_and_reasons(db: Database, plant: MiniPlant) -> None:
    _lathe(db)
    report = run_import(db, YAML.encode(), "machines.yaml")
    assert report.ok, [(p.sheet, p.row, p.code, str(p.message)) for p in report.sorted_problems()]
    assert _counts(db) == (1, 2, 1, 2)
    with db.session() as s:
        temp = s.scalar(select(Tag).where(Tag.signal == "temperature"))
        assert (temp.scale, temp.deadband, temp.sampling_ms, temp.unit) == (0.1, 0.5, 1000, "°C")
        assert s.scalar(select(Connector)).config["publishing_interval_ms"] == 500
        assert s.scalar(select(StateModel)).enabled
    again = run_import(db, YAML.encode(), "machines.yaml")
    assert again.ok and _counts(db) == (1, 2, 1, 2)


def test_a_bad_row_imports_nothing_and_says_where(db: Database, plant: MiniPlant) -> None:
    _lathe(db)
    broken = YAML.replace("equipment: WC1, signal: temperature", "equipment: NOPE, signal: temperature")
    broken = broken.replace("publishing_interval_ms: 500", "publishing_interval_ms: soon")
    report = run_import(db, broken.encode(), "machines.yaml")
    assert not report.ok
    where = {(p.sheet, p.row, p.code) for p in report.sorted_problems() if p.severity == "error"}
    assert ("tags", 3, "equipment_not_found") in where
    assert any(code == "connector_config_invalid" for _s, _r, code in where)
    assert _counts(db) == (0, 0, 0, 0)


def test_tags_round_trip_through_excel(db: Database, plant: MiniPlant) -> None:
    _lathe(db)
    assert run_import(db, YAML.encode(), "machines.yaml").ok
    with db.session() as s:
        data = export_workbook(s, [kinds()["connectors"], kinds()["tags"]], {}, "zh_CN")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert {"设备连接器", "点位"} <= set(book.sheetnames)
    report = run_import(db, data, "machines.xlsx")
    assert report.ok and _counts(db)[:2] == (1, 2)
