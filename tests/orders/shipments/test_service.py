"""Shipments service: pick, ship (partial and full), refusals, idempotency, cancellation of the open part,
forward trace to customers and the recall scope — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from synfab.core.context import acting_as
from synfab.core.db import Database
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.models import EventRecord
from synfab.inventory import service as inventory
from synfab.inventory.choices import LotStatus, MoveKind
from synfab.inventory.models import StockMove
from synfab.inventory.schemas import MoveIn
from synfab.orders import service as orders
from synfab.orders.choices import LineStatus, SalesOrderStatus
from synfab.orders.service.sales_orders import cancellation_note
from synfab.orders.shipments import service
from synfab.orders.shipments.choices import ShipmentStatus
from synfab.orders.shipments.schemas import PickIn, ShipmentCreate
from tests.conftest import add_user
from tests.orders.shipments.conftest import Yard, stock_lot
from tests.people.test_scoping import actor


def lines_of(db: Database, order_id: int) -> list:
    with db.session() as s:
        order = orders.get_sales_order(s, order_id)
        return [(ln.line_no, ln.status, ln.shipped_quantity) for ln in order.lines]


def new_shipment(db: Database, order_id: int) -> int:
    with db.uow() as uow:
        shipment = service.create_shipment(uow, ShipmentCreate(sales_order_id=order_id, carrier="SF"))
        uow.commit()
        return shipment.id


def pick(db: Database, shipment_id: int, line_id: int, lot_id: int, location: int, quantity: str) -> None:
    with db.uow() as uow:
        service.pick_lot(uow, shipment_id, PickIn(sales_order_line_id=line_id, lot_id=lot_id,
                                                   from_location_id=location, quantity=D(quantity)))
        uow.commit()


def ship(db: Database, shipment_id: int, key: str | None = None) -> None:
    with db.uow() as uow:
        service.ship(uow, shipment_id, idempotency_key=key)
        uow.commit()


def line_ids(db: Database, order_id: int) -> list[int]:
    with db.session() as s:
        return [ln.id for ln in orders.get_sales_order(s, order_id).lines]


def on_hand(db: Database, material_id: int, location: int, lot_id: int) -> D:
    with db.session() as s:
        return inventory.on_hand(s, material_id, location, lot_id)


def test_partial_then_full_delivery_moves_stock_and_statuses(db: Database, yard: Yard) -> None:
    cal, pst = line_ids(db, yard.order)
    first = new_shipment(db, yard.order)
    with db.session() as s:
        code = service.get_shipment(s, first).code
    assert code.startswith("SH-") and code.endswith("-0001")
    pick(db, first, cal, yard.lots["FG-A"], yard.fg, "6")
    pick(db, first, pst, yard.lots["PS-1"], yard.fg, "4")
    ship(db, first)
    assert on_hand(db, yard.catalog.caliper, yard.fg, yard.lots["FG-A"]) == 0
    assert on_hand(db, yard.catalog.piston, yard.fg, yard.lots["PS-1"]) == D(6)
    assert lines_of(db, yard.order) == [(1, LineStatus.PARTIALLY_SHIPPED, D(6)), (2, LineStatus.SHIPPED, D(4))]
    with db.session() as s:
        assert orders.get_sales_order(s, yard.order).status == SalesOrderStatus.PARTIALLY_SHIPPED
        moves = list(s.scalars(select(StockMove).where(StockMove.kind == MoveKind.SHIPMENT).order_by(StockMove.id)))
        assert [(m.lot_id, m.quantity, m.from_location_id) for m in moves] == [
            (yard.lots["FG-A"], D(6), yard.fg), (yard.lots["PS-1"], D(4), yard.fg)]
        assert len({m.event_id for m in moves}) == 1  # one post_moves call
        assert inventory.ledger_balance_mismatches(s) == []
        shipment = service.get_shipment(s, first)
        assert shipment.status == ShipmentStatus.SHIPPED and shipment.shipped_at is not None
        assert [ln.move_id for ln in shipment.lines] == [m.id for m in moves]
        timeline = [r.type for r in orders.order_timeline(s, orders.get_sales_order(s, yard.order))]
        assert "ShipmentShipped" in timeline
        # Shipped out completely, the lot is still a lot (a shipment is not a consumption).
        assert inventory.get_lot(s, yard.lots["FG-A"]).status == LotStatus.AVAILABLE
    second = new_shipment(db, yard.order)
    with db.session() as s:
        suggestions = service.suggest_lots(s, yard.order, cal)
    assert [(x.lot_code, x.suggested) for x in suggestions] == [("FG-B", D(4))]
    pick(db, second, cal, yard.lots["FG-B"], yard.fg, "4")
    ship(db, second)
    assert lines_of(db, yard.order) == [(1, LineStatus.SHIPPED, D(10)), (2, LineStatus.SHIPPED, D(4))]
    assert on_hand(db, yard.catalog.caliper, yard.fg, yard.lots["FG-B"]) == D(4)
    with db.session() as s:
        assert orders.get_sales_order(s, yard.order).status == SalesOrderStatus.SHIPPED
        assert [(d.ordered, d.shipped, d.open) for d in service.delivery_status(s, yard.order)] == [
            (D(10), D(10), D(0)), (D(4), D(4), D(0))]


def test_suggestions_pick_first_expiring_then_oldest(db: Database, yard: Yard) -> None:
    cal, _ = line_ids(db, yard.order)
    stock_lot(db, yard.catalog.caliper, "FG-OLD", "3", yard.fg, received_on=date(2026, 8, 1))
    with db.session() as s:
        got = [(x.lot_code, x.suggested) for x in service.suggest_lots(s, yard.order, cal)]
    # FG-B expires; the others do not and go oldest first.
    assert got == [("FG-B", D(8)), ("FG-OLD", D(2)), ("FG-A", D(0))]


@pytest.mark.parametrize("case", ["material", "held", "expired", "consumed", "too_much", "more_than_open"])
def test_a_wrong_pick_is_refused_with_the_reason_and_writes_nothing(db: Database, yard: Yard, case: str) -> None:
    cal, pst = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    lot, line, quantity = yard.lots["FG-A"], cal, "2"
    if case == "material":
        lot = yard.lots["PS-1"]
        expected = ("lot_of_other_material", "Lot PS-1 is not of material CAL-01 that line 1 orders.")
    elif case == "held":
        with db.uow() as uow:
            inventory.hold_lot(uow, lot, "OQC failed")
            uow.commit()
        expected = ("lot_on_hold", "Lot FG-A is on hold (OQC failed) and cannot be shipped.")
    elif case == "expired":
        lot = stock_lot(db, yard.catalog.caliper, "FG-EXP", "5", yard.fg, received_on=date(2026, 1, 1),
                        expires_on=date(2026, 2, 1))
        expected = ("lot_expired", "Lot FG-EXP expired on 2026-02-01 and cannot be shipped.")
    elif case == "consumed":
        with db.uow() as uow:
            inventory.post_moves(uow, [MoveIn(
                kind=MoveKind.CONSUMPTION, material_id=yard.catalog.caliper, lot_id=lot, from_location_id=yard.fg,
                quantity=D(6))])
            uow.commit()
        expected = ("lot_closed", "Lot FG-A is Consumed and cannot be shipped.")
    elif case == "too_much":
        quantity = "7"
        expected = ("insufficient_stock", "Not enough of lot FG-A at FG: on hand 6 PCS, asked 7 PCS.")
    else:
        lot, line, quantity = yard.lots["PS-1"], pst, "5"
        expected = ("more_than_open", "Line 2 of sales order SO-SHIP has 4 PCS open (ordered 4, shipped 0, "
                                      "picked 0); 5 PCS is more.")
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.pick_lot(uow, shipment, PickIn(sales_order_line_id=line, lot_id=lot, from_location_id=yard.fg,
                                               quantity=D(quantity)))
    assert (info.value.code, info.value.message.in_locale("en")) == expected
    assert info.value.message.in_locale("zh_CN") != expected[1]  # said in Chinese too
    with db.session() as s:
        assert service.get_shipment(s, shipment).lines == []


def test_picks_add_up_and_a_lot_held_after_picking_is_refused_at_shipping(db: Database, yard: Yard) -> None:
    cal, _ = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    pick(db, shipment, cal, yard.lots["FG-A"], yard.fg, "4")
    with pytest.raises(Invalid) as info, db.uow() as uow:  # 4 + 3 of a lot that has 6 there
        service.pick_lot(uow, shipment, PickIn(sales_order_line_id=cal, lot_id=yard.lots["FG-A"],
                                               from_location_id=yard.fg, quantity=D(3)))
    assert info.value.code == "insufficient_stock"
    with db.uow() as uow:
        inventory.hold_lot(uow, yard.lots["FG-A"], "customer complaint")
        uow.commit()
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.ship(uow, shipment)
    assert info.value.code == "lot_on_hold"
    assert on_hand(db, yard.catalog.caliper, yard.fg, yard.lots["FG-A"]) == D(6)
    assert lines_of(db, yard.order)[0] == (1, LineStatus.OPEN, D(0))
    with db.session() as s:
        assert service.get_shipment(s, shipment).status == ShipmentStatus.DRAFT


def test_shipping_twice_with_one_key_ships_once(db: Database, yard: Yard) -> None:
    cal, _ = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    pick(db, shipment, cal, yard.lots["FG-A"], yard.fg, "5")
    ship(db, shipment, key="ship-key-0001")
    ship(db, shipment, key="ship-key-0001")
    assert on_hand(db, yard.catalog.caliper, yard.fg, yard.lots["FG-A"]) == D(1)
    assert lines_of(db, yard.order)[0] == (1, LineStatus.PARTIALLY_SHIPPED, D(5))
    with pytest.raises(Invalid) as info, db.uow() as uow:  # without the key: it is no longer a draft
        service.ship(uow, shipment)
    assert info.value.code == "shipment_not_draft"
    with db.session() as s:
        assert len(list(s.scalars(select(EventRecord).where(EventRecord.type == "ShipmentShipped")))) == 1


def test_stale_version_and_cancel_of_a_draft(db: Database, yard: Yard) -> None:
    cal, _ = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    with db.session() as s:
        version = service.get_shipment(s, shipment).version
    pick(db, shipment, cal, yard.lots["FG-A"], yard.fg, "1")
    with pytest.raises(Conflict), db.uow() as uow:
        service.cancel_shipment(uow, shipment, version)
    with db.uow() as uow:
        service.cancel_shipment(uow, shipment)
        uow.commit()
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.ship(uow, shipment)
    assert info.value.code == "shipment_not_draft"


def test_cancelling_an_order_with_shipped_goods_cancels_only_the_open_part(db: Database, yard: Yard) -> None:
    cal, pst = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    pick(db, shipment, cal, yard.lots["FG-A"], yard.fg, "6")
    ship(db, shipment)
    with db.uow() as uow:
        order = orders.cancel_sales_order(uow, yard.order)
        uow.commit()
        assert order.status == SalesOrderStatus.SHIPPED
    assert lines_of(db, yard.order) == [(1, LineStatus.SHIPPED, D(6)), (2, LineStatus.CANCELLED, D(0))]
    with db.session() as s:
        order = orders.get_sales_order(s, yard.order)
        assert order.lines[0].quantity == D(10)  # the ordered quantity is kept
        note = cancellation_note(order.lines[0])
        assert note.in_locale("en") == "Line 1: only the open part 4 was cancelled; 6 already shipped."
        assert [(d.shipped, d.cancelled, d.open) for d in service.delivery_status(s, yard.order)] == [
            (D(6), D(4), D(0)), (D(0), D(4), D(0))]
        cancelled = [r.payload for r in s.scalars(select(EventRecord).where(
            EventRecord.type == "SalesOrderLineCancelled").order_by(EventRecord.id))]
        assert sorted((p["line_no"], p["quantity"]) for p in cancelled) == [(1, "4"), (2, "4")]


def test_cancelling_a_partly_shipped_line(db: Database, yard: Yard) -> None:
    cal, _ = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    pick(db, shipment, cal, yard.lots["FG-A"], yard.fg, "6")
    ship(db, shipment)
    with db.uow() as uow:
        orders.cancel_sales_order_line(uow, yard.order, cal)
        uow.commit()
    assert lines_of(db, yard.order) == [(1, LineStatus.SHIPPED, D(6)), (2, LineStatus.OPEN, D(0))]
    with db.session() as s:
        assert orders.get_sales_order(s, yard.order).status == SalesOrderStatus.PARTIALLY_SHIPPED
    other = new_shipment(db, yard.order)
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.pick_lot(uow, other, PickIn(sales_order_line_id=cal, lot_id=yard.lots["FG-B"],
                                            from_location_id=yard.fg, quantity=D(1)))
    assert info.value.code == "sales_order_line_not_open"


def test_forward_trace_and_recall_reach_the_customer(db: Database, yard: Yard) -> None:
    # Piston lot PS-1 went into caliper lots FG-A and FG-B; FG-A is shipped to Acme.
    with db.uow() as uow:
        inventory.link_lots(uow, yard.lots["PS-1"], yard.lots["FG-A"], D(2))
        inventory.link_lots(uow, yard.lots["PS-1"], yard.lots["FG-B"], D(2))
        uow.commit()
    cal, _ = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    pick(db, shipment, cal, yard.lots["FG-A"], yard.fg, "5")
    ship(db, shipment)
    with db.session() as s:
        scope = service.recall_scope(s, yard.lots["PS-1"])
        code = service.get_shipment(s, shipment).code
    assert [(x.level, x.lot_code, x.on_hand, x.shipped) for x in scope.lots] == [
        (0, "PS-1", D(10), D(0)), (1, "FG-A", D(1), D(5)), (1, "FG-B", D(8), D(0))]
    assert [(x.lot_code, x.shipment_code, x.order_code, x.customer_code, x.quantity) for x in scope.shipments] == [
        ("FG-A", code, "SO-SHIP", "C-ACME", D(5))]
    assert [(c.customer_code, c.shipments, c.quantity) for c in scope.customers] == [("C-ACME", 1, D(5))]
    assert (scope.on_hand, scope.shipped) == (D(19), D(5))
    with db.session() as s, pytest.raises(NotFound):
        service.recall_scope(s, 99999)


def test_an_out_of_scope_user_sees_no_shipment_and_no_trace(db: Database, yard: Yard) -> None:
    from synfab.plant import service as plant_service
    from synfab.plant.choices import Level
    from synfab.plant.schemas import NodeCreate

    with db.uow() as uow:
        other = plant_service.create_node(uow, NodeCreate(code="BJ", name="北京工厂", level=Level.SITE,
                                                          parent_id=yard.plant.enterprise, time_zone="Asia/Shanghai"))
        uow.commit()
        other_id = other.id
    add_user(db, "mgr_bj", "manager", other_id)
    add_user(db, "mgr_sh", "manager", yard.plant.site)
    with db.uow() as uow:
        inventory.link_lots(uow, yard.lots["PS-1"], yard.lots["FG-A"], D(2))
        uow.commit()
    cal, _ = line_ids(db, yard.order)
    shipment = new_shipment(db, yard.order)
    pick(db, shipment, cal, yard.lots["FG-A"], yard.fg, "5")
    ship(db, shipment)
    with acting_as(actor(db, "mgr_bj")), db.session() as s:
        with pytest.raises(NotFound):
            service.get_shipment(s, shipment)
        with pytest.raises(NotFound):
            inventory.trace_forward(s, yard.lots["PS-1"])
        with pytest.raises(NotFound):
            service.recall_scope(s, yard.lots["PS-1"])
        assert s.execute(service.shipment_query()).all() == []
    with acting_as(actor(db, "mgr_sh")), db.session() as s:
        assert service.get_shipment(s, shipment).id == shipment
        assert [x.lot_code for x in inventory.trace_forward(s, yard.lots["PS-1"])] == ["FG-A"]
        assert [x.customer_code for x in service.recall_scope(s, yard.lots["PS-1"]).customers] == ["C-ACME"]
