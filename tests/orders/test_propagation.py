"""Order changes reach the work orders by themselves, with the chain of causes kept: quantity up and down, due
date, priority, cancellation, a line added — and work already started is never silently changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import re

import pytest
from starlette.testclient import TestClient
from sqlalchemy import select

from synfab.core.context import acting_as
from synfab.core.db import Database
from synfab.core.models import EventRecord
from synfab.orders import service as orders
from synfab.orders.choices import Priority, ReviewReason, WorkOrderStatus
from synfab.orders.models import WorkOrder
from synfab.orders.schemas import SalesOrderLineCreate, SalesOrderLineUpdate
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.orders.conftest import Catalog, build_catalog, build_customers, make_order
from tests.people.skills.conftest import actor


@pytest.fixture
def released(db: Database, plant: MiniPlant) -> tuple[Catalog, int, int]:
    """An order of 4 calipers, released: the caliper work order and, under it, 8 pistons."""
    catalog = build_catalog(db, plant)
    order = make_order(db, plant, build_customers(db).acme, "SO-P1", [(catalog.caliper, "4", "2026-12-09")])
    with db.uow() as uow:
        line = orders.get_sales_order(uow.session, order).lines[0]
        orders.release_sales_order_line(uow, order, line.id)
        uow.commit()
        return catalog, order, line.id


def tree(db: Database) -> list[tuple[str, str, Decimal, date, str, str | None]]:
    with db.session() as s:
        return [(wo.material.code, wo.status.value, wo.quantity.normalize(), wo.due_date, wo.priority.value,
                 wo.review_reason.value if wo.review_reason else None)
                for wo in s.scalars(select(WorkOrder).order_by(WorkOrder.id))]


def change_line(db: Database, order: int, line: int, **changes: object) -> str:
    with db.uow() as uow:
        current = orders.get_sales_order_line(uow.session, order, line)
        orders.change_sales_order_line(uow, order, line, SalesOrderLineUpdate(version=current.version, **changes))
        uow.commit()
        return next(e.id for e in uow.published if e.type_name == "SalesOrderLineChanged")


def caused_by(db: Database, event_id: str) -> list[str]:
    """The events recorded because of one event, all generations, in order."""
    with db.session() as s:
        found, frontier = [], [event_id]
        while frontier:
            rows = list(s.scalars(select(EventRecord).where(EventRecord.causation_id.in_(frontier))
                                  .order_by(EventRecord.occurred_at, EventRecord.id)))
            found += [r.type for r in rows]
            frontier = [r.id for r in rows]
        return found


def test_quantity_due_date_and_priority_follow_the_line_down_the_tree(db: Database, released: tuple,
                                                                       client: TestClient) -> None:
    _, order, line = released
    up = change_line(db, order, line, quantity=Decimal(6))
    assert client.get("/lang/en").status_code == 200
    history = client.get(f"/orders/sales-orders/{order}").text.split('id="order-timeline"', 1)[1]
    # The line change first, then what it caused, indented under it: both work orders and the schedule.
    caused = re.findall(r'<li class="caused">.*?<br>↳ (.*?)</li>', history, re.S)
    assert history.index("Line 1 changed") < history.index('class="caused"')
    assert sum("changed: quantity 4 → 6" in c or "changed: quantity 8 → 12" in c for c in caused) == 2, caused
    assert any(c.startswith("Schedule re-planned") for c in caused), caused
    assert tree(db) == [("CAL-01", "released", Decimal(6), date(2026, 12, 9), "3", None),
                        ("PST-01", "released", Decimal(12), date(2026, 12, 9), "3", None)]
    assert caused_by(db, up).count("WorkOrderChanged") == 2
    # Both work orders' materials are netted again once, after both changed.
    assert caused_by(db, up).count("MaterialsReplanRequested") == 1
    change_line(db, order, line, quantity=Decimal(3), due_date=date(2026, 12, 4), priority=Priority.URGENT)
    assert tree(db) == [("CAL-01", "released", Decimal(3), date(2026, 12, 4), "1", None),
                        ("PST-01", "released", Decimal(6), date(2026, 12, 4), "1", None)]
    with db.session() as s:  # the changed work orders carry the line change as their cause
        changed = s.scalars(select(EventRecord).where(EventRecord.type == "WorkOrderChanged")
                            .order_by(EventRecord.id.desc()).limit(2)).all()
        line_changes = {r.id for r in s.scalars(select(EventRecord).where(
            EventRecord.type == "SalesOrderLineChanged"))}
        assert {r.causation_id for r in changed} <= line_changes


def test_started_work_keeps_its_quantity_and_waits_for_the_planner(db: Database, plant: MiniPlant,
                                                                    released: tuple) -> None:
    _, order, line = released
    add_user(db, "ann", "operator", plant.area)
    with db.session() as s:
        piston = s.scalar(select(WorkOrder).where(WorkOrder.parent_id.is_not(None)))
        piston_id, op = piston.id, piston.operations[0].id
    with acting_as(actor(db, "ann")), db.uow() as uow:
        orders.start_operation(uow, piston_id, op)
        uow.commit()
    cause = change_line(db, order, line, quantity=Decimal(5), due_date=date(2026, 12, 11))
    assert tree(db) == [("CAL-01", "released", Decimal(5), date(2026, 12, 11), "3", None),
                        ("PST-01", "in_progress", Decimal(8), date(2026, 12, 11), "3", "quantity_changed")]
    assert "WorkOrderNeedsReview" in caused_by(db, cause)
    add_user(db, "boss", "manager", plant.site)
    with make_client(db) as boss:
        sign_in(boss, "boss")
        page = boss.get(f"/orders/work-orders/{piston_id}")
        assert 'id="review-flag"' in page.text and "SO-P1/1: 4 → 5" in page.text
        version = boss.get(f"/api/v1/work-orders/{piston_id}").json()["version"]
        cleared = boss.post(f"/api/v1/work-orders/{piston_id}/reviewed", json={"version": version})
        assert cleared.status_code == 200 and cleared.json()["review_reason"] is None
        again = boss.post(f"/api/v1/work-orders/{piston_id}/reviewed", json={})
        assert again.status_code == 422 and again.json()["error"]["code"] == "work_order_not_flagged"
    with db.uow() as uow:  # cancelling the line: the caliper goes, the started pistons wait for a decision
        current = orders.get_sales_order_line(uow.session, order, line)
        orders.cancel_sales_order_line(uow, order, line, current.version)
        uow.commit()
    states = [(code, status, reason) for code, status, _, _, _, reason in tree(db)]
    assert states == [("CAL-01", "cancelled", None), ("PST-01", "in_progress", ReviewReason.CANCELLED.value)]


def test_a_cancelled_line_cancels_its_work_orders_components_first(db: Database, released: tuple) -> None:
    _, order, line = released
    with db.uow() as uow:
        orders.cancel_sales_order_line(uow, order, line)
        uow.commit()
        cause = next(e.id for e in uow.published if e.type_name == "SalesOrderLineCancelled")
    assert [(c, s) for c, s, *_ in tree(db)] == [("CAL-01", "cancelled"), ("PST-01", "cancelled")]
    assert caused_by(db, cause)[:2] == ["WorkOrderCancelled", "WorkOrderCancelled"]
    with db.session() as s:
        first = s.scalar(select(EventRecord).where(EventRecord.type == "WorkOrderCancelled")
                         .order_by(EventRecord.id).limit(1))
        assert first.payload["code"].startswith("WO-") and s.get(WorkOrder, first.payload["work_order_id"]).parent_id


def test_a_line_added_to_an_order_in_production_is_released(db: Database, released: tuple) -> None:
    catalog, order, _ = released
    with db.uow() as uow:
        added = orders.add_sales_order_line(uow, order, SalesOrderLineCreate(
            material_id=catalog.caliper, quantity=Decimal(2), due_date=date(2026, 12, 20)))
        uow.commit()
        added_id = added.id
    with db.session() as s:
        made = s.scalars(select(WorkOrder).where(WorkOrder.sales_order_line_id == added_id)).all()
        assert sorted((wo.material.code, wo.quantity.normalize(), wo.status) for wo in made) == [
            ("CAL-01", Decimal(2), WorkOrderStatus.RELEASED), ("PST-01", Decimal(4), WorkOrderStatus.RELEASED)]


def test_a_component_on_two_bom_lines_shares_the_new_need_between_its_work_orders() -> None:
    """Release makes one component work order per BOM line; a change shares the component's new need between
    them in proportion (the last takes the rounding), and one no longer needed gets none (cancelled by the
    caller)."""
    from synfab.orders.service.propagation import share_needs

    first = WorkOrder(id=1, material_id=5, quantity=Decimal(8))
    second = WorkOrder(id=2, material_id=5, quantity=Decimal(4))
    gone = WorkOrder(id=3, material_id=6, quantity=Decimal(2))
    needs = {5: Decimal(18), 7: Decimal(1)}
    assert share_needs([first, second, gone], needs) == [(first, Decimal(12)), (second, Decimal(6)), (gone, None)]
    assert needs == {7: Decimal(1)}  # a component without a work order yet: for the caller to release
    thirds = share_needs([WorkOrder(id=4, material_id=5, quantity=Decimal(1)),
                          WorkOrder(id=5, material_id=5, quantity=Decimal(2))], {5: Decimal(1)})
    assert [need for _, need in thirds] == [Decimal("0.333333"), Decimal("0.666667")]
