"""Sign in and out over JSON (scripts, tests, the future mobile app) and who-am-I."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.errors import Unauthenticated
from synfab.people import service
from synfab.people.models import User
from synfab.people.schemas import (
    CodeIn,
    GrantCreate,
    GrantRead,
    LoginRequest,
    PasswordChange,
    PasswordReset,
    RoleCreate,
    RoleRead,
    RoleUpdate,
    SecondFactorRemove,
    SecondFactorStart,
    SessionRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserChange,
    UserCreate,
    UserRead,
)
from synfab.people.service import Principal, admin, profile, tokens
from synfab.plant.models import PlantNode
from synfab.web.deps import PUBLIC, CurrentUser, DbDep, SessionDep, UowDep, require
from synfab.web.middleware import SESSION_COOKIE

router = APIRouter(prefix="/api/v1", tags=["people"])


def sign_in(request: Request, response: Response, db: DbDep, username: str, password: str,
            totp: str | None = None) -> service.Principal:
    """Check the password, open a session and set its cookie (shared by the page and the API)."""
    settings = request.app.state.settings
    request.app.state.sign_in_limiter.hit(request.client.host if request.client else "-")
    with db.uow() as uow:
        try:
            user = service.attempt_sign_in(uow, username, password, totp)
        except Unauthenticated:
            uow.commit()  # the failure is counted and on record
            raise
        token = service.start_session(
            uow, user, absolute=timedelta(hours=settings.session_absolute_hours),
            client_addr=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )
        uow.commit()
        resolved = service.resolve_session(uow.session, token, idle=timedelta(minutes=settings.session_idle_minutes))
        principal = service.principal_for(uow.session, user, resolved)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=settings.session_absolute_hours * 3600)
    return principal


def _read(p: service.Principal) -> SessionRead:
    return SessionRead(username=p.username, display_name=p.display_name, roles=sorted(p.roles),
                       permissions=sorted(p.permissions), locale=p.locale, csrf_token=p.csrf_token,
                       must_enroll_second_factor=p.must_enroll_second_factor)


@router.post("/session", dependencies=[PUBLIC])
def login(body: LoginRequest, request: Request, response: Response, db: DbDep) -> SessionRead:
    """Sign in; the session cookie is set and the CSRF token to send with changes is returned."""
    return _read(sign_in(request, response, db, body.username, body.password, body.totp))


@router.delete("/session", status_code=204)
def logout(request: Request, response: Response, db: DbDep, user: CurrentUser) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with db.uow() as uow:
            service.end_session(uow, token)
            uow.commit()
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me")
def me(user: CurrentUser) -> SessionRead:
    return _read(user)



# -- my profile ----------------------------------------------------------------------------------------------


@router.post("/me/password", status_code=204)
def change_password(body: PasswordChange, uow: UowDep, user: CurrentUser) -> None:
    profile.change_own_password(uow, user.user_id, body.current, body.new)
    uow.commit()


@router.post("/me/second-factor")
def start_second_factor(uow: UowDep, user: CurrentUser) -> SecondFactorStart:
    """A new seed for an authenticator app; confirm it with a code to turn the second factor on."""
    secret, uri, svg = profile.begin_second_factor(uow, user.user_id)
    uow.commit()
    return SecondFactorStart(secret=secret, uri=uri, qr_svg=svg)


@router.post("/me/second-factor/confirm", status_code=204)
def confirm_second_factor(body: CodeIn, uow: UowDep, user: CurrentUser) -> None:
    profile.finish_second_factor(uow, user.user_id, body.code)
    uow.commit()


@router.post("/me/second-factor/remove", status_code=204)
def remove_second_factor(body: SecondFactorRemove, uow: UowDep, user: CurrentUser) -> None:
    profile.drop_second_factor(uow, user.user_id, body.password, body.code)
    uow.commit()


@router.get("/me/tokens")
def my_tokens(session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in tokens.list_tokens(session, user.user_id)]


@router.post("/me/tokens", status_code=201)
def create_token(body: TokenCreate, uow: UowDep, user: CurrentUser) -> TokenCreated:
    """A token for an integration with some of your permissions; its secret is in this answer only."""
    token, secret = tokens.create_token(uow, user, body.name, body.permissions, body.days)
    uow.commit()
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, uow: UowDep, user: CurrentUser) -> None:
    tokens.revoke_token(uow, user.user_id, token_id)
    uow.commit()


# -- users, grants and roles (delegated administration) ----------------------------------------------------------

UserViewer = Annotated[Principal, require("user.view")]
UserCreator = Annotated[Principal, require("user.create")]
UserChanger = Annotated[Principal, require("user.change")]


def user_read(session: Session, user: User) -> UserRead:
    grants = []
    for g in user.grants:
        node = session.scalar(select(PlantNode).where(PlantNode.id == g.scope_node_id)
                              .execution_options(unrestricted=True))
        grants.append(GrantRead(id=g.id, role=g.role.code, role_name=g.role.name, node_id=g.scope_node_id,
                                node_code=node.code if node else "?", granted_by=g.granted_by, granted_at=g.granted_at))
    return UserRead(id=user.id, username=user.username, display_name=user.display_name, email=user.email,
                    active=user.active, locale=user.locale, second_factor=bool(user.totp_secret),
                    last_login_at=user.last_login_at, locked=bool(user.locked_until and user.locked_until > clock.now()),
                    version=user.version, grants=grants)


@router.get("/users")
def list_users(session: SessionDep, user: UserViewer, q: str | None = None) -> list[UserRead]:
    """The users you may administer: those with a grant inside your scope, and those with none yet."""
    return [user_read(session, u) for u in admin.users_query(session, user, q)]


@router.post("/users", status_code=201)
def create_user(body: UserCreate, uow: UowDep, user: UserCreator) -> UserRead:
    """A new user with a first role over a node inside your scope (only roles you hold there yourself)."""
    created = admin.admin_create_user(uow, user, admin.NewUser(body.username, body.display_name, body.password,
                                                               body.email), body.role, body.node_id)
    uow.commit()
    return user_read(uow.session, created)


@router.get("/users/{user_id}")
def get_user(user_id: int, session: SessionDep, user: UserViewer) -> UserRead:
    return user_read(session, admin.get_user(session, user, user_id))


@router.patch("/users/{user_id}")
def change_user(user_id: int, body: UserChange, uow: UowDep, user: UserChanger) -> UserRead:
    changed = admin.set_active(uow, user, user_id, body.active, body.version)
    uow.commit()
    return user_read(uow.session, changed)


@router.post("/users/{user_id}/password", status_code=204)
def reset_password(user_id: int, body: PasswordReset, uow: UowDep, user: UserChanger) -> None:
    admin.reset_password(uow, user, user_id, body.password)
    uow.commit()


@router.post("/users/{user_id}/grants", status_code=201)
def add_grant(user_id: int, body: GrantCreate, uow: UowDep, user: UserChanger) -> UserRead:
    admin.grant(uow, user, user_id, body.role, body.node_id)
    uow.commit()
    return user_read(uow.session, admin.get_user(uow.session, user, user_id))


@router.delete("/grants/{grant_id}", status_code=204)
def revoke_grant(grant_id: int, uow: UowDep, user: UserChanger) -> None:
    admin.revoke(uow, user, grant_id)
    uow.commit()


@router.get("/roles")
def list_roles(session: SessionDep, user: UserViewer) -> list[RoleRead]:
    return [RoleRead.model_validate(r) for r in admin.list_roles(session)]


@router.post("/roles", status_code=201)
def create_role(body: RoleCreate, uow: UowDep, user: UserChanger) -> RoleRead:
    role = admin.create_role(uow, user, body.code, body.name, body.name_en, body.permissions)
    uow.commit()
    return RoleRead.model_validate(role)


@router.put("/roles/{role_id}")
def update_role(role_id: int, body: RoleUpdate, uow: UowDep, user: UserChanger) -> RoleRead:
    """Change a role's permissions for everyone who holds it (administrators over the whole plant only)."""
    role = admin.update_role(uow, user, role_id, body.permissions, body.version, body.name, body.name_en)
    uow.commit()
    return RoleRead.model_validate(role)
