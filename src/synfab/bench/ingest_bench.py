"""`synfab bench ingest`: machine data from payload to store — decode → map → buffer → store — beside a raw
batched insert of the same rows into the same engine, in the same run.

1,000 tags on one connector, 2,000,000 points (`--quick`: 200,000), one value per tag per second. The payloads are
Sparkplug B DDATA messages of 100 metrics each (our own codec) when it is installed, else JSON arrays. Our path:
decode each payload into readings, hand them to the connector's intake (the on-disk store-and-forward buffer),
and let the writer take, map (tag lookup, scale, type and timestamp checks), insert idempotently with rollups,
and acknowledge — every 20,000 points, in one thread, so the figure is the whole path's cost. The baseline
inserts the already-decoded (tag, time, value, quality) rows with the driver's `executemany`, 20,000 rows per
transaction, into the same `sample` table (emptied in between), and stores nothing else.

Figures: `points_per_s`, `baseline_points_per_s`, `ratio` (ours ÷ baseline), `payload` (the format decoded).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from synfab.bootstrap import build_database, metadata
from synfab.connect.choices import ConnectorKind
from synfab.connect.pipeline import TelemetryPipeline
from synfab.connect.runtime import Reading
from synfab.connect.schemas import ConnectorCreate
from synfab.connect.service import create_connector
from synfab.core.db import Database
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from synfab.telemetry.models import Rollup, Sample, Tag

TAGS = 1_000
PER_PAYLOAD = 100
CHUNK = 20_000
T0 = 1_790_000_000_000


def _plant(db: Database) -> tuple[int, dict[str, int]]:
    """A site with ten machines of 100 tags each on one MQTT connector; returns (connector id, address → tag id)."""
    with db.uow() as uow:
        ent = plant.create_node(uow, NodeCreate(code="ENT", name="企业", level=Level.ENTERPRISE))
        site = plant.create_node(uow, NodeCreate(code="SH", name="上海工厂", level=Level.SITE, parent_id=ent.id,
                                                 time_zone="Asia/Shanghai"))
        area = plant.create_node(uow, NodeCreate(code="A", name="车间", level=Level.AREA, parent_id=site.id))
        connector = create_connector(uow, ConnectorCreate(code="BENCH", name="bench", kind=ConnectorKind.HTTP,
                                                          site_id=site.id))
        machines = [plant.create_node(uow, NodeCreate(code=f"M{m:02d}", name=f"M{m:02d}", level=Level.WORK_CENTER,
                                                      parent_id=area.id)).id for m in range(TAGS // 100)]
        uow.flush()
        uow.session.add_all(Tag(connector_id=connector.id, address=f"G1/E1/M{i // 100:02d}/t{i % 100:02d}",
                                equipment_id=machines[i // 100], signal=f"t{i % 100:02d}", scale=1.0, offset=0.0,
                                deadband=0.0, sampling_ms=0) for i in range(TAGS))
        uow.commit()
        connector_id = connector.id
    with db.session() as s:
        return connector_id, dict(s.execute(select(Tag.address, Tag.id)).all())  # type: ignore[arg-type]


def _codec() -> tuple[str, Callable[[int, list[tuple[str, float]]], bytes], Callable[[bytes], list[Reading]]]:
    try:
        from synfab.bench.ingest_payloads import sparkplug_codec

        return sparkplug_codec()
    except ImportError:
        def encode(ts: int, metrics: list[tuple[str, float]]) -> bytes:
            return json.dumps([{"address": a, "timestamp": ts, "value": v} for a, v in metrics]).encode()

        def decode(payload: bytes) -> list[Reading]:
            return [Reading(p["address"], p["timestamp"], p["value"]) for p in json.loads(payload)]

        return "json", encode, decode


def _payloads(points: int, encode: Callable[[int, list[tuple[str, float]]], bytes]) -> list[bytes]:
    rng = random.Random(7)
    addresses = [f"G1/E1/M{i // 100:02d}/t{i % 100:02d}" for i in range(TAGS)]
    out = []
    for second in range(points // TAGS):
        ts = T0 + second * 1000
        for start in range(0, TAGS, PER_PAYLOAD):
            out.append(encode(ts, [(a, round(rng.uniform(0, 100), 3)) for a in addresses[start:start + PER_PAYLOAD]]))
    return out


def _empty_samples(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM sample" if db.is_sqlite else "TRUNCATE sample"))
        conn.execute(text("DELETE FROM rollup" if db.is_sqlite else "TRUNCATE rollup"))


def _baseline(db: Database, rows: list[tuple[int, int, float, int]]) -> float:
    started = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        marks = "?, ?, ?, ?" if db.is_sqlite else "%s, %s, %s, %s"
        sql = f"INSERT INTO sample (tag_id, ts_ms, value, quality) VALUES ({marks})"
        for start in range(0, len(rows), CHUNK):
            if db.is_sqlite:
                cur.execute("BEGIN")  # the engine's connections leave transactions to us (core.db)
            cur.executemany(sql, rows[start:start + CHUNK])
            raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def run(quick: bool, database_url: str | None, log: Callable[[str], None]) -> dict[str, Any]:
    points = 200_000 if quick else 2_000_000
    with tempfile.TemporaryDirectory(prefix="synfab-bench-ingest-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = build_database(url=url)
        metadata.drop_all(db.engine)
        metadata.create_all(db.engine)
        connector_id, tag_ids = _plant(db)
        kind, encode, decode = _codec()
        log(f"encoding {points:,} points over {TAGS:,} tags as {kind} payloads of {PER_PAYLOAD} …")
        payloads = _payloads(points, encode)

        # The baseline's rows: what our path stores, decoded beforehand (its decoding is not timed).
        rows = [(tag_ids[r.address], r.ts_ms, float(r.value), 0) for p in payloads for r in decode(p)]
        log("baseline: executemany of the decoded rows …")
        baseline_s = _baseline(db, rows)
        _empty_samples(db)
        del rows

        log("synfab: decode → intake (buffer) → writer (map, store, rollups) → acknowledge …")
        pipeline = TelemetryPipeline.at(db, Path(tmp) / "buffer", max_bytes=4 * 1024 ** 3)
        intake = pipeline.intake(connector_id, "BENCH")
        started = time.perf_counter()
        pending = 0
        for payload in payloads:
            batch = decode(payload)
            intake.readings(batch)
            pending += len(batch)
            if pending >= CHUNK:
                while pipeline.write_once():
                    pass
                pending = 0
        while pipeline.write_once():
            pass
        ours_s = time.perf_counter() - started
        with db.session() as s:
            stored = s.scalar(select(func.count()).select_from(Sample))
            minutes = s.scalar(select(func.count()).select_from(Rollup))
        pipeline.buffer.close()
        db.dispose()
    if stored != points:
        raise RuntimeError(f"stored {stored} of {points} points")
    ours, base = points / ours_s, points / baseline_s
    return {"points": points, "tags": TAGS, "payload": kind, "engine": url.split(":", 1)[0],
            "points_per_s": round(ours), "baseline_points_per_s": round(base), "ratio": round(ours / base, 3),
            "rollup_minutes": minutes}
