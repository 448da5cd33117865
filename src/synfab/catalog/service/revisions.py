"""What BOM and routing revisions share: the revision in effect on a day, date ranges that must not
overlap."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from synfab.catalog.choices import DocumentStatus
from synfab.catalog.models import Bom, Routing
from synfab.core.errors import Invalid
from synfab.core.i18n import LazyText, _l

Revisioned = type[Bom] | type[Routing]


def effective_revision(model: Revisioned, session: Session, material_id: int, on: date) -> Any:
    """The released revision in effect on a day; with several, the one that took effect last."""
    return session.scalar(
        select(model)
        .where(
            model.material_id == material_id,
            model.status == DocumentStatus.RELEASED,
            model.effective_from <= on,
            or_(model.effective_to.is_(None), model.effective_to > on),
        )
        .order_by(model.effective_from.desc(), model.id.desc())
        .limit(1)
    )


def what(model: Revisioned) -> LazyText:
    return _l("BOM") if model is Bom else _l("routing")


def check_dates(model: Revisioned, effective_from: date, effective_to: date | None) -> None:
    if effective_to is not None and effective_to <= effective_from:
        raise Invalid("revision_dates", _l(
            "The {what} would end ({end}) before it takes effect ({start}); the end date is the first day "
            "it no longer applies.", what=what(model), start=effective_from.isoformat(),
            end=effective_to.isoformat()))


def _range(start: date, end: date | None) -> str:
    return f"{start.isoformat()} – {end.isoformat() if end else '…'}"


ENGINEERING_LOCK = 0x5F_CA7A_1060  # any constant that no other advisory lock uses


def serialise_engineering_changes(session: Session) -> None:
    """On PostgreSQL, let one transaction at a time check and change BOM and routing structure.

    Two engineers releasing overlapping revisions, or saving BOMs that together close a cycle, would each
    pass the checks in their own snapshot; the lock ends with the transaction. SQLite writers take the
    database lock up front, so there is nothing to do there. Engineering changes are rare: one lock is enough.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ENGINEERING_LOCK})


def check_no_overlap(model: Revisioned, session: Session, material_id: int, revision: str,
                     effective_from: date, effective_to: date | None, exclude_id: int | None) -> None:
    """Released revisions of one material are in effect one at a time: their [from, to) ranges may not
    meet."""
    serialise_engineering_changes(session)
    others = session.scalars(select(model).where(
        model.material_id == material_id, model.status == DocumentStatus.RELEASED,
        model.id != (exclude_id if exclude_id is not None else -1),
    ))
    for other in others:
        starts_before_other_ends = other.effective_to is None or effective_from < other.effective_to
        ends_after_other_starts = effective_to is None or other.effective_from < effective_to
        if starts_before_other_ends and ends_after_other_starts:
            raise Invalid("revision_overlap", _l(
                "Revision {revision} of the {what} of {material} ({range}) overlaps released revision "
                "{other} ({other_range}); only one released revision can be in effect on a day — change the "
                "dates so that one ends where the other begins.",
                what=what(model), revision=revision, material=other.material.code,
                range=_range(effective_from, effective_to), other=other.revision,
                other_range=_range(other.effective_from, other.effective_to),
            ), details=[{"overlaps_id": other.id, "overlaps_revision": other.revision}])
