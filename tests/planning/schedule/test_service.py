"""The schedule follows released work by itself: release, due date and priority changes, cancellation and
breakdowns move the planned times, flag work orders at risk and back, and write only what changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from synfab.core import clock
from synfab.core.db import Database
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.models import EventRecord
from synfab.orders import service as orders
from synfab.orders.choices import OperationStatus
from synfab.orders.models import SalesOrder, WorkOrder
from synfab.orders.schemas import WorkOrderUpdate
from synfab.planning.schedule import service
from synfab.planning.schedule.models import ScheduledOperation, ScheduleRun, WorkOrderProjection
from tests.conftest import MiniPlant
from tests.orders.conftest import Catalog, Customers, make_order

SH = ZoneInfo("Asia/Shanghai")
MONDAY_8 = datetime(2026, 11, 23, 8, 0, tzinfo=SH)  # the day shift starts


@pytest.fixture(autouse=True)
def _monday_morning() -> None:
    clock.set_clock(lambda: MONDAY_8.astimezone(UTC))


def release(db: Database, plant: MiniPlant, customers: Customers, catalog: Catalog, code: str, qty: str,
            due: str) -> dict[str, int]:
    """Release a caliper order; returns the work order ids by material code (caliper and its piston child)."""
    order_id = make_order(db, plant, customers.acme, code, [(catalog.caliper, qty, due)])
    with db.uow() as uow:
        line = uow.session.get(SalesOrder, order_id).lines[0]
        made = orders.release_sales_order_line(uow, order_id, line.id)
        uow.commit()
        return {wo.material.code: wo.id for wo in made}


def planned(db: Database, work_order_id: int) -> list[tuple[int, str, str]]:
    """(seq, start, end) in Shanghai time, "Mon 08:20"."""
    with db.session() as s:
        found = service.schedule_for_work_order(s, work_order_id)
    return [(op.seq, op.planned_start.astimezone(SH).strftime("%a %H:%M"),
             op.planned_end.astimezone(SH).strftime("%a %H:%M")) for op in found.operations]


def events(db: Database, type_name: str) -> list[dict]:
    with db.session() as s:
        return [e.payload for e in s.scalars(select(EventRecord).where(EventRecord.type == type_name)
                                             .order_by(EventRecord.occurred_at))]


def test_release_plans_children_first_and_the_earlier_due_date_first(
        db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    late = release(db, plant, customers, catalog, "SO-LATE", "10", "2026-11-30")
    # Alone: 20 pistons on WC2 (10 + 20 × 0.5 min), then the calipers on WC1 (30 + 25) and WC2 (15 + 12.5).
    assert planned(db, late["PST-01"]) == [(10, "Mon 08:00", "Mon 08:20")]
    assert planned(db, late["CAL-01"]) == [(10, "Mon 08:20", "Mon 09:15"), (20, "Mon 09:15", "Mon 09:42")]
    early = release(db, plant, customers, catalog, "SO-EARLY", "10", "2026-11-25")
    # The earlier due date goes first; the later order's pistons fill WC2 while WC1 turns the first calipers.
    assert planned(db, early["PST-01"]) == [(10, "Mon 08:00", "Mon 08:20")]
    assert planned(db, early["CAL-01"]) == [(10, "Mon 08:20", "Mon 09:15"), (20, "Mon 09:15", "Mon 09:42")]
    assert planned(db, late["PST-01"]) == [(10, "Mon 08:20", "Mon 08:40")]
    assert planned(db, late["CAL-01"]) == [(10, "Mon 09:15", "Mon 10:10"), (20, "Mon 10:10", "Mon 10:37")]
    with db.session() as s:
        wc1 = service.dispatch_list(s, plant.wc1)
        assert [(line.work_order_id, line.sequence, line.name) for line in wc1] == [
            (early["CAL-01"], 1, "精车"), (late["CAL-01"], 2, "精车")]
        assert wc1[0].material_code == "CAL-01" and wc1[0].quantity == 10 and wc1[0].work_order_code
        projection = service.schedule_for_work_order(s, late["CAL-01"])
        assert projection.at_risk is False and projection.projected_end == datetime(2026, 11, 23, 10, 37, 30,
                                                                                       tzinfo=SH)
        assert projection.due_at == datetime(2026, 12, 1, tzinfo=SH)
        assert s.scalar(select(func.count()).select_from(ScheduledOperation)) == 6
    rebuilt = events(db, "ScheduleRebuilt")
    assert rebuilt[-1]["trigger"] == "ProductionReleased"
    assert set(rebuilt[-1]["changed_work_order_ids"]) >= {early["CAL-01"], early["PST-01"], late["CAL-01"]}


def test_a_priority_change_moves_the_order_ahead_and_only_changed_rows_are_written(
        db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    late = release(db, plant, customers, catalog, "SO-LATE", "10", "2026-11-30")
    early = release(db, plant, customers, catalog, "SO-EARLY", "10", "2026-11-25")
    with db.uow() as uow:
        wo = uow.session.get(WorkOrder, late["CAL-01"])
        orders.change_work_order(uow, wo.id, WorkOrderUpdate(version=wo.version, priority="1"))
        uow.commit()
    # Urgent now: the later order and its pistons (which inherit the urgency) go first.
    assert planned(db, late["PST-01"]) == [(10, "Mon 08:00", "Mon 08:20")]
    assert planned(db, late["CAL-01"]) == [(10, "Mon 08:20", "Mon 09:15"), (20, "Mon 09:15", "Mon 09:42")]
    assert planned(db, early["CAL-01"]) == [(10, "Mon 09:15", "Mon 10:10"), (20, "Mon 10:10", "Mon 10:37")]
    with db.session() as s:
        run = s.scalar(select(ScheduleRun).order_by(ScheduleRun.id.desc()).limit(1))
        assert run.trigger == "WorkOrderChanged" and run.operations == 6 and run.changed_operations == 6
    # A change that moves nothing writes nothing.
    with db.uow() as uow:
        wo = uow.session.get(WorkOrder, early["CAL-01"])
        orders.change_work_order(uow, wo.id, WorkOrderUpdate(version=wo.version, due_date=date(2026, 11, 26)))
        uow.commit()
    with db.session() as s:
        run = s.scalar(select(ScheduleRun).order_by(ScheduleRun.id.desc()).limit(1))
        assert run.changed_operations == 0


def test_a_due_date_change_moves_the_order_and_flags_it(
        db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    first = release(db, plant, customers, catalog, "SO-A", "200", "2026-11-30")
    second = release(db, plant, customers, catalog, "SO-B", "200", "2026-12-10")
    with db.uow() as uow:
        wo = uow.session.get(WorkOrder, second["CAL-01"])
        # 200 calipers take 530 min on WC1: due the same day, the second is late whatever happens.
        orders.change_work_order(uow, wo.id, WorkOrderUpdate(version=wo.version, due_date=date(2026, 11, 23)))
        uow.commit()
    with db.session() as s:
        assert service.schedule_for_work_order(s, second["CAL-01"]).operations[0].planned_start == MONDAY_8 + \
            timedelta(minutes=210)  # after its own 400 pistons (10 + 400 × 0.5 min)
        at_risk = service.at_risk_work_orders(s)
        assert [w.work_order_id for w in at_risk] == [second["CAL-01"]]
        assert at_risk[0].lateness_minutes > 0
    flagged = events(db, "WorkOrderAtRisk")
    assert [e["work_order_id"] for e in flagged] == [second["CAL-01"]]
    assert planned(db, first["CAL-01"])[0][1] != "Mon 08:00"


def test_cancelling_frees_the_capacity(db: Database, plant: MiniPlant, catalog: Catalog,
                                       customers: Customers) -> None:
    late = release(db, plant, customers, catalog, "SO-LATE", "10", "2026-11-30")
    early = release(db, plant, customers, catalog, "SO-EARLY", "10", "2026-11-25")
    with db.uow() as uow:
        orders.cancel_work_order(uow, early["CAL-01"])
        uow.commit()
    with db.session() as s:
        gone = service.schedule_for_work_order(s, early["CAL-01"])
        assert gone.operations == [] and gone.scheduled is False
        assert s.scalar(select(WorkOrderProjection).where(WorkOrderProjection.work_order_id == early["CAL-01"])) \
            is None
    # The early order's pistons stay (cancelled on their own) and keep WC2 08:00–08:20.
    assert planned(db, late["CAL-01"]) == [(10, "Mon 08:40", "Mon 09:35"), (20, "Mon 09:35", "Mon 10:02")]


def test_breakdown_moves_the_work_flags_late_orders_and_ending_it_brings_them_back(
        db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    made = release(db, plant, customers, catalog, "SO-A", "10", "2026-11-24")
    with db.uow() as uow:
        outage = service.report_breakdown(uow, plant.wc1, "主轴故障", 3 * 24 * 60)
        uow.commit()
    # WC1 down until Thursday 08:00: the calipers wait; due Tuesday, the order is now late.
    assert planned(db, made["CAL-01"]) == [(10, "Thu 08:00", "Thu 08:55"), (20, "Thu 08:55", "Thu 09:22")]
    reported = events(db, "BreakdownReported")
    assert reported[0]["work_center_id"] == plant.wc1 and made["CAL-01"] in reported[0]["affected_work_order_ids"]
    assert [e["work_order_id"] for e in events(db, "WorkOrderAtRisk")] == [made["CAL-01"]]
    with db.session() as s:
        assert [o.id for o in service.open_breakdowns(s)] == [outage.id]
    with pytest.raises(Conflict):
        with db.uow() as uow:
            service.report_breakdown(uow, plant.wc1, "again", 10)
    clock.set_clock(lambda: (MONDAY_8 + timedelta(hours=1)).astimezone(UTC))
    with db.uow() as uow:
        service.end_breakdown(uow, outage.id)
        uow.commit()
    # Scheduled from 09:00 now: the pistons (not started) first, then the calipers.
    assert planned(db, made["CAL-01"]) == [(10, "Mon 09:20", "Mon 10:15"), (20, "Mon 10:15", "Mon 10:42")]
    assert [e["work_order_id"] for e in events(db, "WorkOrderBackOnTrack")] == [made["CAL-01"]]
    with pytest.raises(Conflict):
        with db.uow() as uow:
            service.end_breakdown(uow, outage.id)


def test_bad_breakdowns_are_refused_and_nothing_is_written(db: Database, plant: MiniPlant) -> None:
    for node, reason, minutes, error in ((plant.line1, "x", 10, Invalid), (plant.wc1, " ", 10, Invalid),
                                         (plant.wc1, "x", 0, Invalid), (999_999, "x", 10, NotFound)):
        with pytest.raises(error):
            with db.uow() as uow:
                service.report_breakdown(uow, node, reason, minutes)
    with db.session() as s:
        assert service.open_breakdowns(s) == []


def test_started_work_holds_its_place(db: Database, plant: MiniPlant, catalog: Catalog,
                                      customers: Customers) -> None:
    made = release(db, plant, customers, catalog, "SO-A", "10", "2026-11-30")
    with db.uow() as uow:  # as the terminal leaves it (starting needs a qualified person: tested with orders)
        op = uow.session.get(WorkOrder, made["PST-01"]).operations[0]
        op.status, op.actual_start = OperationStatus.RUNNING, clock.now()
        uow.commit()
    clock.set_clock(lambda: (MONDAY_8 + timedelta(minutes=5)).astimezone(UTC))
    with db.uow() as uow:
        service.rebuild_schedule(uow)
        uow.commit()
    # Started at 08:00, 20 min to go from 08:05 (nothing reported yet).
    assert planned(db, made["PST-01"]) == [(10, "Mon 08:00", "Mon 08:25")]
    assert planned(db, made["CAL-01"])[0][1] == "Mon 08:25"



def test_the_schedule_kept_after_changes_equals_a_full_rebuild(
        db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    # 20 work orders: more than the engine's snapshot stride, so changes late in the dispatch order re-place only
    # the work after them.
    made = [release(db, plant, customers, catalog, f"SO-{i}", str(5 + 3 * i), (date(2026, 11, 24) + timedelta(days=i)).isoformat()) for i in range(10)]
    changes = [(made[9]["CAL-01"], {"quantity": 40}), (made[8]["PST-01"], {"quantity": 2}),
               (made[2]["CAL-01"], {"priority": "1"}), (made[0]["CAL-01"], {"due_date": date(2026, 12, 20)}),
               (made[3]["PST-01"], {"quantity": 90}), (made[1]["CAL-01"], {"priority": "4"}),
               (made[9]["CAL-01"], {"due_date": date(2026, 11, 24)})]
    for wo_id, fields in changes:
        at = clock.now() + timedelta(minutes=1)  # within the anchor's time
        clock.set_clock(lambda at=at: at)
        with db.uow() as uow:
            wo = uow.session.get(WorkOrder, wo_id)
            orders.change_work_order(uow, wo_id, WorkOrderUpdate(version=wo.version, **fields))
            uow.commit()
    with db.uow() as uow:
        orders.cancel_work_order(uow, made[1]["CAL-01"])
        uow.commit()
    with db.session() as s:
        run = s.scalar(select(ScheduleRun).order_by(ScheduleRun.id.desc()).limit(1))
        assert run.full is False and run.anchor == MONDAY_8  # planned from the first anchor all along
        expected = service.compute_schedule(s, run.anchor)
        stored = {r.operation_id: (r.sequence, r.planned_start, r.planned_end)
                  for r in s.scalars(select(ScheduledOperation))}
        assert stored == {p.operation_id: (p.sequence, datetime.fromtimestamp(p.start, UTC),
                                           datetime.fromtimestamp(p.end, UTC))
                          for p in expected.operations.values()}
        projections = {p.work_order_id: p.at_risk for p in s.scalars(select(WorkOrderProjection))}
        assert projections == {wo_id: p.at_risk for wo_id, p in expected.work_orders.items()}


def test_several_changes_in_one_transaction_rebuild_once(
        db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    a = release(db, plant, customers, catalog, "SO-A", "10", "2026-11-30")
    b = release(db, plant, customers, catalog, "SO-B", "10", "2026-11-25")
    with db.session() as s:
        runs = s.scalar(select(func.count()).select_from(ScheduleRun))
    with db.uow() as uow:
        for wo_id in (a["CAL-01"], a["PST-01"]):
            wo = uow.session.get(WorkOrder, wo_id)
            orders.change_work_order(uow, wo_id, WorkOrderUpdate(version=wo.version, priority="1"))
        orders.cancel_work_order(uow, b["CAL-01"])
        uow.commit()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ScheduleRun)) == runs + 1
        run = s.scalar(select(ScheduleRun).order_by(ScheduleRun.id.desc()).limit(1))
        assert run.trigger == "WorkOrderChanged"
    assert planned(db, a["PST-01"]) == [(10, "Mon 08:00", "Mon 08:20")]
    assert planned(db, a["CAL-01"]) == [(10, "Mon 08:20", "Mon 09:15"), (20, "Mon 09:15", "Mon 09:42")]
    requested = [e["trigger"] for e in events(db, "ScheduleRebuildRequested")]
    assert requested[-3:] == ["ProductionReleased", "ProductionReleased", "WorkOrderChanged"]  # one per transaction
