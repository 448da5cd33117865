"""Alembic migrations, run from the installed package (`synfab db upgrade`, and by demo/serve on an empty database)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from synfab.core.db import Database

HERE = Path(__file__).resolve().parent


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """What migrations compare: not the telemetry writer's month partitions of `sample` (PostgreSQL)."""
    return not (type_ == "table" and name is not None and name.startswith("sample_"))


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = db.engine
    return cfg


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(db: Database) -> bool:
    return current_revision(db) == head_revision(db)


def upgrade(db: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(db), revision)
