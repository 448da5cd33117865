"""A simulated Sparkplug B edge node, for tests and the demo: one node with devices that count parts.

Each device has a `sequence` counter (+1 per sample), a `temperature` (Float) and a `parts` count (UInt32).
The node births (NBIRTH with bdSeq and "Node Control/Rebirth", a DBIRTH per device with aliases), then
publishes a DDATA per sample with aliases only, and leaves NDEATH (its bdSeq) as its Will. It honours an NCMD
rebirth. With `primary_host_id` it waits for that host's STATE {"online": true} before it births, as
Sparkplug 3.0 asks.

Store-and-forward: while the broker or the primary host is away, samples are kept; after the next birth they
are published as is_historical metrics with their own timestamps. A sample the broker acknowledged shortly
before the connection broke may not have reached the host, so the last `replay_ms` of sent samples are sent
again too: the host's store keeps one value per (address, timestamp), and a repeat carries the same value.

Messages go with QoS 1 (the spec says 0 for data) so the node knows what the broker took.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from synfab.connect.mqtt.client import Broker
from synfab.connect.runtime import now_ms
from synfab.connect.sparkplug.codec import DataType, Metric, decode_payload, encode_payload
from synfab.connect.sparkplug.host import BDSEQ_METRIC, NAMESPACE, REBIRTH_METRIC

log = logging.getLogger(__name__)

METRICS = (("sequence", DataType.INT64), ("temperature", DataType.FLOAT), ("parts", DataType.UINT32))


@dataclass(frozen=True, slots=True)
class Sample:
    device: str
    ts_ms: int
    sequence: int
    temperature: float
    parts: int

    def values(self) -> tuple[int, float, int]:
        return self.sequence, self.temperature, self.parts


@dataclass
class _Sent:
    info: paho.MQTTMessageInfo
    samples: list[Sample]
    at_ms: int = field(default_factory=now_ms)


class SparkplugEdgeNode:
    """Start with `start()`, end with `stop()`; `produced` lists every sample made, in order."""

    def __init__(
        self,
        broker_url: str,
        group: str = "G1",
        node: str = "EN1",
        devices: tuple[str, ...] = ("D1",),
        interval_s: float = 0.2,
        primary_host_id: str | None = None,
        client_id: str | None = None,
        replay_ms: int = 2000,
        retry_s: float = 0.5,
    ) -> None:
        self.broker = Broker.parse(broker_url)
        self.group, self.node, self.devices = group, node, devices
        self.interval_s, self.primary_host_id, self.replay_ms, self.retry_s = (
            interval_s,
            primary_host_id,
            replay_ms,
            retry_s,
        )
        self.client_id = client_id or f"synfab-sim-{group}-{node}"
        self.produced: list[Sample] = []
        self.births = 0
        self.bdseq = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._client: paho.Client | None = None
        self._lost = threading.Event()
        self._live = False
        self._host_online = primary_host_id is None
        self._seq = 0
        self._backlog: list[Sample] = []
        self._sent: list[_Sent] = []
        self._last: dict[str, Sample] = {}
        self._counter = {d: 0 for d in devices}
        self._threads: list[threading.Thread] = []

    # -- topics and payloads -----------------------------------------------------------------------------

    def _topic(self, kind: str, device: str = "") -> str:
        return f"{NAMESPACE}/{self.group}/{kind}/{self.node}" + (f"/{device}" if device else "")

    def _alias(self, device: str, index: int) -> int:
        return 100 * (self.devices.index(device) + 1) + index

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) % 256
        return seq

    # -- sampling ----------------------------------------------------------------------------------------

    def _sample(self, device: str) -> Sample:
        self._counter[device] += 1
        n = self._counter[device]
        sample = Sample(device, now_ms(), n, round(60 + 5 * math.sin(n / 10), 2), n // 3)
        self.produced.append(sample)
        self._last[device] = sample
        return sample

    def _sampler(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                samples = [self._sample(d) for d in self.devices]
                if self._live:
                    for sample in samples:
                        self._publish_data(sample.device, [sample], historical=False)
                else:
                    self._backlog.extend(samples)

    # -- publishing (under the lock) ---------------------------------------------------------------------

    def _publish(self, topic: str, payload: bytes, samples: list[Sample]) -> None:
        assert self._client is not None
        info = self._client.publish(topic, payload, qos=1)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            self._backlog.extend(samples)
            self._live = False
            return
        if samples:
            self._sent.append(_Sent(info, samples))

    def _publish_data(self, device: str, samples: list[Sample], historical: bool) -> None:
        metrics = [
            Metric(None, v, dt, alias=self._alias(device, i), timestamp=s.ts_ms, is_historical=historical)
            for s in samples
            for i, ((_, dt), v) in enumerate(zip(METRICS, s.values(), strict=True))
        ]
        self._publish(
            self._topic("DDATA", device), encode_payload(now_ms(), self._next_seq(), metrics), samples
        )

    def _birth(self) -> None:
        """NBIRTH, a DBIRTH per device, then what was kept, as historical data."""
        if self._client is None:
            return
        self._live = False
        self._seq = 0
        ts = now_ms()
        node_metrics = [
            Metric(BDSEQ_METRIC, self.bdseq, DataType.INT64, timestamp=ts),
            Metric(REBIRTH_METRIC, False, DataType.BOOLEAN, timestamp=ts),
        ]
        self._publish(self._topic("NBIRTH"), encode_payload(ts, self._next_seq(), node_metrics), [])
        for device in self.devices:
            last = self._last.get(device) or self._sample(device)
            metrics = [
                Metric(name, v, dt, alias=self._alias(device, i), timestamp=last.ts_ms)
                for i, ((name, dt), v) in enumerate(zip(METRICS, last.values(), strict=True))
            ]
            self._publish(
                self._topic("DBIRTH", device), encode_payload(ts, self._next_seq(), metrics), [last]
            )
        backlog, self._backlog = self._backlog, []
        for device in self.devices:
            mine = sorted({s for s in backlog if s.device == device}, key=lambda s: s.ts_ms)
            for start in range(0, len(mine), 50):
                self._publish_data(device, mine[start : start + 50], historical=True)
        self.births += 1
        self._live = self._client is not None and not self._backlog

    def _death_payload(self) -> bytes:
        return encode_payload(now_ms(), None, [Metric(BDSEQ_METRIC, self.bdseq, DataType.INT64)])

    # -- paho callbacks (paho's thread) ------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self._lost.set()
            return
        topics = [(self._topic("NCMD"), 1)]
        if self.primary_host_id:
            topics.append((f"{NAMESPACE}/STATE/{self.primary_host_id}", 1))
        client.subscribe(topics)
        if self.primary_host_id is None:
            with self._lock:
                self._birth()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self._lost.set()

    def _on_message(self, client, userdata, message) -> None:  # noqa: ANN001
        if message.topic.startswith(f"{NAMESPACE}/STATE/"):
            try:
                online = bool(json.loads(message.payload).get("online"))
            except (ValueError, AttributeError):
                return
            with self._lock:
                was, self._host_online = self._host_online, online
                if online and not was:
                    self._birth()
                elif not online:
                    self._live = False
            return
        try:
            payload = decode_payload(message.payload)
        except ValueError:
            return
        if any(m.name == REBIRTH_METRIC and m.value is True for m in payload.metrics):
            with self._lock:
                if self._host_online:
                    self._birth()

    # -- connection loop ---------------------------------------------------------------------------------

    def _keep_after_loss(self) -> None:
        """What the broker did not acknowledge, and what it took in the last `replay_ms`, is kept."""
        cutoff = now_ms() - self.replay_ms
        again = {
            s
            for sent in self._sent
            if not sent.info.is_published() or sent.at_ms >= cutoff
            for s in sent.samples
        }
        self._sent = []
        self._backlog = sorted(again | set(self._backlog), key=lambda s: (s.device, s.ts_ms))

    def _connection(self) -> None:
        while not self._stop.is_set():
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=True)
            client.will_set(self._topic("NDEATH"), self._death_payload(), qos=1)
            client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
            client.on_message = self._on_message
            self._lost.clear()
            with self._lock:
                self._client = client
                self._host_online = self.primary_host_id is None
            try:
                client.connect(self.broker.host, self.broker.port, keepalive=10)
            except OSError:
                with self._lock:
                    self._client = None
                self._stop.wait(self.retry_s)
                continue
            client.loop_start()
            while not self._stop.is_set() and not self._lost.wait(0.1):
                pass
            with self._lock:
                self._live = False
                if self._stop.is_set() and not self._lost.is_set():
                    client.publish(self._topic("NDEATH"), self._death_payload(), qos=1).wait_for_publish(2)
                    client.disconnect()
                self._client = None
                self._keep_after_loss()
                self.bdseq = (self.bdseq + 1) % 256
            client.loop_stop()
            if not self._stop.is_set():
                self._stop.wait(self.retry_s)

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._connection, name=f"sim-edge-{self.node}-mqtt", daemon=True),
            threading.Thread(target=self._sampler, name=f"sim-edge-{self.node}-sampler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    @property
    def live(self) -> bool:
        with self._lock:
            return self._live

    def wait_live(self, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.live:
                return True
            time.sleep(0.05)
        return False
