"""FAULT: the server killed with `kill -9` mid-ingest — after a restart every acknowledged point is stored once.

A real `synfab serve` process takes batches on the HTTP ingest while a client posts as fast as it can and notes
every batch answered 202. The process is killed without warning, started again on the same database and buffer,
and every acknowledged point must then be in the store (the primary key (tag, time) makes "once" a property of
the table; the test also counts the rows).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import func, select

from synfab.bootstrap import build_database
from synfab.connect.choices import ConnectorKind
from synfab.connect.schemas import ConnectorCreate
from synfab.connect.service import create_connector
from synfab.core.context import SYSTEM, acting_as
from synfab.migrations import upgrade
from synfab.people import service as people
from synfab.people.service.tokens import create_token
from synfab.telemetry.models import Sample, Tag
from synfab.telemetry.schemas import TagCreate
from synfab.telemetry.service import create_tag
from tests.conftest import PASSWORD, build_mini_plant
from tests.connect.machines.support import free_port

TAGS = 20
PER_BATCH = 200
T0 = 1_795_000_000_000


def _prepare(path: Path) -> tuple[str, dict[str, int]]:
    db = build_database(url=f"sqlite:///{path}")
    upgrade(db)
    plant = build_mini_plant(db)
    with acting_as(SYSTEM), db.uow() as uow:
        people.ensure_builtin_roles(uow)
        user = people.create_user(uow, "line-device", "Line device", PASSWORD)
        people.grant_role(uow, user, "engineer", plant.site)
        connector = create_connector(uow, ConnectorCreate(code="HTTP-CRASH", name="crash", kind=ConnectorKind.HTTP,
                                                          site_id=plant.site))
        for i in range(TAGS):
            create_tag(uow, TagCreate(connector_id=connector.id, address=f"dev/{i}", equipment_id=plant.wc1,
                                      signal=f"s{i}"))
        uow.commit()
    with acting_as(SYSTEM), db.uow() as uow:
        holder = people.principal_for(uow.session, user)
        _token, secret = create_token(uow, holder, "crash test", ["equipment_data.create"], 1)
        uow.commit()
    with db.session() as s:
        tags = dict(s.execute(select(Tag.address, Tag.id)).all())
    db.dispose()
    return secret, tags  # type: ignore[return-value]


def _serve(path: Path, port: int, buffer_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SYNFAB_BUFFER_DIR": str(buffer_dir), "SYNFAB_RUN_CONNECTORS": "true"}
    proc = subprocess.Popen([sys.executable, "-c", "from synfab.cli import main; main()", "serve", "--db", str(path), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("synfab serve did not start within 60 s")


def test_points_acknowledged_before_a_kill_9_are_stored_once_after_restart(tmp_path: Path) -> None:
    path, buffer_dir, port = tmp_path / "crash.db", tmp_path / "buffer", free_port()
    secret, tags = _prepare(path)
    server = _serve(path, port, buffer_dir)
    acknowledged: list[tuple[int, int]] = []
    stop = threading.Event()

    def post() -> None:
        n = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {secret}"},
                          timeout=5) as client:
            while not stop.is_set():
                points = [{"address": f"dev/{(n + i) % TAGS}", "timestamp": T0 + n + i, "value": float(n + i)}
                          for i in range(PER_BATCH)]
                n += PER_BATCH
                try:
                    r = client.post("/api/v1/ingest", json={"connector": "HTTP-CRASH", "points": points})
                except httpx.HTTPError:
                    return  # the server is gone
                assert r.status_code == 202, r.text
                acknowledged.extend((tags[p["address"]], p["timestamp"]) for p in points)

    poster = threading.Thread(target=post)
    poster.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 20 * PER_BATCH and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)  # mid-ingest: batches on disk, some stored, some not
    server.wait(10)
    stop.set()
    poster.join(10)
    assert len(acknowledged) >= 20 * PER_BATCH, "the server took too few batches before the kill"

    server = _serve(path, port, buffer_dir)
    try:
        db = build_database(url=f"sqlite:///{path}")
        wanted = set(acknowledged)
        deadline = time.monotonic() + 60
        while True:
            with db.session() as s:
                stored = {(t, ts) for t, ts in s.execute(select(Sample.tag_id, Sample.ts_ms))}
                rows = s.scalar(select(func.count()).select_from(Sample))
            if wanted <= stored or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        missing = wanted - stored
        assert not missing, f"{len(missing)} of {len(wanted)} acknowledged points missing after restart"
        assert rows == len(stored)  # once each
        db.dispose()
    finally:
        server.terminate()
        server.wait(20)
