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
from synfab.sim.demo_machines import ASSEMBLY, MACHINING, MODBUS_CONNECTOR, OPCUA_CONNECTOR
from synfab.sim.modbus_server import AssemblySim
from synfab.sim.opcua_server import MachiningSim

log = logging.getLogger(__name__)


class DemoMachines:
    """Start the simulated servers, point the demo's connectors at them, and keep the machines following the
    work: `start()` / `stop()`; the simulated clock runs `speed` times faster than the wall clock."""

    def __init__(self, db: Database, *, speed: float = 1.0, opcua_port: int | None = None,
                 modbus_port: int | None = None, seed: int = 2026) -> None:
        self.db = db
        self.speed = speed
        self.opcua = MachiningSim(MACHINING, port=opcua_port, seed=seed)
        self.modbus = AssemblySim(ASSEMBLY, port=modbus_port, seed=seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.opcua.start()
        self.modbus.start()
        self._point_connectors()
        self._follow_work()
        self._thread = threading.Thread(target=self._loop, name="synfab-demo-machines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.modbus.stop()
        self.opcua.stop()

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
