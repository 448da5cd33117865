"""Which coordinator serves which connector kind (the HTTP ingest has none: devices post to it)."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from synfab.connect.choices import ConnectorKind
from synfab.connect.runtime import Coordinator
from synfab.core.errors import Invalid
from synfab.core.i18n import _l

COORDINATORS: dict[ConnectorKind, str] = {
    ConnectorKind.OPCUA: "synfab.connect.opcua.coordinator:OpcUaCoordinator",
    ConnectorKind.MODBUS: "synfab.connect.modbus.coordinator:ModbusCoordinator",
    ConnectorKind.MQTT: "synfab.connect.mqtt.coordinator:MqttCoordinator",
    ConnectorKind.SPARKPLUG: "synfab.connect.sparkplug.coordinator:SparkplugCoordinator",
}


def coordinator_class(kind: ConnectorKind) -> type[Coordinator] | None:
    target = COORDINATORS.get(kind)
    if target is None:
        return None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def check_config(kind: ConnectorKind, config: dict[str, Any]) -> dict[str, Any]:
    """The connector's settings as its protocol's schema reads them, or a 422 saying what is wrong."""
    cls = coordinator_class(kind)
    if cls is None:
        return dict(config)
    try:
        return cls.parse_config(config).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}" for e in exc.errors())
        raise Invalid("connector_config_invalid", _l("The connector settings are not valid: {problems}",
                                                     problems=problems)) from None
