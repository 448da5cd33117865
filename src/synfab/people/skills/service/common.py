"""Shared pieces of the skills services: people, today at a site, filters, the text of changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from synfab.core import clock
from synfab.core.choices import Choice
from synfab.core.context import current_actor
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import LazyText, _l
from synfab.people.models import Grant, User
from synfab.people.skills.choices import SkillLevel
from synfab.plant import service as plant
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode


def level_meaning(level: int | None) -> LazyText:
    """What a level means at the machine (0 or None: not held)."""
    if not level:
        return _l("Not held")
    return SkillLevel.of(level).label


def people_in_scope(action: str = "view") -> ColumnElement[bool] | None:
    """Which people the acting person may see (or change) the skills of, as a condition on `User`: those holding
    a grant inside their `skill.<action>` scope, those with no grant yet, and themselves — the rule the user
    administration follows. None: everyone (the system, or a grant over the whole plant)."""
    actor = current_actor()
    nodes = actor.restriction.nodes("skill", action) if actor.restriction is not None else None
    if nodes is None:
        return None
    granted = select(Grant.user_id).where(Grant.scope_node_id.in_(nodes.subtree))
    return or_(User.id.in_(granted), ~exists().where(Grant.user_id == User.id), User.id == actor.user_id)


def get_person(session: Session, user_id: int, action: str | None = "view") -> User:
    """A person whose skills the acting person may see (or `action`: create, change); None: anyone at all (a
    trainer or an assessor named on a record)."""
    stmt = select(User).where(User.id == user_id)
    if action is not None and (inside := people_in_scope(action)) is not None:
        stmt = stmt.where(inside)
    user = session.scalar(stmt)
    if user is None:
        raise NotFound("person_not_found", _l("There is no person with id {id} whose skills you may see.",
                                              id=user_id))
    return user


def person_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip()))


def list_people(session: Session, action: str | None = "view") -> list[User]:
    """Active people whose skills the acting person may see (or `action`; None: everyone), by name."""
    stmt = select(User).where(User.active.is_(True)).order_by(User.display_name, User.username)
    if action is not None and (inside := people_in_scope(action)) is not None:
        stmt = stmt.where(inside)
    return list(session.scalars(stmt))


def acting_user_id() -> int | None:
    return current_actor().user_id


def acting_username() -> str:
    return current_actor().username


def site_today(session: Session, node: PlantNode | None = None) -> date:
    """Today at a node's site (its time zone); without a node, at the first site; UTC without any site."""
    if node is None:
        sites = session.scalars(select(PlantNode).where(PlantNode.level == Level.SITE).order_by(PlantNode.id)
                                .limit(1).execution_options(unrestricted=True)).all()
        node = sites[0] if sites else None
    if node is None:
        return clock.now().date()
    return clock.now().astimezone(plant.time_zone_of(session, node)).date()


def text_of(value: Any) -> str | None:
    return None if value is None else str(value.value if isinstance(value, Choice) else value)


def apply_changes(record: Any, fields: dict[str, Any]) -> dict[str, list[str | None]]:
    """Set the fields that differ; return field → [old, new] as text for the event."""
    changes: dict[str, list[str | None]] = {}
    for key, value in fields.items():
        old = getattr(record, key)
        if old != value:
            changes[key] = [text_of(old), text_of(value)]
            setattr(record, key, value)
    return changes


def int_filter(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid("bad_filter", _l("The filter {name} needs a number, not {value}.",
                                       name=name, value=value)) from None


def date_filter(value: Any, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid("bad_filter", _l("The filter {name} needs a date as YYYY-MM-DD, not {value}.",
                                       name=name, value=value)) from None


def choice_filter(choice: type[Choice], value: Any, name: str) -> Choice | None:
    if value is None or value == "":
        return None
    try:
        return choice.parse(str(value))
    except ValueError:
        raise Invalid("bad_filter", _l("{value} is not a known value for the filter {name}.",
                                       value=value, name=name)) from None


def search(q: str | None, *columns: InstrumentedAttribute[Any] | ColumnElement[Any]) -> ColumnElement[bool] | None:
    text = (q or "").strip()
    if not text:
        return None
    return or_(*(col.icontains(text, autoescape=True) for col in columns))
