"""The Sparkplug B coordinator: a primary host application that turns edge nodes' metrics into readings.

Session (Sparkplug B 3.0, 5.x): connect with the Will `spBv1.0/STATE/<host_id>` = {"online": false} (QoS 1,
retained), subscribe to our STATE topic and to `spBv1.0/<group>/#`, and only then publish {"online": true}:
edge nodes wait for it before they birth, so no birth is sent before we listen. Each message goes through
`SparkplugHost` (pure rules) on paho's thread; its readings, quarantines and rebirth requests are applied
there. A node death is reported through `on_node_change` so whoever owns the tags can mark them offline.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from synfab.connect.mqtt.client import MqttLink, Will
from synfab.connect.runtime import Coordinator, Intake, SourceAddress, SourceError, now_ms
from synfab.connect.sparkplug.config import SparkplugConfig
from synfab.connect.sparkplug.host import NAMESPACE, NodeChange, NodeState, SparkplugHost

log = logging.getLogger(__name__)


def state_payload(online: bool, ts_ms: int) -> bytes:
    return json.dumps({"online": online, "timestamp": ts_ms}).encode()


class SparkplugCoordinator(Coordinator):
    """A Sparkplug B primary host application on one broker."""

    kind: ClassVar[str] = "sparkplug"
    config_schema: ClassVar[type[SparkplugConfig]] = SparkplugConfig
    config: SparkplugConfig

    def __init__(
        self,
        code: str,
        config: SparkplugConfig,
        addresses: list[SourceAddress],
        intake: Intake,
        secret: str | None = None,
        on_node_change: Callable[[NodeChange], None] | None = None,
    ) -> None:
        super().__init__(code, config, addresses, intake, secret)
        # Kept across sessions: after a reconnect, a node's next message is checked against its last seq.
        self.host = SparkplugHost()
        self.on_node_change = on_node_change
        self._link: MqttLink | None = None

    @property
    def state_topic(self) -> str:
        return f"{NAMESPACE}/STATE/{self.config.host_id}"

    def nodes(self) -> list[NodeState]:
        """Every edge node seen: online, last birth time, bdSeq."""
        return list(self.host.nodes.values())

    def _make_link(self, client_id: str, will: Will | None, handler) -> MqttLink:  # noqa: ANN001
        cfg = self.config
        try:
            return MqttLink(
                cfg.broker_url,
                client_id,
                handler,
                username=cfg.username,
                password=self.secret,
                ca_file=cfg.tls.ca_file if cfg.tls else None,
                tls_insecure=bool(cfg.tls and cfg.tls.insecure),
                will=will,
                keepalive_s=cfg.keepalive_s,
            )
        except ValueError as exc:
            raise SourceError(str(exc)) from exc

    def _message(self, topic: str, payload: bytes, received_ms: int) -> None:
        """On paho's thread: apply the host rules and carry out what they say."""
        outcome = self.host.receive(topic, payload, received_ms)
        if outcome.readings:
            self.intake.readings(outcome.readings)
        for reason, detail, raw in outcome.quarantined:
            self.intake.quarantine(str(reason), detail, raw)
        link = self._link
        for command in outcome.commands:
            if link is not None:
                log.info("connector %s: asking %s for a rebirth", self.code, command.topic)
                try:
                    link.publish(command.topic, command.payload, qos=0)
                except SourceError as exc:
                    # On paho's thread: an exception here would end its loop. The loss is seen by `wait_lost`.
                    log.warning("connector %s: rebirth request not sent: %s", self.code, exc)
        for change in outcome.changes:
            if not change.online:
                log.info(
                    "connector %s: sparkplug %s/%s%s went offline",
                    self.code,
                    change.group,
                    change.node,
                    f"/{change.device}" if change.device else "",
                )
            if self.on_node_change is not None:
                self.on_node_change(change)

    async def session(self) -> None:
        will = Will(self.state_topic, state_payload(False, now_ms()), qos=1, retain=True)
        link = self._make_link(self.config.client_id, will, self._message)
        self._link = link
        try:
            await link.connect()
            await link.subscribe(
                [self.state_topic] + [f"{NAMESPACE}/{g}/#" for g in self.config.groups], qos=1
            )
            await link.publish_confirmed(self.state_topic, state_payload(True, now_ms()), qos=1, retain=True)
            self.mark_connected()
            await link.wait_lost(self._stop)
            if self.stopping:
                # A clean disconnect sends no Will: say we are offline ourselves.
                await link.publish_confirmed(
                    self.state_topic, state_payload(False, now_ms()), qos=1, retain=True, timeout_s=2.0
                )
        finally:
            self._link = None
            link.close()

    async def probe(self) -> dict[str, Any]:
        """Connect with a client id of its own and subscribe: is the broker reachable, does it let us listen.

        Edge nodes publishing in the short moment before the answer are listed too."""
        started = time.monotonic()
        seen: set[str] = set()
        link = self._make_link(
            f"{self.config.client_id}-probe",
            None,
            lambda topic, _p, _t: seen.add("/".join(topic.split("/")[1:4:2])),
        )
        try:
            await link.connect()
            await link.subscribe([f"{NAMESPACE}/{g}/#" for g in self.config.groups], qos=0)
            return {
                "broker": str(link.broker),
                "host_id": self.config.host_id,
                "groups": self.config.groups,
                "nodes_seen": sorted(seen),
                "elapsed_ms": round((time.monotonic() - started) * 1000),
            }
        finally:
            link.close()
