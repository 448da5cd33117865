"""Sign-in and sign-out pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.errors import DomainError, Invalid, Unauthenticated
from synfab.core.i18n import N_, _l
from synfab.core.uow import UnitOfWork
from synfab.people import service
from synfab.people.api import sign_in
from synfab.people.models import AuditRecord, User
from synfab.people.roles import ACTIONS, OBJECT_TYPES
from synfab.people.service import Principal, admin, profile, tokens
from synfab.people.service.audit import AUDIT_FILTERS, audit_query_from
from synfab.plant import service as plant
from synfab.plant.models import PlantNode
from synfab.web.deps import PUBLIC, CurrentUser, DbDep, SessionDep, SignedIn, require
from synfab.web.listing import ListQuery, paginate
from synfab.web.middleware import SESSION_COOKIE
from synfab.web.pages import _safe_next
from synfab.web.templating import NavItem, render

router = APIRouter()
NAV = [
    NavItem(N_("Administration"), N_("Users"), "/admin/users", "user.view", "☺"),
    NavItem(N_("Administration"), N_("Roles"), "/admin/roles", "user.view", "⚿"),
    NavItem(N_("Administration"), N_("Audit log"), "/admin/audit", "audit.view", "⎘"),
]


@router.get("/login", response_class=HTMLResponse, dependencies=[PUBLIC])
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "people/login.html", next=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse, dependencies=[PUBLIC])
def login_submit(
    request: Request, db: DbDep, username: Annotated[str, Form()], password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/", totp: Annotated[str, Form()] = "",
) -> Response:
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    try:
        sign_in(request, redirect, db, username, password, totp or None)
    except Unauthenticated as exc:
        return render(request, "people/login.html", next=_safe_next(next), error=exc, username=username,
                      status_code=401)
    return redirect


@router.post("/logout", dependencies=[Depends(SignedIn())])
def logout(request: Request, db: DbDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with db.uow() as uow:
            service.end_session(uow, token)
            uow.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- my profile ----------------------------------------------------------------------------------------------

PROFILE_NOTICES = {
    "password": _l("Your password was changed."),
    "second_factor": _l("The second factor is on: from now on, sign in with a code from your app."),
    "second_factor_removed": _l("The second factor is off."),
    "token_revoked": _l("The token was revoked: it no longer works."),
}


def _profile(request: Request, session: Session, user: Principal, *, error: DomainError | None = None,
             enrolment: tuple[str, str, str] | None = None, new_token: str | None = None) -> Response:
    me = session.get(User, user.user_id)
    by_object: dict[str, list[str]] = {}
    for permission in sorted(user.permissions):
        by_object.setdefault(permission.split(".")[0], []).append(permission)
    notice = PROFILE_NOTICES.get(request.query_params.get("done", ""))
    return render(request, "people/profile.html", me=me, tokens=tokens.list_tokens(session, user.user_id),
                  permissions=by_object, object_names=OBJECT_TYPES, error=error, notice=notice,
                  enrolment=enrolment, new_token=new_token, status_code=error.status_code if error else 200)


@router.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _profile(request, session, user)


@router.post("/profile/password", response_class=HTMLResponse)
def profile_password(request: Request, db: DbDep, user: CurrentUser, current: Annotated[str, Form()],
                     new: Annotated[str, Form()], repeat: Annotated[str, Form()]) -> Response:
    try:
        if new != repeat:
            raise Invalid("password_repeat_differs", _l("The two new passwords differ."))
        with db.uow() as uow:
            profile.change_own_password(uow, user.user_id, current, new)
            uow.commit()
    except DomainError as exc:
        with db.session() as session:
            return _profile(request, session, user, error=exc)
    return RedirectResponse("/profile?done=password", status_code=303)


@router.post("/profile/second-factor", response_class=HTMLResponse)
def profile_second_factor_start(request: Request, db: DbDep, user: CurrentUser) -> Response:
    with db.uow() as uow:
        enrolment = profile.begin_second_factor(uow, user.user_id)
        uow.commit()
    with db.session() as session:
        return _profile(request, session, user, enrolment=enrolment)


@router.post("/profile/second-factor/confirm", response_class=HTMLResponse)
def profile_second_factor_confirm(request: Request, db: DbDep, user: CurrentUser,
                                  code: Annotated[str, Form()]) -> Response:
    try:
        with db.uow() as uow:
            profile.finish_second_factor(uow, user.user_id, code)
            uow.commit()
    except DomainError as exc:
        with db.session() as session:
            return _profile(request, session, user, error=exc)
    return RedirectResponse("/profile?done=second_factor", status_code=303)


@router.post("/profile/second-factor/remove", response_class=HTMLResponse)
def profile_second_factor_remove(request: Request, db: DbDep, user: CurrentUser, password: Annotated[str, Form()],
                                 code: Annotated[str, Form()]) -> Response:
    try:
        with db.uow() as uow:
            profile.drop_second_factor(uow, user.user_id, password, code)
            uow.commit()
    except DomainError as exc:
        with db.session() as session:
            return _profile(request, session, user, error=exc)
    return RedirectResponse("/profile?done=second_factor_removed", status_code=303)


@router.post("/profile/tokens", response_class=HTMLResponse)
def profile_token_create(request: Request, db: DbDep, user: CurrentUser, name: Annotated[str, Form()],
                         days: Annotated[int, Form()] = 90,
                         permissions: Annotated[list[str] | None, Form()] = None) -> Response:
    try:
        with db.uow() as uow:
            _token, secret = tokens.create_token(uow, user, name, permissions or [], days)
            uow.commit()
    except DomainError as exc:
        with db.session() as session:
            return _profile(request, session, user, error=exc)
    with db.session() as session:
        return _profile(request, session, user, new_token=secret)


@router.post("/profile/tokens/{token_id}/revoke")
def profile_token_revoke(token_id: int, db: DbDep, user: CurrentUser) -> Response:
    with db.uow() as uow:
        tokens.revoke_token(uow, user.user_id, token_id)
        uow.commit()
    return RedirectResponse("/profile?done=token_revoked", status_code=303)


# -- users, grants, roles, audit -------------------------------------------------------------------------------

UserViewer = Annotated[Principal, require("user.view")]
UserChanger = Annotated[Principal, require("user.change")]


def _users_page(request: Request, session: Session, user: Principal, *, error: DomainError | None = None,
                form: dict[str, str] | None = None) -> Response:
    q = request.query_params.get("q", "").strip()
    return render(request, "people/users.html", users=admin.users_query(session, user, q or None), q=q,
                  nodes=admin.grantable_nodes(session, user), roles=admin.grantable_roles(session, user),
                  error=error, form=form or {}, status_code=error.status_code if error else 200)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, user: UserViewer) -> Response:
    return _users_page(request, session, user)


@router.post("/admin/users", response_class=HTMLResponse)
def users_create(request: Request, db: DbDep, user: Annotated[Principal, require("user.create")],
                 username: Annotated[str, Form()], display_name: Annotated[str, Form()],
                 password: Annotated[str, Form()], role: Annotated[str, Form()], node_id: Annotated[int, Form()],
                 idempotency_key: Annotated[str, Form()]) -> Response:
    try:
        with db.uow() as uow:
            done = uow.claim_idempotency(idempotency_key, "people.create_user")
            if done is not None:
                return RedirectResponse(f"/admin/users/{done.get('id', '')}", status_code=303)
            created = admin.admin_create_user(uow, user, admin.NewUser(username.strip(), display_name.strip(),
                                                                        password), role, node_id)
            uow.complete_idempotency(idempotency_key, {"id": created.id})
            uow.commit()
    except DomainError as exc:
        with db.session() as session:
            return _users_page(request, session, user, error=exc,
                               form={"username": username, "display_name": display_name})
    return RedirectResponse(f"/admin/users/{created.id}", status_code=303)


def _user_page(request: Request, session: Session, user: Principal, user_id: int, *,
               error: DomainError | None = None) -> Response:
    target = admin.get_user(session, user, user_id)
    nodes = {g.scope_node_id: session.scalar(select(PlantNode).where(PlantNode.id == g.scope_node_id)
                                             .execution_options(unrestricted=True)) for g in target.grants}
    return render(request, "people/user.html", target=target, grant_nodes=nodes,
                  nodes=admin.grantable_nodes(session, user), roles=admin.grantable_roles(session, user),
                  error=error, now=clock.now(), status_code=error.status_code if error else 200)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(user_id: int, request: Request, session: SessionDep, user: UserViewer) -> Response:
    return _user_page(request, session, user, user_id)


def _user_action(request: Request, db: DbDep, user: Principal, user_id: int, action: Callable[[UnitOfWork], object],
                 ) -> Response:
    try:
        with db.uow() as uow:
            action(uow)
            uow.commit()
    except DomainError as exc:
        with db.session() as session:
            return _user_page(request, session, user, user_id, error=exc)
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/grants", response_class=HTMLResponse)
def user_grant(user_id: int, request: Request, db: DbDep, user: UserChanger, role: Annotated[str, Form()],
               node_id: Annotated[int, Form()]) -> Response:
    return _user_action(request, db, user, user_id, lambda uow: admin.grant(uow, user, user_id, role, node_id))


@router.post("/admin/users/{user_id}/grants/{grant_id}/revoke", response_class=HTMLResponse)
def user_revoke(user_id: int, grant_id: int, request: Request, db: DbDep, user: UserChanger) -> Response:
    return _user_action(request, db, user, user_id, lambda uow: admin.revoke(uow, user, grant_id))


@router.post("/admin/users/{user_id}/active", response_class=HTMLResponse)
def user_active(user_id: int, request: Request, db: DbDep, user: UserChanger, active: Annotated[bool, Form()],
                version: Annotated[int, Form()]) -> Response:
    return _user_action(request, db, user, user_id, lambda uow: admin.set_active(uow, user, user_id, active, version))


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
def user_password(user_id: int, request: Request, db: DbDep, user: UserChanger,
                  password: Annotated[str, Form()]) -> Response:
    return _user_action(request, db, user, user_id, lambda uow: admin.reset_password(uow, user, user_id, password))


@router.get("/admin/roles", response_class=HTMLResponse)
def roles_page(request: Request, session: SessionDep, user: UserViewer) -> Response:
    return render(request, "people/roles.html", roles=admin.list_roles(session), objects=OBJECT_TYPES,
                  actions=ACTIONS, error=None)


@router.post("/admin/roles/{role_id}", response_class=HTMLResponse)
def role_update(role_id: int, request: Request, db: DbDep, user: UserChanger, version: Annotated[int, Form()],
                permissions: Annotated[list[str] | None, Form()] = None) -> Response:
    try:
        with db.uow() as uow:
            admin.update_role(uow, user, role_id, permissions or [], version)
            uow.commit()
    except DomainError as exc:
        with db.session() as session:
            return render(request, "people/roles.html", roles=admin.list_roles(session), objects=OBJECT_TYPES,
                          actions=ACTIONS, error=exc, status_code=exc.status_code)
    return RedirectResponse("/admin/roles", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, session: SessionDep, user: Annotated[Principal, require("audit.view")]) -> Response:
    lq = ListQuery.from_request(request, AUDIT_FILTERS)
    tz = plant.main_time_zone(session)
    stmt = audit_query_from(lq.filters, tz)
    page = paginate(session, stmt.order_by(None), lq, {"id": AuditRecord.id}, [AuditRecord.id.desc()])
    actions = sorted(session.scalars(select(AuditRecord.action).distinct()))
    object_types = sorted(session.scalars(select(AuditRecord.object_type).distinct()))
    return render(request, "people/audit.html", page=page, lq=lq, actions=actions, object_types=object_types, tz=tz)
