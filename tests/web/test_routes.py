"""Every route says who may call it: a permission, any signed-in user, or deliberately public."""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from synfab.bootstrap import build_database
from synfab.web.app import api_routes, create_app
from synfab.web.deps import Public, Require, SignedIn


def declared_access(dependant: Dependant) -> list[object]:
    found = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, (Require, Public, SignedIn)):
            found.append(dep.call)
        found.extend(declared_access(dep))
    return found


def all_routes() -> list[APIRoute]:
    return api_routes(create_app(build_database(url="sqlite://"), dispatcher=False))


def test_every_route_declares_its_access() -> None:
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in all_routes() if not declared_access(r.dependant)]
    assert undeclared == [], "declare require('object.action'), SIGNED_IN or PUBLIC on: " + ", ".join(undeclared)


def test_public_routes_are_only_the_expected_ones() -> None:
    public = sorted(r.path for r in all_routes() if any(isinstance(d, Public) for d in declared_access(r.dependant)))
    assert public == sorted(["/login", "/login", "/api/v1/session", "/healthz", "/readyz", "/api/docs", "/lang/{locale}",
                             "/favicon.ico"])
