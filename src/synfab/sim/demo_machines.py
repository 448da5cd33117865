"""The demo factory's machines as data: connectors, tag lists, state models and reason trees, imported through
the same path a customer's tag list takes. The machining area talks OPC UA, the assembly area Modbus TCP
(`sim/opcua_server.py`, `sim/modbus_server.py`); their endpoints are set when `synfab demo` starts them.
"""

from __future__ import annotations

import json
from typing import Any

OPCUA_CONNECTOR = "SIM-OPCUA"
MODBUS_CONNECTOR = "SIM-MODBUS"
SPARKPLUG_CONNECTOR = "SIM-SPB"
SPARKPLUG_GROUP, SPARKPLUG_NODE = "SZ", "WASH-EDGE"
SPARKPLUG_DEVICES = ("WSH-01", "WSH-02")  # the washers' bath meters
MACHINING = ["CNC-01", "CNC-02", "DRL-01", "WSH-01", "LTH-01", "LTH-02", "GRD-01", "WSH-02"]
ASSEMBLY = ["AS1-10", "AS1-20", "AS1-30", "AS1-40", "AS2-10", "AS2-20", "AS2-30", "AS2-40"]

# The tags the demo maps by itself: 9 signals on each machining machine, 9 on each assembly station.
BASE_TAGS = 9 * len(MACHINING) + 9 * len(ASSEMBLY)

# OPC UA variable → (signal, data type, unit)
OPCUA_SIGNALS = [
    ("Running", "running", "bool", None), ("Alarm", "alarm", "int", None), ("Mode", "mode", "int", None),
    ("PartCount", "part_count", "int", "pcs"), ("ScrapCount", "scrap_count", "int", "pcs"),
    ("SpindleSpeed", "spindle_speed", "float", "rpm"), ("Temperature", "temperature", "float", "°C"),
    ("Vibration", "vibration", "float", "mm/s"), ("Sequence", "sequence", "int", None),
]
MODBUS_UNITS = {"running": None, "alarm": None, "mode": None, "part_count": "pcs", "scrap_count": "pcs",
                "temperature": "°C", "vibration": "mm/s", "press_force": "kN", "leak_rate": "ml/min", "sequence": None}

# One model for every class of the demo: an alarm is down, mode 1 is setup, running is running, else idle.
STATE_MODEL: dict[str, Any] = {
    "rules": [
        {"state": "down", "when": {"signal": "alarm", "op": "ne", "value": 0}},
        {"state": "setup", "when": {"signal": "mode", "op": "eq", "value": 1}},
        {"state": "running", "when": {"signal": "running", "op": "eq", "value": 1}},
    ],
    "default": "idle",
    "counters": {"produced": "part_count", "scrap": "scrap_count"},
}

# (code, name, name_en, parent, planned)
REASONS = [
    ("MECH", "机械故障", "Mechanical failure", None, False),
    ("MECH-SPINDLE", "主轴故障", "Spindle failure", "MECH", False),
    ("MECH-FIXTURE", "夹具故障", "Fixture failure", "MECH", False),
    ("ELEC", "电气故障", "Electrical failure", None, False),
    ("ELEC-SENSOR", "传感器故障", "Sensor failure", "ELEC", False),
    ("MAT", "缺料", "Waiting for material", None, False),
    ("QUAL", "等待质检", "Waiting for inspection", None, False),
    ("TOOL", "换刀/刀具破损", "Tool change or breakage", None, False),
    ("PM", "计划保养", "Planned maintenance", None, True),
]


def modbus_addresses() -> dict[str, dict[str, str]]:
    """Each assembly station's signal → Modbus address (the simulated device's fixed register map)."""
    from synfab.sim.modbus_server import AssemblySim

    sim = AssemblySim(ASSEMBLY)
    return {station: sim.tag_addresses(station) for station in ASSEMBLY}


def machine_rows(classes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Import rows for the demo's machines: connectors, tags, a state model per class, the reason tree."""
    addresses = modbus_addresses()
    tags = [{"connector": OPCUA_CONNECTOR, "address": f"ns=2;s={m}.{var}", "equipment": m, "signal": signal,
             "datatype": dtype, "unit": unit} for m in MACHINING for var, signal, dtype, unit in OPCUA_SIGNALS]
    for station in ASSEMBLY:
        for signal, address in addresses.get(station, {}).items():
            tags.append({"connector": MODBUS_CONNECTOR, "address": address, "equipment": station, "signal": signal,
                         "unit": MODBUS_UNITS.get(signal)})
    return {
        "connectors": [
            {"code": OPCUA_CONNECTOR, "name": "机加车间 OPC UA（仿真）", "kind": "opcua", "site": "SZ",
             "config": json.dumps({"endpoint": "opc.tcp://127.0.0.1:4840/synfab/sim"})},
            {"code": MODBUS_CONNECTOR, "name": "装配车间 Modbus TCP（仿真）", "kind": "modbus", "site": "SZ",
             "config": json.dumps({"host": "127.0.0.1", "port": 5020})},
        ],
        "tags": tags,
        "state_models": [{"equipment_class": c, "definition": json.dumps(STATE_MODEL)} for c in classes],
        "downtime_reasons": [{"code": c, "name": n, "name_en": e, "parent": p, "planned": planned}
                             for c, n, e, p, planned in REASONS],
    }
