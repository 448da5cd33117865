"""Wiring: every context's models on one metadata, every handler on one bus. Called once per process."""

from __future__ import annotations

import importlib

from synfab.core.bus import MessageBus
from synfab.core.config import Settings, get_settings
from synfab.core.db import Base, Database

CONTEXTS = ("plant", "catalog", "orders", "orders.shipments", "orders.terminal", "inventory", "inventory.purchasing",
            "planning.materials", "planning.schedule", "people", "people.skills", "connect", "telemetry")


def load_models() -> None:
    """Import every context's models so `Base.metadata` holds the whole schema."""
    import synfab.core.models  # noqa: F401

    for name in CONTEXTS:
        importlib.import_module(f"synfab.{name}.models")


def build_bus() -> MessageBus:
    bus = MessageBus()
    for name in CONTEXTS:
        try:
            module = importlib.import_module(f"synfab.{name}.handlers")
        except ModuleNotFoundError as exc:
            if exc.name != f"synfab.{name}.handlers":
                raise
            continue
        module.register(bus)
    return bus


def build_database(settings: Settings | None = None, url: str | None = None) -> Database:
    settings = settings or get_settings()
    load_models()
    db = Database(url or settings.database_url, bus=build_bus())
    db.bus_retry_delay_s = settings.outbox_backoff_s
    if settings.mqtt_url:
        from synfab.connect.uns import register_uns

        register_uns(db.bus, settings.mqtt_url, settings.uns_root)
    from synfab.people.service.audit import write_audit

    db.commit_hooks.append(write_audit)  # the one audit point: every committed unit of work
    return db


metadata = Base.metadata
