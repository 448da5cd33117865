"""Unified Namespace publishing: with SYNFAB_MQTT_URL set, the platform publishes what happens where it happened,
`<root><enterprise>/<site>/<area>/<line>/<cell>/<kind>/<name>` (node codes), so other systems subscribe
instead of polling synfab.

- a machine's state: `…/<machine>/state` — retained (a new subscriber gets the current state at once), QoS 1;
- every domain event: `…/<node>/events/<EventType>` at the node the event is about (else the enterprise), QoS 1,
  not retained; the JSON carries the event's id, time, causation and correlation ids and its payload;
- a machine's count against its running operation: `…/<machine>/count` — retained, QoS 0, every minute
  (`connect/jobs.py`).

Delivered through the outbox (at least once; a subscriber tells repeats by the event id).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from sqlalchemy import select

from synfab.core.bus import Event, MessageBus
from synfab.core.db import Database
from synfab.plant.models import PlantNode
from synfab.telemetry.events import MachineStateChanged

log = logging.getLogger(__name__)

# Payload fields that say where an event happened, most specific first.
PLACE_FIELDS = ("equipment_id", "work_center_id", "production_line_id", "line_id", "node_id", "site_id")


class UnsPublisher:
    """One MQTT connection per process, opened when first needed and kept."""

    def __init__(self, url: str, root: str = "") -> None:
        self.url = urlsplit(url)
        self.root = root.strip("/") + "/" if root.strip("/") else ""
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def _connected(self) -> mqtt.Client:
        with self._lock:
            if self._client is not None and self._client.is_connected():
                return self._client
            if self._client is not None:
                self._client.loop_stop()
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
            if self.url.username:
                client.username_pw_set(self.url.username, self.url.password)
            if self.url.scheme in ("mqtts", "ssl"):
                client.tls_set()
            client.connect(self.url.hostname or "127.0.0.1", self.url.port or 1883, keepalive=30)
            client.loop_start()
            self._client = client
            return client

    def publish(self, topic: str, payload: dict[str, Any], *, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait for the broker's acknowledgement (an error leaves the outbox row for a retry)."""
        info = self._connected().publish(self.root + topic, json.dumps(payload, ensure_ascii=False, default=str),
                                         qos=qos, retain=retain)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            raise ConnectionError(f"MQTT broker {self.url.hostname} did not acknowledge {topic}")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client.loop_stop()
                self._client = None


def node_topic(db: Database, node_id: int | None) -> str | None:
    """The node's place in the namespace: the codes of its ancestors and itself, joined by '/'."""
    if node_id is None:
        return None
    with db.session() as s:
        node = s.get(PlantNode, node_id)
        if node is None:
            return None
        ids = [int(i) for i in node.path.strip("/").split("/") if i] if node.path.strip("/") else []
        if not ids or ids[-1] != node.id:
            ids.append(node.id)
        codes = dict(s.execute(select(PlantNode.id, PlantNode.code).where(PlantNode.id.in_(ids))).all())
    return "/".join(_segment(codes[i]) for i in ids if i in codes)


def _segment(code: str) -> str:
    # MQTT wildcards and separators cannot be part of a level.
    return code.replace("/", "_").replace("+", "_").replace("#", "_")


def enterprise_topic(db: Database) -> str:
    with db.session() as s:
        code = s.scalar(select(PlantNode.code).where(PlantNode.parent_id.is_(None)).order_by(PlantNode.id))
    return _segment(code or "enterprise")


def publish_event(publisher: UnsPublisher, db: Database, event: Event) -> None:
    payload = event.payload()
    place = next((payload[f] for f in PLACE_FIELDS if isinstance(payload.get(f), int)), None)
    base = node_topic(db, place) or enterprise_topic(db)
    message = {"id": event.id, "type": event.type_name, "occurred_at": event.occurred_at.isoformat(),
               "causation_id": event.causation_id, "correlation_id": event.correlation_id, "payload": payload}
    if isinstance(event, MachineStateChanged):
        publisher.publish(f"{base}/state", {"state": event.state, "previous": event.previous, "since_ms": event.at_ms,
                                            "operation_id": event.operation_id, "event_id": event.id},
                          qos=1, retain=True)
    publisher.publish(f"{base}/events/{event.type_name}", message, qos=1)


_publishers: dict[tuple[str, str], UnsPublisher] = {}
_publishers_lock = threading.Lock()


def publisher_for(url: str, root: str = "") -> UnsPublisher:
    """This process's publisher for a broker and root (one connection, shared by the outbox and the jobs)."""
    with _publishers_lock:
        publisher = _publishers.get((url, root))
        if publisher is None:
            publisher = _publishers[(url, root)] = UnsPublisher(url, root)
        return publisher


def publish_counts(db: Database, publisher: UnsPublisher) -> int:
    """Each machine's parts against the operation running on it, retained; returns how many were published."""
    from synfab.telemetry.board import status_board

    published = 0
    for machine in status_board_of_all(db, status_board):
        topic = node_topic(db, machine.equipment_id)
        if topic is None:
            continue
        publisher.publish(f"{topic}/count", {
            "state": machine.state.value, "operation_id": machine.operation_id, "work_order": machine.work_order_code,
            "produced": machine.counted_qty, "scrap": machine.scrap_qty, "planned": machine.planned_qty},
            qos=0, retain=True)
        published += 1
    return published


def status_board_of_all(db: Database, board: Any) -> list[Any]:
    with db.session() as s:
        return list(board(s))


def register_uns(bus: MessageBus, url: str, root: str = "") -> UnsPublisher:
    """Publish every domain event (and machine states, retained) on the broker at `url`."""
    publisher = publisher_for(url, root)

    def deliver(db: Database, event: Event) -> None:
        publish_event(publisher, db, event)

    bus.deliver(Event, deliver, name="connect.uns")
    return publisher
