"""The data dictionary: the codes other systems use for our records (M001 in the ERP = MAT01 in the WMS)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog.models import ExternalId, Material, MaterialClass, Unit
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant import service as plant_service

# Kinds whose records live in the catalog or plant; others ("customer", "supplier" …) belong to contexts that
# check their own references, so the dictionary accepts them as they are.
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_target(session: Session, kind: str, internal_id: int) -> None:
    models = {"material": Material, "unit": Unit, "material_class": MaterialClass}
    if kind in models:
        if session.get(models[kind], internal_id) is None:
            raise Invalid("external_id_target_missing", _l(
                "There is no {kind} with id {id} to map an external code to.", kind=kind, id=internal_id))
    elif kind == "plant_node":
        try:
            plant_service.get_node(session, internal_id)
        except NotFound:
            raise Invalid("external_id_target_missing", _l(
                "There is no {kind} with id {id} to map an external code to.", kind=kind,
                id=internal_id)) from None


def map_external_id(uow: UnitOfWork, system: str, kind: str, external_code: str, internal_id: int,
                    note: str | None = None) -> ExternalId:
    """Record that `system` calls our record `internal_id` of `kind` by `external_code`.

    Mapping the same code to the same record again is a no-op; a code already mapped to another record of
    that kind in that system is refused.
    """
    system, kind, external_code = system.strip(), kind.strip(), external_code.strip()
    if not system or not external_code:
        raise Invalid("external_id_blank", _l("An external code needs a system name and a code."))
    if not _KIND.match(kind):
        raise Invalid("external_id_kind", _l(
            "{kind} is not a valid kind; use lower-case words such as material, unit or customer.",
            kind=kind))
    s = uow.session
    found = s.scalar(select(ExternalId).where(
        ExternalId.system == system, ExternalId.kind == kind, ExternalId.external_code == external_code))
    if found is not None:
        if found.internal_id != internal_id:
            raise Conflict("external_id_taken", _l(
                "In {system}, the {kind} code {code} already stands for record {other}; remove that mapping "
                "first.",
                system=system, kind=kind, code=external_code, other=_label(s, kind, found.internal_id)))
        if note is not None and found.note != note:
            found.note = note
        return found
    _check_target(s, kind, internal_id)
    row = ExternalId(system=system, kind=kind, external_code=external_code, internal_id=internal_id,
                     note=note)
    s.add(row)
    uow.flush()
    return row


def _label(session: Session, kind: str, internal_id: int) -> str:
    model = {"material": Material, "unit": Unit, "material_class": MaterialClass}.get(kind)
    record = session.get(model, internal_id) if model is not None else None
    return f"{record.code} (#{internal_id})" if record is not None else f"#{internal_id}"


def resolve_external_id(session: Session, kind: str, code: str, system: str | None = None) -> int | None:
    """Our id of the record another system calls `code`; any system when `system` is None.

    Two systems using one code for different records make the code ambiguous without a system: refused.
    """
    stmt = select(ExternalId).where(ExternalId.kind == kind, ExternalId.external_code == code.strip())
    if system is not None:
        stmt = stmt.where(ExternalId.system == system)
    rows = list(session.scalars(stmt))
    targets = {r.internal_id for r in rows}
    if len(targets) > 1:
        raise Conflict("external_id_ambiguous", _l(
            "The {kind} code {code} means different records in {systems}; say which system it comes from.",
            kind=kind, code=code, systems=", ".join(sorted(r.system for r in rows))))
    return targets.pop() if targets else None


def external_ids_for(session: Session, kind: str, internal_id: int) -> list[ExternalId]:
    """Every code other systems use for one of our records, by system."""
    return list(session.scalars(
        select(ExternalId).where(ExternalId.kind == kind, ExternalId.internal_id == internal_id)
        .order_by(ExternalId.system, ExternalId.external_code)))


def list_external_ids(session: Session, *, kind: str | None = None, internal_id: int | None = None,
                      system: str | None = None) -> list[ExternalId]:
    stmt = select(ExternalId)
    if kind is not None:
        stmt = stmt.where(ExternalId.kind == kind)
    if internal_id is not None:
        stmt = stmt.where(ExternalId.internal_id == internal_id)
    if system is not None:
        stmt = stmt.where(ExternalId.system == system)
    return list(session.scalars(stmt.order_by(ExternalId.kind, ExternalId.system, ExternalId.external_code)))


def get_external_id(session: Session, external_id: int) -> ExternalId:
    row = session.get(ExternalId, external_id)
    if row is None:
        raise NotFound("external_id_not_found",
                       _l("External code mapping {id} does not exist.", id=external_id))
    return row


def remove_external_id(uow: UnitOfWork, external_id: int) -> None:
    """Forget one mapping; the record itself stays."""
    uow.session.delete(get_external_id(uow.session, external_id))
    uow.flush()


def _resolve(session: Session, model: type[Material] | type[Unit], kind: str, code: str,
             system: str | None) -> Material | Unit | None:
    """Without a system our own code wins; with one, that system's mapping wins, our code as the fallback."""
    own = select(model).where(model.code == code)
    if system is None and (record := session.scalar(own)) is not None:
        return record
    found = resolve_external_id(session, kind, code, system)
    if found is not None:
        return session.get(model, found)
    return session.scalar(own) if system is not None else None


def resolve_material(session: Session, code: str, system: str | None = None) -> Material:
    """The material our code or another system's code `code` names (how the importer resolves references)."""
    key = code.strip()
    material = _resolve(session, Material, "material", key, system)
    if material is None:
        raise NotFound("material_not_found", _l("There is no material with code {code}.", code=key))
    return material


def resolve_unit(session: Session, code: str, system: str | None = None) -> Unit:
    """The unit our code or another system's code `code` names."""
    key = code.strip()
    unit = _resolve(session, Unit, "unit", key, system)
    if unit is None:
        raise NotFound("unit_not_found", _l("There is no unit of measure with code {code}.", code=key))
    return unit


class CodeIndex:
    """Every code of one kind of record — ours and other systems' — for resolving many references at once.

    Resolves like `resolve_material`: without a system our own code wins, then any system's code that names
    one record only; with a system, that system's code wins and our code is the fallback.
    """

    AMBIGUOUS = -1

    def __init__(self, own: dict[str, int], external: list[tuple[str, str, int]], system: str | None) -> None:
        self.own = dict(own)
        self.system = system
        self.by_system: dict[str, int] = {}
        any_system: dict[str, int] = {}
        for sys_name, code, internal_id in external:
            if system is not None and sys_name == system:
                self.by_system[code] = internal_id
            previous = any_system.get(code)
            any_system[code] = internal_id if previous in (None, internal_id) else self.AMBIGUOUS
        self.any_system = any_system

    def resolve(self, code: str) -> int | None:
        """The record's id, None when unknown, or `CodeIndex.AMBIGUOUS` when two systems use the code for
        different records and no system was named."""
        key = code.strip()
        if self.system is not None:
            return self.by_system.get(key, self.own.get(key))
        found = self.own.get(key)
        return found if found is not None else self.any_system.get(key)

    def add(self, code: str, internal_id: int) -> None:
        """A record created during the import is known by its code from then on."""
        self.own[code] = internal_id


def code_index(session: Session, kind: str, system: str | None = None, own: dict[str, int] | None = None) -> CodeIndex:
    """A `CodeIndex` of materials ("material") or units ("unit"), loaded in two queries. Another context's
    records (customers) come with their own codes in `own`; their external codes live here."""
    if own is None:
        model = {"material": Material, "unit": Unit}[kind]
        own = dict(session.execute(select(model.code, model.id)).all())
    external = session.execute(
        select(ExternalId.system, ExternalId.external_code, ExternalId.internal_id).where(ExternalId.kind == kind)
    ).all()
    return CodeIndex(own, list(external), system)
