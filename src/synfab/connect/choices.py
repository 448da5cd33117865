"""Kinds of machine connector."""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l


class ConnectorKind(Choice):
    OPCUA = "opcua", _l("OPC UA"), "blue"
    MODBUS = "modbus", _l("Modbus TCP"), "orange"
    MQTT = "mqtt", _l("MQTT (JSON)"), "green"
    SPARKPLUG = "sparkplug", _l("MQTT Sparkplug B"), "teal"
    HTTP = "http", _l("HTTP ingest"), "purple"
