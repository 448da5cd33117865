"""The one scoping helper: a person's grants (role × plant node) as the `Restriction` core applies to every read
of scoped data and checks on every write (see `core.scoping`).

A grant covers its node and everything under it. The nodes above a granted node are visible (a line manager
sees the names of their area and site) but never changed through that grant.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, or_, select

from synfab.core.scoping import ScopeNodes
from synfab.plant.models import PlantNode

# A Core alias of its own: the criteria's subquery is neither restricted in turn nor rewritten when a query
# joins the plant tree under another alias (a stock location, a work center).
_NODES = PlantNode.__table__.alias("scope_node")


@dataclass(frozen=True)
class GrantedNode:
    id: int
    code: str
    path: str


@dataclass
class PlantRestriction:
    """For each permission, the nodes it is granted over; `roots` are the top nodes of the whole plant."""

    by_permission: dict[str, frozenset[GrantedNode]]
    roots: frozenset[str]
    _cache: dict[str, ScopeNodes | None] = field(default_factory=dict, repr=False)
    _key: Hashable | None = field(default=None, repr=False)

    @property
    def key(self) -> Hashable:
        if self._key is None:
            self._key = (frozenset(self.by_permission.items()), self.roots)
        return self._key

    def nodes(self, object_type: str, action: str) -> ScopeNodes | None:
        permission = f"{object_type}.{action}"
        if permission not in self._cache:
            self._cache[permission] = self._nodes(self.by_permission.get(permission, frozenset()))
        return self._cache[permission]

    def _nodes(self, granted: frozenset[GrantedNode]) -> ScopeNodes | None:
        paths = _outermost(n.path for n in granted)
        if self.roots and set(self.roots) <= set(paths):
            return None  # granted at the top of every tree: no limit
        if not paths:
            return ScopeNodes(select(_NODES.c.id).where(false()), (), frozenset())
        subtree = select(_NODES.c.id).where(or_(*(_NODES.c.path.startswith(p, autoescape=True) for p in paths)))
        ancestors = {int(part) for p in paths for part in p.strip("/").split("/")[:-1]}
        return ScopeNodes(subtree, paths, frozenset(ancestors))

    def describe(self, object_type: str, action: str) -> str:
        granted = self.by_permission.get(f"{object_type}.{action}", frozenset())
        return ", ".join(sorted(n.code for n in granted)) or "—"

    def label(self, object_type: str) -> Any:
        from synfab.people.roles import OBJECT_TYPES

        return OBJECT_TYPES.get(object_type, object_type)

    def limited_to(self, permissions: frozenset[str]) -> PlantRestriction:
        """The same grants, for some permissions only (an API token's)."""
        return PlantRestriction({k: v for k, v in self.by_permission.items() if k in permissions}, self.roots)

    def allows_node(self, object_type: str, action: str, path: str) -> bool:
        """Whether a node (by its path) lies within the grants for `object_type.action`."""
        nodes = self.nodes(object_type, action)
        return nodes is None or any(path.startswith(p) for p in nodes.paths)


def _outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """Granted paths without those inside another granted one."""
    ordered = sorted(set(paths), key=len)
    kept: list[str] = []
    for p in ordered:
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(kept)


def restriction_for(grants: Iterable[tuple[Iterable[str], GrantedNode]], roots: Iterable[str]) -> PlantRestriction:
    """Build a person's restriction from (role permissions, granted node) pairs."""
    by_permission: dict[str, set[GrantedNode]] = {}
    for permissions, node in grants:
        for permission in permissions:
            by_permission.setdefault(permission, set()).add(node)
    return PlantRestriction({k: frozenset(v) for k, v in by_permission.items()}, frozenset(roots))
