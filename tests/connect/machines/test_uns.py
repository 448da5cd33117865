"""UNS publishing against the real broker: machine states retained under the plant hierarchy, events beside them."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from synfab.connect.pipeline import TelemetryPipeline
from synfab.connect.runtime import Reading
from synfab.connect.uns import publish_counts, register_uns
from synfab.core.db import Database
from synfab.core.outbox import OutboxDispatcher
from tests.telemetry.conftest import T0, machine  # noqa: F401 - the fixture


def _listen(url: str, topic: str) -> tuple[mqtt.Client, dict[str, dict], threading.Event]:
    seen: dict[str, dict] = {}
    got = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(_c, _u, msg) -> None:  # type: ignore[no-untyped-def]
        seen[msg.topic] = {"data": json.loads(msg.payload), "retain": msg.retain}
        got.set()

    client.on_message = on_message
    parts = urlsplit(url)
    client.connect(parts.hostname, parts.port or 1883)
    client.subscribe(topic, qos=1)
    client.loop_start()
    time.sleep(0.3)
    return client, seen, got


def test_states_and_events_reach_the_unified_namespace(db: Database, machine: dict[str, int], tmp_path: Path,
                                                       mqtt_url: str) -> None:
    root = f"synfab-test-{uuid.uuid4().hex[:8]}"
    publisher = register_uns(db.bus, mqtt_url, root)
    listener, seen, _ = _listen(mqtt_url, f"{root}/#")
    try:
        pipeline = TelemetryPipeline.at(db, tmp_path / "buf")
        intake = pipeline.intake(machine["connector"], "HTTP1")
        intake.readings([Reading("wc1/run", T0, True), Reading("wc1/alarm", T0, 0)])
        intake.readings([Reading("wc1/alarm", T0 + 1000, 5)])
        pipeline.write_once()
        asyncio.run(OutboxDispatcher(db).drain())
        state_topic = f"{root}/ENT/SH/MACH/L1/WC1/state"
        deadline = time.monotonic() + 10
        while state_topic not in seen or seen[state_topic]["data"]["state"] != "down":
            assert time.monotonic() < deadline, f"no down state on {state_topic}; seen {sorted(seen)}"
            time.sleep(0.05)
        assert f"{root}/ENT/SH/MACH/L1/WC1/events/MachineDown" in seen
        event = seen[f"{root}/ENT/SH/MACH/L1/WC1/events/MachineStateChanged"]["data"]
        assert event["type"] == "MachineStateChanged" and event["payload"]["equipment_code"] == "WC1"
        # A system subscribing later gets the current state at once: it is retained.
        late, late_seen, got = _listen(mqtt_url, state_topic)
        assert got.wait(5) and late_seen[state_topic]["retain"] and late_seen[state_topic]["data"]["state"] == "down"
        late.loop_stop()
        late.disconnect()
        # Counts, retained, every minute from the server's job (called here directly).
        assert publish_counts(db, publisher) == 1
        count_topic = f"{root}/ENT/SH/MACH/L1/WC1/count"
        deadline = time.monotonic() + 10
        while count_topic not in seen:
            assert time.monotonic() < deadline, f"no count on {count_topic}"
            time.sleep(0.05)
        assert seen[count_topic]["data"]["state"] == "down" and seen[count_topic]["retain"] is False  # live copy
    finally:
        listener.loop_stop()
        listener.disconnect()
        cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        parts = urlsplit(mqtt_url)
        cleaner.connect(parts.hostname, parts.port or 1883)
        for kind in ("state", "count"):  # clear the retained messages
            cleaner.publish(f"{root}/ENT/SH/MACH/L1/WC1/{kind}", b"", retain=True).wait_for_publish(5)
        cleaner.disconnect()
        publisher.close()
