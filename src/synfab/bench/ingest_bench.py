"""`synfab bench ingest`: machine data from payload to store — decode → map → buffer → store — beside a raw
batched insert of the same rows into the same engine, in the same run.

1,000 tags on one connector, 2,000,000 points (`--quick`: 200,000), one value per tag per second, as Sparkplug B
messages of an edge node with ten devices: births assigning aliases, then DDATA of 100 metrics by alias (our
codec). Our path: the host application decodes each message (protobuf, seq check, alias lookup) into readings,
hands them to the connector's intake (the on-disk store-and-forward buffer),
and let the writer take, map (tag lookup, scale, type and timestamp checks), insert idempotently with rollups,
and acknowledge — every 20,000 points, in one thread, so the figure is the whole path's cost. The baseline
inserts the already-decoded (tag, time, value, quality) rows with the driver's `executemany`, 20,000 rows per
transaction, into the same `sample` table (emptied in between), and stores nothing else.

Figures: `points_per_s`, `baseline_points_per_s`, `ratio` (ours ÷ baseline), `payload` (the format decoded).
"""

from __future__ import annotations

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


def _sparkplug_messages(points: int) -> list[tuple[str, bytes]]:
    """An edge node E1 with ten devices of 100 Double metrics: NBIRTH, a DBIRTH per device assigning aliases,
    then one DDATA per device and second carrying its 100 metrics by alias (seq 0–255, wrapping)."""
    from synfab.connect.sparkplug.codec import DataType, Metric, encode_payload

    rng = random.Random(7)
    out: list[tuple[str, bytes]] = []
    seq = 0

    def nxt() -> int:
        nonlocal seq
        seq = (seq + 1) % 256
        return seq

    devices = TAGS // PER_PAYLOAD
    born = T0 - 1000  # the births' values come a second before the data
    out.append(("spBv1.0/G1/NBIRTH/E1", encode_payload(born, 0, [Metric("bdSeq", 0, DataType.INT64)])))
    for d in range(devices):
        metrics = [Metric(f"t{m:02d}", 0.0, DataType.DOUBLE, alias=d * PER_PAYLOAD + m) for m in range(PER_PAYLOAD)]
        out.append((f"spBv1.0/G1/DBIRTH/E1/M{d:02d}", encode_payload(born, nxt(), metrics)))
    for second in range(points // TAGS):
        ts = T0 + second * 1000
        for d in range(devices):
            metrics = [Metric(None, round(rng.uniform(0, 100), 3), DataType.DOUBLE, alias=d * PER_PAYLOAD + m,
                              timestamp=ts) for m in range(PER_PAYLOAD)]
            out.append((f"spBv1.0/G1/DDATA/E1/M{d:02d}", encode_payload(ts, nxt(), metrics)))
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
        from synfab.connect.sparkplug.host import SparkplugHost

        log(f"encoding {points:,} points over {TAGS:,} tags as Sparkplug B DDATA of {PER_PAYLOAD} metrics …")
        messages = _sparkplug_messages(points)

        # The baseline's rows: what our path stores, decoded beforehand (its decoding is not timed).
        host = SparkplugHost()
        rows = [(tag_ids[r.address], r.ts_ms, float(r.value), 0)
                for topic, payload in messages for r in host.receive(topic, payload, T0).readings
                if r.address in tag_ids]  # the node's bdSeq is no tag (ours lists it as unmapped)
        points = len(rows)
        log("baseline: executemany of the decoded rows …")
        baseline_s = _baseline(db, rows)
        _empty_samples(db)
        del rows

        log("synfab: decode → intake (buffer) → writer (map, store, rollups) → acknowledge …")
        pipeline = TelemetryPipeline.at(db, Path(tmp) / "buffer", max_bytes=4 * 1024 ** 3)
        intake = pipeline.intake(connector_id, "BENCH")
        host = SparkplugHost()  # a fresh host application: it learns the aliases from the births again
        started = time.perf_counter()
        pending = 0
        for topic, payload in messages:
            batch = host.receive(topic, payload, T0).readings
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
    return {"points": points, "tags": TAGS, "payload": "sparkplug_b", "engine": url.split(":", 1)[0],
            "points_per_s": round(ours), "baseline_points_per_s": round(base), "ratio": round(ours / base, 3),
            "rollup_minutes": minutes}
