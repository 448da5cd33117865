"""Delegated administration (分级授权): who may create users, grant and revoke roles, and edit roles.

An administrator acts through their own grants: they see the users who hold a grant inside their scope (or
none yet), grant roles only over nodes inside their scope for `user.change`, and only roles whose every
permission they hold over that node themselves — nobody hands out more than they have. Editing a role changes
it for everyone who holds it anywhere, so it needs `user.change` over the whole plant.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from synfab.core.db import check_version
from synfab.core.errors import Conflict, Forbidden, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import Grant, Role, User
from synfab.people.roles import ACTIONS, OBJECT_TYPES
from synfab.people.service.accounts import Principal, create_user, hash_password
from synfab.people.service.audit import note_security_event
from synfab.people.service.security import check_password_policy
from synfab.plant import service as plant
from synfab.plant.models import PlantNode

ALL_PERMISSIONS = frozenset(f"{o}.{a}" for o in OBJECT_TYPES for a in ACTIONS)


def _node(session: Session, node_id: int) -> PlantNode | None:
    """Any plant node, in scope or not: deciding about scope is this module's business."""
    return session.scalar(select(PlantNode).where(PlantNode.id == node_id).execution_options(unrestricted=True))


def _covers(admin: Principal, permission: str, node: PlantNode) -> bool:
    if admin.restriction is None:
        return admin.can(permission)
    object_type, action = permission.split(".", 1)
    return admin.restriction.allows_node(object_type, action, node.path)


def _scope_nodes(session: Session, admin: Principal, permission: str) -> list[PlantNode]:
    """The plant nodes inside the admin's scope for `permission`, in tree order."""
    return [n for n in plant.order_as_tree(list(session.scalars(
        select(PlantNode).execution_options(unrestricted=True)))) if _covers(admin, permission, n)]


def grantable_nodes(session: Session, admin: Principal) -> list[PlantNode]:
    return _scope_nodes(session, admin, "user.change")


def grantable_roles(session: Session, admin: Principal, node: PlantNode | None = None) -> list[Role]:
    """Roles the admin may grant (over `node`, or anywhere in their scope)."""
    nodes = [node] if node is not None else grantable_nodes(session, admin)
    roles = list(session.scalars(select(Role).order_by(Role.id)))
    return [r for r in roles if any(all(_covers(admin, p, n) for p in r.permissions) for n in nodes)]


def _visible(session: Session, admin: Principal, user: User) -> bool:
    if not user.grants:
        return True
    nodes = {g.scope_node_id: _node(session, g.scope_node_id) for g in user.grants}
    return any(n is not None and _covers(admin, "user.view", n) for n in nodes.values())


def users_query(session: Session, admin: Principal, q: str | None = None) -> list[User]:
    """The users an administrator may see: those with a grant inside their scope, and those with none yet."""
    stmt = select(User).order_by(User.username)
    if q:
        stmt = stmt.where(User.username.icontains(q, autoescape=True) | User.display_name.icontains(q, autoescape=True))
    return [u for u in session.scalars(stmt) if _visible(session, admin, u)]


def get_user(session: Session, admin: Principal, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not _visible(session, admin, user):
        raise NotFound("user_not_found", _l("User {id} does not exist.", id=user_id))
    return user


def _refuse_unmanaged(session: Session, admin: Principal, user: User) -> None:
    """Changing the person themselves (activation, password) touches every plant they work in: all of their
    grants must be inside the admin's scope."""
    outside = [g for g in user.grants if not _covers(admin, "user.change", _node(session, g.scope_node_id))]
    if outside:
        raise Forbidden("user_outside_scope", _l(
            "{name} also works outside your scope ({nodes}); ask an administrator over all of it.",
            name=user.display_name, nodes=", ".join(sorted(_node(session, g.scope_node_id).code
                                                        for g in outside))))


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    password: str
    email: str | None = None
    locale: str | None = None


def admin_create_user(uow: UnitOfWork, admin: Principal, data: NewUser, role_code: str, node_id: int) -> User:
    """A new user with a first role over a node inside the admin's scope."""
    user = create_user(uow, data.username, data.display_name, data.password, email=data.email, locale=data.locale)
    grant(uow, admin, user.id, role_code, node_id)
    return user


def grant(uow: UnitOfWork, admin: Principal, user_id: int, role_code: str, node_id: int) -> Grant:
    """Give a user a role over a node; refused outside the admin's scope or beyond their own permissions."""
    s = uow.session
    user = get_user(s, admin, user_id)  # someone the admin cannot see is not theirs to grant to
    node = _node(s, node_id)
    role = s.scalar(select(Role).where(Role.code == role_code))
    if node is None:
        raise Invalid("plant_node_not_found", _l("Plant node {id} does not exist.", id=node_id))
    if role is None:
        raise Invalid("role_not_found", _l("There is no role {code}.", code=role_code))
    if not _covers(admin, "user.change", node):
        raise Forbidden("grant_outside_scope", _l(
            "{node} is outside your scope: you can grant roles only over {scopes}.", node=node.code,
            scopes=admin.restriction.describe("user", "change") if admin.restriction else "—"))
    missing = sorted(p for p in role.permissions if not _covers(admin, p, node))
    if missing:
        raise Forbidden("grant_beyond_permissions", _l(
            "You cannot grant {role} over {node}: it includes permissions you do not hold there ({missing}).",
            role=role.code, node=node.code, missing=", ".join(missing)))
    if s.scalar(select(Grant.id).where(Grant.user_id == user.id, Grant.role_id == role.id,
                                       Grant.scope_node_id == node.id)) is not None:
        raise Conflict("grant_exists", _l("{name} already has {role} over {node}.", name=user.display_name,
                                          role=role.code, node=node.code))
    new = Grant(user_id=user.id, role_id=role.id, scope_node_id=node.id, granted_by=admin.username)
    user.grants.append(new)  # through the collection: it may already be loaded (by the visibility check)
    uow.flush()
    return new


def revoke(uow: UnitOfWork, admin: Principal, grant_id: int) -> None:
    s = uow.session
    found = s.get(Grant, grant_id)
    if found is None:
        raise NotFound("grant_not_found", _l("Grant {id} does not exist.", id=grant_id))
    node = _node(s, found.scope_node_id)
    missing = sorted(p for p in found.role.permissions if not _covers(admin, p, node))
    if not _covers(admin, "user.change", node) or missing:
        raise Forbidden("revoke_outside_scope", _l(
            "Only someone holding all of {role} over {node} may take it away.", role=found.role.code, node=node.code))
    s.delete(found)
    uow.flush()


def set_active(uow: UnitOfWork, admin: Principal, user_id: int, active: bool, version: int | None = None) -> User:
    user = get_user(uow.session, admin, user_id)
    check_version(user, version)
    _refuse_unmanaged(uow.session, admin, user)
    if user.id == admin.user_id and not active:
        raise Invalid("cannot_deactivate_self", _l("You cannot deactivate yourself."))
    user.active = active
    return user


def reset_password(uow: UnitOfWork, admin: Principal, user_id: int, new_password: str) -> User:
    """Set a new password for someone (they should change it at their next sign-in); unlocks the account."""
    user = get_user(uow.session, admin, user_id)
    _refuse_unmanaged(uow.session, admin, user)
    check_password_policy(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.failed_logins, user.locked_until = 0, None
    note_security_event(uow, "password_reset", "app_user", user.id, {"by": admin.username})
    return user


# -- roles ---------------------------------------------------------------------------------------------------


def _refuse_unless_plant_wide(admin: Principal) -> None:
    if not admin.can("user.change") or (admin.restriction is not None and admin.restriction.nodes("user", "change")
                                        is not None):
        raise Forbidden("roles_need_plant_wide_admin", _l(
            "Roles hold for everyone who has them, everywhere: only an administrator over the whole plant may "
            "edit them."))


def _checked_permissions(admin: Principal, permissions: list[str]) -> list[str]:
    unknown = sorted(set(permissions) - ALL_PERMISSIONS)
    if unknown:
        raise Invalid("permission_unknown", _l("Unknown permissions: {permissions}.", permissions=", ".join(unknown)))
    missing = sorted(p for p in set(permissions) if not admin.can(p))
    if missing:
        raise Forbidden("permission_not_held", _l(
            "A role cannot give permissions you do not hold: {permissions}.", permissions=", ".join(missing)))
    return sorted(set(permissions))


def create_role(uow: UnitOfWork, admin: Principal, code: str, name: str, name_en: str | None,
                permissions: list[str]) -> Role:
    _refuse_unless_plant_wide(admin)
    code = code.strip()
    if not code or uow.session.scalar(select(exists().where(Role.code == code))):
        raise Conflict("role_code_taken", _l("The role code {code} is already used.", code=code))
    role = Role(code=code, name=name.strip(), name_en=(name_en or "").strip() or None,
                permissions=_checked_permissions(admin, permissions), builtin=False)
    uow.session.add(role)
    uow.flush()
    return role


def update_role(uow: UnitOfWork, admin: Principal, role_id: int, permissions: list[str], version: int,
                name: str | None = None, name_en: str | None = None) -> Role:
    _refuse_unless_plant_wide(admin)
    role = uow.session.get(Role, role_id)
    if role is None:
        raise NotFound("role_not_found", _l("Role {id} does not exist.", id=role_id))
    check_version(role, version)
    role.permissions = _checked_permissions(admin, permissions)
    if name:
        role.name = name.strip()
    if name_en is not None:
        role.name_en = name_en.strip() or None
    return role


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.builtin.desc(), Role.id)))
