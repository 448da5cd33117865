"""Inventory JSON API: lots, stock moves, stock on hand, reservations, genealogy and the ledger check."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.connect.files.pages import XLSX, xlsx_response
from synfab.core.i18n import current_locale
from synfab.inventory import service
from synfab.inventory.choices import LotStatus, MoveKind, TraceDirection
from synfab.inventory.models import Lot, StockMove
from synfab.inventory.schemas import (
    Availability, BalanceMismatch, LotCreate, LotDetail, LotLinkCreate, LotLinkRead, LotListRow, LotPage,
    LotRead, LotRelease, LotSplit, LotStatusChange, MoveBatch, MovePage, MoveRead, MoveRow, ReservationCreate,
    ReservationRead, ReservationRelease, StockPage, StockRow, TraceLine,
)
from synfab.orders.shipments.schemas import RecallScope
from synfab.people.service import Principal
from synfab.people.service.signatures import SignatureIn, perform_signed
from synfab.web.deps import DbDep, SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory"])

Viewer = Annotated[Principal, require("stock.view")]
Creator = Annotated[Principal, require("stock.create")]
Changer = Annotated[Principal, require("stock.change")]
Approver = Annotated[Principal, require("stock.approve")]


def _lot_detail(session: Session, lot: Lot) -> LotDetail:
    material = catalog.get_material(session, lot.material_id)
    balances = service.lot_balances(session, lot.id)
    parent = service.get_lot(session, lot.parent_id) if lot.parent_id else None
    return LotDetail(
        **LotRead.model_validate(lot).model_dump(), material_code=material.code, unit=material.unit.code,
        on_hand=sum((b.quantity for b in balances), Decimal(0)),
        balances=balances, moves=[MoveRead.model_validate(m) for m in service.lot_moves(session, lot.id)],
        parent=LotRead.model_validate(parent) if parent else None,
        sublots=[LotRead.model_validate(s) for s in service.sublots(session, lot.id)],
    )


# -- lots -------------------------------------------------------------------------------------------------


@router.get("/lots")
def list_lots(request: Request, session: SessionDep, user: Viewer, material_id: int | None = None,
              status: LotStatus | None = None, location_id: int | None = None, expired: bool | None = None,
              q: str | None = None) -> LotPage:
    """Lots with their on hand; filters as on the lots page. Paged with `page` and `per_page` (25–200)."""
    lq = ListQuery.from_request(request)
    stmt = service.lot_query(material_id, status, location_id, expired, q, today=service.today(session))
    page = paginate(session, stmt, lq, service.LOT_SORTS, service.LOT_ORDER, scalars=False)
    return LotPage(total=page.total, page=page.number, per_page=lq.per_page,
                   items=[LotListRow.model_validate(r) for r in page.items])


@router.post("/lots", status_code=201)
def create_lot(body: LotCreate, uow: UowDep, user: Creator) -> LotRead:
    """A new lot; the expiry follows from the material's shelf life when not given. A used code gets 409."""
    lot = service.create_lot(uow, body)
    uow.commit()
    return LotRead.model_validate(lot)


@router.get("/lots/{lot_id}")
def get_lot(lot_id: int, session: SessionDep, user: Viewer) -> LotDetail:
    """A lot with where it is (balances), its latest moves, its parent and its sublots."""
    return _lot_detail(session, service.get_lot(session, lot_id))


@router.post("/lots/{lot_id}/hold")
def hold_lot(lot_id: int, body: LotStatusChange, uow: UowDep, user: Changer) -> LotRead:
    lot = service.hold_lot(uow, lot_id, body.reason, body.version)
    uow.commit()
    return LotRead.model_validate(lot)


@router.post("/lots/{lot_id}/release")
def release_lot(lot_id: int, body: LotRelease, db: DbDep, user: Annotated[Principal, require("stock.approve")]
                ) -> LotRead:
    """Release a held lot: an electronic signature (your password again, a meaning and a reason) is required;
    a wrong password releases nothing and is put on record."""
    signature = SignatureIn(password=body.password, totp=body.totp, meaning=body.meaning, reason=body.reason)
    lot = perform_signed(db, signature, action="release_lot", object_type="lot", object_id=lot_id,
                         perform=lambda uow, sig: service.release_lot(uow, lot_id, sig, body.version))
    return LotRead.model_validate(lot)


@router.post("/lots/{lot_id}/scrap")
def scrap_lot(lot_id: int, body: LotStatusChange, uow: UowDep, user: Changer) -> LotRead:
    """Write off what is left of the lot and close it."""
    lot = service.scrap_lot(uow, lot_id, body.reason, body.version)
    uow.commit()
    return LotRead.model_validate(lot)


@router.post("/lots/{lot_id}/split", status_code=201)
def split_lot(lot_id: int, body: LotSplit, uow: UowDep, user: Creator) -> LotRead:
    """Split part of the lot at one location off into a new sublot; returns the sublot."""
    sub = service.split_lot(uow, lot_id, body)
    uow.commit()
    return LotRead.model_validate(sub)


@router.get("/lots/{lot_id}/trace")
def trace_lot(lot_id: int, session: SessionDep, user: Viewer,
              direction: TraceDirection = TraceDirection.BACKWARD) -> list[TraceLine]:
    """Genealogy: every level of lots that went into this one (backward) or that it went into (forward)."""
    trace = service.trace_forward if direction == TraceDirection.FORWARD else service.trace_backward
    return [TraceLine.model_validate(step, from_attributes=True) for step in trace(session, lot_id)]


@router.get("/lots/{lot_id}/recall")
def recall_scope(lot_id: int, session: SessionDep, user: Viewer) -> RecallScope:
    """Recall scope: the lot and every lot made from it, the shipments that carried them and the customers who
    got them, with quantities (only what the reader's scope covers)."""
    from synfab.orders.shipments import service as shipments

    return shipments.recall_scope(session, lot_id)


@router.get("/lots/{lot_id}/recall.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The recall scope as a workbook."}})
def recall_export(lot_id: int, session: SessionDep, user: Viewer) -> Response:
    """The recall scope as an Excel workbook (customers, shipments, lots) in the reader's language."""
    from synfab.orders.shipments import service as shipments
    from synfab.orders.shipments.export import recall_workbook

    scope = shipments.recall_scope(session, lot_id)
    return xlsx_response(recall_workbook(scope, current_locale()), f"recall-{scope.lot_code}.xlsx")


@router.post("/lot-links", status_code=201)
def link_lots(body: LotLinkCreate, uow: UowDep, user: Creator) -> LotLinkRead:
    """Record that a quantity of one lot went into another; a link closing a cycle gets 422."""
    link = service.link_lots(uow, body.input_lot_id, body.output_lot_id, body.quantity, body.move_id)
    uow.commit()
    return LotLinkRead.model_validate(link)


# -- moves and stock ---------------------------------------------------------------------------------------


@router.get("/moves")
def list_moves(request: Request, session: SessionDep, user: Viewer, material_id: int | None = None,
               lot_id: int | None = None, location_id: int | None = None, kind: MoveKind | None = None,
               start: datetime | None = None, end: datetime | None = None, q: str | None = None) -> MovePage:
    """The ledger, newest first: by material, lot, location (and under it), kind, start ≤ time < end."""
    lq = ListQuery.from_request(request)
    stmt = service.move_query(material_id, lot_id, location_id, kind, start, end, q)
    page = paginate(session, stmt, lq, service.MOVE_SORTS, service.MOVE_ORDER, scalars=False)
    return MovePage(total=page.total, page=page.number, per_page=lq.per_page,
                    items=[MoveRow.model_validate(r) for r in page.items])


@router.post("/moves", status_code=201)
def post_moves(body: MoveBatch, uow: UowDep, user: Creator) -> list[MoveRead]:
    """Post a batch of moves: all or none (422 naming every problem). With `idempotency_key`, a batch sent
    again returns the moves of the first one instead of posting twice."""
    if body.idempotency_key:
        done = uow.claim_idempotency(body.idempotency_key, "inventory.post_moves")
        if done is not None:
            ids = done.get("move_ids", [])
            found = {m.id: m for m in uow.session.scalars(select(StockMove).where(StockMove.id.in_(ids)))}
            return [MoveRead.model_validate(found[i]) for i in ids if i in found]
    moves = service.post_moves(uow, body.moves)
    if body.idempotency_key:
        uow.complete_idempotency(body.idempotency_key, {"move_ids": [m.id for m in moves]})
    uow.commit()
    return [MoveRead.model_validate(m) for m in moves]


@router.get("/stock")
def list_stock(request: Request, session: SessionDep, user: Viewer, material_id: int | None = None,
               location_id: int | None = None, lot_status: LotStatus | None = None,
               q: str | None = None) -> StockPage:
    """On hand by material × location × lot (non-zero only); `location_id` includes its storage units."""
    lq = ListQuery.from_request(request)
    stmt = service.stock_query(material_id, location_id, lot_status, q)
    page = paginate(session, stmt, lq, service.STOCK_SORTS, service.STOCK_ORDER, scalars=False)
    return StockPage(total=page.total, page=page.number, per_page=lq.per_page,
                     items=[StockRow.model_validate(r) for r in page.items])


@router.get("/availability")
def availability(session: SessionDep, user: Viewer, material_id: int, location_id: int | None = None,
                 lot_id: int | None = None) -> Availability:
    """On hand (exactly at the location and lot, when given) and what is still available to promise."""
    catalog.get_material(session, material_id)
    return Availability(material_id=material_id, location_id=location_id, lot_id=lot_id,
                        on_hand=service.on_hand(session, material_id, location_id, lot_id),
                        available=service.available(session, material_id, location_id, lot_id))


# -- reservations -------------------------------------------------------------------------------------


@router.get("/reservations")
def list_reservations(session: SessionDep, user: Viewer, demand_kind: Annotated[str, Query(min_length=1)],
                      demand_id: int) -> list[ReservationRead]:
    """The reservations of one demand, e.g. `?demand_kind=work_order&demand_id=12`."""
    return [ReservationRead.model_validate(r) for r in service.reservations_for_demand(session, demand_kind,
                                                                                       demand_id)]


@router.post("/reservations", status_code=201)
def create_reservation(body: ReservationCreate, uow: UowDep, user: Creator) -> ReservationRead:
    """Reserve stock for a demand; more than is available gets 422."""
    reservation = service.reserve(uow, body)
    uow.commit()
    return ReservationRead.model_validate(reservation)


@router.post("/reservations/{reservation_id}/release")
def release_reservation(reservation_id: int, body: ReservationRelease, uow: UowDep,
                        user: Changer) -> ReservationRead:
    reservation = service.release_reservation(uow, reservation_id, body.version)
    uow.commit()
    return ReservationRead.model_validate(reservation)


# -- IT -----------------------------------------------------------------------------------------------


@router.get("/ledger-check")
def ledger_check(session: SessionDep, user: Approver) -> list[BalanceMismatch]:
    """Every place where the kept balance differs from the ledger; an empty list is the healthy answer."""
    return service.ledger_balance_mismatches(session)
