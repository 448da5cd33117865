"""Delegated administration (分级授权): administrators act inside their scope and never grant more than they hold."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from synfab.core.db import Database
from synfab.people.models import Grant, Role, User
from synfab.plant import service as plant_service
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.connect.test_pages import sheet_rows


@pytest.fixture
def beijing(db: Database, plant: MiniPlant) -> int:
    with db.uow() as uow:
        bj = plant_service.create_node(uow, NodeCreate(code="BJ", name="北京工厂", level=Level.SITE,
                                                       parent_id=plant.enterprise, time_zone="Asia/Shanghai"))
        uow.commit()
        return bj.id


def as_user(db: Database, username: str) -> TestClient:
    c = make_client(db)
    c.__enter__()
    return sign_in(c, username)


def new_user(c: TestClient, username: str, role: str, node_id: int) -> object:
    return c.post("/api/v1/users", json={"username": username, "display_name": username.title(),
                                          "password": "a-good-first-password", "role": role, "node_id": node_id})


def test_a_site_administrator_creates_users_only_inside_their_site(db: Database, plant: MiniPlant,
                                                                    beijing: int) -> None:
    add_user(db, "it_sh", "it_admin", plant.site)
    c = as_user(db, "it_sh")
    made = new_user(c, "op1", "operator", plant.line1)
    assert made.status_code == 201 and made.json()["grants"][0]["node_code"] == "L1"
    outside = new_user(c, "op2", "operator", beijing)
    assert outside.status_code == 403 and outside.json()["error"]["code"] == "grant_outside_scope"
    assert "BJ" in outside.json()["error"]["message_en"] and "SH" in outside.json()["error"]["message_en"]
    with db.session() as s:
        assert s.scalar(select(User).where(User.username == "op2")) is None  # nothing half-written


def test_nobody_grants_more_than_they_hold(db: Database, plant: MiniPlant) -> None:
    add_user(db, "mgr", "manager", plant.site)
    add_user(db, "li", "viewer", plant.line1)
    c = as_user(db, "mgr")
    with db.session() as s:
        li = s.scalar(select(User).where(User.username == "li"))
    beyond = c.post(f"/api/v1/users/{li.id}/grants", json={"role": "it_admin", "node_id": plant.line1})
    assert beyond.status_code == 403 and beyond.json()["error"]["code"] == "grant_beyond_permissions"
    assert "audit.change" in beyond.json()["error"]["message_en"]
    ok = c.post(f"/api/v1/users/{li.id}/grants", json={"role": "operator", "node_id": plant.line2})
    assert ok.status_code == 201
    twice = c.post(f"/api/v1/users/{li.id}/grants", json={"role": "operator", "node_id": plant.line2})
    assert twice.status_code == 409


def test_administrators_see_only_the_people_of_their_scope(db: Database, plant: MiniPlant, beijing: int) -> None:
    add_user(db, "it_sh", "it_admin", plant.site)
    add_user(db, "in_sh", "viewer", plant.line2)
    add_user(db, "in_bj", "viewer", beijing)
    with db.uow() as uow:
        from synfab.people import service

        service.create_user(uow, "newbie", "Newbie", "a-good-first-password")
        uow.commit()
    c = as_user(db, "it_sh")
    names = {u["username"] for u in c.get("/api/v1/users").json()}
    assert {"it_sh", "in_sh", "newbie"} <= names and "in_bj" not in names
    with db.session() as s:
        bj_user = s.scalar(select(User).where(User.username == "in_bj"))
        bj_grant = s.scalar(select(Grant).where(Grant.user_id == bj_user.id))
    assert c.get(f"/api/v1/users/{bj_user.id}").status_code == 404
    assert c.delete(f"/api/v1/grants/{bj_grant.id}").status_code == 403
    page = c.get("/admin/users")
    assert "in_sh" in page.text and "in_bj" not in page.text


def test_someone_working_elsewhere_too_is_not_deactivated_from_one_site(db: Database, plant: MiniPlant,
                                                                        beijing: int) -> None:
    add_user(db, "it_sh", "it_admin", plant.site)
    add_user(db, "both", "viewer", plant.site)
    with db.uow() as uow:
        from synfab.people import service

        both = uow.session.scalar(select(User).where(User.username == "both"))
        service.grant_role(uow, both, "viewer", beijing)
        uow.commit()
        both_id, version = both.id, both.version
    c = as_user(db, "it_sh")
    r = c.patch(f"/api/v1/users/{both_id}", json={"version": version, "active": False})
    assert r.status_code == 403 and r.json()["error"]["code"] == "user_outside_scope" and "BJ" in r.json()["error"]["message_en"]


def test_an_administrator_resets_a_password_and_unlocks(db: Database, plant: MiniPlant) -> None:
    add_user(db, "it_sh", "it_admin", plant.site)
    add_user(db, "forgetful", "viewer", plant.line1)
    with make_client(db) as c:
        for _ in range(5):
            c.post("/api/v1/session", json={"username": "forgetful", "password": "wrong-wrong"})
    with db.session() as s:
        uid = s.scalar(select(User.id).where(User.username == "forgetful"))
    admin = as_user(db, "it_sh")
    assert admin.get(f"/api/v1/users/{uid}").json()["locked"] is True
    weak = admin.post(f"/api/v1/users/{uid}/password", json={"password": "123456"})
    assert weak.status_code == 422
    assert admin.post(f"/api/v1/users/{uid}/password", json={"password": "fresh-start-2026"}).status_code == 204
    with make_client(db) as c:
        assert c.post("/api/v1/session", json={"username": "forgetful", "password": "fresh-start-2026"}).status_code == 200


def test_only_a_plant_wide_administrator_edits_roles(db: Database, plant: MiniPlant) -> None:
    add_user(db, "mgr", "manager", plant.site)
    add_user(db, "root", "it_admin", plant.enterprise)
    with db.session() as s:
        viewer = s.scalar(select(Role).where(Role.code == "viewer"))
    body = {"version": viewer.version, "permissions": [*viewer.permissions, "audit.view"]}
    denied = as_user(db, "mgr").put(f"/api/v1/roles/{viewer.id}", json=body)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "roles_need_plant_wide_admin"
    root = as_user(db, "root")
    assert root.put(f"/api/v1/roles/{viewer.id}", json={**body, "permissions": ["plant.fly"]}).status_code == 422
    changed = root.put(f"/api/v1/roles/{viewer.id}", json=body)
    assert changed.status_code == 200 and "audit.view" in changed.json()["permissions"]
    stale = root.put(f"/api/v1/roles/{viewer.id}", json=body)
    assert stale.status_code == 409
    made = root.post("/api/v1/roles", json={"code": "shift_lead", "name": "班组长", "permissions": ["work_order.view"]})
    assert made.status_code == 201 and made.json()["builtin"] is False


def test_pages_for_users_roles_and_the_audit_log(db: Database, plant: MiniPlant) -> None:
    add_user(db, "root", "it_admin", plant.enterprise)
    c = as_user(db, "root")
    form = {"csrf_token": c.headers["X-CSRF-Token"], "idempotency_key": "k1", "username": "wang.fang",
            "display_name": "王芳", "password": "a-good-first-password", "role": "quality", "node_id": str(plant.site)}
    first = c.post("/admin/users", data=form, follow_redirects=False)
    again = c.post("/admin/users", data=form, follow_redirects=False)
    assert first.status_code == again.status_code == 303 and first.headers["location"] == again.headers["location"]
    page = c.get(first.headers["location"], headers={"Accept-Language": "zh-CN"})
    assert "王芳" in page.text and "质量" in page.text and "SH" in page.text
    assert "viewer" in c.get("/admin/roles").text
    audit = c.get("/admin/audit?object_type=app_user", headers={"Accept-Language": "en"})
    assert audit.status_code == 200 and "Audit log" in audit.text and "wang.fang" in audit.text
    rows = next(iter(sheet_rows(c.get("/export/audit.xlsx?action=sign_in").content).values()))
    assert rows[0][:3] == ["序号", "时间", "操作人"] or rows[0][:3] == ["No.", "Time", "Who"]
    assert {r[4] for r in rows[1:]} == {"sign_in"}

