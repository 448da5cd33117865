"""A machine with tags and a state model, for the machine-data tests."""

from __future__ import annotations

import pytest

from synfab.connect.choices import ConnectorKind
from synfab.connect.schemas import ConnectorCreate
from synfab.connect.service import create_connector
from synfab.core.db import Database
from synfab.plant.models import EquipmentClass, PlantNode
from synfab.telemetry.choices import DataType
from synfab.telemetry.schemas import TagCreate
from synfab.telemetry.service import create_tag, set_state_model
from tests.conftest import MiniPlant

T0 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000  # a minute boundary in 2026

MODEL = {
    "rules": [
        {"state": "down", "when": {"signal": "alarm", "op": "ne", "value": 0}},
        {"state": "running", "when": {"signal": "running", "op": "eq", "value": 1}},
    ],
    "default": "idle",
    "counters": {"produced": "part_count"},
}


@pytest.fixture
def machine(db: Database, plant: MiniPlant) -> dict[str, int]:
    with db.uow() as uow:
        s = uow.session
        cls = EquipmentClass(code="LATHE", name="车床")
        s.add(cls)
        s.flush()
        s.get(PlantNode, plant.wc1).equipment_class_id = cls.id
        c = create_connector(uow, ConnectorCreate(code="HTTP1", name="HTTP", kind=ConnectorKind.HTTP,
                                                  site_id=plant.site))
        ids = {"connector": c.id, "class": cls.id}
        for signal, address, dt in (("running", "wc1/run", DataType.BOOL), ("alarm", "wc1/alarm", DataType.INT),
                                    ("part_count", "wc1/count", DataType.INT), ("temperature", "wc1/temp", DataType.FLOAT)):
            tag = create_tag(uow, TagCreate(connector_id=c.id, address=address, equipment_id=plant.wc1, signal=signal,
                                            datatype=dt, scale=0.1 if signal == "temperature" else 1.0))
            ids[signal] = tag.id
        set_state_model(uow, cls.id, MODEL)
        uow.commit()
    return ids


