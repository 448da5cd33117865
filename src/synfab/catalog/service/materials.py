"""Material classes and material definitions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from synfab.catalog.choices import MaterialType, Sourcing
from synfab.catalog.events import MaterialChanged, MaterialCreated
from synfab.catalog.models import BomLine, ExternalId, Material, MaterialClass, Unit
from synfab.catalog.schemas import MaterialClassCreate, MaterialClassUpdate, MaterialCreate, MaterialUpdate
from synfab.catalog.service.units import UnitConverter, get_unit
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork


def get_material(session: Session, material_id: int) -> Material:
    material = session.get(Material, material_id)
    if material is None:
        raise NotFound("material_not_found", _l("Material {id} does not exist.", id=material_id))
    return material


def active_material(session: Session, material_id: int) -> Material:
    """A material a new order, work order or purchase may name: it exists (422 otherwise, it is the input that is
    wrong) and is active."""
    try:
        material = get_material(session, material_id)
    except NotFound:
        raise Invalid("material_not_found", _l("Material {id} does not exist.", id=material_id)) from None
    if not material.active:
        raise Invalid("material_inactive", _l(
            "Material {code} is inactive; reactivate it in the catalog or choose another material.",
            code=material.code))
    return material


def material_by_code(session: Session, code: str) -> Material:
    material = session.scalar(select(Material).where(Material.code == code))
    if material is None:
        raise NotFound("material_not_found", _l("There is no material with code {code}.", code=code))
    return material


# -- material classes --------------------------------------------------------------------------------------


def get_material_class(session: Session, class_id: int) -> MaterialClass:
    found = session.get(MaterialClass, class_id)
    if found is None:
        raise NotFound("material_class_not_found", _l("Material class {id} does not exist.", id=class_id))
    return found


def list_material_classes(session: Session) -> list[MaterialClass]:
    """Classes in tree order: each followed by its subclasses."""
    rows = list(session.scalars(select(MaterialClass).order_by(MaterialClass.code)))
    by_parent: dict[int | None, list[MaterialClass]] = {}
    ids = {c.id for c in rows}
    for c in rows:
        by_parent.setdefault(c.parent_id if c.parent_id in ids else None, []).append(c)
    ordered: list[MaterialClass] = []
    stack = list(reversed(by_parent.get(None, [])))
    while stack:
        c = stack.pop()
        ordered.append(c)
        stack.extend(reversed(by_parent.get(c.id, [])))
    return ordered


def class_subtree_ids(session: Session, class_id: int) -> set[int]:
    """A class and all classes under it."""
    children: dict[int | None, list[int]] = {}
    for cid, parent in session.execute(select(MaterialClass.id, MaterialClass.parent_id)):
        children.setdefault(parent, []).append(cid)
    found, stack = set(), [class_id]
    while stack:
        cid = stack.pop()
        if cid not in found:
            found.add(cid)
            stack.extend(children.get(cid, []))
    return found


def create_material_class(uow: UnitOfWork, data: MaterialClassCreate) -> MaterialClass:
    s = uow.session
    if s.scalar(select(MaterialClass.id).where(MaterialClass.code == data.code)) is not None:
        raise Conflict("material_class_code_taken",
                       _l("The material class {code} already exists.", code=data.code))
    if data.parent_id is not None:
        get_material_class(s, data.parent_id)
    mc = MaterialClass(**data.model_dump())
    s.add(mc)
    uow.flush()
    return mc


def update_material_class(uow: UnitOfWork, class_id: int, data: MaterialClassUpdate) -> MaterialClass:
    s = uow.session
    mc = get_material_class(s, class_id)
    check_version(mc, data.version)
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    if fields.get("parent_id") is not None:
        parent = get_material_class(s, fields["parent_id"])
        if parent.id in class_subtree_ids(s, mc.id):
            raise Invalid("material_class_cycle", _l(
                "{parent} is {code} itself or one of its subclasses; a class cannot be placed under it.",
                parent=parent.code, code=mc.code))
    for key, value in fields.items():
        if key == "name" and value is None:
            continue
        setattr(mc, key, value)
    uow.flush()
    return mc


# -- materials ---------------------------------------------------------------------------------------------


def _check_code_free(session: Session, code: str, but: int | None = None) -> None:
    taken = session.scalar(select(Material).where(Material.code == code))
    if taken is not None and taken.id != but:
        raise Conflict("material_code_taken", _l(
            "The material code {code} is already used by {name}.", code=code, name=taken.name))


def create_material(uow: UnitOfWork, data: MaterialCreate) -> Material:
    """Define a material; its code must be new and its unit and class must exist."""
    s = uow.session
    _check_code_free(s, data.code)
    get_unit(s, data.unit_id)
    if data.class_id is not None:
        get_material_class(s, data.class_id)
    material = Material(**data.model_dump())
    s.add(material)
    uow.flush()
    uow.record(MaterialCreated(material_id=material.id, code=material.code, type=material.type.value,
                               sourcing=material.sourcing.value))
    return material


_REQUIRED = frozenset({"code", "name", "type", "sourcing", "unit_id", "lot_tracked", "active"})


def update_material(uow: UnitOfWork, material_id: int, data: MaterialUpdate) -> Material:
    """Change what is given; a stale `version` is refused with who changed it and when."""
    s = uow.session
    material = get_material(s, material_id)
    check_version(material, data.version)
    fields = data.model_dump(exclude_unset=True, exclude={"version"})
    for key in _REQUIRED & fields.keys():
        if fields[key] is None:
            raise Invalid("material_field_required", _l("{field} cannot be empty.", field=key))
    if "code" in fields:
        _check_code_free(s, fields["code"], but=material.id)
    if "unit_id" in fields and fields["unit_id"] != material.unit_id:
        _check_bom_units(s, material, get_unit(s, fields["unit_id"]))
    if fields.get("class_id") is not None:
        get_material_class(s, fields["class_id"])
    changes: dict[str, list[str | None]] = {}
    for key, value in fields.items():
        old = getattr(material, key)
        if old != value:
            changes[key] = [_text(old), _text(value)]
            setattr(material, key, value)
    uow.flush()
    if {"unit_id", "class_id"} & changes.keys():
        s.expire(material, ["unit", "material_class"])
    if changes:
        uow.record(MaterialChanged(material_id=material.id, code=material.code, changes=changes))
    return material


def _check_bom_units(session: Session, material: Material, new_unit: Unit) -> None:
    """BOM lines give a component's quantity in some unit; each must still convert to the new base unit."""
    converter = UnitConverter(session)
    used = session.scalars(select(BomLine.unit_id).where(BomLine.component_id == material.id).distinct())
    stranded = [uid for uid in used if not converter.can_convert(uid, new_unit.id, material.id)]
    if stranded:
        codes = ", ".join(sorted(get_unit(session, uid).code for uid in stranded))
        raise Invalid("material_unit_in_use", _l(
            "BOM lines give {material} in {units}, which cannot be converted to {unit}; add a unit conversion "
            "first.", material=material.code, units=codes, unit=new_unit.code))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def material_query(type: MaterialType | str | None = None, class_id: int | None = None,  # noqa: A002
                   sourcing: Sourcing | str | None = None, q: str | None = None,
                   active: bool | None = None) -> Select[tuple[Material]]:
    """Materials for the list page and the export, ordered by code.

    `class_id` takes in its subclasses; `q` matches the code, both names and the codes other systems use.
    """
    stmt = select(Material)
    if type:
        stmt = stmt.where(Material.type == MaterialType(type))
    if sourcing:
        stmt = stmt.where(Material.sourcing == Sourcing(sourcing))
    if class_id is not None:
        tree = select(MaterialClass.id).where(MaterialClass.id == class_id).cte("class_tree", recursive=True)
        tree = tree.union_all(select(MaterialClass.id).where(MaterialClass.parent_id == tree.c.id))
        stmt = stmt.where(Material.class_id.in_(select(tree.c.id)))
    if active is not None:
        stmt = stmt.where(Material.active.is_(active))
    text = (q or "").strip().lower()
    if text:
        external = select(ExternalId.internal_id).where(
            ExternalId.kind == "material",
            func.lower(ExternalId.external_code).contains(text, autoescape=True))
        stmt = stmt.where(or_(*(func.lower(col).contains(text, autoescape=True)
                                for col in (Material.code, Material.name, Material.name_en)),
                              Material.id.in_(external)))
    return stmt.order_by(Material.code)


def count_active_materials(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Material).where(Material.active.is_(True))) or 0
