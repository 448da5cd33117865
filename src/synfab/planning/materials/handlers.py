"""Material planning follows the work: releases, changes, cancellations, consumption, receipts, lot holds and
purchase orders each re-plan only the work orders and (material, site) pairs they touch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synfab.core.bus import Event, MessageBus
from synfab.core.uow import UnitOfWork
from synfab.inventory.events import LotHeld, LotReleased, LotScrapped, StockMoved
from synfab.inventory.purchasing.events import (
    PurchaseOrderCancelled,
    PurchaseOrderChanged,
    PurchaseOrderCreated,
    PurchaseReceived,
    SupplierItemChanged,
)
from synfab.orders.events import (
    MaterialConsumed,
    ProductionReleased,
    WorkOrderCancelled,
    WorkOrderChanged,
    WorkOrderCompleted,
    WorkOrderRevised,
)
from synfab.planning.materials import service
from synfab.planning.materials.events import MaterialsReplanRequested
from synfab.planning.materials.service import Touched

# Moves that bring stock in: it may cover open shortages.
_INCOMING = {"receipt", "production", "adjustment", "transfer"}


PENDING = "planning.materials.pending"


def _replanning(fn: Callable[[UnitOfWork, Any, Touched], None]) -> Callable[[UnitOfWork, Any], None]:
    """Run the reaction, then ask for the netting of each (material, site) it touched: once per transaction,
    after the events recorded so far (`MaterialsReplanRequested`), naming the first event as the cause."""
    def handler(uow: UnitOfWork, event: Event) -> None:
        touched: Touched = set()
        # The services flush where a later read needs it; autoflush before each of the many small reads
        # would run the flush hooks (scope, audit capture) a hundred times per change.
        with uow.session.no_autoflush:
            fn(uow, event, touched)
            uow.flush()
        if not touched:
            return
        request = uow.session.info.get(PENDING)
        if request is None or not uow.is_pending(request):  # none yet, or published (or rolled back) already
            request = uow.session.info[PENDING] = uow.record(MaterialsReplanRequested(pairs=[], cause_id=event.id))
        request.pairs.extend(sorted(touched - set(request.pairs)))

    handler.__name__ = fn.__name__
    handler.__qualname__ = fn.__qualname__
    return handler


@_replanning
def reserve_for_released_production(uow: UnitOfWork, event: ProductionReleased, touched: Touched) -> None:
    for work_order_id in event.work_order_ids:
        service.plan_work_order(uow, work_order_id, touched)


@_replanning
def follow_work_order_change(uow: UnitOfWork, event: WorkOrderChanged, touched: Touched) -> None:
    if event.old_quantity == event.new_quantity and event.old_due_date == event.new_due_date:
        return  # a priority change moves no material
    service.plan_work_order(uow, event.work_order_id, touched)


@_replanning
def follow_work_order_revision(uow: UnitOfWork, event: WorkOrderRevised, touched: Touched) -> None:
    """A new BOM revision changes what the work order needs (a new routing may move it to another line)."""
    service.plan_work_order(uow, event.work_order_id, touched)


@_replanning
def release_for_cancelled_work_order(uow: UnitOfWork, event: WorkOrderCancelled, touched: Touched) -> None:
    service.close_work_order(uow, event.work_order_id, touched)


@_replanning
def release_for_completed_work_order(uow: UnitOfWork, event: WorkOrderCompleted, touched: Touched) -> None:
    service.close_work_order(uow, event.work_order_id, touched)


@_replanning
def consume_reservation(uow: UnitOfWork, event: MaterialConsumed, touched: Touched) -> None:
    service.consume(uow, event.work_order_id, event.material_id, event.lot_id, event.location_id, event.quantity,
                    touched)


@_replanning
def cover_shortages_from_receipt(uow: UnitOfWork, event: PurchaseReceived, touched: Touched) -> None:
    service.cover_shortages(uow, [event.material_id], touched, site_id=event.site_id)
    touched.add((event.material_id, event.site_id))


@_replanning
def cover_shortages_from_stock(uow: UnitOfWork, event: StockMoved, touched: Touched) -> None:
    if _INCOMING & set(event.kinds):
        service.cover_shortages(uow, event.material_ids, touched)


@_replanning
def replan_lot_on_hold(uow: UnitOfWork, event: LotHeld | LotScrapped, touched: Touched) -> None:
    service.release_lot_reservations(uow, event.lot_id, touched)


@_replanning
def cover_shortages_from_released_lot(uow: UnitOfWork, event: LotReleased, touched: Touched) -> None:
    service.cover_shortages(uow, [event.material_id], touched)


@_replanning
def replan_purchase_order(uow: UnitOfWork, event: PurchaseOrderCreated | PurchaseOrderChanged | PurchaseOrderCancelled,
                          touched: Touched) -> None:
    """Scheduled receipts moved: suggestions and shortages' cover dates of those materials follow. (Placing a
    draft moves nothing: drafts already count as on order.)"""
    touched |= {(m, event.site_id) for m in event.material_ids}


@_replanning
def replan_supplier_terms(uow: UnitOfWork, event: SupplierItemChanged, touched: Touched) -> None:
    touched |= service.pairs_with_material(uow.session, event.material_id)


def replan_requested(uow: UnitOfWork, event: MaterialsReplanRequested) -> None:
    """The netting of the pairs asked for since the request was recorded (published now: later changes ask
    again)."""
    uow.session.info.pop(PENDING, None)
    with uow.session.no_autoflush:
        service.replan(uow, {(m, s) for m, s in event.pairs}, cause_id=event.cause_id or event.id)


def register(bus: MessageBus) -> None:
    bus.on(MaterialsReplanRequested, replan_requested)
    bus.on(ProductionReleased, reserve_for_released_production)
    bus.on(WorkOrderChanged, follow_work_order_change)
    bus.on(WorkOrderRevised, follow_work_order_revision)
    bus.on(WorkOrderCancelled, release_for_cancelled_work_order)
    bus.on(WorkOrderCompleted, release_for_completed_work_order)
    bus.on(MaterialConsumed, consume_reservation)
    bus.on(PurchaseReceived, cover_shortages_from_receipt)
    bus.on(StockMoved, cover_shortages_from_stock)
    bus.on(LotHeld, replan_lot_on_hold, name="materials.replan_lot_on_hold")
    bus.on(LotScrapped, replan_lot_on_hold, name="materials.replan_lot_scrapped")
    bus.on(LotReleased, cover_shortages_from_released_lot)
    for event_type in (PurchaseOrderCreated, PurchaseOrderChanged, PurchaseOrderCancelled):
        bus.on(event_type, replan_purchase_order, name=f"materials.replan_{event_type.__name__}")
    bus.on(SupplierItemChanged, replan_supplier_terms)
