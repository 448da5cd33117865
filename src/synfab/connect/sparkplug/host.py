"""The Sparkplug B host application's view of edge nodes, as pure code: messages in, what to do out.

`SparkplugHost.receive(topic, payload, received_ms)` returns a `HostOutcome`: readings to hand on, input to
quarantine, commands to publish (NCMD rebirth requests) and node status changes. No I/O happens here, so
the rules are unit-tested without a broker.

The rules (Sparkplug B 3.0, chapter 5 and 6): an NBIRTH (seq 0) starts a node's session, carries its
bdSeq and assigns the aliases that later NDATA/DDATA may use alone; every message after it carries
seq = previous + 1 (mod 256). A gap, an unknown alias or data from a node we have no birth for means our
alias state may be wrong: the message is quarantined (not guessed at) and a rebirth is requested. An NDEATH
counts only when its bdSeq equals the NBIRTH's; an older one is the stale Will of a previous session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from synfab.connect.runtime import BAD, GOOD, Reading
from synfab.connect.sparkplug.codec import (
    DataType,
    Metric,
    SparkplugDecodeError,
    decode_payload,
    encode_payload,
)

log = logging.getLogger(__name__)

NAMESPACE = "spBv1.0"
REBIRTH_METRIC = "Node Control/Rebirth"
BDSEQ_METRIC = "bdSeq"
# Ask an edge node for a rebirth at most this often while it stays out of step.
REBIRTH_INTERVAL_MS = 2000


class Quarantine(StrEnum):
    """Why a Sparkplug message was put aside."""

    MALFORMED = "sparkplug_malformed"
    BAD_TOPIC = "sparkplug_bad_topic"
    BEFORE_BIRTH = "sparkplug_before_birth"
    SEQ_GAP = "sparkplug_seq_gap"
    UNKNOWN_ALIAS = "sparkplug_unknown_alias"


@dataclass(frozen=True, slots=True)
class Command:
    """An MQTT message the host should publish (QoS 0, not retained, as the spec asks for NCMD)."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class NodeChange:
    """A node or device came online or went offline; `device` is "" for the node itself."""

    group: str
    node: str
    device: str
    online: bool
    ts_ms: int


@dataclass
class HostOutcome:
    readings: list[Reading] = field(default_factory=list)
    quarantined: list[tuple[str, str, bytes]] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    changes: list[NodeChange] = field(default_factory=list)


@dataclass
class NodeState:
    """What the host knows of one edge node's current session."""

    group: str
    node: str
    online: bool = False
    birth_ms: int | None = None
    bdseq: int | None = None
    last_seq: int | None = None
    # alias -> (device, metric name); device "" for node metrics.
    aliases: dict[int, tuple[str, str]] = field(default_factory=dict)
    devices: dict[str, bool] = field(default_factory=dict)
    # (device, metric name) → reading address, made once.
    addresses: dict[tuple[str, str], str] = field(default_factory=dict)
    # Out of step (gap, unknown alias, data before birth): data is put aside until the next NBIRTH.
    stale: bool = True
    rebirth_asked_ms: int | None = None


def address(group: str, node: str, device: str, metric: str) -> str:
    """The reading address of a metric: "group/node/device/metric", device empty for node metrics."""
    return f"{group}/{node}/{device}/{metric}"


def rebirth_command(group: str, node: str, ts_ms: int) -> Command:
    metric = Metric(REBIRTH_METRIC, True, DataType.BOOLEAN, timestamp=ts_ms)
    return Command(f"{NAMESPACE}/{group}/NCMD/{node}", encode_payload(ts_ms, None, [metric]))


class SparkplugHost:
    """Sparkplug B host application state for every edge node seen."""

    def __init__(self, rebirth_interval_ms: int = REBIRTH_INTERVAL_MS) -> None:
        self.nodes: dict[tuple[str, str], NodeState] = {}
        self.rebirth_interval_ms = rebirth_interval_ms

    def node(self, group: str, node: str) -> NodeState | None:
        return self.nodes.get((group, node))

    def receive(self, topic: str, payload: bytes, received_ms: int) -> HostOutcome:
        """Apply one MQTT message and say what follows from it."""
        out = HostOutcome()
        parts = topic.split("/")
        if len(parts) < 2 or parts[0] != NAMESPACE:
            out.quarantined.append((Quarantine.BAD_TOPIC, f"not a Sparkplug B topic: {topic}", payload))
            return out
        if parts[1] == "STATE":
            return out  # host application state: ours or another host's, nothing to read
        if len(parts) not in (4, 5):
            out.quarantined.append((Quarantine.BAD_TOPIC, f"not a Sparkplug B topic: {topic}", payload))
            return out
        group, kind, node_id = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else ""
        if kind in ("NCMD", "DCMD"):
            return out  # commands, ours or another application's
        try:
            message = decode_payload(payload)
        except SparkplugDecodeError as exc:
            out.quarantined.append((Quarantine.MALFORMED, f"{topic}: {exc}", payload))
            return out
        node = self.nodes.setdefault((group, node_id), NodeState(group, node_id))
        if kind == "NBIRTH":
            self._node_birth(node, message, received_ms, out)
        elif kind == "NDEATH":
            self._node_death(node, message, received_ms, out)
        elif kind in ("DBIRTH", "NDATA", "DDATA", "DDEATH"):
            if kind != "NDATA" and not device or kind == "NDATA" and device:
                out.quarantined.append((Quarantine.BAD_TOPIC, f"{kind} on {topic}", payload))
            elif self._in_step(node, topic, message.seq, payload, received_ms, out):
                if kind == "DBIRTH":
                    self._device_birth(node, device, message, received_ms, out, topic, payload)
                elif kind == "DDEATH":
                    if node.devices.get(device):
                        out.changes.append(NodeChange(group, node_id, device, False, received_ms))
                    node.devices[device] = False
                else:
                    self._data(node, device, message, received_ms, out, topic, payload)
        else:
            out.quarantined.append((Quarantine.BAD_TOPIC, f"unknown message type {kind} on {topic}", payload))
        return out

    # -- message kinds -----------------------------------------------------------------------------------

    def _node_birth(self, node: NodeState, message, received_ms: int, out: HostOutcome) -> None:
        bdseq = next(
            (int(m.value) for m in message.metrics if m.name == BDSEQ_METRIC and m.value is not None), None
        )
        for device, was_online in node.devices.items():
            if was_online:
                out.changes.append(NodeChange(node.group, node.node, device, False, received_ms))
        node.devices = {}
        node.aliases = {}
        node.bdseq, node.birth_ms, node.last_seq = bdseq, received_ms, message.seq
        node.stale, node.rebirth_asked_ms = False, None
        if not node.online:
            out.changes.append(NodeChange(node.group, node.node, "", True, received_ms))
        node.online = True
        self._register_and_read(node, "", message, received_ms, out)

    def _node_death(self, node: NodeState, message, received_ms: int, out: HostOutcome) -> None:
        bdseq = next(
            (int(m.value) for m in message.metrics if m.name == BDSEQ_METRIC and m.value is not None), None
        )
        if not node.online or bdseq != node.bdseq:
            # The Will of an earlier session, delivered late: the current session is still alive.
            log.debug(
                "sparkplug %s/%s: NDEATH bdSeq %s does not match birth bdSeq %s; ignored",
                node.group,
                node.node,
                bdseq,
                node.bdseq,
            )
            return
        node.online, node.stale = False, True
        for device, was_online in node.devices.items():
            if was_online:
                out.changes.append(NodeChange(node.group, node.node, device, False, received_ms))
        node.devices = {d: False for d in node.devices}
        out.changes.append(NodeChange(node.group, node.node, "", False, received_ms))

    def _device_birth(
        self,
        node: NodeState,
        device: str,
        message,
        received_ms: int,
        out: HostOutcome,
        topic: str,
        payload: bytes,
    ) -> None:
        node.aliases = {a: key for a, key in node.aliases.items() if key[0] != device}
        if not node.devices.get(device):
            out.changes.append(NodeChange(node.group, node.node, device, True, received_ms))
        node.devices[device] = True
        self._register_and_read(node, device, message, received_ms, out)

    def _register_and_read(
        self, node: NodeState, device: str, message, received_ms: int, out: HostOutcome
    ) -> None:
        for m in message.metrics:
            if m.name is None:
                continue
            if m.alias is not None:
                node.aliases[m.alias] = (device, m.name)
            out.readings.append(self._reading(node, device, m.name, m, message.timestamp, received_ms))

    def _data(
        self,
        node: NodeState,
        device: str,
        message,
        received_ms: int,
        out: HostOutcome,
        topic: str,
        payload: bytes,
    ) -> None:
        if device and not node.devices.get(device):
            self._out_of_step(
                node,
                Quarantine.BEFORE_BIRTH,
                f"{topic}: data from a device without DBIRTH",
                payload,
                received_ms,
                out,
            )
            return
        resolved: list[tuple[str, Metric]] = []
        for m in message.metrics:
            name = m.name
            if name is None and m.alias is not None:
                known = node.aliases.get(m.alias)
                if known is None or known[0] != device:
                    self._out_of_step(
                        node,
                        Quarantine.UNKNOWN_ALIAS,
                        f"{topic}: alias {m.alias} not in the birth",
                        payload,
                        received_ms,
                        out,
                    )
                    return
                name = known[1]
            if name is None:
                continue
            resolved.append((name, m))
        default_ts = message.timestamp if message.timestamp is not None else received_ms
        known_addresses, append = node.addresses, out.readings.append
        for name, m in resolved:
            where = known_addresses.get((device, name))
            if where is None:
                where = known_addresses[(device, name)] = address(node.group, node.node, device, name)
            # A metric's own timestamp wins (historical metrics carry when they were measured).
            append(Reading(where, m.timestamp if m.timestamp is not None else default_ts, m.value,
                           BAD if m.is_null else GOOD))

    # -- sequence and rebirth ----------------------------------------------------------------------------

    def _in_step(
        self, node: NodeState, topic: str, seq: int | None, payload: bytes, received_ms: int, out: HostOutcome
    ) -> bool:
        if not node.online or node.stale:
            self._out_of_step(
                node,
                Quarantine.BEFORE_BIRTH,
                f"{topic}: no valid NBIRTH for this node",
                payload,
                received_ms,
                out,
            )
            return False
        expected = ((node.last_seq or 0) + 1) % 256
        if seq != expected:
            self._out_of_step(
                node,
                Quarantine.SEQ_GAP,
                f"{topic}: seq {seq}, expected {expected}",
                payload,
                received_ms,
                out,
            )
            return False
        node.last_seq = seq
        return True

    def _out_of_step(
        self, node: NodeState, reason: str, detail: str, payload: bytes, received_ms: int, out: HostOutcome
    ) -> None:
        """Put the message aside and ask the node for a rebirth (at most every `rebirth_interval_ms`)."""
        node.stale = True
        out.quarantined.append((reason, detail, payload))
        if node.rebirth_asked_ms is None or received_ms - node.rebirth_asked_ms >= self.rebirth_interval_ms:
            node.rebirth_asked_ms = received_ms
            out.commands.append(rebirth_command(node.group, node.node, received_ms))

    @staticmethod
    def _reading(
        node: NodeState, device: str, name: str, m: Metric, payload_ts: int | None, received_ms: int
    ) -> Reading:
        # A metric's own timestamp wins (historical metrics carry when they were measured).
        ts = m.timestamp if m.timestamp is not None else payload_ts if payload_ts is not None else received_ms
        return Reading(address(node.group, node.node, device, name), ts, m.value, BAD if m.is_null else GOOD)
