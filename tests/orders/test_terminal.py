"""The operator terminal's commands through the API: start, pause, resume, report, complete, consume scanned lots,
backflush — and the stock ledger and genealogy following by themselves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from synfab.catalog.models import BomLine
from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.models import Lot, LotLink, StockMove
from synfab.inventory.schemas import MoveIn
from synfab.orders import service as orders
from synfab.orders.choices import OperationStatus, WorkOrderStatus
from synfab.orders.models import WorkOrder
from synfab.plant import service as plant_service
from synfab.plant.choices import Level, StorageRole
from synfab.plant.schemas import NodeCreate
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.orders.conftest import Catalog, build_catalog, build_customers, make_order
from tests.people.skills.conftest import build_skills, give


@dataclass
class Floor:
    catalog: Catalog
    wip1: int
    wip2: int
    fg: int
    caliper_wo: int
    piston_wo: int
    ops: dict[tuple[str, int], int]  # (material code, seq) → operation id


def _key() -> str:
    return uuid.uuid4().hex


def build_floor(db: Database, plant: MiniPlant) -> Floor:
    catalog = build_catalog(db, plant)
    customers = build_customers(db)
    skills = build_skills(db)
    with db.uow() as uow:
        def store(code: str, parent: int, role: StorageRole) -> int:
            return plant_service.create_node(uow, NodeCreate(code=code, name=code, level=Level.STORAGE_ZONE,
                                                             parent_id=parent, storage_role=role)).id
        wip1, wip2 = store("WIP-L1", plant.line1, StorageRole.WIP), store("WIP-L2", plant.line2, StorageRole.WIP)
        fg = store("FG", plant.site, StorageRole.FINISHED_GOODS)
        for code, status_expires in (("CST-A", None), ("CST-OLD", date(2026, 1, 31)), ("CST-HOLD", None)):
            lot = inventory.create_lot(uow, inventory_lot(code, catalog.casting, status_expires))
            inventory.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=catalog.casting, lot_id=lot.id,
                                              to_location_id=plant.store, quantity=Decimal(20))])
            if code == "CST-HOLD":
                inventory.hold_lot(uow, lot.id, "来料检验不合格")
        uow.commit()
    add_user(db, "ann", "operator", plant.area)
    give(db, "ann", skills.turn, 2)
    give(db, "ann", skills.assy, 1)
    order = make_order(db, plant, customers.acme, "SO-T1", [(catalog.caliper, "4", "2026-12-09")])
    with db.uow() as uow:
        line = orders.get_sales_order(uow.session, order).lines[0]
        made = orders.release_sales_order_line(uow, order, line.id)
        uow.commit()
        ops = {(wo.material.code, op.seq): op.id for wo in made for op in wo.operations}
        return Floor(catalog, wip1, wip2, fg, made[0].id, made[1].id, ops)


def inventory_lot(code: str, material: int, expires: date | None) -> object:
    from synfab.inventory.schemas import LotCreate

    return LotCreate(code=code, material_id=material, received_on=date(2026, 1, 2), expires_on=expires)


@pytest.fixture
def at_work() -> Iterator[None]:
    """The clock moved to the next weekday 09:00 in Shanghai (it keeps running): inside the day shift, so a
    breakdown reported "now" falls before the work it should move, whatever time the tests run at."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from synfab.core import clock

    real = datetime.now(UTC)
    local = real.astimezone(ZoneInfo("Asia/Shanghai"))
    target = local.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while target.isoweekday() > 5:
        target += timedelta(days=1)
    offset = target - real
    clock.set_clock(lambda: datetime.now(UTC) + offset)
    try:
        yield
    finally:
        clock.set_clock(None)


@pytest.fixture
def floor(db: Database, plant: MiniPlant) -> Floor:
    return build_floor(db, plant)


def op_url(wo: int, op: int, action: str) -> str:
    return f"/api/v1/work-orders/{wo}/operations/{op}/{action}"


def error_of(response: object) -> str:
    assert response.status_code in (403, 404, 409, 422), response.text  # type: ignore[attr-defined]
    return response.json()["error"]["code"]  # type: ignore[attr-defined]


def moves_of(db: Database, reference: str) -> list[tuple[str, str, int | None, int | None, Decimal]]:
    with db.session() as s:
        rows = s.execute(select(StockMove.kind, Lot.code, StockMove.from_location_id, StockMove.to_location_id,
                                StockMove.quantity).join(Lot, Lot.id == StockMove.lot_id)
                         .where(StockMove.reference == reference).order_by(StockMove.id)).all()
        return [(k.value, c, f, t, Decimal(q).normalize()) for k, c, f, t, q in rows]


def codes(db: Database, *ids: int) -> list[str]:
    with db.session() as s:
        return [s.get(WorkOrder, i).code for i in ids]


def run_piston(ann: TestClient, floor: Floor) -> dict:
    piston_op = floor.ops[("PST-01", 10)]
    assert ann.post(op_url(floor.piston_wo, piston_op, "start"), json={}).status_code == 200
    done = ann.post(op_url(floor.piston_wo, piston_op, "report"),
                    json={"good": "8", "complete": True, "client_key": _key()})
    assert done.status_code == 200, done.text
    return done.json()


def test_a_work_order_runs_from_start_to_finished_goods_with_its_genealogy(db: Database, plant: MiniPlant,
                                                                            floor: Floor) -> None:
    caliper_code, piston_code = codes(db, floor.caliper_wo, floor.piston_wo)
    with make_client(db) as ann:
        sign_in(ann, "ann")
        piston = run_piston(ann, floor)
        # The component's output went to the line-side WIP of the line its parent runs on, and the child is done.
        assert piston["status"] == "done" and piston["work_order_status"] == "completed"
        piston_lot = piston["lot_code"]
        assert piston_lot == f"{piston_code}-01"
        assert moves_of(db, piston_code) == [("production", piston_lot, None, floor.wip1, Decimal(8))]

        turning, assembly = floor.ops[("CAL-01", 10)], floor.ops[("CAL-01", 20)]
        wo = floor.caliper_wo
        assert ann.post(op_url(wo, turning, "start"), json={"client_key": _key()}).status_code == 200
        # Scanning: the right lots go in, each wrong one is refused with its reason and nothing is written.
        for lot, quantity, code in (("CST-OLD", "1", "lot_expired"), ("CST-HOLD", "1", "lot_on_hold"),
                                    ("CST-A", "21", "not_enough_on_hand"), ("NO-SUCH", "1", "lot_not_found"),
                                    (f"{caliper_code}-01", "1", "lot_not_found")):
            refused = ann.post(op_url(wo, turning, "consume"), json={"lot_code": lot, "quantity": quantity})
            assert error_of(refused) == code, (lot, refused.text)
        assert moves_of(db, caliper_code) == []
        key = _key()
        first = ann.post(op_url(wo, turning, "consume"), json={"lot_code": "CST-A", "quantity": "4",
                                                                "client_key": key})
        assert first.status_code == 200, first.text
        again = ann.post(op_url(wo, turning, "consume"), json={"lot_code": "CST-A", "quantity": "4",
                                                                "client_key": key})
        assert again.json()["replayed"] is True and again.json()["move_ids"] == first.json()["move_ids"]
        assert ann.post(op_url(wo, turning, "consume"),
                        json={"lot_code": piston_lot, "quantity": "8"}).status_code == 200
        # Turning reports and completes: not the last operation, so no stock yet; assembly becomes ready.
        turned = ann.post(op_url(wo, turning, "report"), json={"good": "4", "complete": True}).json()
        assert turned["status"] == "done" and turned["lot_code"] is None
        assert ann.post(op_url(wo, assembly, "start"), json={}).json()["status"] == "running"
        paused = ann.post(op_url(wo, assembly, "pause"), json={"reason": "material_missing"})
        assert paused.json()["status"] == "paused"
        assert error_of(ann.post(op_url(wo, assembly, "pause"), json={"reason": "other"})) == "operation_not_paused"
        assert ann.post(op_url(wo, assembly, "resume"), json={}).json()["status"] == "running"
        assert error_of(ann.post(op_url(wo, assembly, "report"), json={"scrap": "1"})) == "scrap_reason_required"
        assert error_of(ann.post(op_url(wo, assembly, "report"), json={"good": "5"})) == "over_reported"
        last = ann.post(op_url(wo, assembly, "report"), json={"good": "3", "scrap": "1", "scrap_reason": "surface",
                                                              "complete": True})
        assert last.status_code == 200, last.text
        assert (last.json()["status"], last.json()["work_order_status"]) == ("done", "completed")
        output = last.json()["lot_code"]
    assert moves_of(db, caliper_code) == [
        ("consumption", "CST-A", plant.store, None, Decimal(4)),
        ("consumption", piston_lot, floor.wip1, None, Decimal(8)),
        ("production", output, None, floor.fg, Decimal(3)),
    ]
    with db.session() as s:
        out = s.scalar(select(Lot).where(Lot.code == output))
        trace = [(line.level, line.lot_code, line.quantity) for line in inventory.trace_backward(s, out.id)]
        assert sorted(trace) == [(1, "CST-A", Decimal(4)), (1, piston_lot, Decimal(8))]
        assert s.scalar(select(Lot.status).where(Lot.code == piston_lot)).value == "consumed"
        assert s.get(WorkOrder, floor.caliper_wo).status == WorkOrderStatus.COMPLETED
        assert inventory.ledger_balance_mismatches(s) == []
        assert len(list(s.scalars(select(LotLink)))) == 2


def test_backflush_takes_line_side_stock_earliest_expiry_first_or_refuses_the_shortfall(
        db: Database, plant: MiniPlant, floor: Floor) -> None:
    with db.uow() as uow:
        line = uow.session.scalar(select(BomLine).where(BomLine.component_id == floor.catalog.casting))
        line.backflush, line.operation_seq = True, 10
        late = inventory.create_lot(uow, inventory_lot("CST-LATE", floor.catalog.casting, date(2027, 9, 1)))
        soon = inventory.create_lot(uow, inventory_lot("CST-SOON", floor.catalog.casting, date(2027, 3, 1)))
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=floor.catalog.casting, lot_id=lot.id,
                                          to_location_id=floor.wip1, quantity=Decimal(q))
                                   for lot, q in ((late, "1.5"), (soon, "2"))])
        uow.commit()
    caliper_code = codes(db, floor.caliper_wo)[0]
    turning = floor.ops[("CAL-01", 10)]
    with make_client(db) as ann:
        sign_in(ann, "ann")
        ann.post(op_url(floor.caliper_wo, turning, "start"), json={})
        short = ann.post(op_url(floor.caliper_wo, turning, "report"), json={"good": "4"})
        assert error_of(short) == "backflush_short" and "WIP-L1" in short.json()["error"]["message_en"]
        assert moves_of(db, caliper_code) == []
        done = ann.post(op_url(floor.caliper_wo, turning, "report"), json={"good": "2", "scrap": "1",
                                                                             "scrap_reason": "setup"})
        assert done.status_code == 200, done.text
    assert moves_of(db, caliper_code) == [("consumption", "CST-SOON", floor.wip1, None, Decimal(2)),
                                          ("consumption", "CST-LATE", floor.wip1, None, Decimal(1))]
    with db.session() as s:
        op = orders.get_operation(s, floor.caliper_wo, turning)
        assert (op.good_qty, op.scrap_qty, op.status) == (Decimal(2), Decimal(1), OperationStatus.RUNNING)


def test_an_operator_of_another_line_cannot_work_or_consume_here(db: Database, plant: MiniPlant,
                                                                  floor: Floor) -> None:
    add_user(db, "lou", "operator", plant.line2)
    turning = floor.ops[("CAL-01", 10)]
    with make_client(db) as lou:
        sign_in(lou, "lou")
        for action, body in (("start", {}), ("consume", {"lot_code": "CST-A", "quantity": "1"}),
                             ("report", {"good": "1"}), ("pause", {"reason": "other"})):
            assert lou.post(op_url(floor.caliper_wo, turning, action), json=body).status_code == 404, action
    assert moves_of(db, codes(db, floor.caliper_wo)[0]) == []


def form_key(html: str) -> str:
    import re

    return re.search(r'name="client_key" value="([^"]+)"', html).group(1)


def test_the_terminal_pages_work_an_operation_in_both_languages(db: Database, plant: MiniPlant,
                                                                 floor: Floor) -> None:
    piston_op = floor.ops[("PST-01", 10)]
    with make_client(db) as ann:
        sign_in(ann, "ann")
        home = ann.get("/terminal")
        assert home.status_code == 200 and "WC1" in home.text and "WC2" in home.text
        dispatch = ann.get(f"/terminal/work-centers/{plant.wc2}")
        assert f'data-operation="{piston_op}"' in dispatch.text  # on the schedule of its work center
        assert f'data-operation="{piston_op}"' in ann.get(f"/terminal/work-centers/{plant.line2}").text
        page = ann.get(f"/terminal/operations/{piston_op}")
        assert page.status_code == 200 and 'id="start"' in page.text
        key = form_key(page.text)
        started = ann.post(f"/terminal/operations/{piston_op}/start", data={"client_key": key, "version": "1"},
                           follow_redirects=False)
        assert started.status_code == 303
        again = ann.post(f"/terminal/operations/{piston_op}/start", data={"client_key": key, "version": "1"},
                         follow_redirects=False)
        assert again.status_code == 303  # the same submission: answered, not refused
        assert ann.get("/lang/en").status_code == 200
        running = ann.get(f"/terminal/operations/{piston_op}?done=started")
        assert "Started." in running.text and 'id="consume"' in running.text
        wrong = ann.post(f"/terminal/operations/{piston_op}/consume",
                         data={"client_key": form_key(running.text), "lot_code": "CST-A", "quantity": "1"})
        assert wrong.status_code == 422 and "does not use" in wrong.text  # a piston has no BOM
        ann.get("/lang/zh_CN")
        done = ann.post(f"/terminal/operations/{piston_op}/report",
                        data={"client_key": form_key(wrong.text), "version": "2", "good": "8", "complete": "1"})
        assert done.status_code == 200 and "工序已完成" in done.text and "FG" not in done.text
        assert "WIP-L1" in done.text  # the piston output went to the caliper line's WIP


def test_a_breakdown_reported_at_the_terminal_moves_the_schedule(db: Database, plant: MiniPlant, at_work: None,
                                                                  floor: Floor) -> None:
    from synfab.planning.schedule import service as schedule

    with db.session() as s:
        before = {line.operation_id: line.planned_start for line in schedule.dispatch_list(s, plant.wc2)}
    with make_client(db) as ann:
        sign_in(ann, "ann")
        page = ann.get(f"/terminal/work-centers/{plant.wc2}")
        key = form_key(page.text)
        for _attempt in range(2):  # a double tap reports it once
            reported = ann.post(f"/terminal/work-centers/{plant.wc2}/breakdown",
                                data={"client_key": key, "reason": "主轴报警", "minutes": "240"})
            assert reported.status_code == 200 and "主轴报警" in reported.text, reported.text[reported.text.find("alert"):][:600]
        assert 'id="breakdown-form"' not in reported.text  # already down: nothing more to report
    with db.session() as s:
        assert len(schedule.open_breakdowns(s, [plant.wc2])) == 1
        after = {line.operation_id: line.planned_start for line in schedule.dispatch_list(s, plant.wc2)}
    assert after.keys() == before.keys() and all(after[k] >= before[k] for k in before if before[k])
    assert any(after[k] > before[k] for k in before if before[k])  # the next job waits for the repair
