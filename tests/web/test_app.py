"""The web skeleton: health, sign-in, language, errors in both languages, CSRF, idempotent forms, security headers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from synfab.bootstrap import build_database
from synfab.core.db import Database
from synfab.migrations import upgrade
from synfab.plant.models import PlantNode
from synfab.web.errors import integrity_error
from tests.conftest import PASSWORD, MiniPlant, add_user, make_client


def test_healthz_answers_without_signing_in(anon: TestClient) -> None:
    r = anon.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_is_not_ready_before_migrations(db: Database) -> None:
    with make_client(db) as c:
        # The test schema is built from the models, without the migration history: not ready.
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["database"] == "ok" and r.json()["migration"] is None


def test_readyz_is_ready_at_the_newest_migration(tmp_path: Path) -> None:
    migrated = build_database(url=f"sqlite:///{tmp_path / 'ready.db'}")
    upgrade(migrated)
    with make_client(migrated) as c:
        r = c.get("/readyz")
        assert r.status_code == 200
        assert r.json()["status"] == "ok" and r.json()["migration"] == r.json()["head"]


def test_pages_redirect_to_sign_in_and_the_api_answers_401(anon: TestClient) -> None:
    r = anon.get("/plant/tree", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/plant/tree"
    api = anon.get("/api/v1/plant/nodes")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "not_signed_in"
    assert api.json()["error"]["message_zh"] == "请先登录。"
    assert api.json()["error"]["message_en"] == "Please sign in first."


def test_sign_in_page_and_wrong_password(db: Database, plant: MiniPlant, anon: TestClient) -> None:
    add_user(db, "mgr", "manager", plant.site)
    r = anon.post("/login", data={"username": "mgr", "password": "wrong-one", "next": "/plant/tree"},
                  headers={"Accept-Language": "en"}, follow_redirects=False)
    assert r.status_code == 401 and "Wrong user name or password." in r.text
    r = anon.post("/login", data={"username": "mgr", "password": PASSWORD, "next": "/plant/tree"},
                  follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/plant/tree"
    assert "synfab_session" in r.cookies
    assert anon.get("/plant/tree").status_code == 200
    # An absolute URL as `next` must not send people elsewhere.
    anon.cookies.clear()
    r = anon.post("/login", data={"username": "mgr", "password": PASSWORD, "next": "https://evil.example/"},
                  follow_redirects=False)
    assert r.headers["location"] == "/"


def test_language_follows_the_users_choice_then_the_browser(client: TestClient) -> None:
    zh = client.get("/plant/tree", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "工厂结构" in zh.text and zh.headers["content-language"] == "zh-CN"
    en = client.get("/plant/tree", headers={"Accept-Language": "en-US"})
    assert "Plant structure" in en.text
    switched = client.get("/lang/zh_CN?next=/plant/tree", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/plant/tree"
    # The choice is stored for the user and wins over the browser's language.
    assert "工厂结构" in client.get("/plant/tree", headers={"Accept-Language": "en-US"}).text
    client.get("/lang/en")
    assert "Plant structure" in client.get("/plant/tree", headers={"Accept-Language": "zh-CN"}).text
    assert client.get("/lang/fr").status_code == 422


def test_errors_carry_a_code_and_both_languages(client: TestClient, plant: MiniPlant) -> None:
    missing = client.get("/api/v1/plant/nodes/99999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "plant_node_not_found"
    assert "99999" in missing.json()["error"]["message_zh"] and "99999" in missing.json()["error"]["message_en"]
    invalid = client.post("/api/v1/plant/nodes", json={"code": "", "level": "nowhere"})
    assert invalid.status_code == 422
    body = invalid.json()["error"]
    assert body["code"] == "validation_failed"
    assert {d["field"] for d in body["details"]} >= {"code", "name", "level"}
    assert all(d["message"]["zh_CN"] and d["message"]["en"] for d in body["details"])
    page = client.get("/plant/nodes/99999", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 404 and "工厂节点 99999 不存在。" in page.text
    assert client.get("/no/such/page").status_code == 404


def test_duplicate_code_is_a_409_with_a_message(client: TestClient, plant: MiniPlant) -> None:
    r = client.post("/api/v1/plant/nodes", json={"code": "L1", "name": "again", "level": "line",
                                                 "parent_id": plant.area})
    assert r.status_code == 409 and r.json()["error"]["code"] == "plant_code_taken"
    assert "一线" in r.json()["error"]["message_zh"]


def test_database_constraint_violations_become_4xx(db: Database) -> None:
    with db.uow() as uow:
        uow.session.add(PlantNode(code="X", name="x", level="enterprise", path="/"))
        uow.flush()
        uow.session.add(PlantNode(code="X", name="y", level="enterprise", path="/"))
        try:
            uow.flush()
        except IntegrityError as exc:
            error = integrity_error(exc)
        else:
            raise AssertionError("the unique constraint did not fire")
    assert error.status_code == 409 and error.code == "duplicate"
    assert "code" in error.message.in_locale("en")


def test_stale_version_gets_409_naming_who_changed_it(client: TestClient, plant: MiniPlant) -> None:
    node = client.get(f"/api/v1/plant/nodes/{plant.line1}").json()
    first = client.patch(f"/api/v1/plant/nodes/{plant.line1}", json={"version": node["version"], "name": "一线A"})
    assert first.status_code == 200 and first.json()["version"] == node["version"] + 1
    stale = client.patch(f"/api/v1/plant/nodes/{plant.line1}", json={"version": node["version"], "name": "一线B"})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert "admin" in stale.json()["error"]["message_en"]


def test_changes_without_the_csrf_token_are_refused(client: TestClient, plant: MiniPlant) -> None:
    token = client.headers.pop("X-CSRF-Token")
    r = client.post("/api/v1/plant/equipment-classes", json={"code": "P", "name": "压机"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = client.post("/api/v1/plant/equipment-classes", json={"code": "P", "name": "压机"},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 201


def test_a_form_sent_twice_creates_one_record(client: TestClient, db: Database, plant: MiniPlant) -> None:
    csrf = client.headers["X-CSRF-Token"]
    form = {"csrf_token": csrf, "idempotency_key": "k-123", "code": "EQ-9", "name": "压机9", "level": "equipment"}
    first = client.post(f"/plant/nodes/{plant.wc1}/children", data=form, follow_redirects=False)
    second = client.post(f"/plant/nodes/{plant.wc1}/children", data=form, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PlantNode).where(PlantNode.code == "EQ-9")) == 1


def test_security_headers_and_request_id(client: TestClient) -> None:
    r = client.get("/", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_api_docs_are_served_from_our_own_origin(anon: TestClient) -> None:
    docs = anon.get("/api/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    spec = anon.get("/api/openapi.json").json()
    assert "/api/v1/plant/nodes" in spec["paths"]
