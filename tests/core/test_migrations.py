"""Migrations build the schema from nothing on both engines, and the models and migrations agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from synfab.bootstrap import build_database, metadata
from synfab.core.db import Database
from synfab.migrations import current_revision, head_revision, include_name, is_current, upgrade
from tests.conftest import PG_URL, _drop_pg, _fresh_pg_url, need


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = build_database(url=f"sqlite:///{tmp_path / 'migrate.db'}")
        yield db
        db.dispose()
        return
    need(bool(PG_URL), "PostgreSQL: set SYNFAB_TEST_DATABASE_URL")
    url = _fresh_pg_url(PG_URL)  # type: ignore[arg-type]
    db = build_database(url=url)
    yield db
    db.dispose()
    _drop_pg(PG_URL, url)  # type: ignore[arg-type]


def test_upgrade_from_empty_reaches_head_and_matches_the_models(empty_db: Database) -> None:
    assert current_revision(empty_db) is None and not is_current(empty_db)
    upgrade(empty_db)
    assert current_revision(empty_db) == head_revision(empty_db)
    assert is_current(empty_db)
    with empty_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(context, metadata)
    assert diff == [], "models changed without a migration: regenerate it (docs/development.md)"
    upgrade(empty_db)  # running it again is harmless
    assert is_current(empty_db)
