"""The telemetry writer's store side: samples in batches, idempotent on (tag, time), and exact 1-minute rollups.

Only the rows a batch really inserted are merged into their minutes' rollups, in the database's own loop: a batch
written twice — replayed from the buffer after a crash — stores nothing new the second time, so no rollup doubles.
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


def store_samples(session: Session, rows: Sequence[Row]) -> list[Row]:
    """Insert samples, skip those already stored, and merge the new ones into their minutes' rollups.
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
            cursor.execute(_STORE_POSTGRES, (tags, stamps, values, qualities))
        else:
            # Writers take turns on SQLite (BEGIN IMMEDIATE): the rows after the highest rowid are this batch's.
            cursor.execute("SELECT coalesce(max(rowid), 0) FROM sample")
            before = cursor.fetchone()[0]
            cursor.executemany(f"INSERT INTO sample ({_COLUMNS}) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", ordered)
            cursor.execute(_ROLLUP_SQLITE, (before,))
    finally:
        cursor.close()
    return ordered


_COLUMNS = "tag_id, ts_ms, value, quality"

# Only the rows really inserted are aggregated and merged into their minutes: a batch written twice (replayed
# from the buffer after a crash) inserts nothing the second time, so no rollup doubles.
_MERGE = """
ON CONFLICT (tag_id, minute_ms) DO UPDATE SET
    min = CASE WHEN rollup.min IS NULL OR excluded.min < rollup.min THEN excluded.min ELSE rollup.min END,
    max = CASE WHEN rollup.max IS NULL OR excluded.max > rollup.max THEN excluded.max ELSE rollup.max END,
    sum = rollup.sum + excluded.sum, count = rollup.count + excluded.count,
    last = CASE WHEN excluded.last_ms >= rollup.last_ms THEN excluded.last ELSE rollup.last END,
    last_ms = CASE WHEN excluded.last_ms >= rollup.last_ms THEN excluded.last_ms ELSE rollup.last_ms END
"""
# SQLite: with max(ts_ms) in the select list, the bare `value` is the one of that row (the minute's last).
_ROLLUP_SQLITE = f"""
INSERT INTO rollup (tag_id, minute_ms, min, max, sum, count, last, last_ms)
SELECT tag_id, ts_ms - ts_ms % 60000, min(value), max(value), sum(value), count(value), value, max(ts_ms)
FROM sample WHERE rowid > ? AND value IS NOT NULL
GROUP BY tag_id, ts_ms - ts_ms % 60000
{_MERGE}"""
_STORE_POSTGRES = f"""
WITH new AS (
    INSERT INTO sample ({_COLUMNS}) SELECT * FROM unnest(%s::int[], %s::bigint[], %s::float8[], %s::int2[])
    ON CONFLICT DO NOTHING RETURNING tag_id, ts_ms, value
)
INSERT INTO rollup (tag_id, minute_ms, min, max, sum, count, last, last_ms)
SELECT tag_id, ts_ms - ts_ms %% 60000, min(value), max(value), sum(value), count(value),
       (array_agg(value ORDER BY ts_ms DESC))[1], max(ts_ms)
FROM new WHERE value IS NOT NULL
GROUP BY tag_id, ts_ms - ts_ms %% 60000
{_MERGE}"""


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
