"""Periodic work of the connect context: machine counts on the Unified Namespace (with SYNFAB_MQTT_URL set)."""

from __future__ import annotations

from datetime import timedelta

from synfab.core.config import get_settings
from synfab.core.db import Database
from synfab.core.jobs import Job


def publish_machine_counts(db: Database) -> None:
    settings = get_settings()
    if not settings.mqtt_url:
        return
    from synfab.connect.uns import publish_counts, publisher_for

    publish_counts(db, publisher_for(settings.mqtt_url, settings.uns_root))


JOBS = [Job("machine counts on the UNS", timedelta(minutes=1), publish_machine_counts)]
