"""The demo's machines on real protocols: an OPC UA server for the machining area and a Modbus TCP device for the
assembly area, in this process, on local ports. Their machines follow the work in progress — a work center with
a running operation works, one without stands idle — so what the screens show came through the protocols and
the connectors, the same path a real plant's data takes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sqlalchemy import select

from synfab.connect.models import Connector
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.orders.service.operations import running_at
from synfab.plant.models import PlantNode
from synfab.sim.demo_machines import (
    ASSEMBLY, MACHINING, MODBUS_CONNECTOR, OPCUA_CONNECTOR, SPARKPLUG_CONNECTOR, SPARKPLUG_DEVICES, SPARKPLUG_GROUP,
    SPARKPLUG_NODE,
)
from synfab.sim.modbus_server import AssemblySim
from synfab.sim.opcua_server import MachiningSim, extra_signal

log = logging.getLogger(__name__)


class DemoMachines:
    """Start the simulated servers, point the demo's connectors at them, and keep the machines following the
    work: `start()` / `stop()`; the simulated clock runs `speed` times faster than the wall clock."""

    def __init__(self, db: Database, *, speed: float = 1.0, opcua_port: int | None = None,
                 modbus_port: int | None = None, seed: int = 2026, extra_signals: int = 0) -> None:
        self.db = db
        self.speed = speed
        self.extra_signals = extra_signals
        self.opcua = MachiningSim(MACHINING, port=opcua_port, seed=seed, extra_signals=extra_signals)
        self.modbus = AssemblySim(ASSEMBLY, port=modbus_port, seed=seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.edge: Any = None

    def start(self) -> None:
        self.opcua.start()
        self.modbus.start()
        self._point_connectors()
        self._map_extra_signals()
        self._start_sparkplug()
        self._follow_work()
        self._thread = threading.Thread(target=self._loop, name="synfab-demo-machines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.modbus.stop()
        self.opcua.stop()
        if self.edge is not None:
            self.edge.stop()

    def _point_connectors(self) -> None:
        """The servers listen where they could: the demo's connectors are told where (as the system)."""
        from synfab.connect.schemas import ConnectorUpdate
        from synfab.connect.service import update_connector

        endpoints: dict[str, dict[str, Any]] = {
            OPCUA_CONNECTOR: {"endpoint": self.opcua.endpoint},
            MODBUS_CONNECTOR: {"host": self.modbus.host, "port": self.modbus.port},
        }
        with acting_as(SYSTEM), self.db.uow() as uow:
            for connector in uow.session.scalars(select(Connector).where(Connector.code.in_(endpoints))):
                config = {**connector.config, **endpoints[connector.code]}
                if config != connector.config or not connector.enabled:
                    update_connector(uow, connector.id, ConnectorUpdate(version=connector.version, config=config,
                                                                         enabled=True))
            uow.commit()

    def _start_sparkplug(self) -> None:
        """With a broker configured (SYNFAB_MQTT_URL), a third group talks Sparkplug B: an edge node with the
        washers' bath meters, read by a Sparkplug connector as the primary host application."""
        from synfab.core.config import get_settings

        url = get_settings().mqtt_url
        if not url:
            return
        from synfab.connect.choices import ConnectorKind
        from synfab.connect.schemas import ConnectorCreate
        from synfab.connect.service import create_connector
        from synfab.sim.sparkplug_edge import SparkplugEdgeNode
        from synfab.telemetry.models import Tag

        host_id = "synfab-demo"
        with acting_as(SYSTEM), self.db.uow() as uow:
            s = uow.session
            connector = s.scalar(select(Connector).where(Connector.code == SPARKPLUG_CONNECTOR))
            if connector is None:
                site = s.scalar(select(PlantNode.id).where(PlantNode.code == "SZ"))
                connector = create_connector(uow, ConnectorCreate(
                    code=SPARKPLUG_CONNECTOR, name="清洗机槽液计量（Sparkplug B 仿真）", kind=ConnectorKind.SPARKPLUG,
                    site_id=site, config={"broker_url": url, "client_id": "synfab-demo-host", "host_id": host_id,
                                          "groups": [SPARKPLUG_GROUP]}))
                nodes = dict(s.execute(select(PlantNode.code, PlantNode.id)
                                       .where(PlantNode.code.in_(SPARKPLUG_DEVICES))).all())
                for device in SPARKPLUG_DEVICES:
                    for metric, signal in (("temperature", "bath_temperature"), ("sequence", "meter_sequence")):
                        s.add(Tag(connector_id=connector.id, equipment_id=nodes[device], signal=signal,
                                  address=f"{SPARKPLUG_GROUP}/{SPARKPLUG_NODE}/{device}/{metric}", scale=1.0,
                                  offset=0.0, deadband=0.0, sampling_ms=0))
            uow.commit()
        self.edge = SparkplugEdgeNode(url, group=SPARKPLUG_GROUP, node=SPARKPLUG_NODE, devices=SPARKPLUG_DEVICES,
                                      interval_s=1.0, primary_host_id=host_id)
        self.edge.start()

    def _map_extra_signals(self) -> None:
        """With further process values on the machining machines (`--sim-tags`), tags map them too."""
        if not self.extra_signals:
            return
        from synfab.telemetry.models import Tag

        with acting_as(SYSTEM), self.db.uow() as uow:
            s = uow.session
            connector = s.scalar(select(Connector.id).where(Connector.code == OPCUA_CONNECTOR))
            nodes = dict(s.execute(select(PlantNode.code, PlantNode.id).where(PlantNode.code.in_(MACHINING))).all())
            known = set(s.scalars(select(Tag.address).where(Tag.connector_id == connector)))
            for code in MACHINING:
                for i in range(self.extra_signals):
                    signal = extra_signal(i)
                    address = f"ns=2;s={code}.{signal}"
                    if address not in known and code in nodes:
                        s.add(Tag(connector_id=connector, address=address, equipment_id=nodes[code],
                                  signal=signal.lower(), name=f"{code} {signal}", scale=1.0, offset=0.0,
                                  deadband=0.0, sampling_ms=0))
            uow.commit()

    def _follow_work(self) -> None:
        with self.db.session() as s:
            nodes = dict(s.execute(select(PlantNode.code, PlantNode.id)
                                   .where(PlantNode.code.in_(MACHINING + ASSEMBLY))).all())
            busy = running_at(s, set(nodes.values()))
        for code in MACHINING:
            self.opcua.set_working(code, nodes.get(code) in busy)
        for code in ASSEMBLY:
            self.modbus.set_working(code, nodes.get(code) in busy)

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(1.0):
            now = time.monotonic()
            dt, last = (now - last) * self.speed, now
            try:
                self._follow_work()
                self.opcua.tick(dt)
                self.modbus.tick(dt)
            except Exception:  # noqa: BLE001 - the demo keeps running; the log says what went wrong
                log.exception("the simulated machines could not follow the work")
