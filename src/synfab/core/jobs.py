"""Periodic jobs the server runs in the background (reminders, clean-ups): each context lists its own in
`<context>/jobs.py` as `JOBS`. A job runs as the system, in a worker thread, at most once per its interval;
a failure is logged and the job tries again at its next turn."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from synfab.core.context import SYSTEM, acting_as

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: timedelta
    run: Callable[..., object]  # run(db)
    last_run: float = field(default=0.0)


async def run_jobs(db: object, jobs: list[Job], tick_s: float = 30.0) -> None:
    """Run due jobs until cancelled."""
    while True:
        now = time.monotonic()
        for job in jobs:
            if job.last_run and now - job.last_run < job.every.total_seconds():
                continue
            job.last_run = now
            try:
                def call(job: Job = job) -> None:
                    with acting_as(SYSTEM):
                        job.run(db)

                await asyncio.to_thread(call)
            except Exception:
                log.exception("periodic job %s failed; it runs again at its next turn", job.name)
        await asyncio.sleep(tick_s)
