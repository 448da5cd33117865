"""Where import kinds come from: each context's `imports.py` lists its kinds in `KINDS`."""

from __future__ import annotations

import importlib
from functools import lru_cache

from synfab.connect.files.spec import ImportKind

KIND_MODULES = ("synfab.plant.imports", "synfab.catalog.imports", "synfab.orders.imports",
                "synfab.inventory.imports", "synfab.people.imports", "synfab.people.skills.imports",
                "synfab.connect.imports", "synfab.telemetry.imports")


@lru_cache(maxsize=1)
def kinds() -> dict[str, ImportKind]:
    """All kinds, in an order where every kind comes after the kinds it depends on."""
    found: dict[str, ImportKind] = {}
    for module_name in KIND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for cls in module.KINDS:
            found[cls.name] = cls()
    ordered: dict[str, ImportKind] = {}

    def visit(name: str, trail: tuple[str, ...] = ()) -> None:
        if name in ordered or name not in found:
            return
        if name in trail:
            raise RuntimeError(f"import kinds depend on each other in a circle: {' → '.join((*trail, name))}")
        for dep in found[name].depends_on:
            visit(dep, (*trail, name))
        ordered[name] = found[name]

    for name in found:
        visit(name)
    return ordered


def kind(name: str) -> ImportKind | None:
    return kinds().get(name)


def importable_kinds() -> list[ImportKind]:
    """The kinds people may import (the others are only exported)."""
    return [k for k in kinds().values() if k.importable]
