"""The broker goes away for 30 s: nothing the edge node measured meanwhile is lost.

A Mosquitto of our own on a free port; our Sparkplug host (primary host application) and the simulated edge
node on it. The broker is stopped for 30 s and started again on the same port. The edge node keeps its
samples, reconnects, waits for our STATE, re-births and sends them as historical metrics; the host takes the
new birth (new bdSeq, seq from 0). Every counter value the edge produced must be in the intake, and after
removing duplicates on (address, timestamp), as the store does, exactly once.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from synfab.connect.sparkplug import SparkplugConfig, SparkplugCoordinator
from synfab.sim.sparkplug_edge import SparkplugEdgeNode
from tests.connect.machines.support import MemoryIntake, free_port, until

OUTAGE_S = 30  # the requirement: a 30 s broker outage


class Broker:
    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        self.binary, self.port = binary, port
        self.config = workdir / "mosquitto.conf"
        self.config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.log = workdir / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"mosquitto did not listen on {self.port}: {self.log.read_text()[-500:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def test_broker_outage_loses_no_points(mosquitto_binary: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    broker = Broker(mosquitto_binary, port, tmp_path)
    broker.start()
    intake = MemoryIntake()
    config = SparkplugConfig(
        broker_url=url, client_id="synfab-host-fault", host_id="synfab-fault", groups=["G1"]
    )
    host = SparkplugCoordinator("spb-fault", config, [], intake)
    # The base loop's backoff doubles to 30 s; a short cap keeps the test within its time.
    host.initial_backoff_s, host.max_backoff_s = 0.2, 1.0
    edge = SparkplugEdgeNode(url, "G1", "EN1", ("D1",), interval_s=0.2, primary_host_id="synfab-fault")
    address = "G1/EN1/D1/sequence"

    async def scenario() -> None:
        task = asyncio.create_task(host.run())
        edge.start()
        try:
            await until(lambda: len(intake.values(address)) >= 10, 15)
            first_bdseq = host.host.node("G1", "EN1").bdseq  # type: ignore[union-attr]
            broker.stop()
            outage_started = len(edge.produced)
            await asyncio.sleep(OUTAGE_S)
            assert len(edge.produced) - outage_started >= OUTAGE_S * 3  # it kept measuring meanwhile
            broker.start()
            await until(lambda: edge.births >= 2 and edge.live, 20)
            await asyncio.sleep(1.0)
            node = host.host.node("G1", "EN1")
            assert node is not None and node.online and node.bdseq != first_bdseq
            edge.stop()
            produced = [s.sequence for s in edge.produced if s.device == "D1"]
            await until(lambda: set(produced) <= set(intake.values(address)), 10)
            # A clean stop leaves an NDEATH with the current bdSeq: the node is offline.
            await until(lambda: not node.online, 5)
            assert (False, None) != intake.states[-1] and any(not up for up, _ in intake.states)
        finally:
            edge.stop()
            host.stop()
            await asyncio.wait_for(task, 10)
            broker.stop()

    started = time.monotonic()
    asyncio.run(scenario())
    elapsed = time.monotonic() - started

    produced = [(s.ts_ms, s.sequence) for s in edge.produced if s.device == "D1"]
    n = len(produced)
    assert [v for _, v in produced] == list(range(1, n + 1))
    seen: dict[int, set[object]] = defaultdict(set)
    for r in intake.readings_seen:
        if r.address == address:
            seen[r.ts_ms].add(r.value)
    conflicts = {ts: values for ts, values in seen.items() if len(values) > 1}
    assert not conflicts, f"different values at one timestamp: {conflicts}"
    assert {ts: {v} for ts, v in produced} == dict(seen), "every point, once each, with its own timestamp"
    assert len(seen) == n
    assert elapsed < 60, f"the fault test took {elapsed:.0f} s"
