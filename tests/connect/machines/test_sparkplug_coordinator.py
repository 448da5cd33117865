"""The Sparkplug host coordinator on the shared broker: STATE, rebirth requests, the edge honouring them."""

from __future__ import annotations

import asyncio
import json
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from synfab.connect.mqtt.client import Broker
from synfab.connect.sparkplug import DataType, Metric, SparkplugConfig, SparkplugCoordinator, encode_payload
from synfab.connect.sparkplug.host import Quarantine
from synfab.sim.sparkplug_edge import SparkplugEdgeNode
from tests.connect.machines.support import MemoryIntake, until


def listener(url: str, topics: list[str], seen: list[tuple[str, bytes]]) -> paho.Client:
    broker = Broker.parse(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.on_message = lambda c, u, m: seen.append((m.topic, bytes(m.payload)))
    client.connect(broker.host, broker.port)
    client.subscribe([(t, 1) for t in topics])
    client.loop_start()
    return client


def test_state_data_before_birth_rebirth_and_edge(mqtt_url: str) -> None:
    group, host_id = f"T{uuid.uuid4().hex[:8]}", f"synfab-{uuid.uuid4().hex[:6]}"
    seen: list[tuple[str, bytes]] = []
    spy = listener(mqtt_url, [f"spBv1.0/STATE/{host_id}", f"spBv1.0/{group}/NCMD/#"], seen)
    intake = MemoryIntake()
    changes = []
    config = SparkplugConfig(
        broker_url=mqtt_url, client_id=f"synfab-{host_id}", host_id=host_id, groups=[group]
    )
    coordinator = SparkplugCoordinator("spb", config, [], intake, on_node_change=changes.append)

    async def scenario() -> None:
        task = asyncio.create_task(coordinator.run())
        edge = None
        try:
            await until(lambda: intake.is_connected)
            await until(lambda: any(t.endswith(host_id) and json.loads(p)["online"] for t, p in seen))
            # Data from a node we have no birth for: put aside, and the node is asked for a rebirth.
            spy.publish(
                f"spBv1.0/{group}/DDATA/EN9/D1",
                encode_payload(1, 5, [Metric(None, 1, DataType.INT32, alias=7)]),
                qos=1,
            )
            await until(lambda: any(t == f"spBv1.0/{group}/NCMD/EN9" for t, _ in seen))
            assert intake.quarantined[0][0] == Quarantine.BEFORE_BIRTH
            # The simulated edge node births when it sees our STATE, then streams; it honours a rebirth.
            edge = SparkplugEdgeNode(
                mqtt_url, group, "EN1", ("D1", "D2"), interval_s=0.1, primary_host_id=host_id
            )
            edge.start()
            await until(lambda: len(intake.values(f"{group}/EN1/D2/sequence")) >= 3)
            assert intake.values(f"{group}/EN1//bdSeq") == [0]
            spy.publish(
                f"spBv1.0/{group}/NCMD/EN1",
                encode_payload(1, None, [Metric("Node Control/Rebirth", True, DataType.BOOLEAN)]),
            )
            await until(lambda: edge.births == 2)
            await until(lambda: len(intake.values(f"{group}/EN1//bdSeq")) == 2)
            edge.stop()
            await until(lambda: any(c.node == "EN1" and c.device == "" and not c.online for c in changes))
            assert any(c.device == "D2" and c.online for c in changes)
            assert intake.values(f"{group}/EN1/D1/parts") and intake.values(f"{group}/EN1/D1/temperature")
        finally:
            if edge is not None:
                edge.stop()
            coordinator.stop()
            await asyncio.wait_for(task, 10)
        # Stopped cleanly: we said "offline" ourselves (the Will is only for a lost connection).
        await until(lambda: json.loads([p for t, p in seen if t.endswith(host_id)][-1])["online"] is False)

    try:
        asyncio.run(scenario())
    finally:
        spy.loop_stop()
        spy.disconnect()


def test_probe(mqtt_url: str) -> None:
    config = SparkplugConfig(broker_url=mqtt_url, client_id="synfab-probe", host_id="synfab-probe")
    summary = asyncio.run(SparkplugCoordinator("spb", config, [], MemoryIntake()).probe())
    assert summary["broker"] == mqtt_url and summary["host_id"] == "synfab-probe"
