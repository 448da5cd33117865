"""`synfab bench opcua`: how many OPC UA data changes a second one connector takes from a server to its
intake.

An asyncua server in a process of its own (so the two sides do not share one interpreter) changes every one of
N Double variables once per period; our coordinator subscribes to all of them (sampling = period, publishing
every 100 ms) and hands the changes to an intake. After a warm-up, the changes that reach the intake over the
measured window give `changes_per_s`; `offered_per_s` is what the server wrote meanwhile, so `delivered`
(received ÷ written) shows whether the connector kept up. The intake is one parameter of `measure`: here a
counting intake; the store's intake can be passed in its place.

Figures: `changes_per_s`, `offered_per_s`, `delivered`, `tags`, `period_ms`, `seconds`, `latency_ms_p50` /
`latency_ms_p99` (from the source timestamp to the intake).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from synfab.connect.opcua import OpcUaConfig, OpcUaCoordinator
from synfab.connect.runtime import Reading, SourceAddress, now_ms

NAMESPACE = "urn:synfab:bench"


class CountingIntake:
    """Counts what it is handed (and a sample of latencies); keeps nothing."""

    def __init__(self) -> None:
        self.count = 0
        self.up = False
        self.latencies: list[int] = []
        self._lock = threading.Lock()

    def readings(self, batch: list[Reading]) -> None:
        now = now_ms()
        with self._lock:
            self.count += len(batch)
            # One in a hundred is enough for percentiles.
            self.latencies.extend(now - r.ts_ms for r in batch[::100])

    def quarantine(self, reason: str, detail: str, payload: bytes | str) -> None:
        pass

    def connected(self, up: bool, error: str | None = None) -> None:
        self.up = up


def _serve(port: int, tags: int, period_ms: int, ready: Any, stop: Any, written: Any) -> None:
    """The server process: N variables, each written once per period until told to stop."""
    import logging

    from asyncua import Server, ua
    from asyncua.server.monitored_item_service import MonitoredItemValues

    logging.getLogger("asyncua").setLevel(logging.ERROR)

    # asyncua's server deep-copies every value for each monitored item (about 100 µs a value), which would
    # make this load generator, not the connector, the bottleneck. Every value written here is a new
    # DataValue never changed afterwards, so keeping a reference is the same.
    def keep(self: MonitoredItemValues, value: ua.DataValue) -> None:
        self.old_dvalue, self.current_dvalue = self.current_dvalue, value

    MonitoredItemValues.set_current_datavalue = keep  # type: ignore[method-assign]

    async def main() -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/bench")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_identity_tokens([ua.AnonymousIdentityToken])
        server.disable_clock()
        ns = await server.register_namespace(NAMESPACE)
        folder = await server.nodes.objects.add_folder(ua.NodeId("Bench", ns), ua.QualifiedName("Bench", ns))
        ids = []
        for i in range(tags):
            name = f"T{i:05d}"
            node = await folder.add_variable(ua.NodeId(f"Bench.{name}", ns), ua.QualifiedName(name, ns),
                                             ua.Variant(0.0, ua.VariantType.Double))
            ids.append(node.nodeid)
        await server.start()
        ready.set()
        loop = asyncio.get_running_loop()
        step, due = period_ms / 1000, loop.time()
        value = 0.0
        try:
            while not stop.is_set():
                value += 1.0
                now = dt.datetime.now(dt.UTC)
                for i, nid in enumerate(ids):
                    await server.write_attribute_value(
                        nid, ua.DataValue(ua.Variant(value + i, ua.VariantType.Double), SourceTimestamp=now,
                                          ServerTimestamp=now))
                with written.get_lock():
                    written.value += len(ids)
                due += step
                await asyncio.sleep(max(0.0, due - loop.time()))
        finally:
            await server.stop()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(intake_factory: Callable[[], Any], *, tags: int, period_ms: int, seconds: float,
            warmup_s: float = 3.0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Serve `tags` variables changing every `period_ms`, subscribe with our coordinator, and count what
    reaches the intake `intake_factory()` builds (it must have a `count` of readings taken)."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop, written = ctx.Event(), ctx.Event(), ctx.Value("q", 0)
    port = _free_port()
    server = ctx.Process(target=_serve, args=(port, tags, period_ms, ready, stop, written), daemon=True)
    server.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("the benchmark's OPC UA server did not start within 120 s")
        intake = intake_factory()
        result = asyncio.run(_subscribe_and_count(intake, port, tags, period_ms, seconds, warmup_s, written,
                                                  log))
    finally:
        stop.set()
        server.join(15)
        if server.is_alive():
            server.kill()
    return result


async def _subscribe_and_count(intake: Any, port: int, tags: int, period_ms: int, seconds: float,
                               warmup_s: float, written: Any, log: Callable[[str], None]) -> dict[str, Any]:
    cfg = OpcUaConfig(endpoint=f"opc.tcp://127.0.0.1:{port}/bench", publishing_interval_ms=100,
                      sampling_interval_ms=period_ms, request_timeout_ms=30_000)
    addresses = [SourceAddress(f"ns=2;s=Bench.T{i:05d}") for i in range(tags)]
    coord = OpcUaCoordinator("BENCH", cfg, addresses, intake)
    task = asyncio.create_task(coord.run())
    try:
        started = time.monotonic()
        while intake.count < tags:
            if time.monotonic() - started > 60:
                raise RuntimeError(f"subscribed, but only {intake.count} of {tags} first values arrived "
                                   "in 60 s")
            await asyncio.sleep(0.1)
        log(f"opcua bench: {tags} tags subscribed in {time.monotonic() - started:.1f} s; warming up")
        await asyncio.sleep(warmup_s)
        count0, written0, t0 = intake.count, written.value, time.monotonic()
        if hasattr(intake, "latencies"):
            intake.latencies.clear()
        await asyncio.sleep(seconds)
        count1, written1, t1 = intake.count, written.value, time.monotonic()
    finally:
        coord.stop()
        await asyncio.wait_for(task, 30)
    elapsed = t1 - t0
    received, offered = count1 - count0, written1 - written0
    result: dict[str, Any] = {
        "tags": tags, "period_ms": period_ms, "seconds": round(elapsed, 1),
        "changes_per_s": round(received / elapsed), "offered_per_s": round(offered / elapsed),
        "delivered": round(received / offered, 3) if offered else None,
    }
    latencies = sorted(getattr(intake, "latencies", []))
    if latencies:
        result["latency_ms_p50"] = latencies[len(latencies) // 2]
        result["latency_ms_p99"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    log(f"opcua bench: {result}")
    return result


class StoreIntake:
    """The real path: the connector's intake (on-disk buffer) with the writer thread storing into a fresh
    database; `count` is the samples stored so far, so `changes_per_s` counts what reached the store."""

    def __init__(self, database_url: str | None, tags: int, directory: str) -> None:
        from pathlib import Path

        from synfab.bootstrap import build_database, metadata
        from synfab.connect.choices import ConnectorKind
        from synfab.connect.pipeline import TelemetryPipeline
        from synfab.connect.schemas import ConnectorCreate
        from synfab.connect.service import create_connector
        from synfab.plant import service as plant
        from synfab.plant.choices import Level
        from synfab.plant.schemas import NodeCreate
        from synfab.telemetry.models import Tag

        self.db = build_database(url=database_url or f"sqlite:///{Path(directory) / 'opcua-bench.db'}")
        metadata.drop_all(self.db.engine)
        metadata.create_all(self.db.engine)
        with self.db.uow() as uow:
            ent = plant.create_node(uow, NodeCreate(code="ENT", name="企业", level=Level.ENTERPRISE))
            site = plant.create_node(uow, NodeCreate(code="SH", name="上海工厂", level=Level.SITE, parent_id=ent.id,
                                                     time_zone="Asia/Shanghai"))
            area = plant.create_node(uow, NodeCreate(code="A", name="车间", level=Level.AREA, parent_id=site.id))
            machine = plant.create_node(uow, NodeCreate(code="M1", name="M1", level=Level.WORK_CENTER,
                                                        parent_id=area.id))
            connector = create_connector(uow, ConnectorCreate(code="BENCH", name="bench", kind=ConnectorKind.OPCUA,
                                                              site_id=site.id,
                                                              config={"endpoint": "opc.tcp://127.0.0.1:4840"}))
            uow.flush()
            uow.session.add_all(Tag(connector_id=connector.id, address=f"ns=2;s=Bench.T{i:05d}",
                                    equipment_id=machine.id, signal=f"t{i:05d}", scale=1.0, offset=0.0,
                                    deadband=0.0, sampling_ms=0) for i in range(tags))
            uow.commit()
            connector_id = connector.id
        self.pipeline = TelemetryPipeline.at(self.db, Path(directory) / "buffer", max_bytes=4 * 1024 ** 3)
        self.intake = self.pipeline.intake(connector_id, "BENCH")
        self.pipeline.start()

    def readings(self, batch: list[Reading]) -> None:
        self.intake.readings(batch)

    def quarantine(self, reason: str, detail: str, payload: bytes | str) -> None:
        self.intake.quarantine(reason, detail, payload)

    def connected(self, up: bool, error: str | None = None) -> None:
        self.intake.connected(up, error)

    @property
    def count(self) -> int:
        from sqlalchemy import func, select

        from synfab.telemetry.models import Sample

        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(Sample)) or 0)

    def close(self) -> None:
        self.pipeline.stop(drain=False)
        self.pipeline.buffer.close()
        self.db.dispose()


def run(quick: bool, database_url: str | None, log: Callable[[str], None],
        intake_factory: Callable[[], Any] | None = None) -> dict[str, Any]:
    """The benchmark as `synfab bench` runs it: changes counted when they are stored (through the on-disk
    buffer and the writer), unless another intake is given."""
    import tempfile

    tags, period_ms, seconds, warmup = (1_000, 100, 5, 2) if quick else (1_500, 100, 15, 3)
    with tempfile.TemporaryDirectory(prefix="synfab-bench-opcua-") as directory:
        made: list[StoreIntake] = []

        def factory() -> Any:
            if intake_factory is not None:
                return intake_factory()
            made.append(StoreIntake(database_url, tags, directory))
            return made[-1]

        try:
            result = measure(factory, tags=tags, period_ms=period_ms, seconds=seconds, warmup_s=warmup, log=log)
        finally:
            for intake in made:
                intake.close()
    result["counted_at"] = "intake" if intake_factory is not None else "store"
    return result
