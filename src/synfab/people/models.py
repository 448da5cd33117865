"""People and what they may do: users, roles (sets of permissions), grants of a role over a plant subtree."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, cast, inspect, not_, or_, select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.core import clock
from synfab.core.choices import ChoiceType
from synfab.core.crypto import EncryptedText
from synfab.core.db import Base, UtcDateTime, Versioned
from synfab.core.scoping import ScopeNodes, Scoped, scoped_models
from synfab.people.choices import SignatureMeaning


class User(Versioned, Base):
    __tablename__ = "app_user"
    __person__ = "id"  # the column naming the person a row belongs to (scopes the audit records about it)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Temporary lockout after repeated wrong passwords (kept here: it holds across restarts and servers).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Second factor (RFC 6238 TOTP): the seed is a secret at rest; the last step accepted refuses replays.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText())
    totp_pending: Mapped[str | None] = mapped_column(EncryptedText())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    grants: Mapped[list[Grant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin",
        foreign_keys="Grant.user_id",
    )


class Role(Versioned, Base):
    """A named set of permissions such as `sales_order.view` or `material.change`."""

    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    def display_name(self, locale: str) -> str:
        return self.name_en if locale == "en" and self.name_en else self.name


class Grant(Base):
    """A user holds a role over a plant node and everything under it."""

    __tablename__ = "role_grant"
    __person__ = "user_id"
    __table_args__ = (UniqueConstraint("user_id", "role_id", "scope_node_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    scope_node_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    granted_by: Mapped[str] = mapped_column(String(80), default="system")

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    role: Mapped[Role] = relationship(lazy="joined")


class PersonScoped(Scoped):
    """Mixin for rows about one person (their skill levels, certifications, training): they belong where the
    person works. Seen and changed by whoever holds the object type's permission over a node where the person
    has a grant — or anywhere in the plant while the person has no grant yet (as the user administration shows
    people). `__person__` names the column holding the person."""

    __person__: ClassVar[str]

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        person = getattr(cls, cls.__person__)
        return or_(person.in_(select(Grant.user_id).where(Grant.scope_node_id.in_(nodes.subtree))),
                   ~select(Grant.id).where(Grant.user_id == person).exists())


class UserSession(Base):
    """A signed-in browser: the cookie carries a random token, the database keeps only its hash."""

    __audited__ = False  # sign-ins and sign-outs are audited as such

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    client_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")


class AuditRecord(Scoped, Base):
    """One change or security event, hash-chained to the one before: who, when, what, before and after."""

    __tablename__ = "audit_record"
    __audited__ = False  # the log itself
    __object_type__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)  # the sequence number: gaps mean deleted records
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(60), index=True)
    object_id: Mapped[str] = mapped_column(String(80), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    cause: Mapped[str | None] = mapped_column(String(80))  # the event whose handler made this change
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A record about a row of a scoped table is seen by whoever may see that row (over the grants that give
        `audit.view`); records about plant-wide things (materials, roles) by everyone who may read the log.
        Records are only ever written by the unit of work, whoever acts."""
        if action != "view":
            return true()
        hidden = []
        for model in scoped_models(Base.registry.mappers):
            if model is cls:
                continue
            pk = inspect(model).primary_key[0]
            visible = select(cast(pk, String)).where(model.scope_criteria(nodes, "view"))
            hidden.append(and_(cls.object_type == model.__table__.name, cls.object_id.not_in(visible)))
        # Records about a person's things (their account, grants, tokens, certifications, levels): seen by whoever
        # administers the person — a grant inside the scope, or none yet (as the user administration shows them).
        granted = select(Grant.user_id).where(Grant.scope_node_id.in_(nodes.subtree))
        ungranted = select(User.id).where(~select(Grant.id).where(Grant.user_id == User.id).exists())
        owned = {m.class_ for m in Base.registry.mappers
                 if getattr(m.class_, "__person__", None) and not issubclass(m.class_, Scoped)}
        for model in sorted(owned, key=lambda m: m.__tablename__):
            person = getattr(model, model.__person__)
            pk = inspect(model).primary_key[0]
            visible = select(cast(pk, String)).where(or_(person.in_(granted), person.in_(ungranted)))
            hidden.append(and_(cls.object_type == model.__table__.name, cls.object_id.not_in(visible)))
        return not_(or_(*hidden)) if hidden else true()


class AuditHead(Base):
    """The newest record's number and hash: cutting records off the end of the log shows as a mismatch."""

    __tablename__ = "audit_head"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class ESignature(Base):
    """An electronic signature: who re-authenticated, what they meant, on which record and action, when."""

    __tablename__ = "e_signature"
    __table_args__ = (Index("ix_e_signature_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    username: Mapped[str] = mapped_column(String(80))
    display_name: Mapped[str] = mapped_column(String(120))
    meaning: Mapped[SignatureMeaning] = mapped_column(ChoiceType(SignatureMeaning))
    action: Mapped[str] = mapped_column(String(60))  # release_lot, override_qualification, change_released_routing …
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    client_addr: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A token for an integration: acts as its owner, with at most the permissions it lists, until it expires.
    Shown once; only its hash is kept."""

    __tablename__ = "api_token"
    __person__ = "user_id"
    __audit_exclude__ = ("last_used_at",)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    user: Mapped[User] = relationship(lazy="joined")
