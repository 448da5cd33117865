"""Machine and connector pages: the status board in both languages and within the reader's lines, a machine with
its tags, trend, state timeline and stop form, coding a stop, and the connectors' health, Start/Stop, test
connection and Excel exports."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from synfab.connect.models import Connector
from synfab.connect.pipeline import TelemetryPipeline
from synfab.connect.runtime import Reading
from synfab.core import clock
from synfab.core.db import Database
from synfab.telemetry.choices import MachineState
from synfab.telemetry.models import DowntimeReason, StateInterval
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.telemetry.conftest import T0

NOW = T0 + 5 * 60_000


@pytest.fixture
def history(db: Database, machine: dict[str, int], tmp_path: Path) -> Iterator[dict[str, int]]:
    """WC1 idle, running, down for a minute, running again; temperatures; bad input and an unmapped address."""
    clock.set_clock(lambda: datetime.fromtimestamp(NOW / 1000, UTC))
    p = TelemetryPipeline.at(db, tmp_path / "buf")
    intake = p.intake(machine["connector"], "HTTP1")
    intake.readings([Reading("wc1/run", T0, False), Reading("wc1/alarm", T0, 0), Reading("wc1/count", T0, 100)])
    intake.readings([Reading("wc1/run", T0 + 10_000, True)])
    intake.readings([Reading("wc1/temp", T0 + i * 1000, 200 + i) for i in range(0, 120, 5)])
    intake.readings([Reading("wc1/alarm", T0 + 30_000, 7)])
    intake.readings([Reading("wc1/alarm", T0 + 90_000, 0), Reading("wc9/pressure", T0 + 95_000, 4.2)])
    intake.quarantine("malformed_json", "line 1: Expecting value", b"{oops")
    while p.write_once():
        pass
    p.write_status(force=True)
    with db.uow() as uow:
        jam = DowntimeReason(code="JAM", name="卡料", name_en="Material jam", equipment_class_id=machine["class"])
        tool = DowntimeReason(code="TOOL", name="换刀", name_en="Tool change")
        uow.session.add_all([jam, tool])
        uow.flush()
        stop = uow.session.scalar(select(StateInterval).where(StateInterval.state == MachineState.DOWN))
        ids = machine | {"jam": jam.id, "tool": tool.id, "stop": stop.id}
        uow.commit()
    yield ids


@pytest.fixture
def operator(db: Database, plant: MiniPlant) -> Iterator[TestClient]:
    add_user(db, "op1", "operator", plant.line1)
    with make_client(db) as c:
        yield sign_in(c, "op1")


@pytest.fixture
def viewer(db: Database, plant: MiniPlant) -> Iterator[TestClient]:
    add_user(db, "look", "viewer", plant.site)
    with make_client(db) as c:
        yield sign_in(c, "look")


def _card(html: str, code: str) -> str:
    return html.split(f'data-machine="{code}"', 1)[1].split("</a>", 1)[0]


def _chart(html: str, after: str) -> dict:
    part = html.split(after, 1)[1]
    return json.loads(unescape(re.search(r'data-chart="([^"]*)"', part).group(1)))


def test_the_board_shows_each_machine_state_in_both_languages(
        client: TestClient, plant: MiniPlant, history: dict[str, int]) -> None:
    client.get("/lang/zh_CN")
    r = client.get("/machines")
    assert r.status_code == 200
    assert "<h1>设备状态</h1>" in r.text or "<h1>Equipment status</h1>" in r.text  # until the catalog has it
    card = _card(r.text, "WC1")
    assert 'data-state="running"' in r.text and "运行" in card and "车床1" in card
    assert "3 min" in card or "3 分钟" in card  # running since T0 + 90 s, seen at T0 + 5 min
    assert 'hx-trigger="every 5s, live-machine from:body throttle:1s"' in r.text
    client.get("/lang/en")
    r = client.get("/machines")
    card = _card(r.text, "WC1")
    assert "Running" in card and "Lathe" not in card and "No operation running" in card
    assert 'data-line="L1"' in r.text
    # The refresh returns the cards alone; a line filter keeps to that line.
    r = client.get("/machines/board", params={"line_id": str(plant.line1)})
    assert r.status_code == 200 and "<html" not in r.text and 'data-machine="WC1"' in r.text
    assert 'data-machine="WC1"' not in client.get("/machines", params={"line_id": str(plant.line2)}).text
    assert client.get("/machines", params={"line_id": ""}).status_code == 200
    assert client.get("/machines", params={"line_id": "x"}).status_code == 422


def test_a_line_two_reader_sees_no_line_one_machine(db: Database, plant: MiniPlant, history: dict[str, int]) -> None:
    add_user(db, "op2", "operator", plant.line2)
    with make_client(db) as c:
        sign_in(c, "op2")
        assert 'data-machine="WC1"' not in c.get("/machines").text
        assert c.get(f"/machines/{plant.wc1}").status_code == 404
        assert c.get("/machines", params={"line_id": str(plant.line1)}).status_code == 404


def test_the_machine_page_shows_tags_trend_timeline_and_stops(
        client: TestClient, plant: MiniPlant, history: dict[str, int]) -> None:
    client.get("/lang/en")
    r = client.get(f"/machines/{plant.wc1}", params={"range": "1h"})
    assert r.status_code == 200
    for signal in ("running", "alarm", "part_count", "temperature"):
        assert f'data-tag="{signal}"' in r.text
    tags = r.text.split('id="tags"', 1)[1].split("</table>", 1)[0]
    assert "wc1/temp" in tags and "31.5" in tags  # the last temperature, scaled
    # The trend of the measured value, with its exports over the shown range.
    trend = _chart(r.text, 'id="trend"')
    assert trend["xAxis"]["type"] == "time" and trend["dataZoom"]
    assert trend["series"][0]["data"][0] == [T0, pytest.approx(20.0)]
    assert f"/api/v1/tags/{history['temperature']}/trend.xlsx?start_ms=" in r.text
    assert "/echarts.min.js" in r.text
    # The last 24 hours as bands coloured by state.
    timeline = _chart(r.text, 'id="timeline"')
    names = {s["name"]: s for s in timeline["series"]}
    assert set(names) == {"Idle", "Running", "Down (unplanned)"}
    down = names["Down (unplanned)"]["markArea"]["data"]
    assert [(a["xAxis"], b["xAxis"]) for a, b in down] == [(T0 + 30_000, T0 + 90_000)]
    # The stop waiting for a reason, with the machine's reasons to choose from.
    stops = r.text.split('id="stops"', 1)[1]
    assert f'action="/machines/{plant.wc1}/stops/{history["stop"]}"' in stops
    assert "JAM · Material jam" in stops and "TOOL · Tool change" in stops
    # The range buttons reload the trend alone.
    r = client.get(f"/machines/{plant.wc1}/trend", params={"tag_id": str(history["alarm"]), "range": "24h"})
    assert r.status_code == 200 and r.text.lstrip().startswith("<section") and 'data-tag="alarm"' in r.text
    assert client.get(f"/machines/{plant.wc1}", params={"range": "2y"}).status_code == 422
    assert client.get(f"/machines/{plant.wc1}", params={"tag_id": "999999"}).status_code == 404
    client.get("/lang/zh_CN")
    assert "卡料" in client.get(f"/machines/{plant.wc1}").text


def test_an_operator_codes_a_stop_and_a_viewer_may_not(
        db: Database, operator: TestClient, viewer: TestClient, plant: MiniPlant, history: dict[str, int]) -> None:
    url = f"/machines/{plant.wc1}/stops/{history['stop']}"
    assert 'action="' + url not in viewer.get(f"/machines/{plant.wc1}").text  # no form without the permission
    r = viewer.post(url, data={"reason_id": str(history["jam"])}, follow_redirects=False)
    assert r.status_code == 403
    operator.get("/lang/en")
    r = operator.post(url, data={"reason_id": ""}, follow_redirects=False)
    assert r.status_code == 422 and "Choose the reason of the stop." in r.text
    r = operator.post(url, data={"reason_id": "999999"}, follow_redirects=False)
    assert r.status_code == 422 and "stop_reason_invalid" in r.text
    r = operator.post(f"/machines/{plant.wc2}/stops/{history['stop']}", data={"reason_id": str(history["jam"])},
                      follow_redirects=False)
    assert r.status_code == 404  # WC2 is on line 2, outside the operator's line
    r = operator.post(url, data={"reason_id": str(history["jam"]), "note": "coolant"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/machines/{plant.wc1}#stops"
    with db.session() as s:
        stop = s.get(StateInterval, history["stop"])
        assert (stop.reason_id, stop.note, stop.coded_by) == (history["jam"], "coolant", "op1")
    page = operator.get(f"/machines/{plant.wc1}").text
    assert "Every stop has its reason." in page
    assert "Material jam" in _card(operator.get("/machines").text, "WC1")  # the board's last stop reason


def test_the_connectors_page_shows_health_and_starts_and_stops(
        db: Database, client: TestClient, viewer: TestClient, history: dict[str, int]) -> None:
    client.get("/lang/en")
    r = client.get("/connectors")
    assert r.status_code == 200
    row = r.text.split('data-connector="HTTP1"', 1)[1].split("</tr>", 1)[0]
    assert "HTTP ingest" in row and 'data-buffer="0"' in row
    cells = re.findall(r'<td class="num[^"]*"[^>]*>([^<]*)</td>', row)
    assert cells[1:5] == ["31", "0", "1", "1"]  # points total, errors, quarantined, unmapped
    assert 'hx-trigger="every 5s"' in r.text and 'hx-select="#connector-table"' in r.text
    assert viewer.get("/connectors").status_code == 403
    with db.session() as s:
        version = s.get(Connector, history["connector"]).version
    r = client.post(f"/connectors/{history['connector']}/enabled", data={"enabled": "false", "version": version},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/connectors"
    with db.session() as s:
        assert s.get(Connector, history["connector"]).enabled is False
    assert 'data-health="stopped"' in client.get("/connectors").text
    r = client.post(f"/connectors/{history['connector']}/enabled", data={"enabled": "true", "version": version},
                    follow_redirects=False)
    assert r.status_code == 409  # an old version: someone changed it since the page was shown
    r = client.post(f"/connectors/{history['connector']}/enabled",
                    data={"enabled": "true", "version": version + 1, "back": "detail"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/connectors/{history['connector']}"
    with db.session() as s:
        assert s.get(Connector, history["connector"]).enabled is True
    # An HTTP connector has nothing to connect to: the test says so.
    r = client.post(f"/connectors/{history['connector']}/test", data={})
    assert r.status_code == 422 and "connector_has_no_source" in r.text and 'id="connector-table"' in r.text


def test_a_connectors_quarantine_and_unmapped_addresses_are_listed_and_exported(
        client: TestClient, history: dict[str, int]) -> None:
    client.get("/lang/en")
    r = client.get(f"/connectors/{history['connector']}")
    assert r.status_code == 200
    quarantine = r.text.split('id="quarantine"', 1)[1].split("</table>", 1)[0]
    assert "malformed_json" in quarantine and "{oops" in quarantine
    assert 'data-address="wc9/pressure"' in r.text.split('id="unmapped"', 1)[1]
    r = client.get(f"/connectors/{history['connector']}/quarantine.xlsx")
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
    assert rows[0] == ("Received", "Reason", "Detail", "Payload")
    assert [(row[1], row[3]) for row in rows[1:]] == [("malformed_json", "{oops")]
    r = client.get(f"/connectors/{history['connector']}/unmapped.xlsx")
    rows = list(load_workbook(io.BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
    assert [row[:3] for row in rows[1:]] == [("wc9/pressure", 1, "4.2")]
