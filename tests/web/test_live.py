"""The live stream (`GET /api/v1/live`, Server-Sent Events) on a real server: an order change reaches the planner
of each line within moments, each one only about their own line — the SSE check of the authorization matrix."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import uvicorn
from sqlalchemy import select

from synfab.core.db import Database
from synfab.core.i18n import _l
from synfab.core.live import LiveMessage
from synfab.orders import service as orders
from synfab.orders.models import WorkOrder
from synfab.people import service as people
from synfab.people.models import User
from synfab.plant.models import PlantNode
from synfab.web.app import create_app
from synfab.web.live import accepts_for
from tests.conftest import PASSWORD, MiniPlant, add_user
from tests.orders.conftest import build_catalog, build_customers, make_order
from tests.web.test_browser import free_port


@pytest.fixture
def server(db: Database) -> Iterator[str]:
    port = free_port()
    app = create_app(db)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        timeout_graceful_shutdown=1))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    r = client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def listen(client: httpx.Client, into: queue.Queue, stop: threading.Event) -> None:
    try:
        with client.stream("GET", "/api/v1/live", timeout=None) as response:
            into.put(("status", response.status_code))
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("data: "):
                    into.put(("data", json.loads(line[6:])))
    except httpx.HTTPError:  # the server went away at the end of the test
        return


def test_an_order_change_reaches_each_lines_planner_and_nobody_else(db: Database, plant: MiniPlant,
                                                                     server: str) -> None:
    catalog = build_catalog(db, plant)
    order = make_order(db, plant, build_customers(db).acme, "SO-LIVE", [(catalog.caliper, "4", "2026-12-09")])
    with db.uow() as uow:
        line = orders.get_sales_order(uow.session, order).lines[0]
        orders.release_sales_order_line(uow, order, line.id)
        uow.commit()
    with db.session() as s:
        caliper, piston = (s.scalar(select(WorkOrder.code).where(WorkOrder.material_id == m))
                           for m in (catalog.caliper, catalog.piston))
    add_user(db, "plan1", "manager", plant.line1)  # the caliper is made on line 1 …
    add_user(db, "plan2", "manager", plant.line2)  # … its pistons on line 2
    add_user(db, "op1", "operator", plant.line1)  # not a planner, not on shift
    heard: dict[str, queue.Queue] = {name: queue.Queue() for name in ("plan1", "plan2", "op1")}
    stop = threading.Event()
    clients = {name: signed_in(server, name) for name in heard}
    for name, client in clients.items():
        threading.Thread(target=listen, args=(client, heard[name], stop), daemon=True).start()
        assert heard[name].get(timeout=10) == ("status", 200)
    anonymous = httpx.get(f"{server}/api/v1/live", timeout=10)
    assert anonymous.status_code == 401

    add_user(db, "boss", "manager", plant.site)  # the order belongs to the site: its manager changes it
    boss = signed_in(server, "boss")
    current = boss.get(f"/api/v1/sales-orders/{order}").json()["lines"][0]
    started = time.perf_counter()
    changed = boss.patch(f"/api/v1/sales-orders/{order}/lines/{current['id']}",
                         json={"version": current["version"], "quantity": "6", "due_date": "2026-12-07"})
    assert changed.status_code == 200, changed.text
    boss.close()

    def texts(name: str, wait: float) -> list[str]:
        found, deadline = [], time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                kind, data = heard[name].get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if kind == "data":
                found.append(data["text"])
                wait = 0.5  # after the first, only what follows at once
                deadline = min(deadline, time.monotonic() + wait)
        return found

    line1 = texts("plan1", 10)
    elapsed = time.perf_counter() - started
    line2 = texts("plan2", 10)
    assert line1 and all(caliper in t and piston not in t for t in line1), line1
    assert line2 and all(piston in t and caliper not in t for t in line2), line2
    assert any("6" in t for t in line1)
    assert texts("op1", 1.0) == []  # neither a planner nor rostered on the shift
    assert elapsed < 10
    stop.set()
    for client in clients.values():
        client.close()


def test_the_stream_filter_is_the_scoping_helper(db: Database, plant: MiniPlant) -> None:
    add_user(db, "m1", "manager", plant.line1)
    add_user(db, "v", "viewer", plant.site)
    with db.session() as s:
        line1, line2 = (s.get(PlantNode, i).path for i in (plant.line1, plant.line2))
        m1, viewer = (people.principal_for(s, s.scalar(select(User).where(User.username == n))) for n in ("m1", "v"))

    def message(path: str | None, **kw: object) -> LiveMessage:
        return LiveMessage(topic="work_order", object_type="work_order", path=path, text=_l("Work orders"),
                           link=None, event_id="e1", **kw)  # type: ignore[arg-type]

    assert accepts_for(m1)(message(line1)) and not accepts_for(m1)(message(line2))
    assert not accepts_for(m1)(message(None))  # plant-wide news: only for the unrestricted
    assert accepts_for(viewer)(message(line2))
    assert not accepts_for(viewer)(message(line2, roles=frozenset({"manager"})))
    assert accepts_for(viewer)(message(line2, roles=frozenset({"manager"}), usernames=frozenset({"v"})))
    assert not accepts_for(viewer)(LiveMessage(topic="x", object_type="audit", path=line1, text=_l("Work orders"),
                                               link=None, event_id="e2"))
