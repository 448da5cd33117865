"""Inventory pages: stock on hand (by location or by lot), lots and a lot's page, the stock moves."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.core.errors import NotFound
from synfab.core.i18n import N_, _, current_locale
from synfab.core.models import IdempotencyKey
from synfab.core.uow import UnitOfWork
from synfab.inventory import service
from synfab.inventory.choices import CLOSED_LOT_STATUSES, LotStatus, MoveKind
from synfab.inventory.models import Lot, StockBalance
from synfab.inventory.schemas import LotSplit
from synfab.people.choices import SignatureMeaning
from synfab.people.models import ESignature
from synfab.people.service import Principal
from synfab.people.service.signatures import SignatureIn, perform_signed, signatures_for
from synfab.plant import service as plant
from synfab.plant.choices import STORAGE_LEVELS
from synfab.web.deps import DbDep, SessionDep, UowDep, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/inventory")

NAV = [
    NavItem(N_("Inventory"), N_("Stock on hand"), "/inventory/stock", "stock.view", "▤"),
    NavItem(N_("Inventory"), N_("Lots"), "/inventory/lots", "stock.view", "▣"),
    NavItem(N_("Inventory"), N_("Stock moves"), "/inventory/moves", "stock.view", "⇆"),
    NavItem(N_("Inventory"), N_("Lot trace"), "/inventory/trace", "stock.view", "⟲"),
]

Viewer = Annotated[Principal, require("stock.view")]
Creator = Annotated[Principal, require("stock.create")]
Changer = Annotated[Principal, require("stock.change")]
Version = Annotated[int | None, Form()]  # the version the form was rendered with: a stale one gets 409

EXPIRING_DAYS = 30


def home_cards(session: Session, user: Principal) -> list[dict[str, Any]]:
    if not user.can("stock.view"):
        return []
    on_hold = session.scalar(service.lots_on_hold_count_query()) or 0
    expiring = session.scalar(service.expiring_lots_count_query(EXPIRING_DAYS, service.today(session))) or 0
    return [
        {"label": _("Lots on hold"), "value": on_hold, "url": "/inventory/lots?status=hold"},
        {"label": _("Lots expiring within {days} days", days=EXPIRING_DAYS), "value": expiring,
         "url": f"/inventory/lots?expiring={EXPIRING_DAYS}"},
    ]


# -- small parsers: a bad filter value is ignored, not an error page ----------------------------------------


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _choice(cls: Any, value: str | None) -> Any:
    return cls(value) if value in {c.value for c in cls} else None


def _material(session: Session, material_id: int | None) -> Any:
    if material_id is None:
        return None
    try:
        return catalog.get_material(session, material_id)
    except NotFound:
        return None


def _locations(session: Session) -> list[Any]:
    return plant.list_nodes(session, levels=STORAGE_LEVELS)


def _done(request: Request, url: str) -> Response:
    """After a form: htmx follows HX-Redirect, a plain form the 303."""
    if "hx-request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# -- stock on hand ----------------------------------------------------------------------------------------


@router.get("/stock", response_class=HTMLResponse)
def stock_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    """On hand grouped by location (subtotal per material, its lots beneath) or one row per lot."""
    lq = ListQuery.from_request(request, ["view", "material_id", "location_id", "lot_status"])
    view = "lot" if lq.filters.get("view") == "lot" else "location"
    material_id = _int(lq.filters.get("material_id"))
    filters = {"material_id": material_id, "location_id": _int(lq.filters.get("location_id")),
               "lot_status": _choice(LotStatus, lq.filters.get("lot_status")), "q": lq.q or None}
    groups: list[dict[str, Any]] = []
    if view == "lot":
        page = paginate(session, service.stock_query(**filters), lq, service.STOCK_SORTS, service.STOCK_ORDER,
                        scalars=False)
    else:
        page = paginate(session, service.stock_by_location_query(**filters), lq,
                        service.STOCK_BY_LOCATION_SORTS, service.STOCK_BY_LOCATION_ORDER, scalars=False)
        groups = _group_by_location(session, page.items, filters)
    return render(request, "inventory/stock.html", page=page, lq=lq, view=view, groups=groups,
                  locations=_locations(session), statuses=LotStatus, today=service.today(session),
                  material=_material(session, material_id))


def _group_by_location(session: Session, subtotals: list[Any],
                       filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The page's location × material subtotals, grouped by location, each with its lots beneath."""
    if not subtotals:
        return []
    lots: dict[tuple[int, int], list[Any]] = {}
    rows = session.execute(
        service.stock_query(**filters)
        .where(StockBalance.material_id.in_({r.material_id for r in subtotals}),
               StockBalance.location_id.in_({r.location_id for r in subtotals}),
               StockBalance.lot_id.is_not(None))
        .order_by(*service.STOCK_ORDER)).all()
    for row in rows:
        lots.setdefault((row.location_id, row.material_id), []).append(row)
    groups: list[dict[str, Any]] = []
    for row in subtotals:
        if not groups or groups[-1]["location_id"] != row.location_id:
            groups.append({"location_id": row.location_id, "code": row.location_code,
                           "name": row.location_name, "name_en": row.location_name_en, "materials": []})
        groups[-1]["materials"].append({"row": row, "lots": lots.get((row.location_id, row.material_id), [])})
    return groups


# -- lots -------------------------------------------------------------------------------------------------


@router.get("/lots", response_class=HTMLResponse)
def lots_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    lq = ListQuery.from_request(request, ["material_id", "status", "location_id", "expired", "expiring"])
    expired = {"yes": True, "no": False}.get(lq.filters.get("expired", ""))
    expiring = _int(lq.filters.get("expiring"))
    material_id = _int(lq.filters.get("material_id"))
    today = service.today(session)
    stmt = service.lot_query(material_id, _choice(LotStatus, lq.filters.get("status")),
                             _int(lq.filters.get("location_id")), expired, lq.q or None,
                             expiring_within_days=expiring, today=today)
    page = paginate(session, stmt, lq, service.LOT_SORTS, service.LOT_ORDER, scalars=False)
    return render(request, "inventory/lots.html", page=page, lq=lq, statuses=LotStatus, today=today,
                  locations=_locations(session), expiring=expiring, material=_material(session, material_id))


@router.get("/lots/{lot_id}", response_class=HTMLResponse)
def lot_page(lot_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    lot = service.get_lot(session, lot_id)
    material = catalog.get_material(session, lot.material_id)
    balances = service.lot_balances(session, lot.id)
    moves = session.execute(service.move_query(lot_id=lot.id).order_by(*service.MOVE_ORDER).limit(100)).all()
    backward, forward = service.trace_backward(session, lot.id), service.trace_forward(session, lot.id)
    codes = {lot.id: lot.code} | {line.lot_id: line.lot_code for line in [*backward, *forward]}
    return render(
        request, "inventory/lot.html", lot=lot, material=material, balances=balances, codes=codes,
        on_hand=sum((b.quantity for b in balances), Decimal(0)),
        moves=moves, parent=service.get_lot(session, lot.parent_id) if lot.parent_id else None,
        sublots=service.sublots(session, lot.id), backward=backward, forward=forward,
        today=service.today(session),
        tz=service.plant_time_zone(session), closed=lot.status in CLOSED_LOT_STATUSES,
        signatures=signatures_for(session, "lot", lot.id), meanings=SignatureMeaning,
        reserved=service.reserved(session, lot.material_id, lot_id=lot.id),
    )


# -- trace and recall -------------------------------------------------------------------------------------


@router.get("/trace", response_class=HTMLResponse)
def trace_search(request: Request, session: SessionDep, user: Viewer, lot: str = "") -> Response:
    """Find a lot to trace by its code: an exact code opens its trace, otherwise the lots whose code contains
    the text are listed."""
    code = lot.strip()
    matches: list[Any] = []
    if code:
        try:
            found = service.lot_by_code(session, code)
        except NotFound:
            found = None
        if found is not None:
            return RedirectResponse(f"/inventory/lots/{found.id}/trace", status_code=303)
        matches = session.execute(service.lot_query(q=code, today=service.today(session))
                                  .order_by(*service.LOT_ORDER).limit(50)).all()
    return render(request, "inventory/trace.html", lot=None, code=code, matches=matches)


@router.get("/lots/{lot_id}/trace", response_class=HTMLResponse)
def trace_page(lot_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    """A lot's genealogy both ways as indented trees, and its recall scope (customers, shipments, lots)."""
    from synfab.orders.shipments import service as shipments

    lot = service.get_lot(session, lot_id)
    material = catalog.get_material(session, lot.material_id)
    backward, forward = service.trace_backward(session, lot.id), service.trace_forward(session, lot.id)
    codes = {lot.id: lot.code} | {line.lot_id: line.lot_code for line in [*backward, *forward]}
    return render(request, "inventory/trace.html", lot=lot, material=material, code=lot.code, matches=[],
                  backward=_tree(lot.id, backward), forward=_tree(lot.id, forward), codes=codes,
                  recall=shipments.recall_scope(session, lot.id), tz=service.plant_time_zone(session),
                  statuses=LotStatus)


def _tree(root: int, lines: list[Any]) -> list[Any]:
    """Trace lines in tree order (each lot under the one it is linked to), depth first, each lot expanded once."""
    children: dict[int, list[Any]] = {}
    for line in lines:
        children.setdefault(line.linked_lot_id, []).append(line)
    out: list[Any] = []
    expanded = {root}
    stack = list(reversed(children.get(root, [])))
    while stack:
        line = stack.pop()
        out.append(line)
        below = [c for c in children.get(line.lot_id, []) if c.level == line.level + 1]
        if below and line.lot_id not in expanded:
            expanded.add(line.lot_id)
            stack.extend(reversed(below))
    return out


@router.get("/lots/{lot_id}/recall.xlsx")
def recall_export(lot_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    """The lot's recall scope as an Excel workbook, in the page's language."""
    from synfab.connect.files.pages import xlsx_response
    from synfab.orders.shipments import service as shipments
    from synfab.orders.shipments.export import recall_workbook

    scope = shipments.recall_scope(session, lot_id)
    return xlsx_response(recall_workbook(scope, current_locale()), f"{_('Recall scope')}-{scope.lot_code}.xlsx")


def _lot_form(request: Request, uow: UnitOfWork, lot_id: int, key: str, scope: str, action: Any) -> Response:
    """Run a lot form once per idempotency key, then show the lot (or the lot the form created)."""
    done = uow.claim_idempotency(key, scope)
    if done is not None:
        return _done(request, f"/inventory/lots/{done.get('id', lot_id)}")
    result = action()
    uow.complete_idempotency(key, {"id": result.id})
    uow.commit()
    return _done(request, f"/inventory/lots/{result.id}")


@router.post("/lots/{lot_id}/hold")
def hold_lot(lot_id: int, request: Request, uow: UowDep, user: Changer, reason: Annotated[str, Form()],
             idempotency_key: Annotated[str, Form()], version: Version = None) -> Response:
    return _lot_form(request, uow, lot_id, idempotency_key, "inventory.hold_lot",
                     lambda: service.hold_lot(uow, lot_id, reason, version))


@router.post("/lots/{lot_id}/release")
def release_lot(lot_id: int, request: Request, db: DbDep, user: Annotated[Principal, require("stock.approve")],
                reason: Annotated[str, Form()], password: Annotated[str, Form()],
                meaning: Annotated[SignatureMeaning, Form()], idempotency_key: Annotated[str, Form()],
                version: Version = None, totp: Annotated[str, Form()] = "") -> Response:
    """Release with an electronic signature; a form sent twice releases (and signs) once."""
    with db.session() as session:
        if session.get(IdempotencyKey, idempotency_key) is not None:
            return _done(request, f"/inventory/lots/{lot_id}")

    def release(uow: UnitOfWork, signature: ESignature) -> Lot:
        uow.claim_idempotency(idempotency_key, "inventory.release_lot")
        return service.release_lot(uow, lot_id, signature, version)

    perform_signed(db, SignatureIn(password=password, totp=totp or None, meaning=meaning, reason=reason),
                   action="release_lot", object_type="lot", object_id=lot_id, perform=release)
    return _done(request, f"/inventory/lots/{lot_id}")


@router.post("/lots/{lot_id}/split")
def split_lot(lot_id: int, request: Request, uow: UowDep, user: Creator,
              code: Annotated[str, Form(min_length=1, max_length=60)],
              quantity: Annotated[Decimal, Form(gt=0, max_digits=18, decimal_places=6)],
              location_id: Annotated[int, Form()], idempotency_key: Annotated[str, Form()],
              version: Version = None) -> Response:
    """Split a sublot off this lot; a form sent twice creates one sublot."""
    data = LotSplit(code=code, quantity=quantity, location_id=location_id, version=version)
    return _lot_form(request, uow, lot_id, idempotency_key, "inventory.split_lot",
                     lambda: service.split_lot(uow, lot_id, data))


# -- moves ------------------------------------------------------------------------------------------------


@router.get("/moves", response_class=HTMLResponse)
def moves_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    """The ledger, newest first; the date range is in the plant's local days (both ends included)."""
    lq = ListQuery.from_request(request, ["kind", "material_id", "lot_id", "location_id", "from", "to"])
    tz = service.plant_time_zone(session)
    first, last = _date(lq.filters.get("from")), _date(lq.filters.get("to"))
    start = datetime.combine(first, time(0), tzinfo=tz) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz) if last else None
    material_id, lot_id = _int(lq.filters.get("material_id")), _int(lq.filters.get("lot_id"))
    stmt = service.move_query(material_id, lot_id, _int(lq.filters.get("location_id")),
                              _choice(MoveKind, lq.filters.get("kind")), start, end, lq.q or None)
    page = paginate(session, stmt, lq, service.MOVE_SORTS, service.MOVE_ORDER, scalars=False)
    lot = None
    if lot_id is not None:
        try:
            lot = service.get_lot(session, lot_id)
        except NotFound:
            lot = None
    return render(request, "inventory/moves.html", page=page, lq=lq, kinds=MoveKind, tz=tz,
                  locations=_locations(session), material=_material(session, material_id), lot=lot)
