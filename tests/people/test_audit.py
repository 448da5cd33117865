"""The audit log: every change on the record with who, when, before and after — and any tampering found."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from synfab.cli import app as cli_app
from synfab.core.context import Actor, acting_as
from synfab.core.db import Database
from synfab.people.models import AuditHead, AuditRecord
from synfab.people.service.audit import verify_audit_chain
from synfab.plant import service as plant_service
from synfab.plant.schemas import NodeUpdate
from tests.conftest import PASSWORD, MiniPlant, add_user, make_client


def records(db: Database, **where: object) -> list[AuditRecord]:
    with db.session() as s:
        stmt = select(AuditRecord).order_by(AuditRecord.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditRecord, key) == value)
        return list(s.scalars(stmt))


def test_changes_are_recorded_with_who_before_and_after(db: Database, plant: MiniPlant) -> None:
    with acting_as(Actor(7, "li.na")), db.uow() as uow:
        node = plant_service.get_node(uow.session, plant.line1)
        plant_service.update_node(uow, node.id, NodeUpdate(version=node.version, name="一号装配线", name_en="Line 1"))
        uow.commit()
    change = records(db, object_type="plant_node", action="update")[-1]
    assert (change.actor, change.user_id, change.object_id) == ("li.na", 7, str(plant.line1))
    assert (change.before["name"], change.before["name_en"], change.before["updated_by"]) == ("一线", None, "system")
    assert (change.after["name"], change.after["name_en"], change.after["updated_by"]) == ("一号装配线", "Line 1", "li.na")
    created = records(db, object_type="plant_node", action="create")
    assert {r.object_id for r in created} >= {str(plant.enterprise), str(plant.wc1)}
    assert "path" not in created[0].after  # derived, not audited


def test_secrets_never_reach_the_log(db: Database, plant: MiniPlant) -> None:
    add_user(db, "wang", "quality", plant.site)
    user = records(db, object_type="app_user", action="create")[-1]
    assert user.after["password_hash"] == "***" and PASSWORD not in str(user.after)


def test_sign_ins_and_failures_are_on_record_with_the_client(db: Database, plant: MiniPlant) -> None:
    add_user(db, "chen", "manager", plant.site)
    with make_client(db) as c:
        assert c.post("/api/v1/session", json={"username": "chen", "password": "wrong-pw"}).status_code == 401
        assert c.post("/api/v1/session", json={"username": "chen", "password": PASSWORD}).status_code == 200
    failed, = records(db, action="sign_in_failed")
    assert failed.after == {"reason": "bad_credentials"} and failed.client_addr == "testclient"
    signed, = records(db, action="sign_in")
    assert signed.after == {"username": "chen"} and signed.request_id


def test_an_intact_log_verifies(db: Database, plant: MiniPlant) -> None:
    with db.session() as s:
        checked, problem = verify_audit_chain(s)
    assert problem is None and checked == len(records(db)) > 5


@pytest.mark.parametrize("tamper, code, which", [
    ("UPDATE audit_record SET actor = 'someone.else' WHERE id = 3", "altered", 3),
    ("DELETE FROM audit_record WHERE id = 4", "deleted", 4),
    ("INSERT INTO audit_record (id, at, actor, action, object_type, object_id, prev_hash, hash) "
     "SELECT last_id + 1, CURRENT_TIMESTAMP, 'x', 'create', 'plant_node', '1', last_hash, 'f00' FROM audit_head",
     "inserted", None),
    ("DELETE FROM audit_record WHERE id = (SELECT MAX(id) FROM audit_record)", "truncated", None),
])
def test_tampering_is_found_and_the_record_named(db: Database, plant: MiniPlant, tamper: str, code: str,
                                                 which: int | None) -> None:
    with db.session() as s:
        last = s.get(AuditHead, 1).last_id
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    with db.session() as s:
        _checked, problem = verify_audit_chain(s)
    assert problem is not None and problem.code == code
    assert problem.record_id == (which if which is not None else (last + 1 if code == "inserted" else last))
    assert str(problem.record_id) in problem.message.in_locale("zh_CN")


def test_audit_verify_command(tmp_path: Path) -> None:
    db_file = tmp_path / "a.db"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade", "--db", str(db_file)]).exit_code == 0
    workbook = Path(__file__).resolve().parents[1] / "data" / "plant.xlsx"
    from tests.connect.test_import_plant import CALENDARS, CLASSES, PLANT, workbook as make_workbook

    workbook = tmp_path / "plant.xlsx"
    workbook.write_bytes(make_workbook(CALENDARS, CLASSES, PLANT))
    assert runner.invoke(cli_app, ["import", str(workbook), "--db", str(db_file)]).exit_code == 0
    ok = runner.invoke(cli_app, ["audit", "verify", "--db", str(db_file)])
    assert ok.exit_code == 0 and "intact" in ok.output
    import sqlite3

    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE audit_record SET after = '{}' WHERE id = 2")
    bad = runner.invoke(cli_app, ["audit", "verify", "--db", str(db_file), "--lang", "en"])
    assert bad.exit_code == 1 and "record 2" in bad.output and "altered" in bad.output
