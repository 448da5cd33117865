"""The demo moves: after a few ticks of the factory simulation, work was done, stock was consumed, made,
bought and shipped, an order changed and its change reached the work — all through the services, as people."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from synfab.bootstrap import build_database
from synfab.cli import app as cli_app
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.core.models import EventRecord, OutboxMessage
from synfab.inventory import service as inventory
from synfab.inventory.purchasing.models import PurchaseReceipt
from synfab.migrations import upgrade
from synfab.orders import service as orders
from synfab.orders.choices import OperationStatus
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.orders.shipments.choices import ShipmentStatus
from synfab.orders.shipments.models import Shipment
from synfab.people.models import AuditRecord
from synfab.sim.demo import load_demo
from synfab.sim.factory import FactorySimulator
from tests.conftest import PG_URL, _drop_pg, _fresh_pg_url, need

TICKS = 1
SPEED = 40  # 800 simulated minutes a tick: a supplier's 14-day lead time passes within it


@pytest.fixture(params=["sqlite", "postgres"])
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'demo.db'}"
    else:
        need(bool(PG_URL), "PostgreSQL: set SYNFAB_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test")
        url = _fresh_pg_url(PG_URL)  # type: ignore[arg-type]
    db = build_database(url=url)
    upgrade(db)
    with acting_as(SYSTEM):
        assert load_demo(db) is True
    yield db
    db.dispose()
    if request.param == "postgres":
        _drop_pg(PG_URL, url)  # type: ignore[arg-type]


def count(s: object, model: type, *where: object) -> int:
    return s.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[attr-defined]


def test_the_demo_factory_works_the_whole_loop_as_people(demo: Database) -> None:
    simulator = FactorySimulator(demo, speed=SPEED, seed=7)
    tally = simulator.run(TICKS)

    assert tally.errors == 0, "an activity raised"
    assert tally.operations_completed > 0 and tally.lots_consumed > 0 and tally.transfers > 0
    assert tally.purchase_orders_placed > 0 and tally.purchase_receipts > 0
    assert tally.shipments > 0 and tally.orders_arrived > 0 and tally.orders_changed > 0
    with demo.session() as s:
        assert count(s, WorkOrderOperation, WorkOrderOperation.status == OperationStatus.DONE) >= \
            tally.operations_completed
        # What was made is traced to what went into it, and the ledger still adds up.
        outputs = s.scalars(select(WorkOrder.output_lot_id).where(WorkOrder.output_lot_id.is_not(None))).all()
        assert outputs
        traced = [lot for lot in outputs if inventory.trace_backward(s, lot)]
        assert traced, "no output lot shows the lots consumed into it"
        assert any(lot in {step.lot_id for step in inventory.trace_forward(s, inputs.lot_id)}
                   for lot in traced for inputs in inventory.trace_backward(s, lot)[:1])
        assert inventory.ledger_balance_mismatches(s) == []
        assert count(s, PurchaseReceipt) > 0
        assert count(s, Shipment, Shipment.status == ShipmentStatus.SHIPPED) > 0
        # An order change reached the work: its consequences share its chain and show on the order's timeline.
        change = s.scalars(select(EventRecord).where(EventRecord.type == "SalesOrderLineChanged")).first()
        assert change is not None and change.actor == "manager"
        followed = s.scalars(select(EventRecord.type).where(EventRecord.correlation_id == change.correlation_id,
                                                            EventRecord.id != change.id)).all()
        assert followed, "nothing followed the order change"
        order = orders.get_sales_order(s, change.payload["order_id"])
        assert change.id in {r.id for r in orders.order_timeline(s, order)}
        # Every handler the simulated people set off succeeded (a failing one leaves its error in the outbox).
        assert s.scalars(select(OutboxMessage.last_error).where(OutboxMessage.last_error.is_not(None))).all() == []
        # Done as people: operators, the storekeeper and the planner are in the audit log.
        actors = set(s.scalars(select(AuditRecord.actor).distinct()))
        assert {"manager", "procurement"} <= actors and actors & {"zhulin", "gaofeng", "hejing", "huangzq", "xuli"}


def test_the_demo_command_runs_ticks_without_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`synfab demo --no-serve --ticks N` runs N ticks in the process and prints the tally (loading the demo and
    the ticks themselves are the tests above's)."""
    ticked: list[float] = []
    monkeypatch.setattr("synfab.sim.demo.load_demo", lambda *args, **kwargs: False)
    monkeypatch.setattr(FactorySimulator, "tick", lambda self: ticked.append(self.speed))
    result = CliRunner().invoke(cli_app, ["demo", "--db", str(tmp_path / "demo.db"), "--no-serve", "--ticks", "3",
                                          "--speed", "2.5"])
    assert result.exit_code == 0, result.output
    assert ticked == [2.5, 2.5, 2.5]
    assert "3 ticks at speed 2.5" in result.output and "operations completed" in result.output
    still = CliRunner().invoke(cli_app, ["demo", "--db", str(tmp_path / "demo.db"), "--no-serve", "--ticks", "3",
                                         "--still"])
    assert still.exit_code == 0 and "using the existing demo" in still.output and len(ticked) == 3
