"""Retention: raw samples and minute rollups are kept as long as their tag's class says, then deleted.

Tags without a class keep raw samples `DEFAULT_RAW_DAYS` and rollups `DEFAULT_ROLLUP_DAYS`. Deletion runs in
chunks so a large backlog does not hold one long transaction; on PostgreSQL the month partitions older than every
class's raw retention are dropped whole.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import delete, select, text

from synfab.core.db import Database
from synfab.core.jobs import Job
from synfab.telemetry.models import Rollup, Sample, Tag, TagClass

log = logging.getLogger(__name__)
DEFAULT_RAW_DAYS = 30
DEFAULT_ROLLUP_DAYS = 730
DAY_MS = 86_400_000


def apply_retention(db: Database, now_ms: int | None = None) -> tuple[int, int]:
    """Delete what is past its retention; returns (samples, rollups) deleted."""
    now_ms = now_ms or time.time_ns() // 1_000_000
    with db.session() as s:
        classes = {c.id: (c.raw_retention_days, c.rollup_retention_days) for c in s.scalars(select(TagClass))}
        tags = list(s.execute(select(Tag.id, Tag.tag_class_id)))
    by_retention: dict[tuple[int, int], list[int]] = {}
    for tag_id, class_id in tags:
        by_retention.setdefault(classes.get(class_id, (DEFAULT_RAW_DAYS, DEFAULT_ROLLUP_DAYS)), []).append(tag_id)
    samples = rollups = 0
    for (raw_days, rollup_days), tag_ids in by_retention.items():
        for start in range(0, len(tag_ids), 500):
            part = tag_ids[start:start + 500]
            with db.engine.begin() as conn:
                samples += conn.execute(delete(Sample).where(
                    Sample.tag_id.in_(part), Sample.ts_ms < now_ms - raw_days * DAY_MS)).rowcount or 0
                rollups += conn.execute(delete(Rollup).where(
                    Rollup.tag_id.in_(part), Rollup.minute_ms < now_ms - rollup_days * DAY_MS)).rowcount or 0
    if not db.is_sqlite:
        _drop_old_partitions(db, now_ms - max([d for d, _ in by_retention] or [DEFAULT_RAW_DAYS]) * DAY_MS)
    if samples or rollups:
        log.info("retention: %d samples and %d rollups deleted", samples, rollups)
    return samples, rollups


def _drop_old_partitions(db: Database, before_ms: int) -> None:
    from synfab.telemetry.writer import _month_bounds

    oldest_kept = _month_bounds(before_ms)[0]
    with db.engine.begin() as conn:
        names = conn.execute(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'sample'")).scalars().all()
        for name in names:
            if name.startswith("sample_y") and name < oldest_kept:  # sample_yYYYYmMM sorts by month
                conn.execute(text(f'DROP TABLE "{name}"'))


JOBS = [Job("machine data retention", timedelta(hours=1), apply_retention)]
