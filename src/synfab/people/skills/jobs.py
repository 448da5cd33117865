"""Periodic jobs of the skills context: reminders before certifications lapse."""

from __future__ import annotations

from datetime import timedelta

from synfab.core.db import Database
from synfab.core.jobs import Job
from synfab.people.skills.service import remind_expiring_certifications


def remind_certifications(db: Database) -> None:
    remind_expiring_certifications(db)


JOBS = [Job("certification reminders", timedelta(days=1), remind_certifications)]
