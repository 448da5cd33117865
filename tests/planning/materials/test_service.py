"""Materials follow the work: reservations FEFO/FIFO at release, shortages with cover dates, MRP suggestions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.purchasing import service as purchasing
from synfab.inventory.purchasing.schemas import PurchaseOrderCreate, PurchaseOrderLineIn, ReceiveIn
from synfab.orders import service as orders
from synfab.orders.schemas import WorkOrderUpdate
from synfab.planning.materials import service
from synfab.planning.materials.choices import ShortageStatus, SuggestionStatus
from synfab.planning.materials.models import PurchaseSuggestion, Shortage
from tests.conftest import MiniPlant
from tests.planning.materials.conftest import (
    Scene,
    add_lot,
    build_scene,
    release,
    reserved_lots,
    work_order,
)


def _shortage(db: Database, work_order_id: int) -> Shortage | None:
    with db.session() as s:
        return s.scalar(select(Shortage).where(Shortage.work_order_id == work_order_id))


def _suggestions(db: Database) -> list[PurchaseSuggestion]:
    with db.session() as s:
        return list(s.scalars(select(PurchaseSuggestion).where(PurchaseSuggestion.status == SuggestionStatus.OPEN)
                              .order_by(PurchaseSuggestion.need_date)))


def test_release_reserves_fefo_earliest_expiry_first(db: Database, scene: Scene) -> None:
    late = add_lot(db, scene, "CST-LATE", "6", received=date(2026, 10, 1), expires=date(2027, 6, 1))
    early = add_lot(db, scene, "CST-EARLY", "6", received=date(2026, 11, 10), expires=date(2027, 1, 1))
    wo = release(db, scene, "8")
    assert reserved_lots(db, wo) == {early: Decimal(6), late: Decimal(2)}
    assert _shortage(db, wo) is None


def test_release_reserves_fifo_without_expiry_and_skips_held_and_expired(db: Database, scene: Scene) -> None:
    newer = add_lot(db, scene, "CST-NEW", "5", received=date(2026, 11, 20))
    older = add_lot(db, scene, "CST-OLD", "5", received=date(2026, 11, 2))
    held = add_lot(db, scene, "CST-HELD", "50", received=date(2026, 10, 1))
    add_lot(db, scene, "CST-EXP", "50", received=date(2026, 1, 1), expires=date(2026, 11, 1))
    with db.uow() as uow:
        inventory.hold_lot(uow, held, "来料检验")
        uow.commit()
    wo = release(db, scene, "7")
    assert reserved_lots(db, wo) == {older: Decimal(5), newer: Decimal(2)}


def test_shortage_gets_the_due_date_of_the_covering_purchase_order(db: Database, scene: Scene) -> None:
    add_lot(db, scene, "CST-A", "4")
    with db.uow() as uow:
        po = purchasing.create_purchase_order(uow, PurchaseOrderCreate(
            supplier_id=scene.supplier, site_id=scene.plant.site,
            lines=[PurchaseOrderLineIn(material_id=scene.catalog.casting, quantity=Decimal(3),
                                       due_date=date(2026, 12, 1)),
                   PurchaseOrderLineIn(material_id=scene.catalog.casting, quantity=Decimal(10),
                                       due_date=date(2026, 12, 8))]))
        uow.commit()
        po_code = po.code
    wo = release(db, scene, "10")
    shortage = _shortage(db, wo)
    assert shortage is not None and shortage.status == ShortageStatus.OPEN
    assert shortage.quantity == Decimal(6)
    assert shortage.cover_date == date(2026, 12, 8) and shortage.covered_by == po_code
    # Everything beyond what is on order is covered at the earliest after the supplier's lead time.
    wo2 = release(db, scene, "20")
    second = _shortage(db, wo2)
    assert second is not None and second.cover_date == date(2026, 12, 3)  # 23 Nov + 10 days
    with db.session() as s:
        rows = service.materials_for_work_order(s, wo)
    assert [(m.material_code, m.need, m.reserved, m.short, m.earliest_cover_date) for m in rows] == [
        ("CST-01", Decimal(10), Decimal(4), Decimal(6), date(2026, 12, 8))]


def test_suggestion_rounded_to_minimum_and_pack_with_order_by_from_lead_time(db: Database, plant: MiniPlant) -> None:
    scene = build_scene(db, plant, min_qty="25", pack="10", lead=12)
    add_lot(db, scene, "CST-A", "3")
    release(db, scene, "10", due=date(2026, 12, 20))
    [s] = _suggestions(db)
    assert (s.net_quantity, s.quantity) == (Decimal(7), Decimal(30))  # at least 25, in packs of 10
    assert s.need_date == date(2026, 12, 20) and s.order_by == date(2026, 12, 8)
    assert s.supplier_id == scene.supplier
    # A second order the same day is served from the rounding surplus first: 7 + 20 = 27 → one order of 30.
    release(db, scene, "20", due=date(2026, 12, 20))
    [s] = _suggestions(db)
    assert (s.net_quantity, s.quantity) == (Decimal(27), Decimal(30))


def test_quantity_up_reserves_more_and_down_releases_surplus(db: Database, scene: Scene) -> None:
    lot = add_lot(db, scene, "CST-A", "12")
    wo = release(db, scene, "5")
    assert reserved_lots(db, wo) == {lot: Decimal(5)}
    with db.uow() as uow:
        orders.change_work_order(uow, wo, WorkOrderUpdate(version=work_order(db, wo).version, quantity=Decimal(15)))
        uow.commit()
    assert reserved_lots(db, wo) == {lot: Decimal(12)}
    assert _shortage(db, wo).quantity == Decimal(3)  # type: ignore[union-attr]
    with db.uow() as uow:
        orders.change_work_order(uow, wo, WorkOrderUpdate(version=work_order(db, wo).version, quantity=Decimal(4)))
        uow.commit()
    assert reserved_lots(db, wo) == {lot: Decimal(4)}
    assert _shortage(db, wo).status == ShortageStatus.COVERED  # type: ignore[union-attr]
    with db.session() as s:
        assert inventory.available(s, scene.catalog.casting) == Decimal(8)


def test_cancel_releases_everything_and_closes_the_shortage(db: Database, scene: Scene) -> None:
    add_lot(db, scene, "CST-A", "2")
    wo = release(db, scene, "5")
    assert _suggestions(db)
    with db.uow() as uow:
        orders.cancel_work_order(uow, wo)
        uow.commit()
    assert reserved_lots(db, wo) == {}
    assert _shortage(db, wo).status == ShortageStatus.CLOSED  # type: ignore[union-attr]
    assert _suggestions(db) == []


def test_receipt_creates_lot_posts_ledger_and_covers_the_shortage(db: Database, scene: Scene) -> None:
    wo = release(db, scene, "5")
    assert _shortage(db, wo).quantity == Decimal(5)  # type: ignore[union-attr]
    [suggestion] = _suggestions(db)
    with db.uow() as uow:
        [po] = service.convert_suggestions(uow, [suggestion.id])
        purchasing.place_purchase_order(uow, po.id)
        uow.commit()
        po_id, line_id = po.id, po.lines[0].id
    assert _suggestions(db) == []
    assert _shortage(db, wo).covered_by is not None  # type: ignore[union-attr]
    with db.uow() as uow:
        receipt = purchasing.receive_purchase_order_line(uow, po_id, line_id, ReceiveIn(
            quantity=Decimal(5), location_id=scene.plant.store, supplier_lot="F-889"))
        uow.commit()
        lot_id = receipt.lot_id
    assert reserved_lots(db, wo) == {lot_id: Decimal(5)}
    assert _shortage(db, wo).status == ShortageStatus.COVERED  # type: ignore[union-attr]
    with db.session() as s:
        assert inventory.on_hand(s, scene.catalog.casting, scene.plant.store, lot_id) == Decimal(5)
        assert inventory.ledger_balance_mismatches(s) == []
        assert purchasing.get_purchase_order(s, po_id).status.value == "received"


def test_full_mrp_run_picks_up_stock_received_outside_purchase_orders(db: Database, scene: Scene) -> None:
    wo = release(db, scene, "5")
    add_lot(db, scene, "CST-LATE", "5")  # the stock-moved handler already covers it
    assert _shortage(db, wo).status == ShortageStatus.COVERED  # type: ignore[union-attr]
    with db.uow() as uow:
        result = service.run_mrp(uow)
        uow.commit()
    assert result["shortages"] == 0 and result["suggestions"] == 0


def test_consumption_reduces_the_reservation_and_is_not_counted_twice(db: Database, scene: Scene) -> None:
    from synfab.inventory.choices import MoveKind
    from synfab.inventory.schemas import MoveIn
    from synfab.orders.events import MaterialConsumed

    lot = add_lot(db, scene, "CST-A", "10")
    wo = release(db, scene, "6")
    assert reserved_lots(db, wo) == {lot: Decimal(6)}
    with db.uow() as uow:  # what the terminal does when 4 of the lot are scanned into the work order
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.CONSUMPTION, material_id=scene.catalog.casting, lot_id=lot,
                                          from_location_id=scene.plant.store, quantity=Decimal(4))])
        uow.record(MaterialConsumed(work_order_id=wo, code="WO", operation_id=None, material_id=scene.catalog.casting,
                                    lot_id=lot, location_id=scene.plant.store, quantity=Decimal(4),
                                    backflushed=False))
        uow.commit()
    assert reserved_lots(db, wo) == {lot: Decimal(2)}
    with db.session() as s:
        [m] = service.materials_for_work_order(s, wo)
    assert (m.need, m.consumed, m.reserved, m.short) == (Decimal(6), Decimal(4), Decimal(2), Decimal(0))
    with db.session() as s:
        assert inventory.available(s, scene.catalog.casting) == Decimal(4)  # 10 − 4 consumed − 2 still reserved


def test_stock_moved_to_the_line_and_used_there_is_set_aside_where_it_now_is(db: Database, scene: Scene,
                                                                             plant: MiniPlant) -> None:
    """Set aside in the store, carried to the line by hand, scanned there: what the work order still needs is set
    aside from where the stock now is, and nothing stays reserved in the emptied store."""
    from synfab.inventory.choices import MoveKind
    from synfab.inventory.schemas import MoveIn
    from synfab.orders.events import MaterialConsumed
    from synfab.plant import service as plant_service
    from synfab.plant.choices import Level
    from synfab.plant.schemas import NodeCreate

    with db.uow() as uow:
        line_store = plant_service.create_node(uow, NodeCreate(code="WIP-X", name="线边库", level=Level.STORAGE_ZONE,
                                                               parent_id=plant.line1)).id
        uow.commit()
    lot = add_lot(db, scene, "CST-M", "10")
    wo = release(db, scene, "6")
    casting = scene.catalog.casting
    with db.uow() as uow:
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.TRANSFER, material_id=casting, lot_id=lot,
                                          from_location_id=plant.store, to_location_id=line_store,
                                          quantity=Decimal(10))])
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.CONSUMPTION, material_id=casting, lot_id=lot,
                                          from_location_id=line_store, quantity=Decimal(4))])
        uow.record(MaterialConsumed(work_order_id=wo, code="WO", operation_id=None, material_id=casting,
                                    lot_id=lot, location_id=line_store, quantity=Decimal(4), backflushed=False))
        uow.commit()
    with db.session() as s:
        from synfab.core.models import OutboxMessage

        assert s.scalars(select(OutboxMessage.last_error).where(OutboxMessage.last_error.is_not(None))).all() == []
        assert inventory.reserved(s, casting, plant.store) == Decimal(0)
        assert inventory.reserved(s, casting, line_store, lot) == Decimal(2)
        [m] = service.materials_for_work_order(s, wo)
        assert (m.need, m.consumed, m.reserved, m.short) == (Decimal(6), Decimal(4), Decimal(2), Decimal(0))


def test_a_held_lot_passes_its_reservations_on_or_raises_a_shortage(db: Database, scene: Scene) -> None:
    first = add_lot(db, scene, "CST-A", "5", received=date(2026, 10, 1))
    second = add_lot(db, scene, "CST-B", "3", received=date(2026, 11, 1))
    wo = release(db, scene, "5")
    assert reserved_lots(db, wo) == {first: Decimal(5)}
    with db.uow() as uow:
        inventory.hold_lot(uow, first, "供应商质量通知")
        uow.commit()
    assert reserved_lots(db, wo) == {second: Decimal(3)}
    shortage = _shortage(db, wo)
    assert shortage is not None and shortage.quantity == Decimal(2) and shortage.status == ShortageStatus.OPEN
    with db.session() as s:  # the property to keep: nothing reserved beyond what is available
        assert inventory.available(s, scene.catalog.casting) >= 0


def test_two_planners_changing_one_purchase_order_second_gets_409_and_nothing_written(
        db: Database, scene: Scene) -> None:
    import pytest

    from synfab.core.errors import Conflict
    from synfab.inventory.purchasing.schemas import PurchaseOrderLineChange, PurchaseOrderUpdate

    wo = release(db, scene, "5")
    [suggestion] = _suggestions(db)
    with db.uow() as uow:
        [po] = service.convert_suggestions(uow, [suggestion.id])
        uow.commit()
        po_id, version, line_id = po.id, po.version, po.lines[0].id
    with db.uow() as uow:
        purchasing.change_purchase_order(uow, po_id, PurchaseOrderUpdate(version=version, lines=[
            PurchaseOrderLineChange(id=line_id, due_date=date(2026, 12, 30))]))
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict):
        purchasing.change_purchase_order(uow, po_id, PurchaseOrderUpdate(version=version, lines=[
            PurchaseOrderLineChange(id=line_id, quantity=Decimal(1))]))
    with db.session() as s:
        assert purchasing.get_purchase_order(s, po_id).lines[0].quantity == Decimal(5)
    # The first planner's later due date moved the shortage's earliest cover date with it.
    assert _shortage(db, wo).cover_date == date(2026, 12, 30)  # type: ignore[union-attr]
