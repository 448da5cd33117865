"""BOM and routing revisions coming into effect reach the open work orders by themselves: components' work orders,
material and operations follow; started work is flagged, never changed; future revisions wait for their day; a
second run changes nothing; every change leads back to its cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from synfab.bootstrap import build_database
from synfab.catalog import service as catalog
from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, BomLine, Material, Routing, RoutingOperation
from synfab.catalog.schemas import BomCreate, BomLineIn, OperationIn, RoutingCreate
from synfab.cli import app as cli_app
from synfab.core import clock
from synfab.core.bus import Event
from synfab.core.config import sqlite_url
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.core.live import LiveMessage
from synfab.core.models import EventRecord
from synfab.inventory.choices import ReservationStatus
from synfab.inventory.models import Reservation
from synfab.orders import service as orders
from synfab.orders.choices import ReviewReason, WorkOrderStatus
from synfab.orders.handlers import PLANNERS, tell_live
from synfab.orders.jobs import apply_revisions_when_the_day_changes
from synfab.orders.models import WorkOrder
from synfab.planning.materials.choices import ShortageStatus
from synfab.planning.materials.models import MaterialRequirement, Shortage
from synfab.planning.schedule.models import ScheduledOperation
from tests.conftest import MiniPlant, add_user, build_mini_plant, make_client, sign_in
from tests.orders.conftest import build_customers, make_order
from tests.orders.test_propagation import caused_by
from tests.people.skills.conftest import actor
from tests.planning.materials.conftest import Scene, add_lot, build_scene, frozen_clock  # noqa: F401 (autouse)

TODAY = date(2026, 11, 23)  # in Shanghai


@dataclass
class Shop:
    scene: Scene
    spring: int  # made, in BOM A of the caliper only
    bracket: int  # made, in the new BOM B only
    first: int  # the caliper work order of SO-1 (4 calipers)
    second: int  # the caliper work order of SO-2 (2 calipers)
    customer: int


def _material(db: Database, plant: MiniPlant, unit: int, code: str, name: str, center: int) -> int:
    """A semi-finished part the plant makes, with a released routing of one operation."""
    with db.uow() as uow:
        m = Material(code=code, name=name, name_en=code, type=MaterialType.SEMI_FINISHED, unit_id=unit,
                     sourcing=Sourcing.MAKE)
        uow.session.add(m)
        uow.session.flush()
        uow.session.add(Routing(material_id=m.id, revision="A", status=DocumentStatus.RELEASED,
                                effective_from=date(2026, 1, 1), operations=[
            RoutingOperation(seq=10, name="加工", work_center_id=center, setup_minutes=Decimal(5),
                             run_minutes=Decimal(1))]))
        uow.commit()
        return m.id


@pytest.fixture
def shop(db: Database, plant: MiniPlant) -> Shop:
    return build_shop(db, plant)


def build_shop(db: Database, plant: MiniPlant) -> Shop:
    """The caliper's BOM A: 1 casting (bought), 2 pistons and 4 springs (made); 5 castings in stock; two orders
    released (4 and 2 calipers, due 9 December)."""
    scene = build_scene(db, plant)
    cat = scene.catalog
    spring = _material(db, plant, cat.pcs, "SPR-01", "弹簧", plant.wc2)
    bracket = _material(db, plant, cat.pcs, "BRK-01", "支架", plant.wc2)
    with db.uow() as uow:  # the test catalog asks for skills nobody here has: anyone may turn and assemble
        s = uow.session
        s.add(BomLine(bom_id=cat.bom_caliper, position=30, component_id=spring, quantity=Decimal(4),
                      unit_id=cat.pcs))
        s.execute(update(RoutingOperation).values(required_skill=None, required_skill_level=None))
        uow.commit()
    add_lot(db, scene, "CST-1", "5")
    customers = build_customers(db)
    made = []
    for code, qty in (("SO-1", "4"), ("SO-2", "2")):
        order = make_order(db, plant, customers.acme, code, [(cat.caliper, qty, "2026-12-09")])
        with db.uow() as uow:
            line = orders.get_sales_order(uow.session, order).lines[0]
            made.append(orders.release_sales_order_line(uow, order, line.id)[0].id)
            uow.commit()
    return Shop(scene, spring, bracket, made[0], made[1], customers.acme)


def end_revisions_a(db: Database, shop: Shop, day: date) -> None:
    """Revision A of the caliper's BOM and routing ends on `day` (engineering signs this; written straight here)."""
    caliper = shop.scene.catalog.caliper
    with db.uow() as uow:
        uow.session.execute(update(Bom).where(Bom.material_id == caliper).values(effective_to=day))
        uow.session.execute(update(Routing).where(Routing.material_id == caliper, Routing.revision == "A")
                            .values(effective_to=day))
        uow.commit()


def release_bom_b(db: Database, shop: Shop, effective_from: date = TODAY) -> str:
    """BOM B of the caliper: 2 castings, 3 pistons, 1 bracket (no springs); returns the release event's id."""
    cat = shop.scene.catalog
    with db.uow() as uow:
        bom = catalog.create_bom(uow, BomCreate(
            material_id=cat.caliper, revision="B", effective_from=effective_from, lines=[
                BomLineIn(component_id=cat.casting, quantity=Decimal(2)),
                BomLineIn(component_id=cat.piston, quantity=Decimal(3)),
                BomLineIn(component_id=shop.bracket, quantity=Decimal(1))]))
        uow.commit()
    with db.uow() as uow:
        catalog.release_bom(uow, bom.id)
        uow.commit()
        return next(e.id for e in uow.published if e.type_name == "BomRevisionReleased")


def release_routing_c(db: Database, shop: Shop, effective_from: date = TODAY) -> str:
    """Routing C of the caliper: turning moves to WC2 (line L2), then assembly and a check on WC1."""
    plant = shop.scene.plant
    with db.uow() as uow:
        routing = catalog.create_routing(uow, RoutingCreate(
            material_id=shop.scene.catalog.caliper, revision="C", effective_from=effective_from, operations=[
                OperationIn(seq=10, name="车削", work_center_id=plant.wc2, setup_minutes=Decimal(20),
                            run_minutes=Decimal(2)),
                OperationIn(seq=20, name="装配", work_center_id=plant.wc1, setup_minutes=Decimal(10),
                            run_minutes=Decimal(1)),
                OperationIn(seq=30, name="检验", work_center_id=plant.wc1, run_minutes=Decimal("0.5"))]))
        uow.commit()
    with db.uow() as uow:
        catalog.release_routing(uow, routing.id)
        uow.commit()
        return next(e.id for e in uow.published if e.type_name == "RoutingRevisionReleased")


def children(db: Database, parent: int) -> list[tuple[str, Decimal, str]]:
    with db.session() as s:
        return sorted((wo.material.code, wo.quantity.normalize(), wo.status.value) for wo in s.scalars(
            select(WorkOrder).where(WorkOrder.parent_id == parent)))


def revision_of(db: Database, work_order: int) -> tuple[str | None, str | None]:
    with db.session() as s:
        wo = s.get(WorkOrder, work_order)
        bom, routing = s.get(Bom, wo.bom_id), s.get(Routing, wo.routing_id)
        return (bom.revision if bom else None, routing.revision if routing else None)


def casting_needs(db: Database, shop: Shop) -> dict[int, tuple[Decimal, Decimal]]:
    """Per caliper work order: castings required and reserved."""
    cast = shop.scene.catalog.casting
    with db.session() as s:
        out = {}
        for wo in (shop.first, shop.second):
            req = s.scalar(select(MaterialRequirement.quantity).where(
                MaterialRequirement.work_order_id == wo, MaterialRequirement.material_id == cast))
            held = s.scalar(select(func.coalesce(func.sum(Reservation.quantity), 0)).where(
                Reservation.demand_id == wo, Reservation.material_id == cast,
                Reservation.status == ReservationStatus.ACTIVE))
            out[wo] = (Decimal(req).normalize(), Decimal(held).normalize())
        return out


def start_first_operation(db: Database, plant: MiniPlant, work_order: int) -> None:
    add_user(db, "ann", "operator", plant.area)
    with db.session() as s:
        op = s.get(WorkOrder, work_order).operations[0].id
    with acting_as(actor(db, "ann")), db.uow() as uow:
        orders.start_operation(uow, work_order, op)
        uow.commit()


def event_count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(EventRecord))


def test_a_bom_revision_in_effect_today_reaches_unstarted_work_with_its_components_and_material(
        db: Database, shop: Shop) -> None:
    assert children(db, shop.first) == [("PST-01", Decimal(8), "released"), ("SPR-01", Decimal(16), "released")]
    # 5 castings in stock: the first order holds 4, the second the last one and is short of one.
    assert casting_needs(db, shop) == {shop.first: (Decimal(4), Decimal(4)), shop.second: (Decimal(2), Decimal(1))}
    end_revisions_a(db, shop, TODAY)
    cause = release_bom_b(db, shop)

    assert revision_of(db, shop.first) == ("B", "A") and revision_of(db, shop.second) == ("B", "A")
    # Pistons follow (4 × 3), springs are no longer needed, brackets are made for the first time.
    assert children(db, shop.first) == [("BRK-01", Decimal(4), "released"), ("PST-01", Decimal(12), "released"),
                                        ("SPR-01", Decimal(16), "cancelled")]
    assert children(db, shop.second) == [("BRK-01", Decimal(2), "released"), ("PST-01", Decimal(6), "released"),
                                         ("SPR-01", Decimal(8), "cancelled")]
    # Two castings per caliper now: the first order keeps its 4 and is short of 4, the second of 3.
    assert casting_needs(db, shop) == {shop.first: (Decimal(8), Decimal(4)), shop.second: (Decimal(4), Decimal(1))}
    with db.session() as s:
        short = dict(s.execute(select(Shortage.work_order_id, Shortage.quantity).where(
            Shortage.status == ShortageStatus.OPEN, Shortage.material_id == shop.scene.catalog.casting)).all())
        assert {k: v.normalize() for k, v in short.items()} == {shop.first: Decimal(4), shop.second: Decimal(3)}
        bracket = s.scalar(select(WorkOrder).where(WorkOrder.parent_id == shop.first,
                                                   WorkOrder.material_id == shop.bracket))
        # The new component work order is planned on the schedule like any released one.
        assert s.scalar(select(func.count()).select_from(ScheduledOperation).where(
            ScheduledOperation.work_order_id == bracket.id)) == 1
        assert bracket.due_date == date(2026, 12, 9) and bracket.sales_order_line_id is not None
    # Every change leads back to the release of the revision.
    chain = caused_by(db, cause)
    assert chain.count("WorkOrderRevised") == 2
    assert chain.count("ProductionReleased") == 2 and chain.count("WorkOrderCancelled") == 2
    assert chain.count("WorkOrderChanged") == 2
    assert {"ShortageRaised", "ScheduleRebuildRequested", "ScheduleRebuilt"} <= set(chain)

    with db.uow() as uow:  # a second run (as the daily turn would) finds nothing to do
        before = event_count(db)
        done = orders.apply_effective_revisions(uow)
        uow.commit()
    assert (done.revised, done.held) == ([], []) and event_count(db) == before


def test_started_work_keeps_its_revision_and_the_planner_is_asked_once(db: Database, plant: MiniPlant,
                                                                          shop: Shop) -> None:
    start_first_operation(db, plant, shop.second)
    end_revisions_a(db, shop, TODAY)
    cause = release_bom_b(db, shop)
    assert revision_of(db, shop.first) == ("B", "A")
    assert revision_of(db, shop.second) == ("A", "A")
    assert children(db, shop.second) == [("PST-01", Decimal(4), "released"), ("SPR-01", Decimal(8), "released")]
    with db.session() as s:
        wo = s.get(WorkOrder, shop.second)
        assert (wo.review_reason, wo.review_note) == (ReviewReason.BOM_REVISED, "CAL-01: A → B")
        assert wo.status == WorkOrderStatus.IN_PROGRESS
    assert caused_by(db, cause).count("WorkOrderNeedsReview") == 1

    add_user(db, "boss", "manager", plant.site)
    with make_client(db) as boss:
        sign_in(boss, "boss")
        assert boss.get("/lang/en").status_code == 200
        page = boss.get(f"/orders/work-orders/{shop.second}").text
        assert 'id="review-flag"' in page and "New BOM revision in effect" in page and "CAL-01: A → B" in page
        version = boss.get(f"/api/v1/work-orders/{shop.second}").json()["version"]
        assert boss.post(f"/api/v1/work-orders/{shop.second}/reviewed", json={"version": version}).status_code == 200
    # The planner kept revision A: the next days do not ask again, nor change anything.
    before = event_count(db)
    for day in (TODAY, date(2026, 11, 24)):
        with db.uow() as uow:
            done = orders.apply_revisions_taking_effect(uow, on=day)
            uow.commit()
        assert (done.revised, done.held) == ([], [])
    assert event_count(db) == before
    with db.session() as s:
        assert s.get(WorkOrder, shop.second).review_reason is None


def test_a_routing_revision_replaces_the_operations_of_unstarted_work(db: Database, plant: MiniPlant,
                                                                       shop: Shop, client: TestClient) -> None:
    start_first_operation(db, plant, shop.second)
    with db.session() as s:
        old_ops = [op.id for op in s.get(WorkOrder, shop.first).operations]
        assert s.get(WorkOrder, shop.first).production_line_id == plant.line1
    end_revisions_a(db, shop, TODAY)
    cause = release_routing_c(db, shop)
    assert revision_of(db, shop.first) == ("A", "C")
    with db.session() as s:
        wo = s.get(WorkOrder, shop.first)
        # 4 calipers: setup + 4 × run.
        assert [(op.seq, op.name, op.planned_minutes.normalize(), op.status.value) for op in wo.operations] == [
            (10, "车削", Decimal(28), "pending"), (20, "装配", Decimal(14), "pending"),
            (30, "检验", Decimal(2), "pending")]
        # Its line came from the routing's first work center: it moves with it.
        assert wo.production_line_id == plant.line2
        scheduled = set(s.scalars(select(ScheduledOperation.operation_id).where(
            ScheduledOperation.work_order_id == wo.id)))
        assert scheduled == {op.id for op in wo.operations} and not scheduled & set(old_ops)
        started = s.get(WorkOrder, shop.second)
        assert started.review_reason == ReviewReason.ROUTING_REVISED and started.review_note == "CAL-01: A → C"
        assert [op.name for op in started.operations] == ["精车", "装配"]
    chain = caused_by(db, cause)
    assert chain.count("WorkOrderRevised") == 1 and chain.count("WorkOrderNeedsReview") == 1
    assert "ScheduleRebuilt" in chain
    # The work order page says which revisions it follows, in both languages.
    assert client.get("/lang/en").status_code == 200
    page = client.get(f"/orders/work-orders/{shop.first}").text
    assert "revision C" in page and "revision A" in page
    assert client.get("/lang/zh_CN").status_code == 200
    assert "版本 C" in client.get(f"/orders/work-orders/{shop.first}").text


def test_a_revision_released_for_a_later_day_waits_for_that_day(db: Database, plant: MiniPlant,
                                                                  shop: Shop) -> None:
    end_revisions_a(db, shop, date(2026, 12, 1))
    release_bom_b(db, shop, effective_from=date(2026, 12, 1))
    release_routing_c(db, shop, effective_from=date(2026, 12, 1))
    assert revision_of(db, shop.first) == ("A", "A") and revision_of(db, shop.second) == ("A", "A")
    assert children(db, shop.first) == [("PST-01", Decimal(8), "released"), ("SPR-01", Decimal(16), "released")]
    with db.session() as s:
        assert s.scalar(select(func.count()).where(EventRecord.type.in_(
            ["WorkOrderRevised", "WorkOrderNeedsReview"]))) == 0
    # Work released now for a due date after the change is made with the coming revisions and keeps them today.
    order = make_order(db, plant, shop.customer, "SO-3", [(shop.scene.catalog.caliper, "1", "2026-12-09")])
    with db.uow() as uow:
        line = orders.get_sales_order(uow.session, order).lines[0]
        third = orders.release_sales_order_line(uow, order, line.id)[0].id
        uow.commit()
    assert revision_of(db, third) == ("B", "C")
    with db.session() as s:
        assert orders.work_orders_due(s) == []
        assert [wo.id for wo in orders.work_orders_due(s, on=date(2026, 12, 1))] == [shop.first, shop.second]

    with db.uow() as uow:  # the day comes (the daily turn, or `synfab revisions apply --on 2026-12-01`)
        done = orders.apply_revisions_taking_effect(uow, on=date(2026, 12, 1))
        uow.commit()
        cause = next(e.id for e in uow.published if e.type_name == "RevisionsTookEffect")
    assert len(done.revised) == 2 and done.held == []
    assert revision_of(db, shop.first) == ("B", "C") and revision_of(db, third) == ("B", "C")
    assert children(db, shop.first) == [("BRK-01", Decimal(4), "released"), ("PST-01", Decimal(12), "released"),
                                        ("SPR-01", Decimal(16), "cancelled")]
    chain = caused_by(db, cause)
    assert chain.count("WorkOrderRevised") == 2 and "ScheduleRebuilt" in chain
    with db.uow() as uow:
        again = orders.apply_revisions_taking_effect(uow, on=date(2026, 12, 1))
        uow.commit()
        assert (again.revised, again.held, uow.published) == ([], [], [])


def test_a_component_that_cannot_be_released_leaves_the_work_order_to_the_planner(db: Database,
                                                                                    shop: Shop) -> None:
    with db.uow() as uow:  # brackets lose their routing: no work order for them can be released
        uow.session.execute(update(Routing).where(Routing.material_id == shop.bracket)
                            .values(status=DocumentStatus.DRAFT))
        uow.commit()
    end_revisions_a(db, shop, TODAY)
    release_bom_b(db, shop)
    assert revision_of(db, shop.first) == ("A", "A")
    assert children(db, shop.first) == [("PST-01", Decimal(8), "released"), ("SPR-01", Decimal(16), "released")]
    with db.session() as s:
        wo = s.get(WorkOrder, shop.first)
        assert (wo.review_reason, wo.review_note) == (ReviewReason.BOM_REVISED, "CAL-01: A → B (no_routing)")
    with db.session() as s:  # asked once; nothing more until the catalog is fixed
        assert orders.work_orders_due(s) == []
    with db.uow() as uow:
        uow.session.execute(update(Routing).where(Routing.material_id == shop.bracket)
                            .values(status=DocumentStatus.RELEASED))
        uow.commit()
    with db.uow() as uow:
        done = orders.apply_revisions_taking_effect(uow)
        uow.commit()
    assert len(done.revised) == 2 and revision_of(db, shop.first) == ("B", "A")
    assert children(db, shop.first) == [("BRK-01", Decimal(4), "released"), ("PST-01", Decimal(12), "released"),
                                        ("SPR-01", Decimal(16), "cancelled")]


def test_the_planner_is_told_live_that_a_work_order_follows_a_new_revision(db: Database, shop: Shop,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    end_revisions_a(db, shop, TODAY)
    cause = release_bom_b(db, shop)
    told: list[LiveMessage] = []
    monkeypatch.setattr(db.live, "publish", told.append)
    with db.session() as s:
        row = s.scalar(select(EventRecord).where(EventRecord.type == "WorkOrderRevised",
                                                 EventRecord.payload["work_order_id"].as_integer() == shop.first))
        event = Event.restore(row.type, row.payload, id=row.id, occurred_at=row.occurred_at,
                              causation_id=row.causation_id, correlation_id=row.correlation_id)
        code = s.get(WorkOrder, shop.first).code
    tell_live(db, event)
    (message,) = told
    assert message.roles == PLANNERS and message.causation_id == cause
    assert message.link == f"/orders/work-orders/{shop.first}"
    assert message.text.in_locale("en") == f"Work order {code} now follows BOM revision B."
    assert message.text.in_locale("zh_CN") == f"工单 {code} 现按 BOM 版本 B 执行。"


def test_the_server_applies_revisions_when_the_day_changes(db: Database, shop: Shop) -> None:
    end_revisions_a(db, shop, date(2026, 12, 1))
    release_bom_b(db, shop, effective_from=date(2026, 12, 1))
    apply_revisions_when_the_day_changes(db)  # the first turn after start looks, and finds nothing to do yet
    assert revision_of(db, shop.first) == ("A", "A")
    # 1 December, 00:30 in Shanghai (still 30 November in UTC): the site's day has changed.
    clock.set_clock(lambda: datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    apply_revisions_when_the_day_changes(db)
    assert revision_of(db, shop.first) == ("B", "A") and revision_of(db, shop.second) == ("B", "A")
    before = event_count(db)
    apply_revisions_when_the_day_changes(db)  # the same day: nothing is even looked at again
    assert event_count(db) == before


def test_synfab_revisions_apply_for_cron(tmp_path: Path) -> None:
    db_file = tmp_path / "revisions.db"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade", "--db", str(db_file)]).exit_code == 0
    database = build_database(url=sqlite_url(db_file))
    try:
        with acting_as(SYSTEM):
            shop = build_shop(database, build_mini_plant(database))
            end_revisions_a(database, shop, date(2026, 12, 1))
            release_bom_b(database, shop, effective_from=date(2026, 12, 1))
        bad = runner.invoke(cli_app, ["revisions", "apply", "--db", str(db_file), "--on", "1 December"])
        assert bad.exit_code == 2 and "not a date" in bad.output
        assert revision_of(database, shop.first) == ("A", "A")
        ok = runner.invoke(cli_app, ["revisions", "apply", "--db", str(db_file), "--on", "2026-12-01"])
        assert ok.exit_code == 0, ok.output
        assert "2 work orders took the revisions in effect" in ok.output and "0 work orders left" in ok.output
        assert revision_of(database, shop.first) == ("B", "A")
    finally:
        database.engine.dispose()
