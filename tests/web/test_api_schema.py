"""The JSON API answers as its own OpenAPI schema says, whoever calls it: fuzzed with schemathesis.

For every built-in role, a user granted it (operators over one line, IT administrators over the enterprise,
everyone else over the site) calls every operation under /api/ through an API token, with generated requests
— valid ones and deliberately invalid ones, reads and changes alike — against a small plant with materials,
a BOM and routings, customers, orders, stock and a colleague. Every answer must

- not be a server error: bad input, a missing permission or a broken business rule is a 4xx with a code and
  a zh/en message, never a 500;
- have a status code the schema declares for the operation, a declared content type, and a body matching
  the declared schema (the error body included).

Every role runs on SQLite; the IT administrator (who may call everything) and a line operator (whose reads
and writes are scoped) run on PostgreSQL too, which refuses values SQLite lets through. An operation the role
may call gets a few examples, one it may not gets one (that answer is always the same 403). Seeds are fixed
per role and operation, so a run repeats exactly; a failure lists every operation that failed with the
request as a curl line and the answer.
"""

from __future__ import annotations

import traceback
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from synfab.bootstrap import build_database
from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.schemas import MoveIn
from synfab.orders import service as orders
from synfab.orders.schemas import SalesOrderCreate, SalesOrderLineCreate, WorkOrderCreate
from synfab.people.models import Grant, Role, User
from synfab.people.roles import BUILTIN_ROLES
from synfab.people.service import principal_for, tokens
from synfab.web.app import api_routes, create_app
from synfab.web.deps import Require
from tests.conftest import MiniPlant, add_user
from tests.orders.conftest import build_catalog, build_customers

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass(frozen=True)
class Run:
    database: str
    role: str
    examples: int  # per operation the role may call; one per operation it may not (always the same 403)
    invalid_too: bool = False  # also send invalid requests (which every role has refused alike, with a 422)


# The IT administrator may call every operation, so they go deepest, invalid requests included.
RUNS = [Run("sqlite", "it_admin", 4, invalid_too=True)] + [
    Run("sqlite", role, 2) for role in BUILTIN_ROLES if role != "it_admin"] + [
    Run("postgres", "it_admin", 2, invalid_too=True), Run("postgres", "operator", 1)]


def scope_of(role: str, plant: MiniPlant) -> int:
    return {"it_admin": plant.enterprise, "operator": plant.line1}.get(role, plant.site)


def seed_plant_data(db: Database, plant: MiniPlant) -> None:
    """Records for the fuzzer to find: the orders catalog and customers, work orders on both lines, a sales
    order, lot-tracked stock, and a colleague on the other line."""
    catalog = build_catalog(db, plant)
    customers = build_customers(db)
    with db.uow() as uow:
        for material in (catalog.caliper, catalog.piston):
            orders.create_work_order(uow, WorkOrderCreate(material_id=material, quantity=Decimal(10),
                                                          due_date=date(2026, 12, 1), site_id=plant.site))
        orders.create_sales_order(uow, SalesOrderCreate(
            code="SO-1", customer_id=customers.acme, site_id=plant.site, order_date=date(2026, 11, 20),
            lines=[SalesOrderLineCreate(material_id=catalog.caliper, quantity=Decimal(5), due_date=date(2026, 12, 9))]))
        lot = inventory.ensure_lot(uow, catalog.casting, "LOT-1")
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=catalog.casting, lot_id=lot.id,
                                          to_location_id=plant.store, quantity=Decimal(40))])
        uow.commit()
    add_user(db, "colleague", "operator", plant.line2)


@dataclass
class Caller:
    """The fuzzing user holding one role, and their API token."""

    db: Database
    role: str
    scope_node_id: int
    secret: str = ""

    @property
    def username(self) -> str:
        return f"fuzz_{self.role}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def _token_permissions(self) -> frozenset[str] | None:
        with self.db.session() as session:
            token = tokens.resolve_token(session, self.secret)
            return tokens.principal_for_token(session, token).permissions if token else None

    def restore(self) -> None:
        """Give the user back their role and a working token if a fuzzed call took either away (revoked the
        token or the grant, edited the role): the operations after it must not all be a 401 or a 403."""
        permissions = BUILTIN_ROLES[self.role][2]
        if self.secret and self._token_permissions() == permissions:
            return
        with self.db.uow() as uow:
            s = uow.session
            user = s.scalar(select(User).where(User.username == self.username))
            role = s.scalar(select(Role).where(Role.code == self.role))
            user.active, role.permissions = True, sorted(permissions)
            if s.scalar(select(Grant.id).where(Grant.user_id == user.id, Grant.role_id == role.id,
                                               Grant.scope_node_id == self.scope_node_id)) is None:
                s.add(Grant(user_id=user.id, role_id=role.id, scope_node_id=self.scope_node_id))
            uow.flush()
            _, self.secret = tokens.create_token(uow, principal_for(s, user), "fuzzing", sorted(permissions), 1)
            uow.commit()


def _permission(dependant: Any) -> str | None:
    for dep in dependant.dependencies:
        found = dep.call.permission if isinstance(dep.call, Require) else _permission(dep)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Api:
    schema: schemathesis.BaseSchema
    permission: dict[str, str | None]  # operation label → the permission it requires (None: any signed-in user)


@pytest.fixture(scope="module")
def api() -> Api:
    """The API's operations from its OpenAPI document (the same whatever database the app serves)."""
    app = create_app(build_database(url="sqlite://"), dispatcher=False)
    routes: list[APIRoute] = api_routes(app)
    return Api(schemathesis.openapi.from_dict(app.openapi()).include(path_regex="^/api/"),
               {f"{method} {r.path}": _permission(r.dependant) for r in routes for method in r.methods})


@pytest.fixture
def run(request: pytest.FixtureRequest) -> Run:
    return request.param


@pytest.fixture
def caller(db: Database, plant: MiniPlant, run: Run) -> Caller:
    seed_plant_data(db, plant)
    add_user(db, f"fuzz_{run.role}", run.role, scope_of(run.role, plant))
    found = Caller(db, run.role, scope_of(run.role, plant))
    found.restore()
    return found


@pytest.fixture
def send(caller: Caller) -> Iterator[Callable[[schemathesis.Case], None]]:
    """Sends a case to a fresh app over this test's database, as the caller, and checks the answer."""
    with asgi.get_client(create_app(caller.db, dispatcher=False)) as client:

        def send_and_check(case: schemathesis.Case) -> None:
            response = case.call(session=client, headers=caller.headers)
            case.validate_response(response, checks=CHECKS, headers=caller.headers)

        yield send_and_check


def fuzz(operation: schemathesis.APIOperation, examples: int, modes: list[GenerationMode],
         send: Callable[[schemathesis.Case], None], salt: str) -> None:
    """Send `examples` generated cases of one operation; raises on the first that fails a check."""
    cases = st.one_of([operation.as_strategy(mode) for mode in modes])

    # No shrinking: calls change the database, and the failing case already comes with its curl line.
    @seed(zlib.crc32(f"{salt} {operation.label}".encode()))
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False)
    @given(case=cases)
    def one(case: schemathesis.Case) -> None:
        send(case)

    one()


@pytest.mark.parametrize(("db", "run"), [pytest.param(r.database, r, id=f"{r.database}-{r.role}") for r in RUNS],
                         indirect=True)
def test_every_answer_is_one_the_schema_declares(db: Database, run: Run, api: Api, caller: Caller,
                                                 send: Callable[[schemathesis.Case], None]) -> None:
    permissions = BUILTIN_ROLES[run.role][2]
    failures: list[str] = []
    for result in api.schema.get_all_operations():
        operation = result.ok()
        needed = api.permission[operation.label]
        if needed is None or needed in permissions:
            examples = run.examples
            modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if run.invalid_too else [GenerationMode.POSITIVE]
        else:
            examples, modes = 1, [GenerationMode.POSITIVE]
        try:
            fuzz(operation, examples, modes, send, salt=run.role)
        except (Exception, BaseExceptionGroup) as exc:  # every failing operation is reported, not just the first
            failures.append(f"{operation.label}: {''.join(traceback.format_exception_only(exc))}")
        caller.restore()
    assert not failures, f"{len(failures)} operations answered outside their schema:\n\n" + "\n\n".join(failures)
