"""Purchasing: suppliers and their terms, purchase orders (codes, changes, 409 on a stale version), receiving into
lots (ledger, status, tolerance, replays)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from synfab.catalog.models import Material
from synfab.core import clock
from synfab.core.db import Database
from synfab.core.errors import Conflict, Invalid
from synfab.inventory import service as inventory
from synfab.inventory.models import Lot, StockMove
from synfab.inventory.purchasing import service
from synfab.inventory.purchasing.choices import PurchaseOrderStatus
from synfab.inventory.purchasing.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderLineChange,
    PurchaseOrderLineIn,
    PurchaseOrderUpdate,
    ReceiveIn,
    SupplierCreate,
    SupplierItemIn,
)
from synfab.core.context import acting_as
from tests.conftest import MiniPlant, add_user
from tests.orders.conftest import Catalog, build_catalog
from tests.people.skills.conftest import actor

D = Decimal


@pytest.fixture(autouse=True)
def frozen_clock():  # type: ignore[no-untyped-def]
    clock.set_clock(lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    yield
    clock.set_clock(None)


@pytest.fixture
def cat(db: Database, plant: MiniPlant) -> Catalog:
    return build_catalog(db, plant)


def supplier(db: Database, code: str = "SUP-1") -> int:
    with db.uow() as uow:
        s = service.create_supplier(uow, SupplierCreate(code=code, name="华东铸造", lead_time_days=20))
        uow.commit()
        return s.id


def placed_order(db: Database, plant: MiniPlant, cat: Catalog, quantity: str = "100") -> tuple[int, int]:
    sup = supplier(db)
    with db.uow() as uow:
        po = service.create_purchase_order(uow, PurchaseOrderCreate(
            supplier_id=sup, site_id=plant.site, lines=[PurchaseOrderLineIn(
                material_id=cat.casting, quantity=D(quantity), due_date=date(2026, 12, 1))]))
        service.place_purchase_order(uow, po.id)
        uow.commit()
        return po.id, po.lines[0].id


def test_supplier_codes_are_unique_and_preferred_item_is_one_per_material(db: Database, cat: Catalog) -> None:
    a, b = supplier(db, "SUP-A"), supplier(db, "SUP-B")
    with db.uow() as uow, pytest.raises(Conflict) as exc:
        service.create_supplier(uow, SupplierCreate(code="SUP-A", name="重复"))
    assert exc.value.code == "supplier_code_taken"
    with db.uow() as uow:
        service.set_supplier_item(uow, a, SupplierItemIn(material_id=cat.casting, preferred=True, lead_time_days=5))
        service.set_supplier_item(uow, b, SupplierItemIn(material_id=cat.casting, preferred=True, min_order_qty=D(50),
                                                         pack_size=D(25)))
        uow.commit()
    with db.session() as s:
        terms = service.sourcing_terms(s, s.get(Material, cat.casting))
        assert (terms.supplier_id, terms.min_order_qty, terms.pack_size, terms.lead_time_days) == (b, 50, 25, 20)


def test_order_quantity_rounds_to_minimum_then_whole_packs() -> None:
    assert service.order_quantity(D(7), D(25), D(10)) == D(30)
    assert service.order_quantity(D(31), D(25), D(10)) == D(40)
    assert service.order_quantity(D("2.5"), D(0), D(0)) == D("2.5")
    assert service.order_quantity(D(40), D(0), D(12)) == D(48)


def test_codes_are_numbered_per_day_and_changes_need_the_current_version(db: Database, plant: MiniPlant,
                                                                        cat: Catalog) -> None:
    sup = supplier(db)
    line = [PurchaseOrderLineIn(material_id=cat.casting, quantity=D(5), due_date=date(2026, 12, 1))]
    with db.uow() as uow:
        data = PurchaseOrderCreate(supplier_id=sup, site_id=plant.site, lines=line)
        first = service.create_purchase_order(uow, data)
        second = service.create_purchase_order(uow, data)
        uow.commit()
        assert (first.code, second.code) == ("PO-20261123-1", "PO-20261123-2")
        po_id, version, line_id = first.id, first.version, first.lines[0].id
    with db.uow() as uow:
        service.change_purchase_order(uow, po_id, PurchaseOrderUpdate(version=version, lines=[
            PurchaseOrderLineChange(id=line_id, quantity=D(8))]))
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict) as exc:  # a second planner with the old version
        service.change_purchase_order(uow, po_id, PurchaseOrderUpdate(version=version, lines=[
            PurchaseOrderLineChange(id=line_id, quantity=D(3))]))
    assert exc.value.code == "stale_version"
    with db.session() as s:
        order = service.get_purchase_order(s, po_id)
        assert order.lines[0].quantity == D(8) and order.version == version + 1


def test_receive_creates_a_lot_with_shelf_life_posts_a_receipt_and_closes_the_line(db: Database, plant: MiniPlant,
                                                                                   cat: Catalog) -> None:
    with db.uow() as uow:
        uow.session.get(Material, cat.casting).shelf_life_days = 90
        uow.commit()
    po_id, line_id = placed_order(db, plant, cat)
    with db.uow() as uow:
        first = service.receive_purchase_order_line(uow, po_id, line_id, ReceiveIn(
            quantity=D(60), location_id=plant.store, supplier_lot="F-1"))
        uow.commit()
        lot_id = first.lot_id
    with db.session() as s:
        lot = s.get(Lot, lot_id)
        assert lot.code == "PO-20261123-1-10-1" and lot.supplier_lot == "F-1"
        assert lot.expires_on == date(2026, 11, 23) + timedelta(days=90)
        assert inventory.on_hand(s, cat.casting, plant.store, lot_id) == D(60)
        assert service.get_purchase_order(s, po_id).status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    with db.uow() as uow:
        service.receive_purchase_order_line(uow, po_id, line_id, ReceiveIn(
            quantity=D(44), location_id=plant.store, lot_code="MY-LOT", expires_on=date(2027, 3, 1)))
        uow.commit()
    with db.session() as s:
        order = service.get_purchase_order(s, po_id)
        assert order.status == PurchaseOrderStatus.RECEIVED and order.lines[0].received_quantity == D(104)
        assert not order.lines[0].open
        assert inventory.ledger_balance_mismatches(s) == []


def test_a_storekeeper_of_the_site_receives_into_a_new_lot(db: Database, plant: MiniPlant, cat: Catalog) -> None:
    """The new lot has no stock anywhere before its receipt, so no scoped person sees it yet: the receipt into a
    store of their site still finds it, and afterwards they see it where it is."""
    po_id, line_id = placed_order(db, plant, cat)
    add_user(db, "kim", "procurement", plant.site)
    with acting_as(actor(db, "kim")), db.uow() as uow:
        receipt = service.receive_purchase_order_line(uow, po_id, line_id, ReceiveIn(
            quantity=D(30), location_id=plant.store))
        uow.commit()
        lot_id = receipt.lot_id
    with acting_as(actor(db, "kim")), db.session() as s:
        assert inventory.get_lot(s, lot_id).material_id == cat.casting
        assert inventory.on_hand(s, cat.casting, plant.store, lot_id) == D(30)


def test_over_receipt_beyond_tolerance_is_refused_and_nothing_written(db: Database, plant: MiniPlant,
                                                                     cat: Catalog) -> None:
    po_id, line_id = placed_order(db, plant, cat)
    with db.uow() as uow, pytest.raises(Invalid) as exc:
        service.receive_purchase_order_line(uow, po_id, line_id, ReceiveIn(quantity=D(106), location_id=plant.store))
    assert exc.value.code == "over_receipt"
    assert "105" in exc.value.message.in_locale("en")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StockMove)) == 0
        assert s.scalar(select(func.count()).select_from(Lot)) == 0


def test_a_replayed_receipt_returns_the_first_and_moves_nothing_more(db: Database, plant: MiniPlant,
                                                                    cat: Catalog) -> None:
    po_id, line_id = placed_order(db, plant, cat)
    body = ReceiveIn(quantity=D(10), location_id=plant.store, client_key="scan-0001-abc")
    ids = []
    for _ in range(2):
        with db.uow() as uow:
            ids.append(service.receive_purchase_order_line(uow, po_id, line_id, body).id)
            uow.commit()
    assert ids[0] == ids[1]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StockMove)) == 1
        assert service.get_purchase_order(s, po_id).lines[0].received_quantity == D(10)


def test_receiving_rules(db: Database, plant: MiniPlant, cat: Catalog) -> None:
    sup = supplier(db)
    with db.uow() as uow:
        draft = service.create_purchase_order(uow, PurchaseOrderCreate(
            supplier_id=sup, site_id=plant.site, lines=[PurchaseOrderLineIn(
                material_id=cat.casting, quantity=D(5), due_date=date(2026, 12, 1))]))
        uow.commit()
        draft_id, line_id = draft.id, draft.lines[0].id
    with db.uow() as uow, pytest.raises(Conflict) as exc:
        service.receive_purchase_order_line(uow, draft_id, line_id, ReceiveIn(quantity=D(1), location_id=plant.store))
    assert exc.value.code == "purchase_order_not_receivable"
    with db.uow() as uow:
        service.place_purchase_order(uow, draft_id)
        uow.commit()
    with db.uow() as uow, pytest.raises(Invalid) as exc:
        service.receive_purchase_order_line(uow, draft_id, line_id, ReceiveIn(quantity=D(1), location_id=plant.line1))
    assert exc.value.code == "not_a_storage_location"
    with db.uow() as uow:
        service.receive_purchase_order_line(uow, draft_id, line_id, ReceiveIn(quantity=D(1), location_id=plant.store))
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict) as exc:
        service.cancel_purchase_order(uow, draft_id)
    assert exc.value.code == "purchase_order_not_cancellable"
