"""Database: declarative base, column types, mixins, engine and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Integer, MetaData, Numeric, String, Table, create_engine, event, inspect, select, text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DataError
from sqlalchemy.orm import (
    DeclarativeBase, Mapped, ORMExecuteState, Session, declared_attr, mapped_column, sessionmaker, with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

from synfab.core import clock
from synfab.core.context import current_actor
from synfab.core.changes import capture_after_flush, capture_before_flush, note_bulk
from synfab.core.errors import Conflict, Forbidden
from synfab.core.i18n import _l
from synfab.core.scoping import Restriction, Scoped, scoped_models

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:
            value = clock.as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else clock.as_utc(value)


def Qty() -> Numeric[Decimal]:  # noqa: N802 — reads like a type in column declarations
    """Quantities: exact decimals, 6 places."""
    return Numeric(18, 6)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    updated_by: Mapped[str] = mapped_column(String(80), default="system")


class Versioned(Timestamped):
    """Records people edit: an optimistic lock on `version` plus who changed them last."""

    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805
        return {"version_id_col": cls.version}


def check_version(record: Versioned, expected: int | None) -> None:
    """Raise 409 when a person edits a record someone else changed since they loaded it."""
    if expected is not None and record.version != expected:
        raise Conflict(
            "stale_version",
            _l(
                "Changed by {user} at {at} — reload and try again.",
                user=record.updated_by,
                at=record.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            ),
        )


@event.listens_for(Session, "before_flush")
def _stamp_changes(session: Session, flush_context: Any, instances: Any) -> None:
    who = current_actor().username
    at = clock.now()
    for obj in session.new:
        if isinstance(obj, Timestamped) and obj.updated_by is None:
            obj.updated_by = who
    for obj in session.dirty:
        if isinstance(obj, Timestamped) and session.is_modified(obj, include_collections=False):
            obj.updated_by = who
            obj.updated_at = at


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], chunk: int = 10_000,
                audit: Mapping[str, Any] | None = None) -> int:
    """Insert many rows with the driver's executemany, converting values exactly as SQLAlchemy would.

    For imports and ingest, where SQLAlchemy's per-row statement machinery costs more than the insert: each
    column's own bind processor runs once per distinct value (statuses, timestamps and dates repeat), and
    plain tuples go to the driver. Rows must all have the same keys. The audit log gets one record for the batch
    (with `audit` as its detail). Returns the number of rows.
    """
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    columns = [table.c[name] for name in rows[0]]
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
           f"VALUES ({', '.join([marker] * len(columns))})")
    converters: list[Callable[[Any], Any] | None] = []
    for col in columns:
        process = col.type.bind_processor(dialect)
        if process is None:
            converters.append(None)
            continue
        seen: dict[Any, Any] = {}

        def convert(value: Any, process: Callable[[Any], Any] = process, seen: dict[Any, Any] = seen) -> Any:
            try:
                return seen[value]
            except KeyError:
                result = process(value)
                if len(seen) < 50_000:
                    seen[value] = result
                return result
            except TypeError:  # unhashable
                return process(value)

        converters.append(convert)
    keys = [c.name for c in columns]
    pairs = list(zip(keys, converters, strict=True))
    for start in range(0, len(rows), chunk):
        batch = [tuple(row[k] if conv is None else conv(row[k]) for k, conv in pairs)
                 for row in rows[start:start + chunk]]
        connection.exec_driver_sql(sql, batch)
    note_bulk(session, table.name, len(rows), dict(audit or {}))
    return len(rows)


# -- scope: applied to every read and re-checked on every write while a person acts (see core.scoping) -------

_SCOPED: list[type[Scoped]] = []


def _scoped() -> list[type[Scoped]]:
    if not _SCOPED:
        _SCOPED.extend(scoped_models(Base.registry.mappers))
    return _SCOPED


# The criteria hold subqueries that are costly to build for every statement; they are immutable SQL, so the same
# grants (most requests are by the same few people) reuse them. Node paths are part of the key.
_READ_OPTIONS: dict[Hashable, list[Any]] = {}
_READ_OPTIONS_MAX = 512
_READ_OPTIONS_LOCK = threading.Lock()


def _read_options(restriction: Restriction) -> list[Any]:
    key = restriction.key
    options = _READ_OPTIONS.get(key)
    if options is None:
        options = []
        for model in _scoped():
            nodes = restriction.nodes(model.__object_type__, "view")
            if nodes is not None:
                # The entity itself, not its aliases: plain criteria are not adapted to an alias (a stock location
                # is a plant node under another name, joined to rows that are restricted themselves).
                options.append(with_loader_criteria(model, model.scope_criteria(nodes, "view"),
                                                    include_aliases=False))
        with _READ_OPTIONS_LOCK:
            if len(_READ_OPTIONS) >= _READ_OPTIONS_MAX:
                _READ_OPTIONS.pop(next(iter(_READ_OPTIONS)))
            _READ_OPTIONS[key] = options
    return options


@event.listens_for(Session, "do_orm_execute")
def _restrict_reads(state: ORMExecuteState) -> None:
    restriction: Restriction | None = state.session.info.get("restriction")
    if restriction is None or not state.is_select or state.execution_options.get("unrestricted"):
        return
    options = _read_options(restriction)
    if options:
        state.statement = state.statement.options(*options)


def _outside(session: Session, restriction: Restriction, objects: list[Scoped], action: str) -> Scoped | None:
    """The first of `objects` (rows as stored now) outside the person's scope for `action`, if any."""
    by_model: dict[type[Scoped], list[Scoped]] = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(obj)
    for model, items in by_model.items():
        nodes = restriction.nodes(model.__object_type__, action)
        if nodes is None:
            continue
        pk = inspect(model).primary_key[0]
        # New rows are not persistent yet in after_flush, but their key is already set.
        ids = [getattr(o, pk.key) for o in items]
        with session.no_autoflush:
            inside = set(session.scalars(select(pk).where(pk.in_(ids), model.scope_criteria(nodes, action))
                                         .execution_options(unrestricted=True)))
        for obj, oid in zip(items, ids, strict=True):
            if oid not in inside:
                return obj
    return None


_ACTIONS = {"create": _l("create"), "change": _l("change"), "view": _l("view")}


def _refuse(restriction: Restriction, obj: Scoped, action: str) -> Forbidden:
    identity = inspect(obj).identity or (getattr(obj, inspect(type(obj)).primary_key[0].key),)
    return Forbidden("out_of_scope", _l(
        "You may not {action} this record ({what} {id}): it lies outside the plant areas you are granted ({scopes}).",
        action=_ACTIONS[action], what=restriction.label(obj.__object_type__), id=identity[0] if identity else "",
        scopes=restriction.describe(obj.__object_type__, action)))


def require_in_scope(session: Session, obj: Scoped, action: str) -> None:
    """Refuse (403 `out_of_scope`) unless the acting person may `action` this record where it is — for commands
    that act on a record without writing it (consuming a lot into a work order posts stock as the system)."""
    restriction = session.info.get("write_restriction")
    if restriction is None or session.info.get("system_writes"):
        return
    if _outside(session, restriction, [obj], action) is not None:
        raise _refuse(restriction, obj, action)


@event.listens_for(Session, "before_flush")
def _capture_before(session: Session, flush_context: Any, instances: Any) -> None:
    if session.info.get("capture_changes"):
        capture_before_flush(session)


@event.listens_for(Session, "after_flush")
def _capture_after(session: Session, flush_context: Any) -> None:
    if session.info.get("capture_changes"):
        capture_after_flush(session)


@event.listens_for(Session, "before_flush")
def _check_before_write(session: Session, flush_context: Any, instances: Any) -> None:
    """Rows about to change or go must be within scope as they are now (nobody edits what they cannot see)."""
    restriction = session.info.get("write_restriction")
    if restriction is None or session.info.get("system_writes"):
        return
    existing = [o for o in [*session.dirty, *session.deleted]
                if isinstance(o, Scoped) and inspect(o).has_identity
                and (o in session.deleted or session.is_modified(o, include_collections=False))]
    found = _outside(session, restriction, existing, "change") if existing else None
    if found is not None:
        raise _refuse(restriction, found, "change")
    session.info["scope_written"] = [o for o in [*session.new, *existing] if isinstance(o, Scoped)
                                     and o not in session.deleted]


@event.listens_for(Session, "after_flush")
def _check_after_write(session: Session, flush_context: Any) -> None:
    """Rows created or changed must be within scope as written (nobody moves a record out of their scope)."""
    restriction = session.info.get("write_restriction")
    written = session.info.pop("scope_written", None)
    if restriction is None or not written or session.info.get("system_writes"):
        return
    created = [o for o in written if o in session.new]
    changed = [o for o in written if o not in session.new]
    for objects, action in ((created, "create"), (changed, "change")):
        found = _outside(session, restriction, objects, action) if objects else None
        if found is not None:
            raise _refuse(restriction, found, action)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see on_begin)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "handle_error")
    def on_error(context: Any) -> None:
        # The driver refuses an integer beyond 64 bits with a bare OverflowError; PostgreSQL reports a value out
        # of range as a DataError, and so do we (the web answers it with a 422, not a 500).
        if isinstance(context.original_exception, OverflowError):
            raise DataError(context.statement, context.parameters, context.original_exception) \
                from context.original_exception

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # Writers take the lock up front: a deferred transaction that reads, then writes, can fail
        # with SQLITE_BUSY instead of waiting its turn.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """One database: engine, session factory and the event bus its units of work publish to."""

    def __init__(self, url: str, bus: Any = None, **engine_kwargs: Any) -> None:
        from synfab.core.bus import MessageBus

        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.bus: MessageBus = bus or MessageBus()
        self._outbox_listeners: list[Callable[[], None]] = []
        # Called with (uow, changes) just before a unit of work commits: the audit log (wired in bootstrap).
        self.commit_hooks: list[Callable[[Any, list[Any]], None]] = []
        # Delay before the first retry of an in-transaction handler that failed.
        self.bus_retry_delay_s = 2.0
        from synfab.core.live import LiveHub

        # Live messages to the pages open in this process (SSE).
        self.live = LiveHub()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def session(self) -> Session:
        """A session for reading (pages, queries, exports), limited to the acting person's scope."""
        session = self.sessions()
        session.info["restriction"] = current_actor().restriction
        return session

    def uow(self) -> Any:
        """A unit of work for changing state."""
        from synfab.core.uow import UnitOfWork

        return UnitOfWork(self)

    def on_outbox_written(self, listener: Callable[[], None]) -> None:
        """Called after a commit that wrote outbox rows (wakes the dispatcher)."""
        self._outbox_listeners.append(listener)

    def notify_outbox(self) -> None:
        for listener in list(self._outbox_listeners):
            listener()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
