"""Properties of the whole loop (hypothesis): after any sequence of releases, order changes and cancellations,
work at the terminal (starts, scanned lots, reports) and shipments — refused steps included — the ledger and the
balance table agree, no reservation holds more than is there, and genealogy has no cycle.

Each example runs on a fresh SQLite file (the engines' shared behaviour is covered by the example-based tests on
both; building a PostgreSQL database per example would cost minutes)."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from synfab.bootstrap import build_database, metadata
from synfab.core.context import acting_as
from synfab.core.db import Database
from synfab.core.errors import DomainError
from synfab.inventory import service as inventory
from synfab.inventory.choices import ReservationStatus
from synfab.inventory.models import Lot, LotLink, Reservation, StockBalance
from synfab.orders import service as orders
from synfab.orders.choices import OPEN_WORK_ORDER_STATUSES, OperationStatus
from synfab.orders.models import SalesOrderLine, WorkOrder
from synfab.orders.schemas import ConsumeIn, OperationCommand, ReportIn, SalesOrderLineCreate, SalesOrderLineUpdate
from synfab.orders.shipments import service as shipments
from synfab.orders.shipments.schemas import PickIn, ShipmentCreate
from synfab.plant.models import PlantNode
from tests.conftest import build_mini_plant
from tests.orders.test_terminal import Floor, build_floor
from tests.people.skills.conftest import actor

ACTIONS = st.one_of(
    st.tuples(st.just("order"), st.integers(1, 6)),
    st.tuples(st.just("change"), st.integers(0, 3), st.integers(1, 9)),
    st.tuples(st.just("cancel"), st.integers(0, 3)),
    st.tuples(st.just("work"), st.integers(0, 5), st.integers(0, 5), st.integers(0, 6)),
    st.tuples(st.just("ship"), st.integers(1, 5)),
)


def _lines(db: Database) -> list[tuple[int, int]]:
    with db.session() as s:
        return list(s.execute(select(SalesOrderLine.order_id, SalesOrderLine.id).order_by(SalesOrderLine.id)).all())


def _step(db: Database, floor: Floor, action: tuple) -> None:
    kind = action[0]
    lines = _lines(db)
    if kind == "order":
        with db.uow() as uow:
            order_id = lines[0][0]
            line = orders.add_sales_order_line(uow, order_id, SalesOrderLineCreate(
                material_id=floor.catalog.caliper, quantity=Decimal(action[1]), due_date=date(2026, 12, 15)))
            uow.flush()
            if line.status.value == "open":
                orders.release_sales_order_line(uow, order_id, line.id)
            uow.commit()
    elif kind in ("change", "cancel"):
        order_id, line_id = lines[action[1] % len(lines)]
        with db.uow() as uow:
            line = orders.get_sales_order_line(uow.session, order_id, line_id)
            if kind == "change":
                orders.change_sales_order_line(uow, order_id, line_id, SalesOrderLineUpdate(
                    version=line.version, quantity=Decimal(action[2])))
            else:
                orders.cancel_sales_order_line(uow, order_id, line_id, line.version)
            uow.commit()
    elif kind == "work":
        _work(db, floor, *action[1:])
    elif kind == "ship":
        _ship(db, floor, Decimal(action[1]))


def _work(db: Database, floor: Floor, which: int, consume: int, good: int) -> None:
    with db.session() as s:
        open_wos = list(s.scalars(select(WorkOrder).where(
            WorkOrder.status.in_([st_.value for st_ in OPEN_WORK_ORDER_STATUSES])).order_by(WorkOrder.id)))
        if not open_wos:
            return
        wo = open_wos[which % len(open_wos)]
        op = next((o for o in wo.operations if o.status not in (OperationStatus.DONE, OperationStatus.CANCELLED)),
                  None)
        if op is None:
            return
        wo_id, op_id, status, caliper = wo.id, op.id, op.status, wo.material_id == floor.catalog.caliper
    with acting_as(actor(db, "ann")):
        if status in (OperationStatus.PENDING, OperationStatus.READY):
            with db.uow() as uow:
                orders.start(uow, wo_id, op_id, OperationCommand())
                uow.commit()
        if consume and caliper:
            with db.uow() as uow:
                orders.consume(uow, wo_id, op_id, ConsumeIn(lot_code="CST-A", quantity=Decimal(consume)))
                uow.commit()
        with db.uow() as uow:
            orders.report_production(uow, wo_id, op_id, ReportIn(good=Decimal(good), complete=good > 0))
            uow.commit()


def _ship(db: Database, floor: Floor, quantity: Decimal) -> None:
    with db.session() as s:
        fg = s.scalar(select(PlantNode.id).where(PlantNode.code == "FG"))
        stock = s.execute(select(StockBalance.lot_id, StockBalance.quantity).where(
            StockBalance.location_id == fg, StockBalance.material_id == floor.catalog.caliper,
            StockBalance.quantity > 0).order_by(StockBalance.lot_id)).first()
        line = s.scalar(select(SalesOrderLine).where(SalesOrderLine.material_id == floor.catalog.caliper,
                                                     SalesOrderLine.status.in_(["released", "partially_shipped"]))
                        .order_by(SalesOrderLine.id))
        if stock is None or line is None:
            return
        order_id, line_id, lot_id = line.order_id, line.id, stock[0]
    with db.uow() as uow:
        shipment = shipments.create_shipment(uow, ShipmentCreate(sales_order_id=order_id))
        uow.flush()
        shipments.pick_lot(uow, shipment.id, PickIn(sales_order_line_id=line_id, lot_id=lot_id, from_location_id=fg,
                                                    quantity=min(quantity, Decimal(stock[1]))))
        shipments.ship(uow, shipment.id)
        uow.commit()


def check_invariants(db: Database) -> None:
    with db.session() as s:
        assert inventory.ledger_balance_mismatches(s) == []
        on_hand: dict[int, Decimal] = defaultdict(Decimal)
        for lot_id, qty in s.execute(select(StockBalance.lot_id, func.sum(StockBalance.quantity))
                                     .where(StockBalance.lot_id.is_not(None)).group_by(StockBalance.lot_id)):
            on_hand[lot_id] = Decimal(str(qty))
        held: dict[int, Decimal] = defaultdict(Decimal)
        for lot_id, qty in s.execute(select(Reservation.lot_id, func.sum(Reservation.quantity)).where(
                Reservation.status == ReservationStatus.ACTIVE, Reservation.lot_id.is_not(None))
                .group_by(Reservation.lot_id)):
            held[lot_id] = Decimal(str(qty))
        over = {lot: (held[lot], on_hand[lot]) for lot in held if held[lot] > on_hand[lot] + Decimal("0.000001")}
        assert over == {}, f"reservations above what the lot holds: {over}"
        edges: dict[int, set[int]] = defaultdict(set)
        for src, dst in s.execute(select(LotLink.input_lot_id, LotLink.output_lot_id)):
            edges[src].add(dst)
        state: dict[int, int] = {}

        def visit(node: int) -> None:  # 1 = on the path, 2 = done
            state[node] = 1
            for nxt in edges.get(node, ()):
                assert state.get(nxt) != 1, f"genealogy cycle through lot {nxt}"
                if state.get(nxt) is None:
                    visit(nxt)
            state[node] = 2

        for node in list(edges):
            if node not in state:
                visit(node)
        assert s.scalar(select(func.count()).select_from(Lot).where(Lot.code.startswith("WO-"))) is not None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTIONS, min_size=1, max_size=10))
def test_any_sequence_keeps_the_ledger_reservations_and_genealogy_sound(actions: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = build_database(url=f"sqlite:///{Path(folder) / 'loop.db'}")
        metadata.create_all(db.engine)
        try:
            floor = build_floor(db, build_mini_plant(db))
            for action in actions:
                try:
                    _step(db, floor, action)
                except DomainError:
                    pass  # a refused step writes nothing; the invariants below still hold
                check_invariants(db)
        finally:
            db.dispose()
