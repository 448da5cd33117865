"""Shared test fixtures: databases on SQLite and PostgreSQL, a web client, signed-in users, a small plant.

Tests needing PostgreSQL, an MQTT broker or Chromium read SYNFAB_TEST_DATABASE_URL, SYNFAB_TEST_MQTT_URL
and SYNFAB_TEST_CHROMIUM; without them they skip with a message, and SYNFAB_REQUIRE_SERVICES=1 (set by
.ci/run) turns the skip into a failure.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from synfab.bootstrap import build_bus, build_database, load_models, metadata
from synfab.core import clock
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.people.choices import SignatureMeaning
from synfab.people.models import ESignature

REQUIRE = os.environ.get("SYNFAB_REQUIRE_SERVICES") == "1"
# Machine data the tests send waits in a buffer of this run's own, never in the working directory.
os.environ.setdefault("SYNFAB_BUFFER_DIR", tempfile.mkdtemp(prefix="synfab-test-buffer-"))
PG_URL = os.environ.get("SYNFAB_TEST_DATABASE_URL")
MQTT_URL = os.environ.get("SYNFAB_TEST_MQTT_URL")


def need(condition: bool, reason: str) -> None:
    """Skip (or, with SYNFAB_REQUIRE_SERVICES=1, fail) when a service a test needs is missing."""
    if condition:
        return
    if REQUIRE:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


# -- MQTT ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """The shared broker (Mosquitto at 127.0.0.1:1883 in CI): tests use topics of their own on it."""
    need(bool(MQTT_URL), "MQTT broker: set SYNFAB_TEST_MQTT_URL=mqtt://127.0.0.1:1883")
    return MQTT_URL  # type: ignore[return-value]


@pytest.fixture(scope="session")
def mosquitto_binary() -> str:
    """Mosquitto's program, for tests that start, stop and restart a broker of their own on a free port."""
    import shutil

    path = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    need(path is not None, "Mosquitto: install Debian's mosquitto package (.ci/run does)")
    return path  # type: ignore[return-value]


# -- databases -------------------------------------------------------------------------------------------


def _fresh_pg_url(base: str) -> str:
    """A database of our own for this test process, so parallel runs never share tables."""
    url = make_url(base)
    name = f"synfab_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_pg(base: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    load_models()
    path = tmp_path_factory.mktemp("db") / "test.db"
    db = build_database(url=f"sqlite:///{path}")
    metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Database]:
    need(bool(PG_URL), "PostgreSQL: set SYNFAB_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test")
    load_models()
    url = _fresh_pg_url(PG_URL)  # type: ignore[arg-type]
    db = build_database(url=url)
    metadata.create_all(db.engine)
    yield db
    db.dispose()
    _drop_pg(PG_URL, url)  # type: ignore[arg-type]


def _empty(db: Database) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for name in tables:
                conn.exec_driver_sql(f'DELETE FROM "{name}"')
            conn.exec_driver_sql("DELETE FROM sqlite_sequence") if conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name='sqlite_sequence'").first() else None
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        else:
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE")


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test encrypts secrets with a key of its own (never a key file in the working directory)."""
    from cryptography.fernet import Fernet

    from synfab.core import crypto

    monkeypatch.setenv("SYNFAB_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("SYNFAB_SECRET_KEY_FILE", str(tmp_path / "synfab.key"))
    crypto.reset()
    yield
    crypto.reset()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """An empty database with the whole schema, once on SQLite and once on PostgreSQL."""
    database: Database = request.getfixturevalue(f"{request.param}_database")
    database.bus = build_bus()
    database._outbox_listeners.clear()
    _empty(database)
    try:
        with acting_as(SYSTEM):
            yield database
    finally:
        clock.set_clock(None)


@pytest.fixture
def sqlite_db(sqlite_database: Database) -> Iterator[Database]:
    """SQLite only: for tests whose subject is not the database engine."""
    sqlite_database.bus = build_bus()
    sqlite_database._outbox_listeners.clear()
    _empty(sqlite_database)
    try:
        with acting_as(SYSTEM):
            yield sqlite_database
    finally:
        clock.set_clock(None)


# -- a small plant and its people ------------------------------------------------------------------------


@dataclass
class MiniPlant:
    enterprise: int
    site: int
    area: int
    line1: int
    line2: int
    wc1: int
    wc2: int
    store: int
    calendar: int


def build_mini_plant(db: Database) -> MiniPlant:
    """Enterprise → site (Asia/Shanghai) → area → two lines with a work center each, a store, a 2-shift calendar."""
    from synfab.plant import service as plant
    from synfab.plant.choices import Level
    from synfab.plant.schemas import BreakIn, CalendarCreate, NodeCreate, ShiftIn

    with db.uow() as uow:
        cal = plant.create_calendar(uow, CalendarCreate(code="2S", name="两班", shifts=[
            ShiftIn(code="D", name="白班", start=time(8), end=time(16), weekdays="12345",
                    breaks=[BreakIn(start=time(12), end=time(12, 30))]),
            ShiftIn(code="N", name="夜班", start=time(16), end=time(0), weekdays="12345"),
        ]))
        ent = plant.create_node(uow, NodeCreate(code="ENT", name="企业", level=Level.ENTERPRISE))
        site = plant.create_node(uow, NodeCreate(code="SH", name="上海工厂", level=Level.SITE, parent_id=ent.id,
                                                 time_zone="Asia/Shanghai", shift_calendar_id=cal.id))
        area = plant.create_node(uow, NodeCreate(code="MACH", name="机加车间", level=Level.AREA, parent_id=site.id))
        l1 = plant.create_node(uow, NodeCreate(code="L1", name="一线", level=Level.LINE, parent_id=area.id))
        l2 = plant.create_node(uow, NodeCreate(code="L2", name="二线", level=Level.LINE, parent_id=area.id))
        wc1 = plant.create_node(uow, NodeCreate(code="WC1", name="车床1", level=Level.WORK_CENTER, parent_id=l1.id))
        wc2 = plant.create_node(uow, NodeCreate(code="WC2", name="车床2", level=Level.WORK_CENTER, parent_id=l2.id))
        store = plant.create_node(uow, NodeCreate(code="RM", name="原料库", level=Level.STORAGE_ZONE, parent_id=site.id))
        uow.commit()
        return MiniPlant(ent.id, site.id, area.id, l1.id, l2.id, wc1.id, wc2.id, store.id, cal.id)


@pytest.fixture
def plant(db: Database) -> MiniPlant:
    return build_mini_plant(db)


PASSWORD = "synfab-test-pw"
# IT administrators must have a second factor; test ones share this seed (sign_in computes the code).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_WITH_TOTP: set[str] = set()


def add_user(db: Database, username: str, role: str, scope_node_id: int, *, totp: bool | None = None) -> None:
    """A user with one role over a node; IT administrators get the test second factor unless `totp=False`."""
    from synfab.people import service as people

    with db.uow() as uow:
        people.ensure_builtin_roles(uow)
        user = people.create_user(uow, username, username.title(), PASSWORD)
        people.grant_role(uow, user, role, scope_node_id)
        if totp if totp is not None else role == "it_admin":
            user.totp_secret = TOTP_SECRET
            _WITH_TOTP.add(username)
        uow.commit()


def totp_code(offset_steps: int = 0) -> str:
    import pyotp

    from synfab.core import clock

    return pyotp.TOTP(TOTP_SECRET).at(clock.now().timestamp() + 30 * offset_steps)


def signature_on(object_type: str, object_id: int, reason: str = "ECN-001 reviewed") -> ESignature:
    """A signature as `perform_signed` hands it to a service (signing itself is tested in tests/people)."""
    return ESignature(username="eng", display_name="Eng", meaning=SignatureMeaning.APPROVED, action="test",
                      object_type=object_type, object_id=str(object_id), reason=reason)


def make_client(db: Database) -> TestClient:
    from synfab.web.app import create_app

    return TestClient(create_app(db, dispatcher=False), raise_server_exceptions=True)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Sign the client in; later unsafe requests carry the CSRF token header."""
    body = {"username": username, "password": password}
    if username in _WITH_TOTP:
        body["totp"] = totp_code()
    r = client.post("/api/v1/session", json=body)
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


@pytest.fixture
def client(db: Database, plant: MiniPlant) -> Iterator[TestClient]:
    """A web client signed in as an IT administrator over the whole enterprise."""
    add_user(db, "admin", "it_admin", plant.enterprise)
    with make_client(db) as c:
        yield sign_in(c, "admin")


@pytest.fixture
def anon(db: Database) -> Iterator[TestClient]:
    with make_client(db) as c:
        yield c


def data_file(name: str) -> Path:
    return Path(__file__).parent / "data" / name
