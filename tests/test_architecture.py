"""Dependencies point one way: core imports no context; a context's domain code never imports web."""

from __future__ import annotations

import ast
from pathlib import Path

import synfab

ROOT = Path(synfab.__file__).parent
CONTEXTS = ["plant", "catalog", "orders", "inventory", "planning", "people", "connect"]
# A context's edge modules serve HTTP and may use web's helpers; everything else is domain code.
EDGE = {"api.py", "pages.py", "cli.py"}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m.startswith("synfab")}


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_core_imports_no_context() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imports_of(p) if not m.startswith("synfab.core"))
        for p in modules(ROOT / "core")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_code_never_imports_web() -> None:
    offenders = {}
    for ctx in CONTEXTS:
        for p in modules(ROOT / ctx):
            if p.name in EDGE:
                continue
            bad = sorted(m for m in imports_of(p) if m.startswith(("synfab.web", "synfab.cli")))
            if bad:
                offenders[str(p.relative_to(ROOT))] = bad
    assert offenders == {}


def test_services_never_import_http_edges() -> None:
    offenders = {}
    for ctx in CONTEXTS:
        for p in modules(ROOT / ctx):
            if p.name in EDGE:
                continue
            bad = sorted(m for m in imports_of(p) if m.endswith((".api", ".pages")))
            if bad:
                offenders[str(p.relative_to(ROOT))] = bad
    assert offenders == {}
