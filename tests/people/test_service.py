"""Users, passwords and sessions (the security issue adds the rest of this context)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from synfab.core import clock
from synfab.core.db import Database
from synfab.core.errors import Conflict, Invalid, Unauthenticated
from synfab.people import service
from synfab.people.models import Role, User
from tests.conftest import PASSWORD, MiniPlant, add_user

IDLE = timedelta(minutes=120)


def test_passwords_are_argon2id_and_checked(db: Database, plant: MiniPlant) -> None:
    add_user(db, "wang", "quality", plant.site)
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "wang"))
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert service.authenticate(s, "wang", PASSWORD).id == user.id
        for name, password in (("wang", "wrong-password"), ("nobody", PASSWORD)):
            with pytest.raises(Unauthenticated) as info:
                service.authenticate(s, name, password)
            assert info.value.code == "bad_credentials"  # the same answer whichever was wrong


def test_user_names_are_unique_and_passwords_long_enough(db: Database, plant: MiniPlant) -> None:
    add_user(db, "li", "engineer", plant.site)
    with db.uow() as uow, pytest.raises(Conflict):
        service.create_user(uow, "li", "Li", "another-password")
    with db.uow() as uow, pytest.raises(Invalid) as info:
        service.create_user(uow, "zhao", "Zhao", "short")
    assert info.value.code == "password_too_short"


def test_builtin_roles_keep_what_an_administrator_changed(db: Database) -> None:
    with db.uow() as uow:
        roles = service.ensure_builtin_roles(uow)
        roles["viewer"].permissions = ["plant.view"]
        uow.commit()
    with db.uow() as uow:
        service.ensure_builtin_roles(uow)
        uow.commit()
    with db.session() as s:
        assert s.scalar(select(Role.permissions).where(Role.code == "viewer")) == ["plant.view"]
        assert len(list(s.scalars(select(Role)))) == 9


def test_sessions_end_when_idle_too_long_at_their_absolute_end_and_on_sign_out(db: Database, plant: MiniPlant) -> None:
    add_user(db, "chen", "manager", plant.site)
    start = clock.now()
    clock.set_clock(lambda: start)
    with db.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == "chen"))
        token = service.start_session(uow, user, absolute=timedelta(hours=12))
        uow.commit()
    with db.session() as s:
        principal = service.principal_for(s, user, service.resolve_session(s, token, idle=IDLE))
        assert principal.roles == {"manager"} and principal.can("sales_order.create")
        assert not principal.can("plant.change") and not principal.can("user.approve")
    clock.set_clock(lambda: start + timedelta(minutes=119))
    with db.session() as s:
        assert service.resolve_session(s, token, idle=IDLE) is not None
    clock.set_clock(lambda: start + timedelta(minutes=121))
    with db.session() as s:
        assert service.resolve_session(s, token, idle=IDLE) is None  # idle too long
    # Kept busy, it still ends at its absolute limit.
    for minutes in range(60, 12 * 60, 60):
        clock.set_clock(lambda m=minutes: start + timedelta(minutes=m))
        with db.uow() as uow:
            row = service.resolve_session(uow.session, token, idle=timedelta(days=1))
            assert row is not None
            service.touch_session(uow, row.id, clock.now())
            uow.commit()
    clock.set_clock(lambda: start + timedelta(hours=12, minutes=1))
    with db.session() as s:
        assert service.resolve_session(s, token, idle=timedelta(days=1)) is None
    clock.set_clock(lambda: start)
    with db.uow() as uow:
        service.end_session(uow, token)
        uow.commit()
    with db.session() as s:
        assert service.resolve_session(s, token, idle=IDLE) is None
