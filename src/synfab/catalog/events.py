"""Events the catalog publishes: material definitions, BOM and routing revisions.

Work orders follow BOM and routing changes through these, so each carries the ids and the codes a person
reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class MaterialCreated(Event):
    material_id: int
    code: str
    type: str
    sourcing: str


@dataclass(frozen=True, kw_only=True)
class MaterialChanged(Event):
    material_id: int
    code: str
    changes: dict[str, list[str | None]]


@dataclass(frozen=True, kw_only=True)
class BomRevisionSaved(Event):
    """A BOM revision was created or its header or lines were replaced."""

    bom_id: int
    material_id: int
    material_code: str
    revision: str
    status: str
    created: bool
    component_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class BomRevisionReleased(Event):
    bom_id: int
    material_id: int
    material_code: str
    revision: str
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True, kw_only=True)
class BomRevisionObsoleted(Event):
    bom_id: int
    material_id: int
    material_code: str
    revision: str


@dataclass(frozen=True, kw_only=True)
class RoutingRevisionSaved(Event):
    """A routing revision was created or its header or operations were replaced."""

    routing_id: int
    material_id: int
    material_code: str
    revision: str
    status: str
    created: bool
    operation_seqs: list[int]


@dataclass(frozen=True, kw_only=True)
class RoutingRevisionReleased(Event):
    routing_id: int
    material_id: int
    material_code: str
    revision: str
    effective_from: date
    effective_to: date | None


@dataclass(frozen=True, kw_only=True)
class RoutingRevisionObsoleted(Event):
    routing_id: int
    material_id: int
    material_code: str
    revision: str
