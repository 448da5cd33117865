from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlalchemy.types import TypeDecorator

from synfab.bootstrap import load_models, metadata
from synfab.migrations import include_name

load_models()
config = context.config


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Our column types are stored as plain SQL types; migrations must not import enums or decorators."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance if hasattr(obj, "impl_instance") else obj.impl
        return f"sa.{impl!r}"
    return False


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command from a checkout: alembic.ini or SYNFAB_DATABASE_URL
        from synfab.core.config import get_settings

        url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
        engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
