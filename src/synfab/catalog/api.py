"""Catalog JSON API: units and conversions, material classes, materials with their BOM tree and where-used,
BOM and routing revisions, and the external codes of the data dictionary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import Select
from sqlalchemy.orm import Session

from synfab.catalog import service
from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, Routing
from synfab.catalog.schemas import (
    BomBrief, BomCreate, BomPage, BomRead, BomTreeRead, BomUpdate, ConversionCreate, ConversionRead,
    ConvertRead, ExplodedLineRead, ExternalIdCreate, ExternalIdRead, MaterialBrief, MaterialClassCreate,
    MaterialClassRead, MaterialClassUpdate, MaterialCreate, MaterialPage, MaterialRead, MaterialUpdate,
    RoutingCreate, RoutingPage, RoutingRead, RoutingUpdate, UnitBrief, UnitCreate, UnitRead, UnitUpdate,
    SignedVersionIn, VersionIn, WhereUsedLineRead,
)
from synfab.core import clock
from synfab.people.service import Principal
from synfab.people.service.signatures import perform_signed
from synfab.web.deps import DbDep, SessionDep, UowDep, require
from synfab.web.listing import PER_PAGE_CHOICES, ListQuery, paginate

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

MaterialViewer = Annotated[Principal, require("material.view")]
MaterialCreator = Annotated[Principal, require("material.create")]
MaterialChanger = Annotated[Principal, require("material.change")]
BomViewer = Annotated[Principal, require("bom.view")]
BomCreator = Annotated[Principal, require("bom.create")]
BomChanger = Annotated[Principal, require("bom.change")]
RoutingViewer = Annotated[Principal, require("routing.view")]
RoutingCreator = Annotated[Principal, require("routing.create")]
RoutingChanger = Annotated[Principal, require("routing.change")]

Page = Annotated[int, Query(ge=1)]
PerPage = Annotated[int, Query(ge=1, le=max(PER_PAGE_CHOICES))]


def _page(session: Session, stmt: Select[Any], page: int, per_page: int) -> tuple[int, list[Any]]:
    """One page of a query that already has its order."""
    result = paginate(session, stmt, ListQuery(page=page, per_page=per_page), {}, [])
    return result.total, result.items


# -- units and conversions ---------------------------------------------------------------------------------


@router.get("/units")
def list_units(session: SessionDep, user: MaterialViewer) -> list[UnitRead]:
    return [UnitRead.model_validate(u) for u in service.list_units(session)]


@router.post("/units", status_code=201)
def create_unit(body: UnitCreate, uow: UowDep, user: MaterialCreator) -> UnitRead:
    unit = service.create_unit(uow, body)
    uow.commit()
    return UnitRead.model_validate(unit)


@router.get("/units/{unit_id}")
def get_unit(unit_id: int, session: SessionDep, user: MaterialViewer) -> UnitRead:
    return UnitRead.model_validate(service.get_unit(session, unit_id))


@router.patch("/units/{unit_id}")
def update_unit(unit_id: int, body: UnitUpdate, uow: UowDep, user: MaterialChanger) -> UnitRead:
    unit = service.update_unit(uow, unit_id, body)
    uow.commit()
    return UnitRead.model_validate(unit)


@router.get("/conversions")
def list_conversions(session: SessionDep, user: MaterialViewer,
                     material_id: int | None = None) -> list[ConversionRead]:
    """All conversions, or those that apply to one material (its own and the general ones)."""
    return [ConversionRead.model_validate(c) for c in service.list_conversions(session, material_id)]


@router.post("/conversions", status_code=201)
def add_conversion(body: ConversionCreate, uow: UowDep, user: MaterialCreator) -> ConversionRead:
    """Add `1 from = factor × to`, for every material or only for `material_id`."""
    conversion = service.add_conversion(uow, body)
    uow.commit()
    return ConversionRead.model_validate(conversion)


@router.delete("/conversions/{conversion_id}", status_code=204)
def remove_conversion(conversion_id: int, uow: UowDep, user: MaterialChanger) -> Response:
    service.remove_conversion(uow, conversion_id)
    uow.commit()
    return Response(status_code=204)


@router.get("/convert")
def convert(quantity: Decimal, from_unit_id: int, to_unit_id: int, session: SessionDep, user: MaterialViewer,
            material_id: int | None = None) -> ConvertRead:
    """A quantity in another unit, through the material's own conversions first, then the general ones."""
    result = service.convert(session, quantity, from_unit_id, to_unit_id, material_id)
    return ConvertRead(
        quantity=quantity, from_unit=UnitBrief.model_validate(service.get_unit(session, from_unit_id)),
        to_unit=UnitBrief.model_validate(service.get_unit(session, to_unit_id)), material_id=material_id,
        result=result)


# -- material classes --------------------------------------------------------------------------------------


@router.get("/material-classes")
def list_material_classes(session: SessionDep, user: MaterialViewer) -> list[MaterialClassRead]:
    """Classes in tree order: each followed by its subclasses."""
    return [MaterialClassRead.model_validate(c) for c in service.list_material_classes(session)]


@router.post("/material-classes", status_code=201)
def create_material_class(body: MaterialClassCreate, uow: UowDep, user: MaterialCreator) -> MaterialClassRead:
    mc = service.create_material_class(uow, body)
    uow.commit()
    return MaterialClassRead.model_validate(mc)


@router.get("/material-classes/{class_id}")
def get_material_class(class_id: int, session: SessionDep, user: MaterialViewer) -> MaterialClassRead:
    return MaterialClassRead.model_validate(service.get_material_class(session, class_id))


@router.patch("/material-classes/{class_id}")
def update_material_class(class_id: int, body: MaterialClassUpdate, uow: UowDep,
                          user: MaterialChanger) -> MaterialClassRead:
    mc = service.update_material_class(uow, class_id, body)
    uow.commit()
    return MaterialClassRead.model_validate(mc)


# -- materials ---------------------------------------------------------------------------------------------


@router.get("/materials")
def list_materials(
    session: SessionDep, user: MaterialViewer, type: MaterialType | None = None,  # noqa: A002
    class_id: int | None = None, sourcing: Sourcing | None = None, q: str | None = None,
    active: bool | None = None, page: Page = 1, per_page: PerPage = 50,
) -> MaterialPage:
    """Materials by code; `class_id` takes in subclasses, `q` searches code, names and external codes."""
    stmt = service.material_query(type=type, class_id=class_id, sourcing=sourcing, q=q, active=active)
    total, items = _page(session, stmt, page, per_page)
    return MaterialPage(total=total, page=page, per_page=per_page,
                        items=[MaterialRead.model_validate(m) for m in items])


@router.post("/materials", status_code=201)
def create_material(body: MaterialCreate, uow: UowDep, user: MaterialCreator) -> MaterialRead:
    material = service.create_material(uow, body)
    uow.commit()
    return MaterialRead.model_validate(material)


@router.get("/materials/{material_id}")
def get_material(material_id: int, session: SessionDep, user: MaterialViewer) -> MaterialRead:
    return MaterialRead.model_validate(service.get_material(session, material_id))


@router.patch("/materials/{material_id}")
def update_material(material_id: int, body: MaterialUpdate, uow: UowDep,
                    user: MaterialChanger) -> MaterialRead:
    """Change a material; a stale `version` gets 409 with who changed it and when."""
    material = service.update_material(uow, material_id, body)
    uow.commit()
    return MaterialRead.model_validate(material)


@router.get("/materials/{material_id}/bom-tree")
def bom_tree(material_id: int, session: SessionDep, user: BomViewer,
             quantity: Annotated[Decimal, Query(gt=0)] = Decimal(1), on: date | None = None,
             bom_id: int | None = None) -> BomTreeRead:
    """The multi-level explosion of `quantity` through the BOMs in effect on `on` (today by default);
    `bom_id` explodes that revision at the top instead."""
    day = on or clock.now().date()
    material = service.get_material(session, material_id)
    lines = service.explode_bom(session, material_id, quantity, day, bom_id=bom_id)
    if bom_id is not None:
        top = service.get_bom(session, bom_id)
    else:
        top = service.effective_bom(session, material_id, day)
    return BomTreeRead(
        material=MaterialBrief.model_validate(material), quantity=quantity,
        unit=UnitBrief.model_validate(material.unit), on=day,
        bom=BomBrief.model_validate(top) if top is not None else None,
        lines=[ExplodedLineRead.model_validate(ln) for ln in lines],
    )


@router.get("/materials/{material_id}/where-used")
def where_used(material_id: int, session: SessionDep, user: BomViewer,
               include_obsolete: bool = False) -> list[WhereUsedLineRead]:
    """Every product the material goes into, up to the top-level products, by BOM revision."""
    return [WhereUsedLineRead.model_validate(ln)
            for ln in service.where_used(session, material_id, include_obsolete=include_obsolete)]


# -- BOMs --------------------------------------------------------------------------------------------------


def _bom_read(session: Session, bom: Bom) -> BomRead:
    return BomRead.model_validate(service.get_bom(session, bom.id))


@router.get("/boms")
def list_boms(session: SessionDep, user: BomViewer, material_id: int | None = None,
              status: DocumentStatus | None = None, component_id: int | None = None, q: str | None = None,
              page: Page = 1, per_page: PerPage = 50) -> BomPage:
    """BOM revisions by material code and date; `component_id` finds those using a component directly."""
    stmt = service.bom_query(material_id=material_id, status=status, q=q, component_id=component_id)
    total, items = _page(session, stmt, page, per_page)
    return BomPage(total=total, page=page, per_page=per_page,
                   items=[BomRead.model_validate(b) for b in items])


@router.post("/boms", status_code=201)
def create_bom(body: BomCreate, uow: UowDep, user: BomCreator) -> BomRead:
    """Save a BOM revision (draft unless `status` says otherwise); a cycle is refused with its chain named."""
    bom = service.create_bom(uow, body)
    uow.commit()
    return _bom_read(uow.session, bom)


@router.get("/boms/{bom_id}")
def get_bom(bom_id: int, session: SessionDep, user: BomViewer) -> BomRead:
    return BomRead.model_validate(service.get_bom(session, bom_id))


@router.put("/boms/{bom_id}")
def update_bom(bom_id: int, body: BomUpdate, db: DbDep, user: BomChanger) -> BomRead:
    """Change a revision; `lines`, when given, replace all its lines. A stale `version` gets 409. A released
    revision changes only with an electronic `signature` (refused signatures change nothing and are audited)."""
    perform_signed(db, body.signature, action="change_released_bom", object_type="bom", object_id=bom_id,
                   perform=lambda uow, sig: service.update_bom(uow, bom_id, body, sig))
    with db.session() as session:
        return BomRead.model_validate(service.get_bom(session, bom_id))


@router.post("/boms/{bom_id}/release")
def release_bom(bom_id: int, uow: UowDep, user: BomChanger, body: VersionIn | None = None) -> BomRead:
    """Put a revision in effect; refused when its dates overlap another released revision."""
    bom = service.release_bom(uow, bom_id, body.version if body else None)
    uow.commit()
    return _bom_read(uow.session, bom)


@router.post("/boms/{bom_id}/obsolete")
def obsolete_bom(bom_id: int, db: DbDep, user: BomChanger, body: SignedVersionIn | None = None) -> BomRead:
    """Take a revision out of use; a released one only with an electronic `signature`."""
    body = body or SignedVersionIn()
    perform_signed(db, body.signature, action="obsolete_released_bom", object_type="bom", object_id=bom_id,
                   perform=lambda uow, sig: service.obsolete_bom(uow, bom_id, body.version, sig))
    with db.session() as session:
        return BomRead.model_validate(service.get_bom(session, bom_id))


# -- routings ----------------------------------------------------------------------------------------------


def _routing_read(session: Session, routing: Routing) -> RoutingRead:
    return RoutingRead.model_validate(service.get_routing(session, routing.id))


@router.get("/routings")
def list_routings(session: SessionDep, user: RoutingViewer, material_id: int | None = None,
                  status: DocumentStatus | None = None, work_center_id: int | None = None,
                  q: str | None = None, page: Page = 1, per_page: PerPage = 50) -> RoutingPage:
    stmt = service.routing_query(material_id=material_id, status=status, q=q, work_center_id=work_center_id)
    total, items = _page(session, stmt, page, per_page)
    return RoutingPage(total=total, page=page, per_page=per_page,
                       items=[RoutingRead.model_validate(r) for r in items])


@router.post("/routings", status_code=201)
def create_routing(body: RoutingCreate, uow: UowDep, user: RoutingCreator) -> RoutingRead:
    routing = service.create_routing(uow, body)
    uow.commit()
    return _routing_read(uow.session, routing)


@router.get("/routings/{routing_id}")
def get_routing(routing_id: int, session: SessionDep, user: RoutingViewer) -> RoutingRead:
    return RoutingRead.model_validate(service.get_routing(session, routing_id))


@router.put("/routings/{routing_id}")
def update_routing(routing_id: int, body: RoutingUpdate, db: DbDep, user: RoutingChanger) -> RoutingRead:
    """Change a revision; `operations`, when given, replace all its steps. A stale `version` gets 409. A
    released revision changes only with an electronic `signature`."""
    perform_signed(db, body.signature, action="change_released_routing", object_type="routing",
                   object_id=routing_id, perform=lambda uow, sig: service.update_routing(uow, routing_id, body, sig))
    with db.session() as session:
        return RoutingRead.model_validate(service.get_routing(session, routing_id))


@router.post("/routings/{routing_id}/release")
def release_routing(routing_id: int, uow: UowDep, user: RoutingChanger,
                    body: VersionIn | None = None) -> RoutingRead:
    routing = service.release_routing(uow, routing_id, body.version if body else None)
    uow.commit()
    return _routing_read(uow.session, routing)


@router.post("/routings/{routing_id}/obsolete")
def obsolete_routing(routing_id: int, db: DbDep, user: RoutingChanger,
                     body: SignedVersionIn | None = None) -> RoutingRead:
    """Take a revision out of use; a released one only with an electronic `signature`."""
    body = body or SignedVersionIn()
    perform_signed(db, body.signature, action="obsolete_released_routing", object_type="routing",
                   object_id=routing_id,
                   perform=lambda uow, sig: service.obsolete_routing(uow, routing_id, body.version, sig))
    with db.session() as session:
        return RoutingRead.model_validate(service.get_routing(session, routing_id))


# -- external codes ----------------------------------------------------------------------------------------


@router.get("/external-ids")
def list_external_ids(session: SessionDep, user: MaterialViewer, kind: str | None = None,
                      internal_id: int | None = None, system: str | None = None) -> list[ExternalIdRead]:
    """The data dictionary: codes other systems use for our records, filtered by kind, record or system."""
    return [ExternalIdRead.model_validate(x)
            for x in service.list_external_ids(session, kind=kind, internal_id=internal_id, system=system)]


@router.get("/external-ids/resolve")
def resolve_external_id(kind: str, code: str, session: SessionDep, user: MaterialViewer,
                        system: str | None = None) -> dict[str, int | None]:
    """Our id of the record another system (or any system) calls `code`; null when nobody does."""
    return {"internal_id": service.resolve_external_id(session, kind, code, system)}


@router.post("/external-ids", status_code=201)
def map_external_id(body: ExternalIdCreate, uow: UowDep, user: MaterialChanger) -> ExternalIdRead:
    """Map an external code to one of our records; the same mapping twice is a no-op."""
    row = service.map_external_id(uow, body.system, body.kind, body.external_code, body.internal_id,
                                  body.note)
    uow.commit()
    return ExternalIdRead.model_validate(row)


@router.delete("/external-ids/{external_id}", status_code=204)
def remove_external_id(external_id: int, uow: UowDep, user: MaterialChanger) -> Response:
    service.remove_external_id(uow, external_id)
    uow.commit()
    return Response(status_code=204)

