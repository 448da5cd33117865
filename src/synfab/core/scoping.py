"""Row-level scope, applied by default: the mechanism in core, the rules in `people.scoping`.

A model whose rows belong somewhere in the plant tree mixes in `Scoped`: it names its permission object type
and says how its rows relate to a set of plant nodes. While a person acts (the web middleware puts their
`Restriction` on the actor), every ORM query of a read session gets `with_loader_criteria` for every scoped
model — lists, details, exports, lazy loads alike — and every write is re-checked when it is flushed. Nothing
in a route or service filters by hand. Background work (no restriction) sees everything.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sqlalchemy import Select
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class ScopeNodes:
    """The plant nodes a person may act on for one permission: `subtree` selects the ids of their granted
    nodes and everything under them (their `paths` are the granted nodes' paths); `ancestors` are the nodes
    above (shown for orientation, never changed)."""

    subtree: Select[Any]
    paths: tuple[str, ...]
    ancestors: frozenset[int]


class Scoped:
    """Mixin for models whose rows belong to a plant node (directly or through another record)."""

    __object_type__: ClassVar[str]  # the permission object type: "sales_order", "stock", …

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """True for rows within `nodes`; `action` is "view", "create" or "change"."""
        raise NotImplementedError


class Restriction(Protocol):
    """What a person may see and change; implemented by `people.scoping.PlantRestriction`."""

    def nodes(self, object_type: str, action: str) -> ScopeNodes | None:
        """The nodes of the grants whose role has `object_type.action`; None means everywhere."""
        ...

    def describe(self, object_type: str, action: str) -> str:
        """The granted scopes in words, for error messages."""
        ...

    @property
    def key(self) -> Hashable:
        """Equal for equal grants: what is built from a restriction (the read criteria) is cached under it."""
        ...

    def label(self, object_type: str) -> Any:
        """What the object type is called, in the reader's language (text or LazyText)."""
        ...


def scoped_models(mappers: Iterable[Any]) -> list[type[Scoped]]:
    return [m.class_ for m in mappers if isinstance(m.class_, type) and issubclass(m.class_, Scoped)]
