"""Routings: revisions of the sequence of operations that makes a material, where each runs and how long."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from synfab.catalog.choices import DocumentStatus
from synfab.catalog.events import RoutingRevisionObsoleted, RoutingRevisionReleased, RoutingRevisionSaved
from synfab.catalog.models import Material, Routing, RoutingOperation
from synfab.catalog.schemas import OperationIn, RoutingCreate, RoutingUpdate
from synfab.catalog.service.revisions import check_dates, check_no_overlap, effective_revision
from synfab.core import clock
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import ESignature
from synfab.people.service.signatures import check_signature
from synfab.plant import service as plant_service
from synfab.plant.choices import PRODUCTIVE_LEVELS

SKILL_LEVELS = range(1, 5)  # 1 = under instruction … 4 = can teach others


def get_routing(session: Session, routing_id: int) -> Routing:
    routing = session.scalar(select(Routing).where(Routing.id == routing_id)
                             .options(selectinload(Routing.operations)))
    if routing is None:
        raise NotFound("routing_not_found", _l("Routing revision {id} does not exist.", id=routing_id))
    return routing


def effective_routing(session: Session, material_id: int, on: date) -> Routing | None:
    """The routing revision of a material in effect on `on` (released, on ∈ [effective_from, effective_to)).
    """
    return effective_revision(Routing, session, material_id, on)


def routings_of(session: Session, material_id: int) -> list[Routing]:
    """Every revision of a material's routing, the latest to take effect first."""
    return list(session.scalars(select(Routing).where(Routing.material_id == material_id)
                                .order_by(Routing.effective_from.desc(), Routing.id.desc())))


def routing_query(material_id: int | None = None, status: DocumentStatus | str | None = None,
                  q: str | None = None, work_center_id: int | None = None) -> Select[tuple[Routing]]:
    """Routing revisions for the list page and the export, by material code and date."""
    stmt = select(Routing).join(Material, Material.id == Routing.material_id)
    if material_id is not None:
        stmt = stmt.where(Routing.material_id == material_id)
    if status:
        stmt = stmt.where(Routing.status == DocumentStatus(status))
    if work_center_id is not None:
        stmt = stmt.where(Routing.id.in_(
            select(RoutingOperation.routing_id).where(RoutingOperation.work_center_id == work_center_id)))
    text = (q or "").strip().lower()
    if text:
        columns = (Material.code, Material.name, Material.name_en, Routing.revision)
        stmt = stmt.where(or_(*(func.lower(col).contains(text, autoescape=True) for col in columns)))
    return stmt.order_by(Material.code, Routing.effective_from, Routing.revision)


# -- writing -----------------------------------------------------------------------------------------------


def _build_operations(session: Session, operations: list[OperationIn]) -> list[RoutingOperation]:
    """Check each step: a unique positive number; a work center, machine or equipment class; times ≥ 0."""
    seqs = [op.seq for op in operations]
    repeated = sorted({q for q in seqs if seqs.count(q) > 1})
    if repeated:
        raise Invalid("operation_seq_repeated", _l(
            "Each operation needs its own number; repeated: {seqs}.", seqs=", ".join(map(str, repeated))))
    classes = {ec.id for ec in plant_service.list_equipment_classes(session)}
    built = []
    for op in operations:
        where = {"seq": op.seq, "name": op.name}
        if op.seq <= 0:
            raise Invalid("operation_seq",
                          _l("Operation {seq} ({name}): the number must be positive.", **where))
        if op.work_center_id is None and op.equipment_class_id is None:
            raise Invalid("operation_resource_missing", _l(
                "Operation {seq} ({name}) needs a work center, a machine or an equipment class.", **where))
        if op.work_center_id is not None:
            try:
                node = plant_service.get_node(session, op.work_center_id)
            except NotFound:
                raise Invalid("operation_work_center_missing", _l(
                    "Operation {seq} ({name}): plant node {id} does not exist.", id=op.work_center_id,
                    **where)) from None
            if node.level not in PRODUCTIVE_LEVELS:
                raise Invalid("operation_work_center_level", _l(
                    "Operation {seq} ({name}): {code} is a {level}; operations run at a work center or on a "
                    "machine.", code=node.code, level=node.level.label, **where))
        if op.equipment_class_id is not None and op.equipment_class_id not in classes:
            raise Invalid("equipment_class_not_found", _l(
                "Operation {seq} ({name}): equipment class {id} does not exist.", id=op.equipment_class_id,
                **where))
        if op.setup_minutes < 0 or op.run_minutes < 0:
            raise Invalid("operation_time_negative", _l(
                "Operation {seq} ({name}): setup and run times cannot be negative.", **where))
        skill = (op.required_skill or "").strip() or None
        level = op.required_skill_level
        if level is not None and skill is None:
            raise Invalid("operation_skill_missing", _l(
                "Operation {seq} ({name}): a skill level needs the skill it is about.", **where))
        if skill is not None:
            level = level if level is not None else SKILL_LEVELS.start
            if level not in SKILL_LEVELS:
                raise Invalid("operation_skill_level", _l(
                    "Operation {seq} ({name}): the skill level must be from 1 to 4.", **where))
        built.append(RoutingOperation(
            seq=op.seq, name=op.name.strip(), work_center_id=op.work_center_id,
            equipment_class_id=op.equipment_class_id, setup_minutes=op.setup_minutes,
            run_minutes=op.run_minutes, required_skill=skill, required_skill_level=level,
            description=op.description))
    return sorted(built, key=lambda o: o.seq)


def _check_revision_free(session: Session, material: Material, revision: str, but: int | None = None) -> None:
    taken = session.scalar(select(Routing.id).where(Routing.material_id == material.id,
                                                    Routing.revision == revision))
    if taken is not None and taken != but:
        raise Conflict("routing_revision_taken", _l(
            "{material} already has a routing revision {revision}.", material=material.code,
            revision=revision))


def _refuse_empty_release(material: Material, revision: str, count: int) -> None:
    if count == 0:
        raise Invalid("routing_empty", _l(
            "Revision {revision} of the routing of {material} has no operations; add them before releasing "
            "it.",
            revision=revision, material=material.code))


def _refuse_obsolete(routing: Routing) -> None:
    if routing.status == DocumentStatus.OBSOLETE:
        raise Invalid("routing_obsolete", _l(
            "Revision {revision} of the routing of {material} is obsolete and can no longer change; make a "
            "new revision.", revision=routing.revision, material=routing.material.code))


def _refuse_unsigned(routing: Routing, signature: ESignature | None) -> None:
    """A released revision is what production follows: changing it, or taking it out of use, is signed."""
    if routing.status == DocumentStatus.RELEASED:
        check_signature(signature, "routing", routing.id, _l(
            "Revision {revision} of the routing of {material} is released: changing it needs an electronic "
            "signature (or make a new revision).", revision=routing.revision, material=routing.material.code))


def _saved(uow: UnitOfWork, routing: Routing, created: bool) -> None:
    uow.record(RoutingRevisionSaved(
        routing_id=routing.id, material_id=routing.material_id, material_code=routing.material.code,
        revision=routing.revision, status=routing.status.value, created=created,
        operation_seqs=[op.seq for op in routing.operations]))


def _released(uow: UnitOfWork, routing: Routing) -> None:
    uow.record(RoutingRevisionReleased(
        routing_id=routing.id, material_id=routing.material_id, material_code=routing.material.code,
        revision=routing.revision, effective_from=routing.effective_from, effective_to=routing.effective_to))


def create_routing(uow: UnitOfWork, data: RoutingCreate) -> Routing:
    """Save a new routing revision with its operations; every rule is checked before anything is written."""
    s = uow.session
    material = s.get(Material, data.material_id)
    if material is None:
        raise Invalid("material_not_found", _l("Material {id} does not exist.", id=data.material_id))
    revision = data.revision.strip()
    effective_from = data.effective_from or clock.now().date()
    _check_revision_free(s, material, revision)
    check_dates(Routing, effective_from, data.effective_to)
    operations = _build_operations(s, data.operations)
    if data.status == DocumentStatus.RELEASED:
        _refuse_empty_release(material, revision, len(operations))
        check_no_overlap(Routing, s, material.id, revision, effective_from, data.effective_to, None)
    routing = Routing(material_id=material.id, revision=revision, status=data.status,
                      effective_from=effective_from, effective_to=data.effective_to, note=data.note,
                      operations=operations)
    s.add(routing)
    uow.flush()
    _saved(uow, routing, created=True)
    if routing.status == DocumentStatus.RELEASED:
        _released(uow, routing)
    return routing


def update_routing(uow: UnitOfWork, routing_id: int, data: RoutingUpdate, signature: ESignature | None = None
                ) -> Routing:
    """Change a revision's header and, when `operations` is given, replace its steps. Obsolete revisions stay
    as they are; a stale `version` is refused."""
    s = uow.session
    routing = get_routing(s, routing_id)
    check_version(routing, data.version)
    _refuse_obsolete(routing)
    _refuse_unsigned(routing, signature)
    material = routing.material
    given = data.model_fields_set
    revision = data.revision.strip() if data.revision else routing.revision
    effective_from = data.effective_from or routing.effective_from
    effective_to = data.effective_to if "effective_to" in given else routing.effective_to
    _check_revision_free(s, material, revision, but=routing.id)
    check_dates(Routing, effective_from, effective_to)
    operations = _build_operations(s, data.operations) if data.operations is not None else None
    if routing.status == DocumentStatus.RELEASED:
        steps = operations if operations is not None else routing.operations
        _refuse_empty_release(material, revision, len(steps))
        check_no_overlap(Routing, s, material.id, revision, effective_from, effective_to, routing.id)
    if operations is not None:
        # Old steps go before new ones come in (step numbers are unique within a revision), and before the
        # header changes, so that the row is written, and its version moves, once.
        routing.operations.clear()
        s.flush()
        routing.operations.extend(operations)
    routing.revision, routing.effective_from, routing.effective_to = revision, effective_from, effective_to
    if "note" in given:
        routing.note = data.note
    routing.updated_at = clock.now()
    uow.flush()
    _saved(uow, routing, created=False)
    return routing


def release_routing(uow: UnitOfWork, routing_id: int, version: int | None = None) -> Routing:
    """Put a draft revision in effect over its date range; releasing a released one changes nothing."""
    s = uow.session
    routing = get_routing(s, routing_id)
    check_version(routing, version)
    if routing.status == DocumentStatus.RELEASED:
        return routing
    _refuse_obsolete(routing)
    _refuse_empty_release(routing.material, routing.revision, len(routing.operations))
    check_no_overlap(Routing, s, routing.material_id, routing.revision, routing.effective_from,
                     routing.effective_to, routing.id)
    routing.status = DocumentStatus.RELEASED
    uow.flush()
    _released(uow, routing)
    return routing


def obsolete_routing(uow: UnitOfWork, routing_id: int, version: int | None = None,
                signature: ESignature | None = None) -> Routing:
    """Take a revision out of use for good; work orders made from it keep it."""
    routing = get_routing(uow.session, routing_id)
    check_version(routing, version)
    if routing.status == DocumentStatus.OBSOLETE:
        return routing
    _refuse_unsigned(routing, signature)
    routing.status = DocumentStatus.OBSOLETE
    uow.flush()
    uow.record(RoutingRevisionObsoleted(routing_id=routing.id, material_id=routing.material_id,
                                        material_code=routing.material.code, revision=routing.revision))
    return routing
