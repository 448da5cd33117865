"""FastAPI dependencies, declared once: database, sessions, units of work, the caller and their permissions.

Every route declares what it needs with `require("object.action")` or `PUBLIC`; a test walks the route
table and fails on a route that declares neither.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from synfab.core.db import Database
from synfab.core.errors import Forbidden, Unauthenticated
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.service import Principal


def get_db(request: Request) -> Database:
    return request.app.state.db


DbDep = Annotated[Database, Depends(get_db)]


def get_session(db: DbDep) -> Iterator[Session]:
    with db.session() as session:
        yield session


def get_uow(db: DbDep) -> Iterator[UnitOfWork]:
    with db.uow() as uow:
        yield uow


SessionDep = Annotated[Session, Depends(get_session)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def current_principal(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


class Require:
    """Dependency: the caller must be signed in and hold `permission`."""

    def __init__(self, permission: str) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise _not_signed_in(request)
        if principal.must_enroll_second_factor:
            raise Forbidden("second_factor_required", _l(
                "IT administrators need a second factor: set it up under My profile before anything else."))
        if not principal.can(self.permission):
            raise Forbidden("permission_missing", _l(
                "You do not have the permission {permission}; ask your administrator.", permission=self.permission,
            ))
        return principal

    def __repr__(self) -> str:
        return f"Require({self.permission!r})"


class SignedIn:
    """Dependency: any signed-in user (their own profile, the home page, the language)."""

    def __call__(self, request: Request) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise _not_signed_in(request)
        return principal


def _not_signed_in(request: Request) -> Unauthenticated:
    if getattr(request.state, "token_rejected", False):
        return Unauthenticated("token_invalid", _l("The API token is unknown, revoked or expired."))
    return Unauthenticated("not_signed_in", _l("Please sign in first."))


class Public:
    """Marker dependency: the route is deliberately open (sign-in page, health checks, static)."""

    def __call__(self) -> None:
        return None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def verify_csrf(request: Request) -> None:
    """Unsafe requests riding on the session cookie must echo the session's CSRF token.

    Sent as the `X-CSRF-Token` header (htmx and scripts) or the `csrf_token` form field (plain forms).
    """
    principal = current_principal(request)
    if request.method in SAFE_METHODS or principal is None or principal.csrf_token is None:
        return
    sent = request.headers.get("x-csrf-token")
    content_type = request.headers.get("content-type", "")
    if not sent and ("form" in content_type):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, principal.csrf_token):
        raise Forbidden("csrf_failed", _l("The form has expired or did not come from this site; reload the page and try again."))


def require(permission: str) -> Any:
    return Depends(Require(permission))


SIGNED_IN: Any = Depends(SignedIn())
PUBLIC: Any = Depends(Public())
CurrentUser = Annotated[Principal, SIGNED_IN]
