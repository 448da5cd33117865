"""The schedule over HTTP: JSON API (schedule, dispatch list, a work order's schedule, at risk, rebuild,
breakdowns) and the schedule page with its Excel export, in both languages and within the reader's scope."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from synfab.core import clock
from synfab.core.db import Database
from synfab.orders import service as orders
from synfab.orders.models import SalesOrder
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.orders.conftest import Catalog, Customers, make_order

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _monday_morning() -> None:
    clock.set_clock(lambda: datetime(2026, 11, 23, 8, 0, tzinfo=SH).astimezone(UTC))


@pytest.fixture
def released(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> dict[str, int]:
    order_id = make_order(db, plant, customers.acme, "SO-A", [(catalog.caliper, "10", "2026-11-24")])
    with db.uow() as uow:
        line = uow.session.get(SalesOrder, order_id).lines[0]
        made = orders.release_sales_order_line(uow, order_id, line.id)
        uow.commit()
        return {wo.material.code: wo.id for wo in made} | {"CAL-CODE": made[0].code, "PST-CODE": made[1].code}


@pytest.fixture
def manager(db: Database, plant: MiniPlant) -> Iterator[TestClient]:
    add_user(db, "planner", "manager", plant.site)
    with make_client(db) as c:
        yield sign_in(c, "planner")


@pytest.fixture
def line2_operator(db: Database, plant: MiniPlant) -> Iterator[TestClient]:
    add_user(db, "op2", "operator", plant.line2)
    with make_client(db) as c:
        yield sign_in(c, "op2")


def test_api_reads_the_schedule(manager: TestClient, plant: MiniPlant, released: dict[str, int]) -> None:
    r = manager.get("/api/v1/schedule")
    assert r.status_code == 200
    assert [(o["work_order_id"], o["seq"]) for o in r.json()] == [
        (released["PST-01"], 10), (released["CAL-01"], 10), (released["CAL-01"], 20)]
    first = r.json()[0]
    assert first["planned_start"].startswith("2026-11-23T00:00:00") and first["quantity"] == "20"
    r = manager.get("/api/v1/schedule", params={"node_id": plant.line1})
    assert [o["work_center_id"] for o in r.json()] == [plant.wc1]
    r = manager.get("/api/v1/schedule", params={"date_from": "2026-11-23T09:30:00+08:00"})
    assert [o["seq"] for o in r.json()] == [20]
    r = manager.get(f"/api/v1/schedule/work-centers/{plant.wc2}/dispatch-list")
    assert [(o["work_order_id"], o["sequence"]) for o in r.json()] == [(released["PST-01"], 1),
                                                                       (released["CAL-01"], 2)]
    r = manager.get(f"/api/v1/schedule/work-orders/{released['CAL-01']}")
    body = r.json()
    assert body["scheduled"] is True and body["at_risk"] is False and len(body["operations"]) == 2
    assert body["projected_end"].startswith("2026-11-23T01:42:30")
    assert manager.get("/api/v1/schedule/at-risk").json() == []


def test_api_breakdown_and_rebuild(manager: TestClient, plant: MiniPlant, released: dict[str, int]) -> None:
    r = manager.post(f"/api/v1/work-centers/{plant.wc1}/breakdowns",
                     json={"reason": "Spindle", "expected_minutes": 4320})
    assert r.status_code == 201, r.text
    outage = r.json()
    assert outage["ended_at"] is None and outage["reported_by"] == "planner"
    at_risk = manager.get("/api/v1/schedule/at-risk").json()
    assert [w["work_order_id"] for w in at_risk] == [released["CAL-01"]] and at_risk[0]["lateness_minutes"] > 0
    assert [o["id"] for o in manager.get("/api/v1/breakdowns").json()] == [outage["id"]]
    r = manager.post(f"/api/v1/work-centers/{plant.wc1}/breakdowns", json={"reason": "x", "expected_minutes": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "breakdown_already_open"
    r = manager.post(f"/api/v1/work-centers/{plant.line1}/breakdowns", json={"reason": "x", "expected_minutes": 5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_a_work_center"
    r = manager.post(f"/api/v1/work-centers/{plant.wc2}/breakdowns", json={"reason": "x", "expected_minutes": 0})
    assert r.status_code == 422
    r = manager.post(f"/api/v1/breakdowns/{outage['id']}/end", json={})
    assert r.status_code == 200 and r.json()["ended_at"] is not None
    assert manager.get("/api/v1/schedule/at-risk").json() == []
    assert manager.post(f"/api/v1/breakdowns/{outage['id']}/end").status_code == 409
    r = manager.post("/api/v1/schedule/rebuild")
    assert r.status_code == 200 and r.json()["operations"] == 3 and r.json()["trigger"] == "manual"


def test_a_line_two_operator_sees_and_breaks_down_only_line_two(
        line2_operator: TestClient, manager: TestClient, plant: MiniPlant, released: dict[str, int]) -> None:
    r = line2_operator.get("/api/v1/schedule")
    # The piston work order belongs to line 2; the caliper (line 1) is out of scope even where it runs on WC2.
    assert {o["work_order_id"] for o in r.json()} == {released["PST-01"]}
    assert line2_operator.get(f"/api/v1/schedule/work-centers/{plant.wc1}/dispatch-list").status_code == 404
    assert line2_operator.get(f"/api/v1/schedule/work-orders/{released['CAL-01']}").status_code == 404
    r = line2_operator.post(f"/api/v1/work-centers/{plant.wc1}/breakdowns",
                            json={"reason": "x", "expected_minutes": 5})
    assert r.status_code == 404
    outage = manager.post(f"/api/v1/work-centers/{plant.wc1}/breakdowns",
                          json={"reason": "WC1 down", "expected_minutes": 5}).json()
    assert line2_operator.post(f"/api/v1/breakdowns/{outage['id']}/end").status_code == 404
    assert line2_operator.get("/api/v1/breakdowns").json() == []


def test_page_in_both_languages_with_breakdown_form_and_export(
        manager: TestClient, plant: MiniPlant, released: dict[str, int]) -> None:
    manager.get("/lang/zh_CN")
    r = manager.get("/schedule", params={"node_id": plant.wc2})
    assert r.status_code == 200
    assert "<h1>生产排程</h1>" in r.text and "报告设备故障" in r.text
    body = r.text.split('id="dispatch-list"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'data-code="([^"]+)"', body) == [released["PST-CODE"], released["CAL-CODE"]]
    assert released["CAL-CODE"] in r.text.split('id="gantt"', 1)[1]
    r = manager.post("/schedule/breakdowns", data={"work_center_id": str(plant.wc1), "reason": "主轴故障",
                                                   "expected_minutes": "4320"}, follow_redirects=False)
    assert r.status_code == 303
    r = manager.get("/schedule")
    assert "主轴故障" in r.text.split('id="breakdowns"', 1)[1]
    assert released["CAL-CODE"] in r.text.split('id="at-risk"', 1)[1].split("</table>", 1)[0]
    r = manager.post("/schedule/breakdowns", data={"work_center_id": str(plant.wc1), "reason": "again",
                                                   "expected_minutes": "10"}, follow_redirects=False)
    assert r.status_code == 409 and "请先结束该故障" in r.text
    manager.get("/lang/en")
    r = manager.get("/schedule")
    assert "<h1>Production schedule</h1>" in r.text and "Report breakdown" in r.text
    outage_id = re.search(r'data-outage="(\d+)"', r.text).group(1)
    r = manager.post(f"/schedule/breakdowns/{outage_id}/end", data={}, follow_redirects=False)
    assert r.status_code == 303
    r = manager.get("/schedule/export.xlsx", params={"days": "7"})
    assert r.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(r.content))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert rows[0][0] == "Work center" and {row[2] for row in rows[1:]} == {released["CAL-CODE"],
                                                                            released["PST-CODE"]}
    r = manager.post("/schedule/rebuild", data={}, follow_redirects=False)
    assert r.status_code == 303


def test_a_line_two_operator_sees_the_schedule_of_line_two_only(
        line2_operator: TestClient, plant: MiniPlant, released: dict[str, int]) -> None:
    r = line2_operator.get("/schedule")
    assert r.status_code == 200
    gantt = r.text.split('id="gantt"', 1)[1]
    assert 'data-work-center="WC2"' in gantt and 'data-work-center="WC1"' not in gantt
    assert released["PST-CODE"] in gantt and released["CAL-CODE"] not in gantt
    assert line2_operator.get("/schedule", params={"node_id": plant.wc1}).status_code == 404
    r = line2_operator.get("/schedule/export.xlsx")
    book = CalamineWorkbook.from_filelike(io.BytesIO(r.content))
    rows = book.get_sheet_by_name(book.sheet_names[0]).to_python()
    assert [row[2] for row in rows[1:]] == [released["PST-CODE"]]
