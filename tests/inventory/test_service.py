"""Lots, availability and reservations, genealogy and the list queries — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from synfab.core import clock
from synfab.core.errors import Conflict, Invalid
from synfab.core.models import EventRecord
from synfab.inventory import service
from synfab.inventory.choices import LotStatus, MoveKind, ReservationStatus
from synfab.inventory.models import Lot, StockMove
from synfab.inventory.schemas import LotCreate, LotSplit, ReservationCreate
from tests.conftest import signature_on
from tests.inventory.conftest import Stores, make_lot, receive
from tests.inventory.test_ledger import move, on_hand, post

D = Decimal
# 2026-03-10 10:00 in Shanghai: "today" for lot dates is the plant's local date.
NOON = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def fixed_day(db) -> date:
    clock.set_clock(lambda: NOON)
    return date(2026, 3, 10)


def events(db, type_name: str) -> list[dict]:
    with db.session() as s:
        return [r.payload for r in s.scalars(select(EventRecord).where(EventRecord.type == type_name)
                                             .order_by(EventRecord.occurred_at))]


# -- lots -------------------------------------------------------------------------------------------------


def test_a_lot_expires_after_its_material_shelf_life(db, stores: Stores, fixed_day: date) -> None:
    lot = make_lot(db, stores.steel, "S-1", supplier_lot="BAOSTEEL-88")
    assert (lot.received_on, lot.expires_on, lot.status) == (fixed_day, date(2026, 9, 6), LotStatus.AVAILABLE)
    given = make_lot(db, stores.steel, "S-2", received_on=date(2026, 1, 1), expires_on=date(2026, 2, 1))
    assert given.expires_on == date(2026, 2, 1)
    bolts = make_lot(db, stores.bolt, "B-1")
    assert bolts.expires_on is None
    assert [e["code"] for e in events(db, "LotCreated")] == ["S-1", "S-2", "B-1"]


def test_lot_codes_are_unique_across_materials(db, stores: Stores) -> None:
    make_lot(db, stores.steel, "X-1")
    with pytest.raises(Conflict) as info, db.uow() as uow:
        service.create_lot(uow, LotCreate(code="X-1", material_id=stores.paint))
    assert info.value.code == "lot_code_taken"
    assert "STEEL-45" in info.value.message.in_locale("en") and "STEEL-45" in info.value.message.in_locale("zh_CN")
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.create_lot(uow, LotCreate(code="X-2", material_id=4242))
    assert info.value.code == "material_not_found"
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.create_lot(uow, LotCreate(code="X-3", material_id=stores.steel, received_on=date(2026, 5, 1),
                                          expires_on=date(2026, 4, 1)))
    assert info.value.code == "lot_expires_before_receipt"
    with db.uow() as uow:
        assert service.ensure_lot(uow, stores.steel, "X-1").material_id == stores.steel
        with pytest.raises(Conflict):
            service.ensure_lot(uow, stores.paint, "X-1")
        assert service.ensure_lot(uow, stores.paint, "X-4").code == "X-4"


def test_hold_and_release_with_a_reason_and_a_signature(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "H-1")
    other = make_lot(db, stores.steel, "H-2")
    with db.uow() as uow:
        held = service.hold_lot(uow, lot.id, "  IQC: hardness out of range ", version=lot.version)
        uow.commit()
    assert (held.status, held.status_reason, held.version) == (LotStatus.HOLD, "IQC: hardness out of range", 2)
    with pytest.raises(Conflict) as info, db.uow() as uow:
        service.release_lot(uow, lot.id, signature_on("lot", lot.id, "ok"), version=1)
    assert info.value.code == "stale_version"
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.release_lot(uow, lot.id, signature_on("lot", lot.id, "   "))
    assert info.value.code == "reason_required"
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.release_lot(uow, lot.id, signature_on("lot", other.id, "signed for another lot"))
    assert info.value.code == "signature_required"
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.hold_lot(uow, lot.id, "again")
    assert info.value.code == "lot_not_available"
    with db.uow() as uow:
        service.release_lot(uow, lot.id, signature_on("lot", lot.id, "retest passed"), version=2)
        uow.commit()
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.release_lot(uow, lot.id, signature_on("lot", lot.id, "twice"))
    assert info.value.code == "lot_not_on_hold"
    assert [(e["code"], e["reason"]) for e in events(db, "LotHeld")] == [("H-1", "IQC: hardness out of range")]
    assert [(e["code"], e["reason"]) for e in events(db, "LotReleased")] == [("H-1", "retest passed")]


def test_split_moves_quantity_into_a_sublot(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "P-1")
    receive(db, stores.steel, 10, stores.rm, lot.id)
    receive(db, stores.steel, 5, stores.bin1, lot.id)
    with db.uow() as uow:
        service.hold_lot(uow, lot.id, "quarantine")
        sub = service.split_lot(uow, lot.id, LotSplit(code="P-1-A", quantity=D("2.5"), location_id=stores.rm))
        uow.commit()
    assert (sub.parent_id, sub.material_id, sub.status, sub.expires_on) == \
        (lot.id, stores.steel, LotStatus.HOLD, lot.expires_on)
    assert on_hand(db, stores.steel, stores.rm, lot.id) == D("7.5")
    assert on_hand(db, stores.steel, stores.rm, sub.id) == D("2.5")
    assert on_hand(db, stores.steel) == D(15)
    with db.session() as s:
        split_moves = list(s.scalars(select(StockMove).where(StockMove.reference == "P-1 → P-1-A")))
        assert [(m.lot_id, m.from_location_id, m.to_location_id) for m in split_moves] == \
            [(lot.id, stores.rm, None), (sub.id, None, stores.rm)]
        assert [x.code for x in service.sublots(s, lot.id)] == ["P-1-A"]
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.split_lot(uow, lot.id, LotSplit(code="P-1-B", quantity=D(6), location_id=stores.bin1))
    assert info.value.code == "insufficient_stock"
    assert info.value.message.in_locale("en") == "Lot P-1 has 5 kg at RM-01; 6 kg cannot be split off."
    with pytest.raises(Conflict), db.uow() as uow:
        service.split_lot(uow, lot.id, LotSplit(code="P-1-A", quantity=D(1), location_id=stores.bin1))


def test_scrap_writes_off_what_is_left(db, stores: Stores) -> None:
    lot = make_lot(db, stores.paint, "SC-1")
    receive(db, stores.paint, 4, stores.rm, lot.id)
    receive(db, stores.paint, 2, stores.wip, lot.id)
    with db.uow() as uow:
        service.scrap_lot(uow, lot.id, "contaminated")
        uow.commit()
    assert on_hand(db, stores.paint) == 0
    with db.session() as s:
        assert s.get(Lot, lot.id).status == LotStatus.SCRAPPED
        assert service.ledger_balance_mismatches(s) == []
    assert len(events(db, "LotScrapped")[0]["move_ids"]) == 2
    with pytest.raises(Invalid) as info:
        post(db, move(MoveKind.RECEIPT, stores.paint, 1, lot=lot.id, dst=stores.rm))
    assert info.value.code == "lot_closed"


# -- availability and reservations ------------------------------------------------------------------------


def test_held_and_expired_lots_are_not_available(db, stores: Stores, fixed_day: date) -> None:
    fresh = make_lot(db, stores.paint, "PA-FRESH")
    old = make_lot(db, stores.paint, "PA-OLD", received_on=date(2026, 1, 1))  # expired on 2026-01-31
    held = make_lot(db, stores.paint, "PA-HELD")
    for lot in (fresh, old, held):
        receive(db, stores.paint, 10, stores.rm, lot.id)
    with db.uow() as uow:
        service.hold_lot(uow, held.id, "smell")
        uow.commit()
    with db.session() as s:
        assert service.on_hand(s, stores.paint) == D(30)
        assert service.available(s, stores.paint) == D(10)
        assert service.available(s, stores.paint, lot_id=old.id) == 0
        assert service.available(s, stores.paint, lot_id=held.id) == 0
        assert service.available(s, stores.paint, stores.rm, fresh.id) == D(10)
    clock.set_clock(lambda: NOON + timedelta(days=40))  # the fresh lot expires too
    with db.session() as s:
        assert service.available(s, stores.paint) == 0


def test_reservations_cannot_exceed_what_is_available(db, stores: Stores) -> None:
    a, b = make_lot(db, stores.steel, "RA"), make_lot(db, stores.steel, "RB")
    receive(db, stores.steel, 10, stores.rm, a.id)
    receive(db, stores.steel, 6, stores.bin1, b.id)

    def reserve(qty: str, **kw: object):
        with db.uow() as uow:
            r = service.reserve(uow, ReservationCreate(material_id=stores.steel, quantity=D(qty),
                                                       demand_kind="work_order", demand_id=12, **kw))
            uow.commit()
            return r

    first = reserve("8", lot_id=a.id)
    with pytest.raises(Invalid) as info:
        reserve("3", lot_id=a.id)
    assert info.value.code == "reservation_exceeds_available"
    assert info.value.message.in_locale("en") == \
        "Only 2 kg of STEEL-45 is available (RA); 3 kg cannot be reserved."
    reserve("7")  # 16 on hand − 8 reserved = 8 free overall
    with pytest.raises(Invalid):
        reserve("2")  # 1 left overall
    with pytest.raises(Invalid):
        reserve("1", location_id=stores.plant.wc1)
    with db.session() as s:
        assert service.available(s, stores.steel) == D(1)
        assert service.reserved(s, stores.steel, lot_id=a.id) == D(8)
        assert [r.id for r in service.reservations_for_demand(s, "work_order", 12)] == [first.id, first.id + 1]
        assert service.reservations_for_demand(s, "work_order", 13) == []
    with db.uow() as uow:
        released = service.release_reservation(uow, first.id, version=first.version)
        uow.commit()
    assert released.status == ReservationStatus.RELEASED
    with pytest.raises(Conflict) as info, db.uow() as uow:
        service.release_reservation(uow, first.id)
    assert info.value.code == "reservation_not_active"
    reserve("9")
    with db.uow() as uow:
        assert len(service.release_demand(uow, "work_order", 12)) == 2
        uow.commit()
    with db.session() as s:
        assert service.available(s, stores.steel) == D(16)
    assert len(events(db, "StockReserved")) == 3 and len(events(db, "ReservationReleased")) == 3


def test_a_held_lot_cannot_be_reserved(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "RH")
    receive(db, stores.steel, 5, stores.rm, lot.id)
    with db.uow() as uow:
        service.hold_lot(uow, lot.id, "check")
        uow.commit()
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.reserve(uow, ReservationCreate(material_id=stores.steel, quantity=D(1), lot_id=lot.id,
                                               demand_kind="work_order", demand_id=1))
    assert info.value.code == "reservation_exceeds_available"


# -- genealogy --------------------------------------------------------------------------------------------


def test_trace_backward_and_forward_over_three_levels(db, stores: Stores) -> None:
    steel, paint = make_lot(db, stores.steel, "G-STEEL"), make_lot(db, stores.paint, "G-PAINT")
    blank, body, caliper = (make_lot(db, stores.bolt, code) for code in ("G-BLANK", "G-BODY", "G-CALIPER"))
    with db.uow() as uow:
        service.link_lots(uow, steel.id, blank.id, D(20))
        service.link_lots(uow, blank.id, body.id, D(5))
        service.link_lots(uow, paint.id, body.id, D("0.5"))
        service.link_lots(uow, body.id, caliper.id, D(5))
        uow.commit()
    with db.session() as s:
        back = service.trace_backward(s, caliper.id)
        fwd = service.trace_forward(s, steel.id)
    assert [(line.level, line.lot_code, line.quantity, line.linked_lot_id) for line in back] == [
        (1, "G-BODY", D(5), caliper.id), (2, "G-BLANK", D(5), body.id), (2, "G-PAINT", D("0.5"), body.id),
        (3, "G-STEEL", D(20), blank.id)]
    assert back[3].material_code == "STEEL-45"
    assert [(line.level, line.lot_code) for line in fwd] == [(1, "G-BLANK"), (2, "G-BODY"), (3, "G-CALIPER")]
    assert len(events(db, "LotsLinked")) == 4


def test_a_genealogy_cycle_is_refused_with_the_cycle_named(db, stores: Stores) -> None:
    a, b, c = (make_lot(db, stores.bolt, code) for code in ("C-A", "C-B", "C-C"))
    with db.uow() as uow:
        service.link_lots(uow, a.id, b.id, D(1))
        service.link_lots(uow, b.id, c.id, D(1))
        uow.commit()
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.link_lots(uow, c.id, a.id, D(1))
    assert info.value.code == "genealogy_cycle"
    assert info.value.message.in_locale("en") == "Linking C-C into C-A would make a cycle: C-A → C-B → C-C → C-A."
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.link_lots(uow, a.id, a.id, D(1))
    assert info.value.code == "genealogy_cycle"
    with db.session() as s:
        assert len(service.trace_forward(s, a.id)) == 2


# -- list queries -----------------------------------------------------------------------------------------


def test_stock_query_filters_include_the_location_subtree(db, stores: Stores, fixed_day: date) -> None:
    s1, s2 = make_lot(db, stores.steel, "Q-S1"), make_lot(db, stores.steel, "Q-S2")
    receive(db, stores.steel, 10, stores.rm, s1.id)
    receive(db, stores.steel, 4, stores.bin1, s1.id)
    receive(db, stores.steel, 3, stores.bin2, s2.id)
    receive(db, stores.bolt, 100, stores.fg)
    post(db, move(MoveKind.ISSUE, stores.steel, 3, lot=s2.id, src=stores.bin2))  # zero rows are not listed
    receive(db, stores.steel, 2, stores.wip, s2.id)
    with db.uow() as uow:
        service.hold_lot(uow, s2.id, "check")
        uow.commit()

    def rows(**filters: object) -> list[tuple]:
        with db.session() as s:
            stmt = service.stock_query(**filters).order_by(*service.STOCK_ORDER)
            return [(r.location_code, r.material_code, r.lot_code, r.quantity) for r in s.execute(stmt)]

    assert rows(location_id=stores.rm) == [("RM", "STEEL-45", "Q-S1", D(10)), ("RM-01", "STEEL-45", "Q-S1", D(4))]
    assert rows(location_id=stores.bin1) == [("RM-01", "STEEL-45", "Q-S1", D(4))]
    assert rows(location_id=stores.plant.site) == rows()
    assert len(rows()) == 4
    assert rows(lot_status="hold") == [("L1-WIP", "STEEL-45", "Q-S2", D(2))]
    assert [r[1] for r in rows(lot_status=LotStatus.AVAILABLE)] == ["BOLT-M8", "STEEL-45", "STEEL-45"]
    assert rows(q="bolt") == [("FG", "BOLT-M8", None, D(100))]
    assert rows(q="45号") == rows(material_id=stores.steel)
    assert rows(q="q-s2") == [("L1-WIP", "STEEL-45", "Q-S2", D(2))]
    with db.session() as s:
        grouped = s.execute(service.stock_by_location_query(location_id=stores.rm)
                            .order_by(*service.STOCK_BY_LOCATION_ORDER)).all()
    assert [(g.location_code, g.material_code, g.lots, g.quantity) for g in grouped] == \
        [("RM", "STEEL-45", 1, D(10)), ("RM-01", "STEEL-45", 1, D(4))]


def test_lot_query_filters(db, stores: Stores, fixed_day: date) -> None:
    a = make_lot(db, stores.paint, "L-A", supplier_lot="SUP-9")  # expires 2026-04-09: within 30 days
    b = make_lot(db, stores.paint, "L-B", received_on=date(2026, 1, 1))  # expired 2026-01-31
    make_lot(db, stores.steel, "L-C")
    receive(db, stores.paint, 5, stores.bin1, a.id)
    receive(db, stores.paint, 7, stores.fg, b.id)
    with db.uow() as uow:
        service.hold_lot(uow, b.id, "expired")
        uow.commit()

    def codes(*args: object, **kw: object) -> list[str]:
        with db.session() as s:
            return [r.code for r in s.execute(service.lot_query(*args, today=fixed_day, **kw).order_by(Lot.code))]

    assert codes() == ["L-A", "L-B", "L-C"]
    assert codes(stores.paint) == ["L-A", "L-B"]
    assert codes(status="hold") == ["L-B"]
    assert codes(location_id=stores.rm) == ["L-A"]
    assert codes(expired=True) == ["L-B"]
    assert codes(expired=False) == ["L-A", "L-C"]
    assert codes(q="sup-9") == ["L-A"]
    assert codes(q="红漆") == ["L-A", "L-B"]
    assert codes(expiring_within_days=30) == ["L-A"]
    with db.session() as s:
        row = s.execute(service.lot_query(location_id=stores.rm)).one()
        assert (row.code, row.on_hand, row.unit) == ("L-A", D(5), "L")
        assert s.scalar(service.lots_on_hold_count_query()) == 1
        assert s.scalar(service.expiring_lots_count_query(30, fixed_day)) == 1


def test_move_query_filters(db, stores: Stores) -> None:
    clock.set_clock(lambda: datetime(2026, 3, 1, 8, tzinfo=UTC))
    lot = make_lot(db, stores.steel, "M-1")
    receive(db, stores.steel, 10, stores.rm, lot.id)
    clock.set_clock(lambda: datetime(2026, 3, 2, 8, tzinfo=UTC))
    post(db, move(MoveKind.TRANSFER, stores.steel, 4, lot=lot.id, src=stores.rm, dst=stores.wip,
                  reference="WO-12"))
    receive(db, stores.bolt, 5, stores.bin2)

    def kinds(**filters: object) -> list[str]:
        with db.session() as s:
            return [r.kind.value for r in s.execute(service.move_query(**filters).order_by(StockMove.id))]

    assert kinds() == ["receipt", "transfer", "receipt"]
    assert kinds(kind=MoveKind.TRANSFER) == ["transfer"]
    assert kinds(lot_id=lot.id) == ["receipt", "transfer"]
    assert kinds(material_id=stores.bolt) == ["receipt"]
    assert kinds(location_id=stores.rm) == ["receipt", "transfer", "receipt"]  # RM-02 is under RM
    assert kinds(location_id=stores.wip) == ["transfer"]
    assert kinds(start=datetime(2026, 3, 2, tzinfo=UTC)) == ["transfer", "receipt"]
    assert kinds(end=datetime(2026, 3, 2, tzinfo=UTC)) == ["receipt"]
    assert kinds(q="wo-12") == ["transfer"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(service.move_query().subquery())) == 3
