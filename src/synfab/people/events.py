from __future__ import annotations

from dataclasses import dataclass

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class UserCreated(Event):
    user_id: int
    username: str


@dataclass(frozen=True, kw_only=True)
class UserLoggedIn(Event):
    user_id: int
    username: str


@dataclass(frozen=True, kw_only=True)
class UserLoggedOut(Event):
    user_id: int
    username: str
