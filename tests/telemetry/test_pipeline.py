"""Connector intake → on-disk buffer → store: mapping, idempotence, rollups, quarantine, states and counts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from synfab.connect.buffer import Buffer
from synfab.connect.models import ConnectorStatus, QuarantinedInput, UnmappedAddress
from synfab.connect.pipeline import TelemetryPipeline
from synfab.connect.runtime import Reading
from synfab.core.db import Database
from synfab.core.models import EventRecord
from synfab.telemetry.choices import MachineState, TimeElement
from synfab.telemetry.models import MachineCount, MachineStatus, Rollup, Sample, StateInterval
from synfab.telemetry.service import trend
from tests.conftest import MiniPlant
from tests.telemetry.conftest import T0

def _pipeline(db: Database, tmp_path: Path) -> TelemetryPipeline:
    return TelemetryPipeline.at(db, tmp_path / "buf")


def test_readings_are_mapped_stored_once_and_rolled_up(db: Database, machine: dict[str, int], tmp_path: Path) -> None:
    p = _pipeline(db, tmp_path)
    intake = p.intake(machine["connector"], "HTTP1")
    batch = [Reading("wc1/temp", T0 + i * 1000, 200 + i) for i in range(90)]  # raw tenths of a degree
    intake.readings(batch)
    intake.readings(batch)  # the same batch again: a connector re-sending after a reconnect
    while p.write_once():
        pass
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Sample).where(Sample.tag_id == machine["temperature"])) == 90
        first = s.get(Rollup, (machine["temperature"], T0))
        assert first.count == 60 and first.min == pytest.approx(20.0) and first.max == pytest.approx(25.9)
        assert first.sum == pytest.approx(sum(20 + i / 10 for i in range(60)))
        assert first.last == pytest.approx(25.9)
        second = s.get(Rollup, (machine["temperature"], T0 + 60_000))
        assert second.count == 30
        t = trend(s, machine["temperature"], T0, T0 + 120_000)
        assert t.resolution == "raw" and len(t.points) == 90 and t.points[0].value == pytest.approx(20.0)
        rolled = trend(s, machine["temperature"], T0, T0 + 120_000, resolution="1m")
        assert [pt.count for pt in rolled.points] == [60, 30]
    assert p.buffer.pending == 0


def test_a_batch_written_but_not_acknowledged_is_written_again_without_doubling(
        db: Database, machine: dict[str, int], tmp_path: Path) -> None:
    p = _pipeline(db, tmp_path)
    p.intake(machine["connector"], "HTTP1").readings([Reading("wc1/temp", T0 + i, i) for i in range(10)])
    batches = p.buffer.take()
    p.write_once()  # stored and acknowledged …
    # … but suppose the process died between commit and acknowledgement: the batch is still in the file.
    buffer = Buffer(tmp_path / "buf" / "again.sqlite")
    for b in batches:
        buffer.put(b.connector_id, b.kind, b.body, b.points)
    again = TelemetryPipeline(db, buffer)
    again.write_once()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 10
        assert s.get(Rollup, (machine["temperature"], T0)).count == 10


def test_bad_input_is_quarantined_and_unmapped_addresses_are_listed(
        db: Database, machine: dict[str, int], tmp_path: Path) -> None:
    p = _pipeline(db, tmp_path)
    intake = p.intake(machine["connector"], "HTTP1")
    far = T0 + 400 * 86_400_000 * 10
    intake.readings([
        Reading("wc1/temp", T0, {"nested": 1}),     # wrong type
        Reading("wc1/temp", far, 1.0),               # ten years ahead
        Reading("wc1/temp", T0 + 1, 250),            # fine
        Reading("wc9/pressure", T0, 4.2),            # nobody mapped it yet
        Reading("wc9/pressure", T0 + 5, 4.3),
    ])
    intake.quarantine("malformed_json", "line 1: Expecting value", b"{oops")
    p.write_once()
    p.write_status(force=True)
    with db.session() as s:
        reasons = sorted(s.scalars(select(QuarantinedInput.reason)))
        assert reasons == ["future_timestamp", "malformed_json", "wrong_type"]
        assert s.scalar(select(func.count()).select_from(Sample)) == 1
        un = s.scalars(select(UnmappedAddress)).one()
        assert (un.address, un.count, un.last_value) == ("wc9/pressure", 2, "4.3")
        health = s.get(ConnectorStatus, machine["connector"])
        assert health.quarantined == 3 and health.unmapped == 1 and health.points_total == 5


def test_signals_become_states_intervals_events_and_counts(
        db: Database, machine: dict[str, int], plant: MiniPlant, tmp_path: Path) -> None:
    p = _pipeline(db, tmp_path)
    intake = p.intake(machine["connector"], "HTTP1")
    intake.readings([Reading("wc1/run", T0, False), Reading("wc1/alarm", T0, 0), Reading("wc1/count", T0, 100)])
    intake.readings([Reading("wc1/run", T0 + 10_000, True)])
    intake.readings([Reading("wc1/count", T0 + 20_000 + i * 1000, 101 + i) for i in range(5)])
    intake.readings([Reading("wc1/alarm", T0 + 30_000, 7)])
    intake.readings([Reading("wc1/alarm", T0 + 90_000, 0), Reading("wc1/count", T0 + 95_000, 3)])  # reset to 0 then 3
    while p.write_once():
        pass
    with db.session() as s:
        intervals = s.scalars(select(StateInterval).order_by(StateInterval.start_ms)).all()
        assert [(i.state, i.start_ms - T0, i.end_ms and i.end_ms - T0) for i in intervals] == [
            (MachineState.IDLE, 0, 10_000), (MachineState.RUNNING, 10_000, 30_000),
            (MachineState.DOWN, 30_000, 90_000), (MachineState.RUNNING, 90_000, None)]
        assert intervals[2].time_element is TimeElement.ADOT and intervals[1].time_element is TimeElement.APT
        status = s.get(MachineStatus, plant.wc1)
        assert status.state is MachineState.RUNNING
        assert sum(c.produced for c in s.scalars(select(MachineCount))) == 5 + 3
        types = list(s.scalars(select(EventRecord.type).order_by(EventRecord.occurred_at)))
        assert types.count("MachineStateChanged") == 4 and types.count("MachineDown") == 1

    # The connector loses its source: the machine is offline (not down) from then on.
    intake.connected(False, "timed out")
    p.write_once()
    with db.session() as s:
        assert s.get(MachineStatus, plant.wc1).state is MachineState.OFFLINE
        last = s.scalars(select(StateInterval).order_by(StateInterval.id.desc())).first()
        assert last.state is MachineState.OFFLINE and last.time_element is None


def test_a_machine_going_down_reports_its_work_center_down_and_back(
        db: Database, machine: dict[str, int], plant: MiniPlant, tmp_path: Path) -> None:
    import asyncio

    from synfab.core.outbox import OutboxDispatcher
    from synfab.planning.schedule.models import WorkCenterOutage

    p = _pipeline(db, tmp_path)
    intake = p.intake(machine["connector"], "HTTP1")
    intake.readings([Reading("wc1/run", T0, True), Reading("wc1/alarm", T0, 0)])
    intake.readings([Reading("wc1/alarm", T0 + 5_000, 3)])
    p.write_once()
    asyncio.run(OutboxDispatcher(db).drain())
    asyncio.run(OutboxDispatcher(db).drain())  # delivered again: still one breakdown
    with db.session() as s:
        outage = s.scalars(select(WorkCenterOutage)).one()
        assert outage.work_center_id == plant.wc1 and outage.ended_at is None and "WC1" in outage.reason
    intake.readings([Reading("wc1/alarm", T0 + 65_000, 0)])
    p.write_once()
    asyncio.run(OutboxDispatcher(db).drain())
    with db.session() as s:
        assert s.scalars(select(WorkCenterOutage)).one().ended_at is not None


def test_retention_deletes_samples_and_rollups_past_their_class(
        db: Database, machine: dict[str, int], tmp_path: Path) -> None:
    from synfab.telemetry.jobs import DAY_MS, apply_retention
    from synfab.telemetry.models import Tag, TagClass

    with db.uow() as uow:
        fast = TagClass(code="FAST", name="高频过程值", raw_retention_days=7, rollup_retention_days=90)
        uow.session.add(fast)
        uow.session.flush()
        uow.session.get(Tag, machine["temperature"]).tag_class_id = fast.id
        uow.commit()
    p = _pipeline(db, tmp_path)
    intake = p.intake(machine["connector"], "HTTP1")
    now = time.time_ns() // 1_000_000  # readings more than a day ahead would be quarantined
    intake.readings([Reading("wc1/temp", now - 10 * DAY_MS, 1), Reading("wc1/temp", now - DAY_MS, 2),
                     Reading("wc1/alarm", now - 10 * DAY_MS, 0)])  # the alarm tag has no class: 30 days
    p.write_once()
    assert apply_retention(db, now) == (1, 0)
    with db.session() as s:
        assert sorted(s.scalars(select(Sample.ts_ms).where(Sample.tag_id == machine["temperature"]))) == [now - DAY_MS]
        assert s.scalar(select(func.count()).select_from(Sample).where(Sample.tag_id == machine["alarm"])) == 1
