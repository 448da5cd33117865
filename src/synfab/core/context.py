"""Who is acting, in which request and language — carried by context variables.

Set once at the edge (web middleware, CLI command, dispatcher) and read by the unit of work
(who changed what), the event bus (correlation) and i18n (which language to speak).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    # What they may see and change (core.scoping.Restriction); None: everything (the system, the CLI).
    restriction: Any = None


SYSTEM = Actor(user_id=None, username="system")

actor_var: ContextVar[Actor] = ContextVar("synfab_actor", default=SYSTEM)
request_id_var: ContextVar[str | None] = ContextVar("synfab_request_id", default=None)
client_addr_var: ContextVar[str | None] = ContextVar("synfab_client_addr", default=None)
locale_var: ContextVar[str] = ContextVar("synfab_locale", default="en")


def current_actor() -> Actor:
    return actor_var.get()


@contextmanager
def acting_as(actor: Actor, request_id: str | None = None) -> Iterator[None]:
    """Run a block as `actor` (CLI commands, background jobs, tests)."""
    token = actor_var.set(actor)
    rid_token = request_id_var.set(request_id) if request_id else None
    try:
        yield
    finally:
        actor_var.reset(token)
        if rid_token is not None:
            request_id_var.reset(rid_token)


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Run a block in a language (CLI output, exports, notifications)."""
    token = locale_var.set(locale)
    try:
        yield
    finally:
        locale_var.reset(token)
