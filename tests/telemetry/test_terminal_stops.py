"""At the machine: the operator terminal shows the machine's state and asks why it stopped; one tap codes the stop."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from synfab.connect.pipeline import TelemetryPipeline
from synfab.connect.runtime import Reading
from synfab.core.db import Database
from synfab.telemetry.models import DowntimeReason, StateInterval
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.telemetry.conftest import T0


def _stopped(db: Database, machine: dict[str, int], tmp_path: Path) -> int:
    with db.uow() as uow:
        uow.session.add_all([DowntimeReason(code="MECH", name="机械故障", name_en="Mechanical failure"),
                             DowntimeReason(code="MAT", name="缺料", name_en="Waiting for material")])
        uow.commit()
    p = TelemetryPipeline.at(db, tmp_path / "buf")
    intake = p.intake(machine["connector"], "HTTP1")
    intake.readings([Reading("wc1/run", T0, True), Reading("wc1/alarm", T0, 0)])
    intake.readings([Reading("wc1/alarm", T0 + 60_000, 9), Reading("wc1/alarm", T0 + 400_000, 0)])
    p.write_once()
    with db.session() as s:
        return s.scalar(select(StateInterval.id).where(StateInterval.state == "down"))


def test_the_operator_codes_a_stop_at_the_machine(db: Database, plant: MiniPlant, machine: dict[str, int],
                                                  tmp_path: Path) -> None:
    stop = _stopped(db, machine, tmp_path)
    add_user(db, "op", "operator", plant.line1)
    c = make_client(db)
    sign_in(c, "op")
    page = c.get(f"/terminal/work-centers/{plant.wc1}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "为什么停机" in page.text and "机械故障" in page.text
    key = re.search(rf'data-stop="{stop}".*?name="client_key" value="([^"]+)"', page.text, re.S).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    with db.session() as s:
        mech = s.scalar(select(DowntimeReason.id).where(DowntimeReason.code == "MECH"))
    r = c.post(f"/terminal/work-centers/{plant.wc1}/stops/{stop}",
               data={"csrf_token": csrf, "client_key": key, "reason_id": str(mech)}, follow_redirects=False)
    assert r.status_code == 303
    with db.session() as s:
        interval = s.get(StateInterval, stop)
        assert interval.reason_id == mech and interval.coded_by == "op"
    after = c.get(f"/terminal/work-centers/{plant.wc1}")
    assert f'data-stop="{stop}"' not in after.text


def test_a_viewer_sees_the_state_but_cannot_code(db: Database, plant: MiniPlant, machine: dict[str, int],
                                                 tmp_path: Path) -> None:
    stop = _stopped(db, machine, tmp_path)
    add_user(db, "vi", "viewer", plant.line1)
    c = make_client(db)
    sign_in(c, "vi")
    page = c.get(f"/terminal/work-centers/{plant.wc1}")
    assert page.status_code == 200 and f'data-stop="{stop}"' not in page.text
    r = c.post(f"/terminal/work-centers/{plant.wc1}/stops/{stop}", data={"client_key": "x", "reason_id": "1"},
               headers={"X-CSRF-Token": c.headers.get("X-CSRF-Token", "")}, follow_redirects=False)
    assert r.status_code == 403
