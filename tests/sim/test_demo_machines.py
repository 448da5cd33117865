"""Acceptance: `synfab demo` — within 30 s of the server answering, the status board shows machines of both areas
in states that came through OPC UA and Modbus TCP from the simulated servers; with a broker configured, the
washers' bath meters arrive through Sparkplug B as well (and everything is published on the UNS)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import func, select

from synfab.bootstrap import build_database
from synfab.connect.models import Connector, ConnectorStatus
from synfab.sim.demo_machines import ASSEMBLY, MACHINING, SPARKPLUG_CONNECTOR
from synfab.telemetry.models import MachineStatus, Sample, Tag
from synfab.plant.models import PlantNode
from tests.connect.machines.support import free_port


def test_the_demo_status_board_moves_from_protocol_data_within_30_s(tmp_path: Path, mqtt_url: str) -> None:
    path, port = tmp_path / "demo.db", free_port()
    env = {**os.environ, "SYNFAB_BUFFER_DIR": str(tmp_path / "buffer"), "SYNFAB_MQTT_URL": mqtt_url,
           "SYNFAB_UNS_ROOT": f"synfab-test-{uuid.uuid4().hex[:8]}"}
    proc = subprocess.Popen([sys.executable, "-c", "from synfab.cli import main; main()", "demo", "--db", str(path),
                             "--port", str(port), "--speed", "30"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300  # loading the demo plant takes a while on a slow machine
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]  # type: ignore[union-attr]
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the demo server did not start"
                time.sleep(0.5)
        up = time.monotonic()
        db = build_database(url=f"sqlite:///{path}")
        while True:
            with db.session() as s:
                codes = set(s.scalars(select(PlantNode.code).join(
                    MachineStatus, MachineStatus.equipment_id == PlantNode.id)))
                connected = dict(s.execute(select(Connector.code, ConnectorStatus.connected).join(
                    ConnectorStatus, ConnectorStatus.connector_id == Connector.id)).all())
                samples = s.scalar(select(func.count()).select_from(Sample))
                sparkplug = s.scalar(select(func.count()).select_from(Sample).join(Tag, Tag.id == Sample.tag_id)
                                     .join(Connector, Connector.id == Tag.connector_id)
                                     .where(Connector.code == SPARKPLUG_CONNECTOR))
            if set(MACHINING) <= codes and set(ASSEMBLY) <= codes and sparkplug:
                break
            assert time.monotonic() - up < 30, (
                f"after 30 s: machines with a state {sorted(codes)}, connectors {connected}, {samples} samples, "
                f"{sparkplug} from Sparkplug B")
            time.sleep(0.5)
        assert connected.get("SIM-OPCUA") and connected.get("SIM-MODBUS"), connected
        db.dispose()
    finally:
        proc.terminate()
        proc.wait(30)
