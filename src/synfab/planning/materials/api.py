"""Materials JSON API: a work order's materials, shortages, purchase suggestions (convert, dismiss), MRP runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request

from synfab.inventory.purchasing.schemas import PurchaseOrderRead
from synfab.people.service import Principal
from synfab.planning.materials import service
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus
from synfab.planning.materials.schemas import (
    ConvertIn,
    MrpResult,
    ShortagePage,
    ShortageRead,
    SuggestionPage,
    SuggestionRead,
    VersionIn,
)
from synfab.planning.materials.service import WorkOrderMaterial
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate

router = APIRouter(prefix="/api/v1", tags=["materials"])

WorkOrderViewer = Annotated[Principal, require("work_order.view")]
Viewer = Annotated[Principal, require("purchase_order.view")]
Creator = Annotated[Principal, require("purchase_order.create")]
Changer = Annotated[Principal, require("purchase_order.change")]


def shortage_read(row: Any) -> ShortageRead:
    sh = row[0]
    return ShortageRead(id=sh.id, work_order_id=sh.work_order_id, work_order_code=row.work_order_code,
                        material_id=sh.material_id, material_code=row.material_code, site_id=sh.site_id,
                        quantity=sh.quantity, need_date=sh.need_date, cover_date=sh.cover_date,
                        covered_by=sh.covered_by, status=sh.status, raised_at=sh.raised_at)


def suggestion_read(row: Any) -> SuggestionRead:
    sg = row[0]
    return SuggestionRead(id=sg.id, material_id=sg.material_id, material_code=row.material_code, site_id=sg.site_id,
                          supplier_id=sg.supplier_id, supplier_code=row.supplier_code, net_quantity=sg.net_quantity,
                          quantity=sg.quantity, need_date=sg.need_date, order_by=sg.order_by, status=sg.status,
                          purchase_order_id=sg.purchase_order_id, cause_event_id=sg.cause_event_id,
                          version=sg.version)


@router.get("/work-orders/{work_order_id}/materials")
def work_order_materials(work_order_id: int, session: SessionDep, user: WorkOrderViewer) -> list[WorkOrderMaterial]:
    """Per bought component: need, consumed, reserved lots, short, and the earliest date a shortage is covered."""
    return service.materials_for_work_order(session, work_order_id)


@router.get("/shortages")
def list_shortages(request: Request, session: SessionDep, user: WorkOrderViewer,
                   status: ShortageStatus | None = ShortageStatus.OPEN, material_id: int | None = None,
                   site_id: int | None = None, q: str | None = None) -> ShortagePage:
    """Shortages of work orders in your scope, earliest need first. Paged with `page` and `per_page`."""
    lq = ListQuery.from_request(request)
    stmt = service.shortage_query(status.value if status else None, material_id, site_id, q)
    page = paginate(session, stmt, lq, service.SHORTAGE_SORTS, service.SHORTAGE_ORDER, scalars=False)
    return ShortagePage(total=page.total, page=page.number, per_page=lq.per_page,
                        items=[shortage_read(r) for r in page.items])


@router.get("/purchase-suggestions")
def list_suggestions(request: Request, session: SessionDep, user: Viewer,
                     status: SuggestionStatus | None = SuggestionStatus.OPEN, material_id: int | None = None,
                     supplier_id: int | None = None, site_id: int | None = None,
                     q: str | None = None) -> SuggestionPage:
    """What MRP suggests buying, earliest order-by date first."""
    lq = ListQuery.from_request(request)
    stmt = service.suggestion_query(status.value if status else None, material_id, supplier_id, site_id, q)
    page = paginate(session, stmt, lq, service.SUGGESTION_SORTS, service.SUGGESTION_ORDER, scalars=False)
    return SuggestionPage(total=page.total, page=page.number, per_page=lq.per_page,
                          items=[suggestion_read(r) for r in page.items])


@router.post("/purchase-suggestions/convert", status_code=201)
def convert_suggestions(body: ConvertIn, uow: UowDep, user: Creator) -> list[PurchaseOrderRead]:
    """Draft purchase orders from open suggestions, one per supplier and site. All or nothing."""
    made = service.convert_suggestions(uow, body.suggestion_ids)
    uow.commit()
    return [PurchaseOrderRead.model_validate(o) for o in made]


@router.post("/purchase-suggestions/{suggestion_id}/dismiss")
def dismiss_suggestion(suggestion_id: int, body: VersionIn, uow: UowDep, user: Changer) -> SuggestionRead:
    """Do not buy this; it is not suggested again as it is."""
    row = service.dismiss_suggestion(uow, suggestion_id, body.version)
    uow.commit()
    rows = uow.session.execute(service.suggestion_query(None).where(type(row).id == row.id)).all()
    return suggestion_read(rows[0])


@router.post("/mrp/run")
def run_mrp(uow: UowDep, user: Creator) -> MrpResult:
    """Net the open demand of bought materials in your scope against stock and open purchase orders, and
    refresh those suggestions and shortage cover dates."""
    result = service.run_mrp(uow)
    uow.commit()
    return MrpResult(**result)
