"""Signing in safely, API tokens, signatures and secrets: each refusal with a clear reason and nothing written."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from synfab.cli import app as cli_app
from synfab.core import clock, crypto
from synfab.core.context import Actor, acting_as
from synfab.core.db import Database
from synfab.core.errors import Invalid
from synfab.people.choices import SignatureMeaning
from synfab.people.models import AuditRecord, ESignature, User
from synfab.people.service.security import check_password_policy
from synfab.people.service.signatures import SignatureIn, SignatureRefused, perform_signed
from synfab.plant import service as plant_service
from synfab.plant.models import PlantNode
from synfab.plant.schemas import NodeUpdate
from tests.conftest import PASSWORD, TOTP_SECRET, MiniPlant, add_user, make_client, sign_in, totp_code


def login(c: TestClient, username: str, password: str = PASSWORD, **extra: str) -> int:
    return c.post("/api/v1/session", json={"username": username, "password": password, **extra}).status_code


@pytest.mark.parametrize("password, code", [
    ("short1", "password_too_short"), ("1234567890", "password_too_common"),
    ("zhangwei-2026-secure", "password_contains_username"), ("aaaaaaaaaaaa", "password_too_common"),
])
def test_password_policy(password: str, code: str) -> None:
    with pytest.raises(Invalid) as info:
        check_password_policy(password, "zhangwei")
    assert info.value.code == code


def test_five_wrong_passwords_lock_the_account_for_a_while(db: Database, plant: MiniPlant) -> None:
    add_user(db, "zhao", "procurement", plant.site)
    start = clock.now()
    clock.set_clock(lambda: start)
    with make_client(db) as c:
        assert [login(c, "zhao", "wrong-password") for _ in range(5)] == [401] * 5
        r = c.post("/api/v1/session", json={"username": "zhao", "password": PASSWORD})
        assert r.status_code == 401 and r.json()["error"]["code"] == "account_locked"
        assert "15" in r.json()["error"]["message_en"] and "锁定" in r.json()["error"]["message_zh"]
        clock.set_clock(lambda: start + timedelta(minutes=16))
        assert login(c, "zhao") == 200
    with db.session() as s:
        assert s.scalar(select(User.failed_logins).where(User.username == "zhao")) == 0


def test_an_address_trying_too_often_is_slowed_down(db: Database, plant: MiniPlant) -> None:
    with make_client(db) as c:
        codes = [login(c, f"nobody{i}", "wrong-password") for i in range(21)]
        assert codes[:20] == [401] * 20
        r = c.post("/api/v1/session", json={"username": "x", "password": "y"})
        assert r.json()["error"]["code"] == "too_many_attempts"


def test_second_factor_codes_are_checked_and_used_once(db: Database, plant: MiniPlant) -> None:
    add_user(db, "sun", "hr_training", plant.site, totp=True)
    with make_client(db) as c:
        r = c.post("/api/v1/session", json={"username": "sun", "password": PASSWORD})
        assert r.status_code == 401 and r.json()["error"]["code"] == "totp_required"
        assert login(c, "sun", totp="000000") == 401
        code = totp_code()
        assert login(c, "sun", totp=code) == 200
        c.cookies.clear()
        r = c.post("/api/v1/session", json={"username": "sun", "password": PASSWORD, "totp": code})
        assert r.json()["error"]["code"] == "totp_wrong_code"  # a code counts once


def test_an_it_administrator_must_set_up_a_second_factor_first(db: Database, plant: MiniPlant) -> None:
    add_user(db, "newadmin", "it_admin", plant.enterprise, totp=False)
    with make_client(db) as c:
        r = c.post("/api/v1/session", json={"username": "newadmin", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["must_enroll_second_factor"] is True
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        blocked = c.get("/api/v1/plant/nodes")
        assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "second_factor_required"
        assert c.get("/profile").status_code == 200
        secret = c.post("/api/v1/me/second-factor").json()["secret"]
        wrong = c.post("/api/v1/me/second-factor/confirm", json={"code": "123456"})
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "totp_wrong_code"
        assert c.post("/api/v1/me/second-factor/confirm", json={"code": pyotp.TOTP(secret).now()}).status_code == 204
        assert c.get("/api/v1/plant/nodes").status_code == 200
    with db.session() as s:
        stored = s.scalar(text("SELECT totp_secret FROM app_user WHERE username = 'newadmin'"))
        assert stored != secret and secret not in stored  # encrypted at rest
        assert s.scalar(select(User).where(User.username == "newadmin")).totp_secret == secret


def test_password_change_on_the_profile(db: Database, plant: MiniPlant) -> None:
    add_user(db, "wu", "viewer", plant.site)
    with make_client(db) as c:
        sign_in(c, "wu")
        bad = c.post("/api/v1/me/password", json={"current": "nope-nope-nope", "new": "another-good-one"})
        assert bad.status_code == 403 and bad.json()["error"]["code"] == "current_password_wrong"
        assert c.post("/api/v1/me/password", json={"current": PASSWORD, "new": "another-good-one"}).status_code == 204
        assert login(c, "wu") == 401 and login(c, "wu", "another-good-one") == 200


def test_api_tokens_act_with_their_own_permissions_only(db: Database, plant: MiniPlant) -> None:
    add_user(db, "eng", "engineer", plant.site)
    with make_client(db) as c:
        sign_in(c, "eng")
        refused = c.post("/api/v1/me/tokens", json={"name": "x", "permissions": ["user.change"], "days": 30})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "token_permission_not_held"
        made = c.post("/api/v1/me/tokens", json={"name": "MES sync", "permissions": ["plant.view"], "days": 30})
        assert made.status_code == 201
        secret, token_id = made.json()["token"], made.json()["id"]
        assert all(secret not in str(t) for t in c.get("/api/v1/me/tokens").json())  # shown once
    with make_client(db) as api:
        bearer = {"Authorization": f"Bearer {secret}"}
        assert api.get("/api/v1/plant/nodes", headers=bearer).status_code == 200
        assert api.get("/api/v1/materials", headers=bearer).status_code in (403, 404)
        denied = api.get("/api/v1/catalog/materials", headers=bearer)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "permission_missing"
        # No cookie, no CSRF token needed: a change with the token's permission goes through.
        assert api.get("/plant/tree", headers=bearer, follow_redirects=False).status_code == 303  # pages: no
        wrong = api.get("/api/v1/plant/nodes", headers={"Authorization": "Bearer sfb_not-a-token"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "token_invalid"
        later = clock.now() + timedelta(days=31)
        clock.set_clock(lambda: later)
        assert api.get("/api/v1/plant/nodes", headers=bearer).json()["error"]["code"] == "token_invalid"
        clock.set_clock(None)
    with make_client(db) as c:
        sign_in(c, "eng")
        assert c.delete(f"/api/v1/me/tokens/{token_id}").status_code == 204
    with make_client(db) as api:
        assert api.get("/api/v1/plant/nodes", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    with db.session() as s:
        actions = set(s.scalars(select(AuditRecord.action)))
        assert {"token_created", "sign_in"} <= actions


def test_a_signature_with_the_wrong_password_does_nothing_but_is_on_record(db: Database, plant: MiniPlant) -> None:
    add_user(db, "qa", "quality", plant.site)
    with db.session() as s:
        qa = s.scalar(select(User).where(User.username == "qa"))
    rename = lambda uow, sig: plant_service.update_node(  # noqa: E731
        uow, plant.line1, NodeUpdate(version=1, name="一线（已审核）"))
    with acting_as(Actor(qa.id, "qa")):
        with pytest.raises(SignatureRefused) as info:
            perform_signed(db, SignatureIn(password="not-my-password", meaning=SignatureMeaning.APPROVED,
                                           reason="首件合格"), action="release_lot", object_type="plant_node",
                           object_id=plant.line1, perform=rename)
        assert info.value.code == "signature_refused"
        with db.session() as s:
            assert s.get(PlantNode, plant.line1).name == "一线"  # the action did not happen
            refusal = s.scalar(select(AuditRecord).where(AuditRecord.action == "signature_refused"))
            assert refusal.actor == "qa" and refusal.after["action"] == "release_lot"
            assert s.scalar(select(ESignature)) is None
        perform_signed(db, SignatureIn(password=PASSWORD, meaning=SignatureMeaning.APPROVED, reason="首件合格"),
                       action="release_lot", object_type="plant_node", object_id=plant.line1, perform=rename)
    with db.session() as s:
        sig = s.scalar(select(ESignature))
        assert (sig.username, sig.meaning, sig.reason, sig.object_id) == ("qa", SignatureMeaning.APPROVED, "首件合格",
                                                                         str(plant.line1))
        assert s.scalar(select(AuditRecord).where(AuditRecord.object_type == "e_signature")).after["meaning"] == "approved"
        assert s.get(PlantNode, plant.line1).name == "一线（已审核）"


def test_signing_with_a_second_factor_needs_the_code(db: Database, plant: MiniPlant) -> None:
    add_user(db, "boss", "manager", plant.site, totp=True)
    with db.session() as s:
        boss = s.scalar(select(User).where(User.username == "boss"))
    noop = lambda uow, sig: None  # noqa: E731
    with acting_as(Actor(boss.id, "boss")):
        with pytest.raises(SignatureRefused) as info:
            perform_signed(db, SignatureIn(password=PASSWORD, meaning=SignatureMeaning.REVIEWED, reason="ok"),
                           action="override_qualification", object_type="x", object_id=1, perform=noop)
        assert info.value.code == "totp_required"
        perform_signed(db, SignatureIn(password=PASSWORD, totp=pyotp.TOTP(TOTP_SECRET).now(),
                                       meaning=SignatureMeaning.REVIEWED, reason="ok"),
                       action="override_qualification", object_type="x", object_id=1, perform=noop)


def test_keys_rotate_reencrypts_every_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNFAB_SECRET_KEY")
    key_file = tmp_path / "ring.key"
    monkeypatch.setenv("SYNFAB_SECRET_KEY_FILE", str(key_file))
    crypto.reset()
    db_file = tmp_path / "k.db"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade", "--db", str(db_file)]).exit_code == 0
    from synfab.bootstrap import build_database

    db = build_database(url=f"sqlite:///{db_file}")
    from tests.conftest import build_mini_plant

    build_mini_plant(db)
    add_user(db, "ops", "it_admin", 1)  # its TOTP seed is a secret at rest
    assert key_file.exists() and len(key_file.read_text().split()) == 1
    before = db.engine.connect().execute(text("SELECT totp_secret FROM app_user")).scalar()
    result = runner.invoke(cli_app, ["keys", "rotate", "--db", str(db_file), "--drop-old"])
    assert result.exit_code == 0, result.output
    crypto.reset()
    ring = key_file.read_text().split()
    assert len(ring) == 1
    after = db.engine.connect().execute(text("SELECT totp_secret FROM app_user")).scalar()
    assert after != before
    with db.session() as s:
        assert s.scalar(select(User.totp_secret)) == TOTP_SECRET  # readable with the new key alone
