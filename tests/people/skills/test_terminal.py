"""Starting an operation at the terminal: refused with the reason when the operator is not qualified, allowed
once a supervisor signed an override (recorded with the start), allowed for the qualified."""

from __future__ import annotations

from sqlalchemy import select

from synfab.core.db import Database
from synfab.core.models import EventRecord
from synfab.orders.choices import OperationStatus, WorkOrderStatus
from synfab.orders.models import WorkOrder, WorkOrderOperation
from tests.conftest import PASSWORD, MiniPlant, add_user, make_client, sign_in
from tests.people.skills.conftest import Line1, Skills, give, operators


def release(db: Database, code: str) -> int:
    with db.uow() as uow:
        wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == code))
        wo.status = WorkOrderStatus.RELEASED
        uow.commit()
        return wo.id


def test_the_terminal_refuses_the_unqualified_and_lets_an_override_through(
        db: Database, plant: MiniPlant, skills: Skills, line1: Line1) -> None:
    operators(db, plant, "ann", "bo")
    give(db, "ann", skills.turn, 1)  # turning needs level 2
    give(db, "bo", skills.turn, 3)
    add_user(db, "boss", "manager", plant.line1)
    turning, grinding = line1.operations[10], line1.operations[20]
    wo_code = line1.work_order
    with db.session() as s:
        wo_id = s.scalar(select(WorkOrder.id).where(WorkOrder.code == wo_code))
    with make_client(db) as ann:
        sign_in(ann, "ann")
        start = f"/api/v1/work-orders/{wo_id}/operations/{turning}/start"
        early = ann.post(start)
        assert early.status_code == 422 and early.json()["error"]["code"] == "work_order_not_released"
        release(db, wo_code)
        refused = ann.post(start)
        error = refused.json()["error"]
        assert refused.status_code == 403 and error["code"] == "not_qualified"
        assert "TURN" in error["message_en"] and "level 2" in error["message_en"] and "level 1" in error["message_en"]
        assert "TURN" in error["message_zh"] and error["message_zh"] != error["message_en"]
        with db.session() as s:
            assert s.get(WorkOrderOperation, turning).status == OperationStatus.PENDING  # nothing written
        signed = ann.post("/api/v1/skills/qualification-override", json={
            "operation_id": turning, "supervisor_username": "boss", "password": PASSWORD, "meaning": "approved",
            "reason": "急单，班长现场指导"})
        assert signed.status_code in (200, 201), signed.text
        started = ann.post(start)
        assert started.status_code == 200, started.text
        body = started.json()
        assert (body["work_order_status"], body["operation_id"], body["status"]) == ("in_progress", turning, "running")
        assert ann.post(start).json()["error"]["code"] == "operation_not_startable"
    with make_client(db) as bo:
        sign_in(bo, "bo")
        other = bo.post(f"/api/v1/work-orders/{wo_id}/operations/{grinding}/start")  # GRIND: bo holds none
        assert other.status_code == 403 and "GRIND" in other.json()["error"]["message_en"]
    with db.session() as s:
        started_events = [r.payload for r in s.scalars(select(EventRecord).where(EventRecord.type == "OperationStarted"))]
        assert [(e["operation_id"], e["operator"], e["overridden"]) for e in started_events] == [(turning, "ann", True)]
