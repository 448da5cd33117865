"""Catalog pages: materials with their BOM tree and where-used, BOM revisions, routings, units and
conversions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from synfab.catalog import service
from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, Material, Routing
from synfab.core import clock
from synfab.core.errors import DomainError, Invalid
from synfab.core.i18n import N_, _, _l
from synfab.people.service import Principal
from synfab.people.service.signatures import signatures_for
from synfab.plant import service as plant_service
from synfab.web.deps import SessionDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/catalog")

NAV = [
    NavItem(N_("Master data"), N_("Materials"), "/catalog/materials", "material.view", "◫"),
    NavItem(N_("Master data"), N_("Bills of materials"), "/catalog/boms", "bom.view", "⊞"),
    NavItem(N_("Master data"), N_("Routings"), "/catalog/routings", "routing.view", "⇶"),
    NavItem(N_("Master data"), N_("Units"), "/catalog/units", "material.view", "⚖"),
]

MaterialViewer = Annotated[Principal, require("material.view")]
BomViewer = Annotated[Principal, require("bom.view")]
RoutingViewer = Annotated[Principal, require("routing.view")]


def home_cards(session: Session, user: Principal) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    if user.can("material.view"):
        cards.append({"label": _("Active materials"), "value": service.count_active_materials(session),
                      "url": "/catalog/materials"})
    if user.can("bom.view"):
        cards.append({"label": _("Released BOMs"), "value": service.count_released_boms(session),
                      "url": "/catalog/boms?status=released"})
    return cards


def _choice(choice: Any, value: str | None) -> Any:
    """A filter value from the address bar; an unknown one is ignored rather than an error page."""
    try:
        return choice(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# -- materials ---------------------------------------------------------------------------------------------

MATERIAL_SORTS = {"code": Material.code, "name": Material.name, "type": Material.type,
                  "sourcing": Material.sourcing, "lead_time": Material.lead_time_days}


@router.get("/materials", response_class=HTMLResponse)
def materials_page(request: Request, session: SessionDep, user: MaterialViewer) -> Response:
    lq = ListQuery.from_request(request, ["type", "class_id", "sourcing", "active"])
    active = {"yes": True, "no": False}.get(lq.filters.get("active", ""))
    stmt = service.material_query(
        type=_choice(MaterialType, lq.filters.get("type")), class_id=_int(lq.filters.get("class_id")),
        sourcing=_choice(Sourcing, lq.filters.get("sourcing")), q=lq.q, active=active)
    page = paginate(session, stmt.order_by(None), lq, MATERIAL_SORTS, [Material.code])
    return render(request, "catalog/materials.html", page=page, lq=lq,
                  classes=service.list_material_classes(session), types=MaterialType, sourcings=Sourcing)


def _quantity(text: str | None) -> Decimal:
    if not text:
        return Decimal(1)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise Invalid("quantity_positive", _l("Enter a quantity greater than zero."))
    return value


@router.get("/materials/{material_id}", response_class=HTMLResponse)
def material_page(material_id: int, request: Request, session: SessionDep, user: MaterialViewer,
                  bom: int | None = None, on: date | None = None, qty: str | None = None) -> Response:
    """A material: its attributes and external codes, the BOM tree of a revision, and where it is used."""
    material = service.get_material(session, material_id)
    day = on or clock.now().date()
    quantity = _quantity(qty)
    can_bom = user.can("bom.view")
    revisions = service.boms_of(session, material.id) if can_bom else []
    selected: Bom | None = None
    if can_bom and bom is not None:
        selected = next((b for b in revisions if b.id == bom), None)
    elif can_bom:
        selected = service.effective_bom(session, material.id, day)
    tree: list[service.ExplodedLine] = []
    tree_error: DomainError | None = None
    if selected is not None:
        try:
            tree = service.explode_bom(session, material.id, quantity, day, bom_id=selected.id)
        except DomainError as exc:  # damaged data (a missing conversion) is shown where the tree would be
            tree_error = exc
    used = service.where_used(session, material.id) if can_bom else []
    routings = service.routings_of(session, material.id) if user.can("routing.view") else []
    own_conversions = [c for c in service.list_conversions(session, material.id)
                       if c.material_id == material.id]
    return render(
        request, "catalog/material.html", material=material, class_path=_class_path(session, material),
        external_ids=service.external_ids_for(session, "material", material.id), conversions=own_conversions,
        revisions=revisions, selected=selected, requested_bom=bom, on=day, quantity=quantity, tree=tree,
        tree_error=tree_error, used=used, routings=routings,
    )


def _class_path(session: Session, material: Material) -> list[Any]:
    """The material's class with its parents, from the top."""
    chain: list[Any] = []
    current = material.material_class
    while current is not None and current not in chain:
        chain.insert(0, current)
        current = service.get_material_class(session, current.parent_id) if current.parent_id else None
    return chain


# -- BOMs --------------------------------------------------------------------------------------------------

BOM_SORTS = {"material": Material.code, "revision": Bom.revision, "status": Bom.status,
             "effective_from": Bom.effective_from}


@router.get("/boms", response_class=HTMLResponse)
def boms_page(request: Request, session: SessionDep, user: BomViewer) -> Response:
    lq = ListQuery.from_request(request, ["status"])
    stmt = service.bom_query(status=_choice(DocumentStatus, lq.filters.get("status")), q=lq.q)
    page = paginate(session, stmt.order_by(None), lq, BOM_SORTS,
                    [Material.code, Bom.effective_from, Bom.revision])
    return render(request, "catalog/boms.html", page=page, lq=lq, statuses=DocumentStatus)


# -- routings ----------------------------------------------------------------------------------------------

ROUTING_SORTS = {"material": Material.code, "revision": Routing.revision, "status": Routing.status,
                 "effective_from": Routing.effective_from}


@router.get("/routings", response_class=HTMLResponse)
def routings_page(request: Request, session: SessionDep, user: RoutingViewer) -> Response:
    lq = ListQuery.from_request(request, ["status"])
    stmt = service.routing_query(status=_choice(DocumentStatus, lq.filters.get("status")), q=lq.q)
    page = paginate(session, stmt.order_by(None), lq, ROUTING_SORTS,
                    [Material.code, Routing.effective_from, Routing.revision])
    return render(request, "catalog/routings.html", page=page, lq=lq, statuses=DocumentStatus)


@router.get("/routings/{routing_id}", response_class=HTMLResponse)
def routing_page(routing_id: int, request: Request, session: SessionDep, user: RoutingViewer) -> Response:
    routing = service.get_routing(session, routing_id)
    nodes = plant_service.nodes_by_id(session, (op.work_center_id for op in routing.operations))
    classes = {ec.id: ec for ec in plant_service.list_equipment_classes(session)}
    total_setup = sum((op.setup_minutes for op in routing.operations), Decimal(0))
    total_run = sum((op.run_minutes for op in routing.operations), Decimal(0))
    return render(request, "catalog/routing.html", routing=routing, nodes=nodes, classes=classes,
                  revisions=service.routings_of(session, routing.material_id), total_setup=total_setup,
                  total_run=total_run, signatures=signatures_for(session, "routing", routing.id))


# -- units -------------------------------------------------------------------------------------------------


@router.get("/units", response_class=HTMLResponse)
def units_page(request: Request, session: SessionDep, user: MaterialViewer) -> Response:
    return render(request, "catalog/units.html", units=service.list_units(session),
                  conversions=service.list_conversions(session))
