"""Plain MQTT with JSON readings, against the shared broker (each test on topics of its own)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from synfab.connect.mqtt import MqttConfig, MqttCoordinator
from synfab.connect.mqtt.client import Broker
from synfab.connect.runtime import SourceError, now_ms
from tests.connect.machines.support import MemoryIntake, free_port, until


def publisher(url: str) -> paho.Client:
    broker = Broker.parse(url)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def send(client: paho.Client, topic: str, payload: object) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    client.publish(topic, data, qos=1).wait_for_publish(5)


@asynccontextmanager
async def running(url: str, topics: list[str]) -> AsyncIterator[tuple[MqttCoordinator, MemoryIntake]]:
    intake = MemoryIntake()
    config = MqttConfig(broker_url=url, client_id=f"synfab-test-{uuid.uuid4().hex[:8]}", topics=topics)
    coordinator = MqttCoordinator("mqtt-test", config, [], intake)
    task = asyncio.create_task(coordinator.run())
    try:
        await until(lambda: intake.is_connected, 10)
        yield coordinator, intake
    finally:
        coordinator.stop()
        await asyncio.wait_for(task, 10)


def prefix() -> str:
    return f"synfab-test/{uuid.uuid4().hex[:10]}"


def test_values_arrive_with_their_timestamps(mqtt_url: str) -> None:
    async def scenario() -> None:
        base = prefix()
        async with running(mqtt_url, [f"{base}/line1/spindle"]) as (_, intake):
            pub = publisher(mqtt_url)
            try:
                send(pub, f"{base}/line1/spindle", {"value": 1450.5, "timestamp": 1_700_000_000_000})
                send(
                    pub,
                    f"{base}/line1/spindle",
                    {"value": 1460, "timestamp": "2024-05-01T08:00:00.250+08:00"},
                )
                before = now_ms()
                send(pub, f"{base}/line1/spindle", {"value": "RUN"})
                send(
                    pub,
                    f"{base}/line1/spindle",
                    [
                        {"value": True, "timestamp": 1_700_000_001_000},
                        {"value": None, "timestamp": 1_700_000_002_000},
                    ],
                )
                await until(lambda: len(intake.readings_seen) == 5)
            finally:
                pub.loop_stop()
            got = [(r.address, r.ts_ms, r.value) for r in intake.readings_seen]
            iso = int(datetime(2024, 5, 1, 0, 0, 0, 250_000, tzinfo=timezone.utc).timestamp() * 1000)
            topic = f"{base}/line1/spindle"
            assert got[:2] == [(topic, 1_700_000_000_000, 1450.5), (topic, iso, 1460)]
            assert got[2][2] == "RUN" and before - 1000 <= got[2][1] <= now_ms()
            assert got[3:] == [(topic, 1_700_000_001_000, True), (topic, 1_700_000_002_000, None)]
            assert intake.quarantined == []

    asyncio.run(scenario())


def test_wildcard_filters(mqtt_url: str) -> None:
    async def scenario() -> None:
        base = prefix()
        async with running(mqtt_url, [f"{base}/+/temp", f"{base}/press/#"]) as (_, intake):
            pub = publisher(mqtt_url)
            try:
                for topic in (
                    f"{base}/l1/temp",
                    f"{base}/l2/temp",
                    f"{base}/l1/speed",
                    f"{base}/press/a/b/force",
                    f"{base}/l1/x/temp",
                ):
                    send(pub, topic, {"value": 1, "timestamp": 1_700_000_000_000})
                await until(lambda: len(intake.readings_seen) >= 3)
                await asyncio.sleep(0.3)
            finally:
                pub.loop_stop()
            assert sorted(r.address for r in intake.readings_seen) == sorted(
                [f"{base}/l1/temp", f"{base}/l2/temp", f"{base}/press/a/b/force"]
            )

    asyncio.run(scenario())


def test_bad_messages_are_quarantined_and_good_ones_still_arrive(mqtt_url: str) -> None:
    async def scenario() -> None:
        base = prefix()
        async with running(mqtt_url, [f"{base}/#"]) as (_, intake):
            pub = publisher(mqtt_url)
            try:
                send(pub, f"{base}/a", b"{not json")
                send(pub, f"{base}/a", {"value": {"nested": 1}})
                send(pub, f"{base}/a", {"value": [1, 2]})
                send(pub, f"{base}/a", {"no_value": 1})
                send(pub, f"{base}/a", {"value": 1, "timestamp": now_ms() + 2 * 86_400_000})
                send(pub, f"{base}/a", {"value": 1, "timestamp": "yesterday"})
                send(pub, f"{base}/a", {"value": 7, "timestamp": 1_700_000_000_000})
                await until(lambda: len(intake.readings_seen) == 1 and len(intake.quarantined) == 6)
            finally:
                pub.loop_stop()
            assert [q[0] for q in intake.quarantined] == [
                "malformed_json",
                "wrong_type",
                "wrong_type",
                "wrong_type",
                "future_timestamp",
                "bad_timestamp",
            ]
            assert intake.quarantined[0][2] == b"{not json"
            assert intake.values(f"{base}/a") == [7]

    asyncio.run(scenario())


def test_unreachable_broker_is_a_source_error() -> None:
    async def scenario() -> None:
        config = MqttConfig(broker_url=f"mqtt://127.0.0.1:{free_port()}", client_id="x", topics=["a/#"])
        with pytest.raises(SourceError):
            await MqttCoordinator("mqtt-test", config, [], MemoryIntake()).probe()

    asyncio.run(scenario())


def test_probe_reaches_the_broker(mqtt_url: str) -> None:
    config = MqttConfig(broker_url=mqtt_url, client_id=f"probe-{uuid.uuid4().hex[:6]}", topics=["a/+/b"])
    summary = asyncio.run(MqttCoordinator("mqtt-test", config, [], MemoryIntake()).probe())
    assert summary["broker"] == mqtt_url and summary["topics"] == ["a/+/b"]


def test_topic_filters_are_checked() -> None:
    with pytest.raises(ValueError):
        MqttConfig(broker_url="mqtt://h", client_id="x", topics=["a/#/b"])
    with pytest.raises(ValueError):
        MqttConfig(broker_url="mqtt://h", client_id="x", topics=["a/b+"])
