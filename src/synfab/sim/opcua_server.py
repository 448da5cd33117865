"""The machining area's machines as one simulated OPC UA server ("MachiningSim"), in-process.

Namespace "urn:synfab:sim:machining" (index 2). Each machine is an object under Objects with these
variables, each with a stable string node id `ns=2;s=<MACHINE>.<Signal>`:

==============  ========  ====================================================================
variable        type      meaning
==============  ========  ====================================================================
Running         Boolean   a part is being made
Alarm           Int32     0 none, else the active alarm (1 short stop, 100 breakdown)
Mode            Int32     0 auto, 1 setup, 2 manual
PartCount       UInt32    parts made, counts up forever
ScrapCount      Int32     parts scrapped
SpindleSpeed    Double    rpm
Temperature     Double    °C (spindle bearing)
Vibration       Double    mm/s RMS
Sequence        UInt32    +1 every time the machine's values are published (gap checks)
==============  ========  ====================================================================

The demo drives it like the Modbus simulation: `set_working(machine, True)` while the machine has work,
`tick(dt_s)` about once a second with the simulated seconds that passed. A working machine in auto mode makes
a part every cycle time; now and then it has a short stop; its wear grows, and once wear is high its
temperature and vibration drift up in the minutes before it breaks down (alarm 100, manual mode); after the
repair its wear is back to zero. Random choices come from a seeded `random.Random`, so a run is reproducible.
A tick while the server is stopped moves the machines on but publishes nothing (Sequence does not move):
after a restart the values continue from where they are.

`start()` / `stop()` open and close the port (the server runs in a thread of its own; a restart on the same
port works at once); `hang(seconds)` makes it stop answering for a while, its connections kept open, as a
server that hangs; `endpoint` is the URL to connect to. `write(node_id, value)` sets one value directly
(tests). With `security` the server offers None, Sign and SignAndEncrypt (Basic256Sha256 and the two AES
policies) with its own certificate, and, given users, asks for a user name and password.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole

NAMESPACE = "urn:synfab:sim:machining"
MACHINING = ("CNC-01", "CNC-02", "DRL-01", "WSH-01", "LTH-01", "LTH-02", "GRD-01", "WSH-02")
PATH = "/synfab/sim"

AUTO, SETUP, MANUAL = 0, 1, 2
ALARM_SHORT_STOP, ALARM_BREAKDOWN = 1, 100

# Variable → its OPC UA type.
SIGNALS: dict[str, ua.VariantType] = {
    "Running": ua.VariantType.Boolean, "Alarm": ua.VariantType.Int32, "Mode": ua.VariantType.Int32,
    "PartCount": ua.VariantType.UInt32, "ScrapCount": ua.VariantType.Int32,
    "SpindleSpeed": ua.VariantType.Double, "Temperature": ua.VariantType.Double,
    "Vibration": ua.VariantType.Double, "Sequence": ua.VariantType.UInt32,
}

AMBIENT_C = 22.0
SHORT_STOP_PER_HOUR = 3.0
SCRAP_RATE = 0.015
WEAR_PER_HOUR = (0.04, 0.2)
DRIFT_FROM_WEAR = 0.75  # temperature and vibration drift up above this wear: the warning before a breakdown

log = logging.getLogger(__name__)


def extra_signal(index: int) -> str:
    """The name of a machine's `index`-th further process value (0-based): P001, P002, …"""
    return f"P{index + 1:03d}"


def node_id(machine: str, signal: str) -> str:
    return f"ns=2;s={machine}.{signal}"


@dataclass(frozen=True)
class ServerSecurity:
    """What a secured simulated server offers: its certificate and key (PEM), which modes, and the users
    allowed in (user name → password; none: anonymous)."""

    certificate_pem: str
    private_key_pem: str
    modes: tuple[str, ...] = ("None", "Sign", "SignAndEncrypt")
    users: dict[str, str] | None = None


@dataclass
class MachineState:
    """What one simulated machine is doing; its variables are written from it on every tick."""

    code: str
    cycle_time_s: float
    nominal_rpm: float
    wear_per_s: float
    working: bool = False
    mode: int = AUTO
    running: bool = False
    alarm: int = 0
    part_count: int = 0
    scrap_count: int = 0
    sequence: int = 0
    spindle_speed: float = 0.0
    temperature: float = AMBIENT_C
    vibration: float = 0.1
    cycle_progress_s: float = 0.0
    stop_left_s: float = 0.0
    repair_left_s: float = 0.0
    wear: float = 0.0
    # Further process values ("P001" …), a random walk each: for load and memory measurements.
    extra: list[float] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        values = {"Running": self.running, "Alarm": self.alarm, "Mode": self.mode, "PartCount": self.part_count,
                  "ScrapCount": self.scrap_count, "SpindleSpeed": self.spindle_speed,
                  "Temperature": self.temperature, "Vibration": self.vibration, "Sequence": self.sequence}
        values.update((extra_signal(i), v) for i, v in enumerate(self.extra))
        return values


class _UserManager:
    """Lets in the configured users (no anonymous sign-in)."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = dict(users)

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


@dataclass
class _Published:
    """What the server published per node (when recording): (source timestamp ms, value)."""

    by_node: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class MachiningSim:
    """The machining machines and the OPC UA server that serves them."""

    def __init__(self, machines: Sequence[str] = MACHINING, port: int | None = None, host: str = "127.0.0.1",
                 seed: int = 7, security: ServerSecurity | None = None, record: bool = False,
                 extra_signals: int = 0) -> None:
        if not machines or len(set(machines)) != len(machines):
            raise ValueError("MachiningSim needs at least one machine, with unique codes")
        self.host = host
        self._port = int(port or 0)
        self.security = security
        self._rng = random.Random(seed)
        self.machines: dict[str, MachineState] = {}
        for code in machines:
            self.machines[code] = MachineState(
                code, cycle_time_s=round(self._rng.uniform(45, 120), 1),
                nominal_rpm=round(self._rng.choice([3000, 4500, 6000, 8000, 12000])
                                  * self._rng.uniform(0.9, 1.1)),
                wear_per_s=self._rng.uniform(*WEAR_PER_HOUR) / 3600,
                extra=[round(self._rng.uniform(20, 80), 2) for _ in range(extra_signals)])
        self._record = _Published() if record else None
        self._last: dict[str, tuple[Any, dt.datetime]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._server: Server | None = None

    # -- the server ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port served (a free one chosen at the first start when none was given; kept on restarts)."""
        return self._port

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}{PATH}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._server is not None

    def start(self, timeout: float = 15.0) -> None:
        """Open the port and serve in a thread of its own; returns when clients can connect."""
        if self.running:
            return
        if not self._port:
            self._port = _free_port(self.host)
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), daemon=True,
                                        name=f"opcua-sim-{self._port}")
        self._thread.start()
        if not ready.wait(timeout) or failure:
            self.stop()
            reason = failure[0] if failure else f"not ready within {timeout} s"
            raise RuntimeError(f"OPC UA server on {self.endpoint} could not start: {reason}")

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection and the port (a restart on the same port works at once)."""
        thread = self._thread
        if thread is None:
            return
        if self._loop is not None and self._stopped is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        thread.join(timeout)
        self._thread = None

    def hang(self, seconds: float) -> None:
        """Stop answering for `seconds` with every connection kept open, as a server that hangs (its event
        loop is blocked); returns at once."""
        if self.running and self._loop is not None:
            self._loop.call_soon_threadsafe(time.sleep, seconds)

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        try:
            asyncio.run(self._main(ready))
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, which raises it
            failure.append(exc)
            ready.set()
        finally:
            self._server = None

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        server = Server(user_manager=_UserManager(self.security.users)
                        if self.security and self.security.users else None)
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("synfab MachiningSim")
        await server.set_application_uri("urn:synfab:sim:machining-server")
        await server.set_build_info("urn:synfab:sim", "synfab", "synfab MachiningSim", "1.0", "1",
                                    dt.datetime.now(dt.UTC))
        self._secure(server)
        if self.security is not None:
            await server.load_certificate(self.security.certificate_pem.encode(), "pem")
            await server.load_private_key(self.security.private_key_pem.encode(), format="pem")
        ns = await server.register_namespace(NAMESPACE)
        objects = server.nodes.objects
        for code in self.machines:
            machine = await objects.add_object(ua.NodeId(code, ns), ua.QualifiedName(code, ns))
            for signal, vtype in SIGNALS.items():
                await machine.add_variable(ua.NodeId(f"{code}.{signal}", ns), ua.QualifiedName(signal, ns),
                                           ua.Variant(_initial(vtype), vtype))
            for i in range(len(self.machines[code].extra)):
                signal = extra_signal(i)
                await machine.add_variable(ua.NodeId(f"{code}.{signal}", ns), ua.QualifiedName(signal, ns),
                                           ua.Variant(0.0, ua.VariantType.Double))
        # A restarted server serves each value as it was last published, with its own timestamp.
        with self._lock:
            values = [(node_id(code, s), v) for code, state in self.machines.items()
                      for s, v in state.values().items()]
        self._server = server
        await self._write_all([(n, v) for n, v in values if n not in self._last])
        await self._write_all([(n, v) for n, (v, _) in self._last.items()], restore=True)
        await server.start()
        try:
            ready.set()
            await self._stopped.wait()
        finally:
            self._server = None
            await server.stop()

    def _secure(self, server: Server) -> None:
        policies = {"None": [ua.SecurityPolicyType.NoSecurity],
                    "Sign": [ua.SecurityPolicyType.Basic256Sha256_Sign,
                             ua.SecurityPolicyType.Aes128Sha256RsaOaep_Sign,
                             ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign],
                    "SignAndEncrypt": [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
                                       ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
                                       ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt]}
        if self.security is None:
            server.set_security_policy(policies["None"])
            server.set_identity_tokens([ua.AnonymousIdentityToken])
            return
        server.set_security_policy([p for mode in self.security.modes for p in policies[mode]])
        if self.security.users:
            server.set_identity_tokens([ua.UserNameIdentityToken])

    async def _write_all(self, values: list[tuple[str, Any]], restore: bool = False) -> None:
        server = self._server
        if server is None:
            return
        now = dt.datetime.now(dt.UTC)
        for text, value in values:
            stamp = self._last[text][1] if restore else now
            signal = text.rsplit(".", 1)[-1]
            vtype = SIGNALS.get(signal) if text.startswith("ns=2;s=") else None
            variant = ua.Variant(_typed(value, vtype), vtype) if vtype is not None else ua.Variant(value)
            status = await server.write_attribute_value(
                ua.NodeId.from_string(text),
                ua.DataValue(variant, SourceTimestamp=stamp, ServerTimestamp=stamp))
            if isinstance(status, ua.StatusCode) and not status.is_good():
                raise ValueError(f"cannot write {value!r} to {text}: {status.name}")
            if restore:
                continue
            self._last[text] = (value, stamp)
            if self._record is not None:
                with self._record.lock:
                    self._record.by_node.setdefault(text, []).append(((stamp - _EPOCH) // _MS, value))

    def _publish(self, values: list[tuple[str, Any]], timeout: float = 10.0) -> bool:
        """Write values into the running server from any thread; False when it is not running."""
        loop = self._loop
        if not self.running or loop is None or loop.is_closed():
            return False
        try:
            asyncio.run_coroutine_threadsafe(self._write_all(values), loop).result(timeout)
        except (RuntimeError, asyncio.CancelledError):
            # The server stopped meanwhile.
            return False
        return True

    # -- what the demo and the tests use -------------------------------------------------------------

    def tag_addresses(self, machine: str) -> dict[str, str]:
        """Variable name → node id string, e.g. {"PartCount": "ns=2;s=CNC-01.PartCount", ...}."""
        self._state(machine)
        return {signal: node_id(machine, signal) for signal in SIGNALS}

    def set_working(self, machine: str, working: bool) -> None:
        """The machine has work (True) or nothing to do (False)."""
        with self._lock:
            self._state(machine).working = working

    def set_mode(self, machine: str, mode: int) -> None:
        """Put a machine in auto, setup (changeover) or manual mode; only auto makes parts."""
        if mode not in (AUTO, SETUP, MANUAL):
            raise ValueError(f"mode must be {AUTO} auto, {SETUP} setup or {MANUAL} manual")
        with self._lock:
            state = self._state(machine)
            state.mode = mode
            values = self._next_values(state)
        self._publish(values)

    def snapshot(self, machine: str) -> MachineState:
        """A copy of the machine's state."""
        with self._lock:
            state = self._state(machine)
            return MachineState(**{k: getattr(state, k) for k in state.__dataclass_fields__})

    def write(self, node: str, value: Any) -> None:
        """Set one variable directly (tests); ValueError when the server refuses it, RuntimeError when it
        is stopped."""
        if not self._publish([(node, value)]):
            raise RuntimeError(f"OPC UA server {self.endpoint} is not running")

    def published(self, node: str) -> list[tuple[int, Any]]:
        """What was published to one node since the start, as (source timestamp ms, value) (`record=True`)."""
        if self._record is None:
            raise RuntimeError("MachiningSim(record=True) keeps what it published")
        with self._record.lock:
            return list(self._record.by_node.get(node, []))

    def tick(self, dt_s: float) -> None:
        """Let `dt_s` simulated seconds pass on every machine, then publish its variables (when running)."""
        if dt_s < 0:
            return
        # Steps of at most a second (at most 600 per tick), so short stops and cycles keep their sense.
        steps = min(600, max(1, int(dt_s + 0.999)))
        step = dt_s / steps
        values: list[tuple[str, Any]] = []
        with self._lock:
            for state in self.machines.values():
                for _ in range(steps):
                    if step > 0:
                        self._step(state, step)
                if state.extra and dt_s > 0:
                    state.extra = [round(v + self._rng.gauss(0, 0.2), 3) for v in state.extra]
                if self.running:
                    values.extend(self._next_values(state))
        if values:
            self._publish(values)

    # -- the simulation ------------------------------------------------------------------------------

    def _state(self, machine: str) -> MachineState:
        try:
            return self.machines[machine]
        except KeyError:
            raise KeyError(f"MachiningSim has no machine {machine!r}") from None

    @staticmethod
    def _next_values(state: MachineState) -> list[tuple[str, Any]]:
        state.sequence = (state.sequence + 1) & 0xFFFFFFFF
        return [(node_id(state.code, s), v) for s, v in state.values().items()]

    def _step(self, s: MachineState, dt_s: float) -> None:
        rng = self._rng
        if s.alarm == ALARM_BREAKDOWN:
            s.repair_left_s -= dt_s
            if s.repair_left_s <= 0:
                s.alarm, s.wear, s.mode = 0, 0.0, AUTO
        elif s.stop_left_s > 0:
            s.stop_left_s -= dt_s
            if s.stop_left_s <= 0:
                s.alarm = 0
        elif s.working and s.mode == AUTO:
            if rng.random() < SHORT_STOP_PER_HOUR / 3600 * dt_s:
                s.stop_left_s, s.alarm = rng.uniform(15, 120), ALARM_SHORT_STOP
            s.wear += s.wear_per_s * dt_s * rng.uniform(0.5, 1.5)
            if s.wear >= 1.0:
                s.alarm, s.mode, s.stop_left_s = ALARM_BREAKDOWN, MANUAL, 0.0
                s.repair_left_s = rng.uniform(600, 2400)
                s.cycle_progress_s = 0.0
        s.running = s.working and s.mode == AUTO and s.alarm == 0 and s.stop_left_s <= 0
        drift = max(0.0, s.wear - DRIFT_FROM_WEAR) / (1 - DRIFT_FROM_WEAR)
        if s.running:
            s.cycle_progress_s += dt_s
            while s.cycle_progress_s >= s.cycle_time_s:
                s.cycle_progress_s -= s.cycle_time_s
                s.part_count = (s.part_count + 1) & 0xFFFFFFFF
                if rng.random() < SCRAP_RATE * (1 + 4 * drift):
                    s.scrap_count += 1
            noise = rng.gauss(0, s.nominal_rpm * 0.002)
            s.spindle_speed = max(0.0, s.nominal_rpm * (1 - 0.03 * drift) + noise)
        else:
            s.spindle_speed = 0.0
        # First-order lag towards where the signal settles, plus a little noise.
        target_t = AMBIENT_C + (18.0 if s.running else 3.0) + 30.0 * drift
        target_v = (1.8 if s.running else 0.1) + 7.0 * drift
        s.temperature += (target_t - s.temperature) * min(1.0, dt_s / 150) + rng.gauss(0, 0.05)
        s.vibration += (target_v - s.vibration) * min(1.0, dt_s / 20) + rng.gauss(0, 0.02)
        s.vibration = max(0.0, s.vibration)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def _initial(vtype: ua.VariantType) -> Any:
    return {ua.VariantType.Boolean: False, ua.VariantType.Double: 0.0}.get(vtype, 0)


def _typed(value: Any, vtype: ua.VariantType) -> Any:
    if vtype == ua.VariantType.Boolean:
        return bool(value)
    if vtype == ua.VariantType.Double:
        return float(value)
    return int(value)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
