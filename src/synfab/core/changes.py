"""What a unit of work changed, row by row, with the values before and after — collected at flush, handed to
whoever keeps the audit log (people.audit) when the unit of work commits. One point, for every context.

A model opts out with `__audited__ = False` (derived tables, logs of their own); columns holding secrets are
never copied (their names say so: password, secret, token, key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

REDACTED = "***"
_SECRET = re.compile(r"(password|secret|token|_key$|^key$|private)", re.I)


@dataclass
class Change:
    action: str  # create, update, delete, bulk_create
    object_type: str  # the table
    object_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    cause: str | None = None  # the event whose handler made it


@dataclass
class ChangeLog:
    changes: list[Change] = field(default_factory=list)
    _pending_new: list[Any] = field(default_factory=list)


def plain(value: Any) -> Any:
    """A column value as JSON (and as the audit hash sees it)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def _audited(obj: Any) -> bool:
    return getattr(type(obj), "__audited__", True)


def _columns(obj: Any) -> list[Any]:
    skip = getattr(type(obj), "__audit_exclude__", ())
    return [a for a in inspect(type(obj)).column_attrs if a.key not in skip]


def _value(key: str, value: Any) -> Any:
    return REDACTED if _SECRET.search(key) and value is not None else plain(value)


def _identity(obj: Any) -> str:
    mapper = inspect(type(obj))
    return "/".join(str(getattr(obj, c.key)) for c in mapper.primary_key)


def _snapshot(obj: Any) -> dict[str, Any]:
    return {a.key: _value(a.key, getattr(obj, a.key)) for a in _columns(obj)}


def log_of(session: Session) -> ChangeLog:
    log = session.info.get("change_log")
    if log is None:
        log = session.info["change_log"] = ChangeLog()
    return log


def capture_before_flush(session: Session) -> None:
    """Updates and deletes, with the values as they were; new rows wait for their keys (after_flush)."""
    log = log_of(session)
    for obj in session.dirty:
        if not _audited(obj) or not session.is_modified(obj, include_collections=False):
            continue
        state = inspect(obj)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for attr in _columns(obj):
            history = state.attrs[attr.key].history
            if history.added or history.deleted:
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if plain(old) != plain(new):
                    before[attr.key], after[attr.key] = _value(attr.key, old), _value(attr.key, new)
        if after:
            log.changes.append(Change("update", state.mapper.local_table.name, _identity(obj), before, after,
                                      session.info.get("change_cause")))
    for obj in session.deleted:
        if _audited(obj):
            log.changes.append(Change("delete", inspect(obj).mapper.local_table.name, _identity(obj),
                                      before=_snapshot(obj), cause=session.info.get("change_cause")))
    log._pending_new = [o for o in session.new if _audited(o)]


def capture_after_flush(session: Session) -> None:
    log = log_of(session)
    for obj in log._pending_new:
        log.changes.append(Change("create", inspect(obj).mapper.local_table.name, _identity(obj), after=_snapshot(obj),
                                  cause=session.info.get("change_cause")))
    log._pending_new = []


def note_created(session: Session, objects: list[Any]) -> None:
    """Rows inserted past the ORM (a Core executemany) and then loaded: audited like rows the ORM created."""
    log_of(session).changes.extend(
        Change("create", inspect(o).mapper.local_table.name, _identity(o), after=_snapshot(o)) for o in objects)


def note_bulk(session: Session, table: str, count: int, detail: dict[str, Any] | None = None) -> None:
    """A bulk write (core.db.bulk_insert) is audited as one record: what, how many, from where."""
    log_of(session).changes.append(Change("bulk_create", table, "", after={"rows": count, **(detail or {})}))


def forget(session: Session) -> list[Change]:
    """The changes collected so far, handed over once (a rolled-back savepoint's are dropped by the caller)."""
    log = log_of(session)
    changes, log.changes = log.changes, []
    return changes
