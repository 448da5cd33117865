"""API tokens for integrations (an ERP sync, a script, a device posting data): each acts as the user who made
it, with at most the permissions it was given and never more than that user holds now, until it expires or is
revoked. The token is shown once; only its hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import ApiToken, User
from synfab.people.service.accounts import Principal, principal_for
from synfab.people.service.audit import note_security_event

PREFIX = "sfb_"
MAX_DAYS = 366


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(uow: UnitOfWork, holder: Principal, name: str, permissions: list[str], days: int) -> tuple[ApiToken, str]:
    """A new token of `holder` with some of their permissions; returns it with its secret (shown once)."""
    wanted = sorted(set(permissions))
    missing = [p for p in wanted if not holder.can(p)]
    if not wanted:
        raise Invalid("token_permissions_required", _l("Choose at least one permission for the token."))
    if missing:
        raise Invalid("token_permission_not_held", _l(
            "A token cannot have permissions you do not hold: {missing}.", missing=", ".join(missing)))
    if not 1 <= days <= MAX_DAYS:
        raise Invalid("token_lifetime", _l("A token lives between 1 and {max} days.", max=MAX_DAYS))
    name = name.strip()
    if not name:
        raise Invalid("token_name_required", _l("Give the token a name that says what uses it."))
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=holder.user_id, name=name[:100], prefix=secret[:12], token_hash=_hash(secret),
                     permissions=wanted, expires_at=clock.now() + timedelta(days=days))
    uow.session.add(token)
    uow.flush()
    note_security_event(uow, "token_created", "api_token", token.id, {"name": token.name, "permissions": wanted})
    return token, secret


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def revoke_token(uow: UnitOfWork, user_id: int, token_id: int) -> ApiToken:
    token = uow.session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound("token_not_found", _l("There is no such token of yours."))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    return token


def resolve_token(session: Session, secret: str) -> ApiToken | None:
    """The live token for a secret: known, not revoked, not expired, its user active."""
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    if token is None or token.revoked_at is not None or token.expires_at <= clock.now() or not token.user.active:
        return None
    return token


def principal_for_token(session: Session, token: ApiToken) -> Principal:
    """The token's owner as they are now, narrowed to the token's permissions (revoking a grant narrows it too)."""
    base = principal_for(session, session.get(User, token.user_id))
    permissions = base.permissions & frozenset(token.permissions)
    return replace(base, permissions=permissions, restriction=base.restriction.limited_to(permissions)
                   if base.restriction else None, session_id=None, csrf_token=None, must_enroll_second_factor=False)
