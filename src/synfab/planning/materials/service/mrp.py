"""MRP netting of one bought material at one site → purchase suggestions; shortages' earliest cover dates.

`replan_material` is what every event handler calls for the (material, site) pairs a change touched: a few
indexed queries, never the whole plan. `run_mrp` replans every pair with open demand or open suggestions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.inventory.choices import LotStatus, ReservationStatus
from synfab.inventory.models import Lot, Reservation, StockBalance
from synfab.inventory.purchasing import service as purchasing
from synfab.inventory.purchasing.models import PurchaseOrder
from synfab.inventory.purchasing.schemas import PurchaseOrderCreate, PurchaseOrderLineIn
from synfab.orders.choices import OPEN_WORK_ORDER_STATUSES
from synfab.orders.models import WorkOrder
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus
from synfab.planning.materials.events import (
    MrpRun,
    PurchaseSuggestionDismissed,
    PurchaseSuggestionsChanged,
    PurchaseSuggestionsConverted,
)
from synfab.planning.materials.models import MaterialRequirement, PurchaseSuggestion, Shortage
from synfab.planning.materials.service.reservations import (
    DEMAND,
    ZERO,
    Touched,
    cover_shortages,
    plant_today,
    q,
)
from synfab.plant.models import PlantNode

_CHUNK = 500  # materials per batch of reads (well under every engine's parameter limit)


@dataclass
class SiteInputs:
    """What netting reads for some materials at one site — one query each, however many materials."""

    materials: dict[int, Material]
    demand: dict[int, dict[date, Decimal]]  # remaining requirements of open work orders by need date
    supply: dict[int, Decimal]  # usable on hand at the site, less what is set aside for other demands
    receipts: dict[int, list[purchasing.ScheduledReceipt]]
    terms: dict[int, purchasing.SourcingTerms]
    shortages: dict[int, list[Shortage]]  # open, oldest need first
    suggestions: dict[int, list[PurchaseSuggestion]]  # open and dismissed


def load_site_inputs(session: Session, site_id: int, material_ids: Iterable[int], today: date) -> SiteInputs:
    ids = sorted(set(material_ids))
    site_path = select(PlantNode.path).where(PlantNode.id == site_id).scalar_subquery()
    in_site = select(PlantNode.id).where(PlantNode.path.startswith(site_path))
    materials = {m.id: m for m in session.scalars(select(Material).where(Material.id.in_(ids)))}
    demand: dict[int, dict[date, Decimal]] = {m: defaultdict(Decimal) for m in ids}
    for material_id, need_date, quantity, consumed in session.execute(
            select(MaterialRequirement.material_id, MaterialRequirement.need_date, MaterialRequirement.quantity,
                   MaterialRequirement.consumed)
            .join(WorkOrder, WorkOrder.id == MaterialRequirement.work_order_id)
            .where(MaterialRequirement.material_id.in_(ids), MaterialRequirement.site_id == site_id,
                   MaterialRequirement.open.is_(True), WorkOrder.status.in_(list(OPEN_WORK_ORDER_STATUSES)))):
        left = q(quantity) - q(consumed)
        if left > 0:
            demand[material_id][need_date] += left
    usable = (Lot.status == LotStatus.AVAILABLE) & ((Lot.expires_on.is_(None)) | (Lot.expires_on >= today))
    on_hand = dict(session.execute(
        select(StockBalance.material_id, func.sum(StockBalance.quantity))
        .outerjoin(Lot, Lot.id == StockBalance.lot_id)
        .where(StockBalance.material_id.in_(ids), StockBalance.location_id.in_(in_site),
               StockBalance.lot_id.is_(None) | usable).group_by(StockBalance.material_id)).all())
    # Work orders' own reservations are part of their demand: only other demands' are taken off.
    other = dict(session.execute(
        select(Reservation.material_id, func.sum(Reservation.quantity)).where(
            Reservation.material_id.in_(ids), Reservation.status == ReservationStatus.ACTIVE,
            Reservation.demand_kind != DEMAND, Reservation.location_id.in_(in_site))
        .group_by(Reservation.material_id)).all())
    shortages: dict[int, list[Shortage]] = {m: [] for m in ids}
    for sh in session.scalars(select(Shortage).where(
            Shortage.material_id.in_(ids), Shortage.site_id == site_id, Shortage.status == ShortageStatus.OPEN)
            .order_by(Shortage.need_date, Shortage.id)):
        shortages[sh.material_id].append(sh)
    suggestions: dict[int, list[PurchaseSuggestion]] = {m: [] for m in ids}
    for sg in session.scalars(select(PurchaseSuggestion).where(
            PurchaseSuggestion.material_id.in_(ids), PurchaseSuggestion.site_id == site_id,
            PurchaseSuggestion.status.in_([SuggestionStatus.OPEN, SuggestionStatus.DISMISSED]))
            .order_by(PurchaseSuggestion.need_date, PurchaseSuggestion.id)):
        suggestions[sg.material_id].append(sg)
    return SiteInputs(
        materials=materials, demand=demand,
        supply={m: max(q(on_hand.get(m)) - q(other.get(m)), ZERO) for m in ids},
        receipts=purchasing.scheduled_receipts_many(session, ids, site_id),
        terms=purchasing.sourcing_terms_many(session, materials.values()),
        shortages=shortages, suggestions=suggestions)


@dataclass(frozen=True)
class Planned:
    """One suggestion as netting computes it."""

    need_date: date
    net_quantity: Decimal
    quantity: Decimal
    supplier_id: int | None
    order_by: date

    def key(self) -> tuple[date, Decimal, Decimal, int | None, date]:
        return (self.need_date, self.net_quantity, self.quantity, self.supplier_id, self.order_by)


def _net(demand: dict[date, Decimal], supply: Decimal, receipts: list[purchasing.ScheduledReceipt],
         terms: purchasing.SourcingTerms) -> list[Planned]:
    """Time-phased netting: the remaining requirements by need date are met first from free on-hand, then from
    open purchase order lines; what is left on a day becomes a suggestion rounded up to the supplier's minimum
    and pack size, whose surplus carries to later days."""
    supply += sum((r.open_quantity for r in receipts), ZERO)
    planned: list[Planned] = []
    for need_date in sorted(demand):
        need = demand[need_date]
        if supply >= need:
            supply -= need
            continue
        net = need - supply
        quantity = purchasing.order_quantity(net, terms.min_order_qty, terms.pack_size)
        supply = quantity - net  # the rounding surplus serves the next days
        planned.append(Planned(need_date, q(net), quantity, terms.supplier_id,
                               need_date - timedelta(days=terms.lead_time_days)))
    return planned


def _cover(shortages: list[Shortage], receipts: list[purchasing.ScheduledReceipt], terms: purchasing.SourcingTerms,
           today: date) -> None:
    """Each open shortage, oldest need first, is covered by the open purchase order lines in due order: its
    earliest cover date is the due date of the line that completes it; beyond what is on order, today + the
    lead time."""
    index, left = 0, receipts[0].open_quantity if receipts else ZERO
    for shortage in shortages:
        need = shortage.quantity
        last = None
        while need > 0 and index < len(receipts):
            take = min(need, left)
            need, left = need - take, left - take
            last = receipts[index]
            if left <= 0:
                index += 1
                left = receipts[index].open_quantity if index < len(receipts) else ZERO
        if need <= 0 and last is not None:
            cover, by = last.due_date, last.order_code
        else:
            cover, by = today + timedelta(days=terms.lead_time_days), None
        if shortage.cover_date != cover or shortage.covered_by != by:
            shortage.cover_date, shortage.covered_by = cover, by


@dataclass
class _Writes:
    """Suggestion rows to write for a chunk of materials, in three statements rather than one per row."""

    updates: list[dict[str, object]]
    inserts: list[dict[str, object]]
    deletes: list[int]
    changed: set[int]


def _apply(material_id: int, site_id: int, planned: list[Planned], rows: list[PurchaseSuggestion],
           cause_id: str | None, writes: _Writes) -> None:
    """Open suggestions updated in place where the need date is the same (stable ids), added or removed; one
    equal to a dismissed one is not made again."""
    dismissed = {(r.need_date, r.quantity) for r in rows if r.status == SuggestionStatus.DISMISSED}
    current = [r for r in rows if r.status == SuggestionStatus.OPEN]
    planned = [p for p in planned if (p.need_date, p.quantity) not in dismissed]
    if [p.key() for p in planned] == [(r.need_date, q(r.net_quantity), q(r.quantity), r.supplier_id, r.order_by)
                                      for r in current]:
        return
    writes.changed.add(material_id)
    # Matched by need date, so a day that comes or goes does not rewrite every later suggestion.
    by_date: dict[date, PurchaseSuggestion] = {}
    for r in current:
        by_date.setdefault(r.need_date, r)
    now = clock.now()
    for p in planned:
        row = by_date.pop(p.need_date, None)
        values = {"net_quantity": p.net_quantity, "quantity": p.quantity, "supplier_id": p.supplier_id,
                  "order_by": p.order_by, "cause_event_id": cause_id, "updated_at": now}
        if row is None:
            writes.inserts.append({**values, "material_id": material_id, "site_id": site_id,
                                   "need_date": p.need_date, "status": SuggestionStatus.OPEN, "version": 1,
                                   "created_at": now, "updated_by": "system"})
        elif (row.need_date, q(row.net_quantity), q(row.quantity), row.supplier_id, row.order_by) != p.key():
            writes.updates.append({**values, "b_id": row.id, "b_version": row.version + 1})
    writes.deletes.extend(r.id for r in by_date.values())


def _write(uow: UnitOfWork, site_id: int, writes: _Writes) -> None:
    """The chunk's suggestion writes as three executemany statements, then one event per changed material."""
    s = uow.session
    table = PurchaseSuggestion.__table__
    if writes.updates:
        s.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            net_quantity=bindparam("net_quantity"), quantity=bindparam("quantity"),
            supplier_id=bindparam("supplier_id"), order_by=bindparam("order_by"),
            cause_event_id=bindparam("cause_event_id"), updated_at=bindparam("updated_at"),
            version=bindparam("b_version")), writes.updates, execution_options={"synchronize_session": False})
    if writes.inserts:
        s.execute(insert(table), writes.inserts)
    if writes.deletes:
        s.execute(delete(table).where(table.c.id.in_(writes.deletes)))
    if not writes.changed:
        return
    for obj in list(s.identity_map.values()):  # written past the ORM: loaded suggestions are read afresh
        if isinstance(obj, PurchaseSuggestion):
            s.expire(obj)
    open_rows: dict[int, list[tuple[int, Decimal, date]]] = defaultdict(list)
    for sid, material_id, quantity, order_by in s.execute(
            select(table.c.id, table.c.material_id, table.c.quantity, table.c.order_by).where(
                table.c.material_id.in_(sorted(writes.changed)), table.c.site_id == site_id,
                table.c.status == SuggestionStatus.OPEN.value).order_by(table.c.need_date, table.c.id)):
        open_rows[material_id].append((sid, q(quantity), order_by))
    for material_id in sorted(writes.changed):
        kept = open_rows.get(material_id, [])
        uow.record(PurchaseSuggestionsChanged(
            material_id=material_id, site_id=site_id, suggestion_ids=[k[0] for k in kept],
            total_quantity=sum((k[1] for k in kept), ZERO), earliest_order_by=min((k[2] for k in kept), default=None)))


def replan_site(uow: UnitOfWork, site_id: int, material_ids: Iterable[int], cause_id: str | None = None,
                today: date | None = None) -> None:
    """Redo the netting of some materials at one site: shortages' cover dates and purchase suggestions."""
    day = today or plant_today(uow.session)
    ids = sorted(set(material_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        inputs = load_site_inputs(uow.session, site_id, chunk, day)
        writes = _Writes([], [], [], set())
        for material_id in chunk:
            if material_id not in inputs.materials:
                continue
            receipts, terms = inputs.receipts[material_id], inputs.terms[material_id]
            _cover(inputs.shortages[material_id], receipts, terms, day)
            planned = _net(inputs.demand[material_id], inputs.supply[material_id], receipts, terms)
            _apply(material_id, site_id, planned, inputs.suggestions[material_id], cause_id, writes)
        uow.flush()  # the cover dates, before the suggestions are written past the ORM
        _write(uow, site_id, writes)


def replan_material(uow: UnitOfWork, material_id: int, site_id: int, cause_id: str | None = None,
                    today: date | None = None) -> None:
    """Redo the netting of one material at one site (see `replan_site`)."""
    replan_site(uow, site_id, [material_id], cause_id, today)


def net_material(session: Session, material_id: int, site_id: int, today: date) -> list[Planned]:
    """What netting would suggest for one material at one site now, without writing anything."""
    inputs = load_site_inputs(session, site_id, [material_id], today)
    if material_id not in inputs.materials:
        return []
    return _net(inputs.demand[material_id], inputs.supply[material_id], inputs.receipts[material_id],
                inputs.terms[material_id])


def replan(uow: UnitOfWork, touched: Touched, cause_id: str | None = None) -> None:
    """Replan each touched (material, site) pair once, a site's materials together."""
    if not touched:
        return
    uow.flush()  # netting reads requirements and shortages back from the database
    day = plant_today(uow.session)
    by_site: dict[int, set[int]] = defaultdict(set)
    for material_id, site_id in touched:
        by_site[site_id].add(material_id)
    for site_id, material_ids in sorted(by_site.items()):
        replan_site(uow, site_id, material_ids, cause_id, day)


def pairs_with_material(session: Session, material_id: int) -> Touched:
    """Every site where a material is needed, short or suggested."""
    found: Touched = set()
    for model in (MaterialRequirement, PurchaseSuggestion):
        found |= {(material_id, site) for site in session.scalars(
            select(model.site_id).where(model.material_id == material_id).distinct())}
    return found


def run_mrp(uow: UnitOfWork) -> dict[str, int]:
    """Full MRP over the open demand the caller may see: shortages first try the stock free now (received
    outside purchase orders, released from hold), then every (material, site) pair with open demand, open
    shortages or open suggestions is netted. What is replanned follows the caller's scope; the replanning itself
    runs as the system (it writes reservations and shortages the caller could not edit by hand)."""
    s = uow.session
    short = {(m, site) for m, site in s.execute(select(Shortage.material_id, Shortage.site_id)
                                                 .where(Shortage.status == ShortageStatus.OPEN).distinct())}
    pairs = set(short)
    pairs |= {(m, site) for m, site in s.execute(select(MaterialRequirement.material_id, MaterialRequirement.site_id)
                                                 .where(MaterialRequirement.open.is_(True)).distinct())}
    pairs |= {(m, site) for m, site in s.execute(select(PurchaseSuggestion.material_id, PurchaseSuggestion.site_id)
                                                 .where(PurchaseSuggestion.status == SuggestionStatus.OPEN)
                                                 .distinct())}
    with uow.as_system():
        touched: Touched = set()
        for material_id, site_id in sorted(short):
            cover_shortages(uow, [material_id], touched, site_id=site_id)
        replan(uow, pairs | touched)
    uow.flush()
    result = {
        "materials": len(pairs),
        "suggestions": s.scalar(select(func.count()).select_from(PurchaseSuggestion)
                                .where(PurchaseSuggestion.status == SuggestionStatus.OPEN)) or 0,
        "shortages": s.scalar(select(func.count()).select_from(Shortage)
                              .where(Shortage.status == ShortageStatus.OPEN)) or 0,
    }
    uow.record(MrpRun(**result))
    return result


# -- people acting on suggestions ---------------------------------------------------------------------------


def get_suggestion(session: Session, suggestion_id: int) -> PurchaseSuggestion:
    found = session.scalar(select(PurchaseSuggestion).where(PurchaseSuggestion.id == suggestion_id))
    if found is None:
        raise NotFound("purchase_suggestion_not_found", _l("Purchase suggestion {id} does not exist.",
                                                           id=suggestion_id))
    return found


def convert_suggestions(uow: UnitOfWork, suggestion_ids: list[int]) -> list[PurchaseOrder]:
    """Turn open suggestions into draft purchase orders, one per supplier and site, a line per suggestion (its
    quantity, due on its need date). All or nothing: a suggestion not open, or without a supplier, refuses all."""
    s = uow.session
    ids = list(dict.fromkeys(suggestion_ids))
    if not ids:
        raise Invalid("no_suggestions", _l("Choose at least one purchase suggestion."))
    found = {r.id: r for r in s.scalars(select(PurchaseSuggestion).where(PurchaseSuggestion.id.in_(ids)))}
    groups: dict[tuple[int, int], list[PurchaseSuggestion]] = defaultdict(list)
    for sid in ids:
        row = found.get(sid)
        if row is None:
            raise Invalid("purchase_suggestion_not_found", _l("Purchase suggestion {id} does not exist.", id=sid))
        if row.status != SuggestionStatus.OPEN:
            raise Conflict("purchase_suggestion_not_open", _l(
                "Purchase suggestion {id} is {status}; only open suggestions can be ordered.", id=sid,
                status=row.status.label))
        if row.supplier_id is None:
            material = catalog.get_material(s, row.material_id)
            raise Invalid("purchase_suggestion_without_supplier", _l(
                "No supplier sells {material}; add it to a supplier's items, then run MRP again.",
                material=material.code))
        groups[(row.supplier_id, row.site_id)].append(row)
    made: list[PurchaseOrder] = []
    for (supplier_id, site_id), rows in sorted(groups.items()):
        order = purchasing.create_purchase_order(uow, PurchaseOrderCreate(
            supplier_id=supplier_id, site_id=site_id,
            lines=[PurchaseOrderLineIn(material_id=r.material_id, quantity=r.quantity, due_date=r.need_date)
                   for r in sorted(rows, key=lambda r: (r.need_date, r.id))]))
        for r in rows:
            r.status, r.purchase_order_id = SuggestionStatus.CONVERTED, order.id
        made.append(order)
    uow.flush()
    uow.record(PurchaseSuggestionsConverted(suggestion_ids=ids, purchase_order_ids=[o.id for o in made]))
    return made


def dismiss_suggestion(uow: UnitOfWork, suggestion_id: int, version: int | None = None) -> PurchaseSuggestion:
    """Procurement decided not to buy this: it stays dismissed and is not suggested again as it is."""
    row = get_suggestion(uow.session, suggestion_id)
    check_version(row, version)
    if row.status != SuggestionStatus.OPEN:
        raise Conflict("purchase_suggestion_not_open", _l(
            "Purchase suggestion {id} is {status}; only open suggestions can be dismissed.", id=row.id,
            status=row.status.label))
    row.status = SuggestionStatus.DISMISSED
    uow.flush()
    uow.record(PurchaseSuggestionDismissed(suggestion_id=row.id, material_id=row.material_id, site_id=row.site_id))
    return row
