"""The stock ledger: posting moves, the balance kept with it, on hand — on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update

from synfab.core.errors import Invalid
from synfab.core.models import EventRecord
from synfab.inventory import service
from synfab.inventory.choices import LotStatus, MoveKind
from synfab.inventory.models import Lot, StockBalance, StockMove
from synfab.inventory.schemas import MoveIn, OnHandTarget
from tests.inventory.conftest import Stores, make_lot, receive

D = Decimal


def move(kind: MoveKind, material: int, qty: str | int, *, lot: int | None = None, src: int | None = None,
         dst: int | None = None, **kw: object) -> MoveIn:
    return MoveIn(kind=kind, material_id=material, lot_id=lot, from_location_id=src, to_location_id=dst,
                  quantity=D(str(qty)), **kw)


def post(db, *moves: MoveIn) -> list[StockMove]:
    with db.uow() as uow:
        posted = service.post_moves(uow, list(moves))
        uow.commit()
        return posted


def snapshot(db) -> tuple[int, dict[tuple[int, int, int], Decimal]]:
    """How many moves there are and every kept balance: to prove a refused batch wrote nothing."""
    with db.session() as s:
        count = s.scalar(select(func.count()).select_from(StockMove))
        balances = {(b.material_id, b.location_id, b.lot_key): b.quantity for b in s.scalars(select(StockBalance))}
        return count, balances


def refused(db, *moves: MoveIn) -> Invalid:
    before = snapshot(db)
    with pytest.raises(Invalid) as info:
        post(db, *moves)
    assert snapshot(db) == before, "a refused batch must write nothing"
    return info.value


def on_hand(db, material: int, location: int | None = None, lot: int | None = None) -> Decimal:
    with db.session() as s:
        return service.on_hand(s, material, location, lot)


def test_receipt_transfer_issue_and_adjustment_balance_exactly(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "S-001")
    post(db, move(MoveKind.RECEIPT, stores.steel, "100.5", lot=lot.id, dst=stores.rm))
    post(db, move(MoveKind.TRANSFER, stores.steel, "40.25", lot=lot.id, src=stores.rm, dst=stores.bin1))
    post(db, move(MoveKind.ISSUE, stores.steel, "10.125", lot=lot.id, src=stores.bin1, reference="WO-7"))
    post(db, move(MoveKind.ADJUSTMENT, stores.steel, "0.25", lot=lot.id, src=stores.rm, reason="count"),
         move(MoveKind.ADJUSTMENT, stores.bolt, "500", dst=stores.fg, reason="count"))
    assert on_hand(db, stores.steel, stores.rm, lot.id) == D("60.000000")
    assert on_hand(db, stores.steel, stores.bin1, lot.id) == D("30.125")
    assert on_hand(db, stores.steel) == D("90.125")
    assert on_hand(db, stores.bolt, stores.fg) == D(500)
    with db.session() as s:
        assert service.on_hand(s, stores.steel, stores.rm, with_sublocations=True) == D("90.125")
        assert service.ledger_balance_mismatches(s) == []
        moves = list(s.scalars(select(StockMove).order_by(StockMove.id)))
    assert [(m.kind, m.quantity) for m in moves] == [
        (MoveKind.RECEIPT, D("100.5")), (MoveKind.TRANSFER, D("40.25")), (MoveKind.ISSUE, D("10.125")),
        (MoveKind.ADJUSTMENT, D("0.25")), (MoveKind.ADJUSTMENT, D(500))]
    assert moves[2].reference == "WO-7" and moves[2].actor == "system"


def test_one_event_per_call_names_the_moves(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "S-EV")
    posted = post(db, move(MoveKind.RECEIPT, stores.steel, 5, lot=lot.id, dst=stores.rm),
                  move(MoveKind.RECEIPT, stores.bolt, 7, dst=stores.bin2))
    with db.session() as s:
        events = list(s.scalars(select(EventRecord).where(EventRecord.type == "StockMoved")))
    assert len(events) == 1
    assert events[0].payload["move_ids"] == [m.id for m in posted]
    assert events[0].payload["material_ids"] == sorted([stores.steel, stores.bolt])
    assert events[0].payload["location_ids"] == sorted([stores.rm, stores.bin2])
    assert {m.event_id for m in posted} == {events[0].id}


def test_a_batch_with_one_bad_move_writes_nothing(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "S-002")
    receive(db, stores.steel, 10, stores.rm, lot.id)
    error = refused(
        db,
        move(MoveKind.RECEIPT, stores.bolt, 100, dst=stores.rm),
        move(MoveKind.TRANSFER, stores.steel, 4, lot=lot.id, src=stores.rm, dst=stores.bin1),
        move(MoveKind.ISSUE, stores.steel, 7, lot=lot.id, src=stores.rm),  # only 6 left after the transfer
    )
    assert error.code == "insufficient_stock"
    assert [d["line"] for d in error.details] == [3]
    en = error.message.in_locale("en")
    assert en.startswith("Line 3 of 3:") and "Nothing was posted." in en
    assert "on hand 6 kg, asked 7 kg" in en


def test_every_problem_of_a_batch_is_reported(db, stores: Stores) -> None:
    error = refused(
        db,
        move(MoveKind.RECEIPT, stores.steel, 1, dst=stores.rm),  # lot-tracked without a lot
        move(MoveKind.RECEIPT, stores.bolt, 1, dst=stores.plant.wc1),  # a work center is no store
        move(MoveKind.RECEIPT, 9999, 1, dst=stores.rm),
    )
    assert error.code == "lot_required"
    assert [(d["line"], d["code"]) for d in error.details] == [
        (1, "lot_required"), (2, "not_a_storage_location"), (3, "material_not_found")]
    assert "WC1" in error.details[1]["message"]["en"] and "库区" in error.details[1]["message"]["zh_CN"]


def test_negative_stock_is_refused_naming_on_hand_and_asked_in_both_languages(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "S-003")
    receive(db, stores.steel, "12.5", stores.rm, lot.id)
    error = refused(db, move(MoveKind.ISSUE, stores.steel, 20, lot=lot.id, src=stores.rm))
    assert error.code == "insufficient_stock"
    assert error.message.in_locale("en") == \
        "Not enough STEEL-45 of lot S-003 at RM: on hand 12.5 kg, asked 20 kg."
    assert error.message.in_locale("zh_CN") == "RM 的 STEEL-45（批次 S-003）库存不足：现有库存 12.5 kg，需求 20 kg。"
    receive(db, stores.bolt, 3, stores.fg)
    error = refused(db, move(MoveKind.SHIPMENT, stores.bolt, 4, src=stores.fg))
    assert error.message.in_locale("en") == "Not enough BOLT-M8 at FG: on hand 3 pcs, asked 4 pcs."
    assert error.message.in_locale("zh_CN") == "FG 的 BOLT-M8 库存不足：现有库存 3 pcs，需求 4 pcs。"
    # Stock in one lot does not cover another lot, nor stock elsewhere.
    other = make_lot(db, stores.steel, "S-004")
    refused(db, move(MoveKind.ISSUE, stores.steel, 1, lot=other.id, src=stores.rm))
    refused(db, move(MoveKind.ISSUE, stores.steel, 1, lot=lot.id, src=stores.bin1))


def test_a_lot_of_another_material_is_refused(db, stores: Stores) -> None:
    paint_lot = make_lot(db, stores.paint, "P-001")
    error = refused(db, move(MoveKind.RECEIPT, stores.steel, 5, lot=paint_lot.id, dst=stores.rm))
    assert error.code == "lot_of_other_material"
    assert error.message.in_locale("en") == "Lot P-001 is of material PAINT-R, not STEEL-45."
    assert "PAINT-R" in error.message.in_locale("zh_CN")


@pytest.mark.parametrize(("kind", "src", "dst", "code"), [
    (MoveKind.RECEIPT, None, None, "move_destination_required"),
    (MoveKind.RECEIPT, "rm", "bin1", "move_source_not_expected"),
    (MoveKind.PRODUCTION, None, None, "move_destination_required"),
    (MoveKind.ISSUE, None, None, "move_source_required"),
    (MoveKind.CONSUMPTION, "rm", "bin1", "move_destination_not_expected"),
    (MoveKind.SHIPMENT, None, "fg", "move_source_required"),
    (MoveKind.TRANSFER, "rm", None, "move_destination_required"),
    (MoveKind.TRANSFER, "rm", "rm", "transfer_same_location"),
    (MoveKind.ADJUSTMENT, "rm", "bin1", "adjustment_location"),
    (MoveKind.ADJUSTMENT, None, None, "adjustment_location"),
])
def test_each_kind_names_the_locations_it_needs(db, stores: Stores, kind, src, dst, code) -> None:
    receive(db, stores.bolt, 10, stores.rm)
    error = refused(db, move(kind, stores.bolt, 1, src=getattr(stores, src) if src else None,
                             dst=getattr(stores, dst) if dst else None))
    assert error.code == code


def test_held_lots_move_within_the_plant_but_are_not_used(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "S-H")
    receive(db, stores.steel, 10, stores.rm, lot.id)
    with db.uow() as uow:
        service.hold_lot(uow, lot.id, "IQC pending")
        uow.commit()
    error = refused(db, move(MoveKind.CONSUMPTION, stores.steel, 1, lot=lot.id, src=stores.rm))
    assert error.code == "lot_on_hold" and "IQC pending" in error.message.in_locale("en")
    post(db, move(MoveKind.TRANSFER, stores.steel, 10, lot=lot.id, src=stores.rm, dst=stores.bin2))
    assert on_hand(db, stores.steel, stores.bin2, lot.id) == D(10)


def test_a_lot_consumed_to_zero_is_closed(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "S-C")
    receive(db, stores.steel, 10, stores.rm, lot.id)
    post(db, move(MoveKind.TRANSFER, stores.steel, 4, lot=lot.id, src=stores.rm, dst=stores.wip))
    post(db, move(MoveKind.CONSUMPTION, stores.steel, 4, lot=lot.id, src=stores.wip))
    with db.session() as s:
        assert s.get(Lot, lot.id).status == LotStatus.AVAILABLE  # 6 still in RM
    post(db, move(MoveKind.CONSUMPTION, stores.steel, 6, lot=lot.id, src=stores.rm))
    with db.session() as s:
        assert s.get(Lot, lot.id).status == LotStatus.CONSUMED
        assert s.scalar(select(func.count()).select_from(EventRecord).where(EventRecord.type == "LotConsumed")) == 1
    error = refused(db, move(MoveKind.RECEIPT, stores.steel, 1, lot=lot.id, dst=stores.rm))
    assert error.code == "lot_closed"


def test_set_on_hand_posts_the_difference_once(db, stores: Stores) -> None:
    lot = make_lot(db, stores.steel, "S-OPEN")
    receive(db, stores.steel, 3, stores.rm, lot.id)
    for _ in range(2):
        with db.uow() as uow:
            service.set_on_hand(uow, stores.steel, stores.rm, lot.id, D("10.5"), "opening stock")
            uow.commit()
    with db.session() as s:
        moves = list(s.scalars(select(StockMove).order_by(StockMove.id)))
    assert len(moves) == 2, "the second call must post nothing"
    assert (moves[1].kind, moves[1].quantity, moves[1].to_location_id, moves[1].reason) == \
        (MoveKind.ADJUSTMENT, D("7.5"), stores.rm, "opening stock")
    with db.uow() as uow:
        taken = service.set_on_hand(uow, stores.steel, stores.rm, lot.id, D(4), "count")
        uow.commit()
    assert taken.from_location_id == stores.rm and taken.quantity == D("6.5")
    assert on_hand(db, stores.steel, stores.rm, lot.id) == D(4)


def test_opening_stock_in_bulk_is_one_call_and_idempotent(db, stores: Stores) -> None:
    lots = [make_lot(db, stores.steel, f"S-B{i:03}") for i in range(40)]
    targets = [OnHandTarget(material_id=stores.steel, location_id=loc, lot_id=lot.id, quantity=D(i + 1))
               for i, lot in enumerate(lots) for loc in (stores.bin1, stores.bin2)]
    targets.append(OnHandTarget(material_id=stores.bolt, location_id=stores.rm, quantity=D(0)))
    with db.uow() as uow:
        posted = service.set_on_hand_many(uow, targets, "opening stock")
        uow.commit()
    assert len(posted) == 80
    before = snapshot(db)
    with db.uow() as uow:
        assert service.set_on_hand_many(uow, targets, "opening stock") == []
        uow.commit()
    assert snapshot(db) == before
    assert on_hand(db, stores.steel) == D(2 * sum(range(1, 41)))
    with pytest.raises(Invalid) as info, db.uow() as uow:
        service.set_on_hand_many(uow, [targets[0], targets[0]], "twice")
    assert info.value.code == "on_hand_target_repeated"


def test_stock_moves_cannot_be_changed_or_deleted_through_the_orm(db, stores: Stores) -> None:
    receive(db, stores.bolt, 5, stores.rm)
    with db.uow() as uow:
        m = uow.session.scalar(select(StockMove))
        m.quantity = D(50)
        with pytest.raises(RuntimeError, match="immutable"):
            uow.flush()
    with db.uow() as uow:
        uow.session.delete(uow.session.scalar(select(StockMove)))
        with pytest.raises(RuntimeError, match="immutable"):
            uow.flush()
    with db.session() as s:
        assert s.scalar(select(StockMove.quantity)) == D(5)


def test_the_ledger_check_finds_a_tampered_balance(db, stores: Stores) -> None:
    receive(db, stores.bolt, 5, stores.rm)
    with db.engine.begin() as conn:
        conn.execute(update(StockBalance).values(quantity=D(6)))
    with db.session() as s:
        found = service.ledger_balance_mismatches(s)
    assert [(f.material_id, f.location_id, f.lot_id, f.ledger_quantity, f.balance_quantity) for f in found] == \
        [(stores.bolt, stores.rm, None, D(5), D(6))]
    with db.engine.begin() as conn:
        conn.execute(delete(StockBalance))
    with db.session() as s:
        assert len(service.ledger_balance_mismatches(s)) == 1


def test_ledger_and_balance_agree_after_any_sequence_of_moves(db, stores: Stores) -> None:
    """A seeded random walk of receipts, transfers, issues, consumptions, adjustments, counts and refused
    batches; after each step the kept balance equals the ledger and the expected on hand."""
    rng = random.Random(20260601)
    locations = [stores.rm, stores.bin1, stores.bin2, stores.fg, stores.wip]
    lots = [make_lot(db, stores.steel, f"R-{i}").id for i in range(4)]
    expected: dict[tuple[int, int, int | None], Decimal] = {}
    closed: set[int] = set()

    def qty() -> Decimal:
        return D(rng.randint(1, 4000)) / 100

    def pick_item() -> tuple[int, int | None]:
        if rng.random() < 0.4:
            return stores.bolt, None
        open_lots = [lot for lot in lots if lot not in closed]
        return (stores.steel, rng.choice(open_lots)) if open_lots else (stores.bolt, None)

    def held_somewhere() -> tuple[int, int | None, int] | None:
        keys = [k for k, q in expected.items() if q > 0 and k[1] not in closed]
        return rng.choice(sorted(keys, key=str)) if keys else None

    refusals = 0
    for step in range(120):
        roll = rng.random()
        planned: list[MoveIn] = []
        if roll < 0.3 or not held_somewhere():
            material, lot = pick_item()
            planned.append(move(MoveKind.RECEIPT, material, qty(), lot=lot, dst=rng.choice(locations)))
        elif roll < 0.75:
            lot, material, src = (k := held_somewhere())[1], k[0], k[2]
            have = expected[(material, lot, src)]
            amount = min(have, qty()) if rng.random() < 0.8 else have
            kind = rng.choice([MoveKind.TRANSFER, MoveKind.ISSUE, MoveKind.CONSUMPTION, MoveKind.ADJUSTMENT])
            dst = rng.choice([loc for loc in locations if loc != src]) if kind == MoveKind.TRANSFER else None
            planned.append(move(kind, material, amount, lot=lot, src=src, dst=dst))
        elif roll < 0.85:
            material, lot, loc = held_somewhere()
            target = D(rng.randint(0, 3000)) / 100
            with db.uow() as uow:
                service.set_on_hand(uow, material, loc, lot, target, "count")
                uow.commit()
            expected[(material, lot, loc)] = target
        else:
            material, lot, src = held_somewhere()
            too_much = expected[(material, lot, src)] + D("0.01")
            elsewhere = rng.choice([loc for loc in locations if loc != src])
            batch = [move(MoveKind.RECEIPT, stores.bolt, 1, dst=elsewhere),
                     move(MoveKind.ISSUE, material, too_much, lot=lot, src=src)]
            assert refused(db, *batch).code == "insufficient_stock"
            refusals += 1
        if planned:
            post(db, *planned)
            for m in planned:
                if m.from_location_id:
                    expected[(m.material_id, m.lot_id, m.from_location_id)] -= m.quantity
                if m.to_location_id:
                    key = (m.material_id, m.lot_id, m.to_location_id)
                    expected[key] = expected.get(key, D(0)) + m.quantity
                if m.kind == MoveKind.CONSUMPTION and m.lot_id and \
                        sum(q for k, q in expected.items() if k[1] == m.lot_id) == 0:
                    closed.add(m.lot_id)
        if step % 10 == 9:
            with db.session() as s:
                assert service.ledger_balance_mismatches(s) == [], f"step {step}"
    with db.session() as s:
        assert service.ledger_balance_mismatches(s) == []
        for (material, lot, loc), q in expected.items():
            assert service.on_hand(s, material, loc, lot) == q, (material, lot, loc)
        assert {lot for lot in lots if s.get(Lot, lot).status == LotStatus.CONSUMED} == closed
    assert refusals > 5


def test_a_bulk_batch_costs_the_same_statements_as_a_small_one(db, stores: Stores) -> None:
    """Opening stock of thousands of rows: one statement per step of the batch, never one per move."""
    from sqlalchemy import event

    lots = [make_lot(db, stores.steel, f"BULK-{i:03}") for i in range(300)]

    def statements(moves: list[MoveIn]) -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args) -> None:
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            post(db, *moves)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    def receipts(chosen: list[Lot]) -> list[MoveIn]:
        return [move(MoveKind.RECEIPT, stores.steel, 1, lot=lot.id, dst=loc) for lot in chosen
                for loc in (stores.bin1, stores.bin2)] + [move(MoveKind.RECEIPT, stores.bolt, 1, dst=stores.fg)]

    small, large = statements(receipts(lots[:5])), statements(receipts(lots[5:]))
    assert large == small
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StockMove)) == 2 * 300 + 2
        assert service.on_hand(s, stores.steel, stores.bin2) == D(300)
        assert service.ledger_balance_mismatches(s) == []
