"""Accounts: users, built-in roles, grants, password checks and browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.changes import Change, log_of
from synfab.core.errors import Conflict, Invalid, NotFound, Unauthenticated
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.events import UserCreated, UserLoggedIn, UserLoggedOut
from synfab.people.models import Grant, Role, User, UserSession
from synfab.people.roles import BUILTIN_ROLES
from synfab.people.scoping import GrantedNode, PlantRestriction, restriction_for
from synfab.people.service.audit import note_security_event
from synfab.people.service.security import (
    check_not_locked, check_password_policy, check_second_factor, record_failure, record_success,
)
from synfab.plant import service as plant_service
from synfab.plant.models import PlantNode

# argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): ~50 ms per check on one core,
# strong against offline guessing without letting a burst of sign-ins exhaust a small server.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)



@dataclass(frozen=True)
class Principal:
    """The signed-in user as the web layer sees them: who, in which language, allowed to do what."""

    user_id: int
    username: str
    display_name: str
    locale: str | None
    roles: frozenset[str]
    permissions: frozenset[str]
    scope_node_ids: frozenset[int] = field(default_factory=frozenset)
    session_id: int | None = None
    csrf_token: str | None = None
    restriction: PlantRestriction | None = None
    # IT administrators must set up a second factor before they may do anything else.
    must_enroll_second_factor: bool = False

    def can(self, permission: str) -> bool:
        """Holds `permission` over some part of the plant (which rows, the restriction decides)."""
        return permission in self.permissions


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def ensure_builtin_roles(uow: UnitOfWork) -> dict[str, Role]:
    """Create the built-in roles that are missing (existing ones keep the permissions an admin gave them)."""
    roles = {r.code: r for r in uow.session.scalars(select(Role))}
    for code, (name, name_en, permissions) in BUILTIN_ROLES.items():
        if code not in roles:
            roles[code] = Role(code=code, name=name, name_en=name_en, permissions=sorted(permissions), builtin=True)
            uow.session.add(roles[code])
    uow.flush()
    return roles


def create_user(
    uow: UnitOfWork, username: str, display_name: str, password: str, *, locale: str | None = None,
    email: str | None = None,
) -> User:
    username = username.strip()
    if not username:
        raise Invalid("username_required", _l("A user name is required."))
    if uow.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username_taken", _l("The user name {name} is already taken.", name=username))
    check_password_policy(password, username)
    user = User(username=username, display_name=display_name, password_hash=hash_password(password),
                locale=locale, email=email)
    uow.session.add(user)
    uow.flush()
    uow.record(UserCreated(user_id=user.id, username=username))
    return user


def grant_role(uow: UnitOfWork, user: User, role_code: str, scope_node_id: int) -> Grant:
    role = uow.session.scalar(select(Role).where(Role.code == role_code))
    if role is None:
        raise NotFound("role_not_found", _l("There is no role {code}.", code=role_code))
    plant_service.get_node(uow.session, scope_node_id)
    grant = Grant(user_id=user.id, role_id=role.id, scope_node_id=scope_node_id)
    uow.session.add(grant)
    uow.flush()
    return grant


def authenticate(session: Session, username: str, password: str) -> User:
    """The user with this name and password, or 401 (the same message whichever was wrong)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    wrong = Unauthenticated("bad_credentials", _l("Wrong user name or password."))
    if user is None or not user.active:
        _hasher.hash(password)  # same work either way, so timing does not reveal which names exist
        raise wrong
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise wrong from None
    return user


def attempt_sign_in(uow: UnitOfWork, username: str, password: str, totp: str | None = None) -> User:
    """Check a sign-in: the lockout, the password, the second factor. Wrong answers are counted (five lock the
    account for a while) and every attempt is put on record; the caller commits whether it succeeds or not."""
    s = uow.session
    name = username.strip()
    user = s.scalar(select(User).where(User.username == name))
    wrong = Unauthenticated("bad_credentials", _l("Wrong user name or password."))
    if user is None or not user.active:
        _hasher.hash(password)  # same work either way, so timing does not reveal which names exist
        note_security_event(uow, "sign_in_failed", "app_user", name[:80])
        raise wrong
    try:
        check_not_locked(user)
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            record_failure(user)
            raise wrong from None
        check_second_factor(user, totp)
    except Unauthenticated as refusal:
        note_security_event(uow, "sign_in_failed", "app_user", user.id, {"reason": refusal.code})
        raise
    record_success(user)
    note_security_event(uow, "sign_in", "app_user", user.id, {"username": user.username})
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    uow: UnitOfWork, user: User, *, absolute: timedelta, client_addr: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Sign a user in; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    uow.session.add(UserSession(
        token_hash=_token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
        created_at=now, last_seen_at=now, expires_at=now + absolute,
        client_addr=client_addr, user_agent=(user_agent or "")[:300],
    ))
    user.last_login_at = now
    uow.record(UserLoggedIn(user_id=user.id, username=user.username))
    return token


def resolve_session(session: Session, token: str, *, idle: timedelta) -> UserSession | None:
    """The live session of a cookie token, or None if unknown, revoked, idle too long or expired."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    now = clock.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    if not row.user.active:
        return None
    return row


def touch_session(uow: UnitOfWork, session_id: int, at: datetime) -> None:
    row = uow.session.get(UserSession, session_id)
    if row is not None:
        row.last_seen_at = at


def end_session(uow: UnitOfWork, token: str) -> None:
    row = uow.session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        uow.record(UserLoggedOut(user_id=row.user_id, username=row.user.username))
        log_of(uow.session).changes.append(Change("sign_out", "app_user", str(row.user_id)))


def principal_for(session: Session, user: User, user_session: UserSession | None = None) -> Principal:
    """The signed-in user with their roles, permissions and the restriction their grants make."""
    rows = session.execute(
        select(Grant, PlantNode.code, PlantNode.path).join(PlantNode, PlantNode.id == Grant.scope_node_id)
        .where(Grant.user_id == user.id).execution_options(unrestricted=True)
    ).all()
    permissions: set[str] = set()
    for grant, _code, _path in rows:
        permissions.update(grant.role.permissions)
    roots = session.scalars(select(PlantNode.path).where(PlantNode.parent_id.is_(None))
                            .execution_options(unrestricted=True)).all()
    restriction = restriction_for(
        [(grant.role.permissions, GrantedNode(grant.scope_node_id, code, path)) for grant, code, path in rows], roots)
    return Principal(
        user_id=user.id, username=user.username, display_name=user.display_name, locale=user.locale,
        roles=frozenset(grant.role.code for grant, _c, _p in rows), permissions=frozenset(permissions),
        scope_node_ids=frozenset(grant.scope_node_id for grant, _c, _p in rows),
        session_id=user_session.id if user_session else None,
        csrf_token=user_session.csrf_token if user_session else None,
        restriction=restriction,
        must_enroll_second_factor="it_admin" in {grant.role.code for grant, _c, _p in rows} and not user.totp_secret,
    )


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
