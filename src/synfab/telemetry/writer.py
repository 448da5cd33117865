"""The telemetry writer's store side: samples in batches, idempotent on (tag, time), and exact 1-minute rollups.

A batch written twice — replayed from the buffer after a crash — stores nothing new, and every minute it touches
is aggregated again from the stored samples, so no rollup doubles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from synfab.telemetry.models import Sample

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
Row = tuple[int, int, float | None, int]  # tag_id, ts_ms, value, quality


def _dialect_insert(session: Session, table: Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def store_samples(session: Session, rows: Sequence[Row]) -> list[Row]:
    """Insert samples, skip those already stored, and bring the touched minutes' rollups up to date.
    Returns the rows in (tag, time) order (the state engine ignores what it has already seen)."""
    if not rows:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        ensure_partitions(session, (r[1] for r in rows))
    # In key order the B-tree is written page after page instead of all over: several times faster on SQLite.
    ordered = sorted(rows)
    cursor = session.connection().connection.cursor()
    try:
        if postgres:
            tags, stamps, values, qualities = (list(c) for c in zip(*ordered, strict=True))
            cursor.execute(f"INSERT INTO sample ({_COLUMNS}) SELECT * FROM unnest(%s::int[], %s::bigint[], "
                           "%s::float8[], %s::int2[]) ON CONFLICT DO NOTHING", (tags, stamps, values, qualities))
        else:
            cursor.executemany(f"INSERT INTO sample ({_COLUMNS}) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", ordered)
        refresh_rollups(cursor, ordered, postgres)
    finally:
        cursor.close()
    return ordered


_COLUMNS = "tag_id, ts_ms, value, quality"

# Each touched minute is aggregated again from its samples and replaces its rollup row: exact whatever was stored
# before (a replayed batch, a late value, a backfill), and all in the database's own loop.
_ROLLUP_SQLITE = """
INSERT INTO rollup (tag_id, minute_ms, min, max, sum, count, last, last_ms)
SELECT tag_id, ts_ms - ts_ms % 60000, min(value), max(value), coalesce(sum(value), 0), count(value), value, max(ts_ms)
FROM sample WHERE tag_id IN ({tags}) AND ts_ms >= ? AND ts_ms < ? AND value IS NOT NULL
GROUP BY tag_id, ts_ms - ts_ms % 60000
ON CONFLICT (tag_id, minute_ms) DO UPDATE SET min = excluded.min, max = excluded.max, sum = excluded.sum,
    count = excluded.count, last = excluded.last, last_ms = excluded.last_ms
"""
_ROLLUP_POSTGRES = """
INSERT INTO rollup (tag_id, minute_ms, min, max, sum, count, last, last_ms)
SELECT tag_id, ts_ms - ts_ms %% 60000, min(value), max(value), coalesce(sum(value), 0), count(value),
       (array_agg(value ORDER BY ts_ms DESC))[1], max(ts_ms)
FROM sample WHERE tag_id = ANY(%s) AND ts_ms >= %s AND ts_ms < %s AND value IS NOT NULL
GROUP BY tag_id, ts_ms - ts_ms %% 60000
ON CONFLICT (tag_id, minute_ms) DO UPDATE SET min = excluded.min, max = excluded.max, sum = excluded.sum,
    count = excluded.count, last = excluded.last, last_ms = excluded.last_ms
"""


def touched_runs(rows: Iterable[Row]) -> list[tuple[int, int, list[int]]]:
    """The minutes rows fall in, as runs of consecutive minutes with the tags seen in each:
    [(start ms, end ms, tag ids)]. Streaming data is one run; a backfill adds a run of its own."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return []
    stamps = [r[1] for r in rows]
    low, high = min(stamps), max(stamps)
    if high - low <= 10 * MINUTE_MS:  # the usual case, without a look at every row
        return [(low - low % MINUTE_MS, high - high % MINUTE_MS + MINUTE_MS, sorted({r[0] for r in rows}))]
    by_minute: dict[int, set[int]] = {}
    for tag_id, ts, *_ in rows:
        minute = ts - ts % MINUTE_MS
        tags = by_minute.get(minute)
        if tags is None:
            by_minute[minute] = {tag_id}
        else:
            tags.add(tag_id)
    runs: list[tuple[int, int, list[int]]] = []
    start = end = None
    tags_in_run: set[int] = set()
    for minute in sorted(by_minute):
        if end is not None and minute > end:
            runs.append((start, end, sorted(tags_in_run)))  # type: ignore[arg-type]
            start, tags_in_run = None, set()
        if start is None:
            start = minute
        end = minute + MINUTE_MS
        tags_in_run |= by_minute[minute]
    if start is not None:
        runs.append((start, end, sorted(tags_in_run)))  # type: ignore[arg-type]
    return runs


def refresh_rollups(cursor: Any, rows: Sequence[Row], postgres: bool) -> None:
    for start, end, tags in touched_runs(rows):
        if postgres:
            cursor.execute(_ROLLUP_POSTGRES, (tags, start, end))
        else:
            for first in range(0, len(tags), 10_000):
                part = tags[first:first + 10_000]
                cursor.execute(_ROLLUP_SQLITE.format(tags=",".join("?" * len(part))), (*part, start, end))


# -- PostgreSQL: one partition per month -----------------------------------------------------------------

_known_partitions: set[tuple[str, str]] = set()


def _month_bounds(ts_ms: int) -> tuple[str, int, int]:
    d = datetime.fromtimestamp(ts_ms / 1000, UTC)
    start = datetime(d.year, d.month, 1, tzinfo=UTC)
    end = datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=UTC)
    return f"sample_y{d.year:04d}m{d.month:02d}", int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def ensure_partitions(session: Session, stamps: Iterable[int]) -> None:
    """Create the month partitions these timestamps fall in (rows outside any land in the default partition)."""
    database = str(session.get_bind().url)
    months = {_month_bounds(ts) for ts in {ts - ts % 86_400_000 for ts in stamps}}
    for name, start, end in sorted(months):
        if (database, name) in _known_partitions:
            continue
        try:
            with session.begin_nested():
                session.execute(text(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF sample FOR VALUES FROM ({start}) TO ({end})"))
        except Exception as exc:  # noqa: BLE001 - e.g. the default partition already holds rows of that month
            log.warning("sample partition %s not created (%s); its rows stay in the default partition", name, exc)
        _known_partitions.add((database, name))


@event.listens_for(Sample.__table__, "after_create")
def _default_partition(target: Table, connection: Connection, **_: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("CREATE TABLE IF NOT EXISTS sample_default PARTITION OF sample DEFAULT"))


def forget_partitions() -> None:
    """After a database is dropped and made again (tests), partitions must be looked up again."""
    _known_partitions.clear()
