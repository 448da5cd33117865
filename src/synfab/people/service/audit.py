"""The audit log: every change a unit of work makes (and every sign-in, signature and refusal that matters),
written at one point — the unit of work's commit hook — as a hash chain nobody can quietly edit.

Each record's hash covers its own fields and the previous record's hash; record numbers come from the log's
head row (not a database sequence, whose gaps would look like deletions), which also keeps the newest number
and hash, so records cut off the end show too. `verify_audit_chain` names the first record that was altered,
inserted or deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.changes import Change, log_of
from synfab.core.context import client_addr_var, current_actor, request_id_var
from synfab.core.i18n import LazyText, _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import AuditHead, AuditRecord

GENESIS = "0" * 64
_FIELDS = ("id", "at", "user_id", "actor", "action", "object_type", "object_id", "before", "after", "request_id",
           "client_addr", "cause")


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.as_utc(value).isoformat(timespec="microseconds")
    return value


def record_hash(prev_hash: str, record: AuditRecord) -> str:
    """SHA-256 over the previous hash and the record's fields as canonical JSON."""
    fields = {name: _canonical(getattr(record, name)) for name in _FIELDS}
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _head(session: Session) -> AuditHead:
    """The head row, locked for this transaction (appenders queue here; SQLite's writers already do)."""
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is not None:
        return head
    try:
        with session.begin_nested():
            session.add(AuditHead(id=1, last_id=0, last_hash=GENESIS))
    except IntegrityError:  # another transaction created it first
        pass
    return session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update().execution_options(
        populate_existing=True))


def append(session: Session, changes: list[Change]) -> list[AuditRecord]:
    """Write changes as the next records of the chain, in this transaction."""
    if not changes:
        return []
    head = _head(session)
    actor = current_actor()
    now = clock.now()
    prev, number = head.last_hash, head.last_id
    records = []
    for change in changes:
        number += 1
        record = AuditRecord(
            id=number, at=now, user_id=actor.user_id, actor=actor.username, action=change.action,
            object_type=change.object_type, object_id=change.object_id, before=change.before, after=change.after,
            request_id=request_id_var.get(), client_addr=client_addr_var.get(), cause=change.cause,
            prev_hash=prev,
        )
        record.hash = record_hash(prev, record)
        prev = record.hash
        records.append(record)
    session.add_all(records)
    head.last_id, head.last_hash = number, prev
    return records


def write_audit(uow: UnitOfWork, changes: list[Change]) -> None:
    """The unit of work's commit hook (wired in bootstrap): its changes become audit records."""
    append(uow.session, changes)


def note_security_event(uow: UnitOfWork, action: str, object_type: str, object_id: Any,
                        detail: dict[str, Any] | None = None) -> None:
    """Something that changes no business record but must be on the record: a sign-in, a refused signature."""
    log_of(uow.session).changes.append(Change(action, object_type, str(object_id), after=detail or {}))


# -- checking ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditProblem:
    record_id: int
    code: str  # altered, deleted, inserted, truncated
    message: LazyText


def _batches(session: Session, size: int = 5000) -> Iterator[list[AuditRecord]]:
    last = 0
    while True:
        batch = list(session.scalars(select(AuditRecord).where(AuditRecord.id > last)
                                     .order_by(AuditRecord.id).limit(size)))
        if not batch:
            return
        yield batch
        last = batch[-1].id
        session.expunge_all()


def verify_audit_chain(session: Session) -> tuple[int, AuditProblem | None]:
    """Walk the whole log: (records checked, the first problem or None)."""
    expected, prev, checked = 1, GENESIS, 0
    head = session.get(AuditHead, 1)
    head_id = head.last_id if head else 0
    for batch in _batches(session):
        for rec in batch:
            if rec.id > head_id:
                return checked, AuditProblem(rec.id, "inserted", _l(
                    "Record {id} was inserted after the log's last entry ({last}).", id=rec.id, last=head_id))
            if rec.id != expected:
                return checked, AuditProblem(expected, "deleted", _l(
                    "Record {id} is missing: it was deleted (the log jumps from {before} to {after}).",
                    id=expected, before=expected - 1, after=rec.id))
            if rec.prev_hash != prev:
                return checked, AuditProblem(rec.id, "inserted", _l(
                    "Record {id} does not follow record {before}: it was inserted or replaced.",
                    id=rec.id, before=rec.id - 1))
            if record_hash(rec.prev_hash, rec) != rec.hash:
                return checked, AuditProblem(rec.id, "altered", _l(
                    "Record {id} was altered after it was written.", id=rec.id))
            prev, expected, checked = rec.hash, expected + 1, checked + 1
    if head is not None and (checked != head_id or prev != head.last_hash):
        return checked, AuditProblem(checked + 1, "truncated", _l(
            "The log ends at record {last} but its head says {head}: records were removed from the end.",
            last=checked, head=head_id))
    return checked, None


def audit_query(actor: str | None = None, action: str | None = None, object_type: str | None = None,
                object_id: str | None = None, start: datetime | None = None, end: datetime | None = None,
                ) -> Select[Any]:
    """Audit records, newest first, for the audit page and its export.

    Filters: `actor` (user name), `action`, `object_type` (table), `object_id`, `start` ≤ at < `end`.
    """
    stmt = select(AuditRecord)
    for column, value in ((AuditRecord.actor, actor), (AuditRecord.action, action),
                          (AuditRecord.object_type, object_type), (AuditRecord.object_id, object_id)):
        if value:
            stmt = stmt.where(column == value)
    if start is not None:
        stmt = stmt.where(AuditRecord.at >= start)
    if end is not None:
        stmt = stmt.where(AuditRecord.at < end)
    return stmt.order_by(AuditRecord.id.desc())


AUDIT_FILTERS = ("actor", "action", "object_type", "object_id", "from", "to")


def audit_query_from(params: Mapping[str, str], tz: ZoneInfo) -> Select[Any]:
    """`audit_query` from a query string (the audit page and its export): `from`/`to` are local days, both included."""
    def day(key: str) -> datetime | None:
        try:
            return datetime.combine(date.fromisoformat(params[key]), time(), tz) if params.get(key) else None
        except ValueError:
            return None

    end = day("to")
    return audit_query(actor=params.get("actor") or None, action=params.get("action") or None,
                       object_type=params.get("object_type") or None, object_id=params.get("object_id") or None,
                       start=day("from"), end=end + timedelta(days=1) if end else None)
