"""People kinds for Excel: the audit log (export only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from synfab.connect.files.spec import Column, ImportKind
from synfab.core.i18n import _l
from synfab.people.service.audit import audit_query_from
from synfab.plant import service as plant


class AuditKind(ImportKind):
    """The audit log as the audit page filters it."""

    name = "audit"
    title = _l("Audit log")
    importable = False
    key = ("id",)
    permission = "audit.create"
    view_permission = "audit.view"
    export_filters = ("actor", "action", "object_type", "object_id", "from", "to")
    columns = (
        Column("id", "No.", "序号"), Column("at", "Time", "时间"), Column("actor", "Who", "操作人"),
        Column("client_addr", "Address", "地址"), Column("action", "Action", "操作"),
        Column("object_type", "Record type", "记录类型"), Column("object_id", "Record", "记录"),
        Column("before", "Before", "修改前"), Column("after", "After", "修改后"), Column("cause", "Because of", "起因"),
        Column("request_id", "Request", "请求"), Column("hash", "Hash", "哈希"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        tz = plant.main_time_zone(session)
        for r in session.scalars(audit_query_from(filters, tz)):
            yield {"id": r.id, "at": r.at.astimezone(tz).replace(tzinfo=None), "actor": r.actor,
                   "client_addr": r.client_addr, "action": r.action, "object_type": r.object_type,
                   "object_id": r.object_id, "before": _text(r.before), "after": _text(r.after), "cause": r.cause,
                   "request_id": r.request_id, "hash": r.hash}


def _text(values: dict[str, Any] | None) -> str:
    return "; ".join(f"{k}={v}" for k, v in (values or {}).items())


KINDS = [AuditKind]
