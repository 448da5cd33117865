"""The authorization matrix, generated from the app's route table.

Every route is called as nobody, and as a person of every built-in role granted over one site: with the
records of their site (in scope) and with those of another site (out of scope). What is expected follows
from what the route declares (`require("object.action")`, signed in, or public) and the role's permissions:

- nobody: 401, or for a page read the way to the sign-in page;
- a role without the permission: 403 `permission_missing`, whatever the record;
- a role with it, in scope: let through (a read of real records answers 200);
- a role with it, out of scope: 404 or 403, and the out-of-scope records are exactly as they were.

Every 200 read — JSON, page or Excel export — is searched for the out-of-scope records' codes. The same sweep
runs for a manager granted over line 1 only, with line 2's records out of scope: the acceptance criterion
"a line-1 manager cannot see line 2 anywhere". A new route is swept as soon as it exists; one whose path
names a record this file cannot supply fails until it is added to `Scene.ids`.
"""

from __future__ import annotations

import enum
import io
import re
import types
import typing
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import APIRoute
from python_calamine import CalamineWorkbook
from sqlalchemy import inspect, select
from starlette.testclient import TestClient

from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.schemas import MoveIn, ReservationCreate
from synfab.orders import service as orders
from synfab.orders.schemas import SalesOrderCreate, SalesOrderLineCreate, WorkOrderCreate
from synfab.people import service as people
from synfab.people.models import ApiToken, Grant, Role, User
from synfab.people.roles import BUILTIN_ROLES
from synfab.people.skills import service as skills
from synfab.people.skills.models import Certification, RosterEntry
from synfab.people.skills.schemas import CertificationCreate, RosterEntryCreate, SkillCreate, TrainingPlanCreate
from synfab.plant import service as plant_service
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from synfab.web.app import api_routes
from synfab.web.deps import Public, Require, SignedIn
from tests.conftest import PASSWORD, MiniPlant, add_user, sign_in, totp_code
from tests.orders.conftest import Catalog, build_catalog, build_customers
from tests.web.test_routes import declared_access

ROLES = sorted(BUILTIN_ROLES)
# Routes that end the caller's session run on a session of their own; they and those changing the caller's password
# or second factor run last.
ENDS_SESSION = ("/logout", "/api/v1/session")
LAST = ("/api/v1/me/second-factor", "/profile/second-factor", "/api/v1/me/password", "/profile/password", "/logout",
        "/api/v1/session")
# A path parameter naming a record that belongs somewhere in the plant: out of scope, it must not be reached.
SCOPED_PARAMS = frozenset({"node_id", "order_id", "line_id", "work_order_id", "lot_id", "reservation_id", "user_id",
                           "grant_id", "token_id", "certification_id", "entry_id", "operation_id", "outage_id",
                           "shipment_id", "shipment_line_id", "purchase_order_id", "po_line_id", "suggestion_id",
                           "connector_id", "tag_id", "equipment_id", "interval_id"})


@dataclass
class Side:
    """The records of one side (in or out of scope), by path parameter name, and the codes that name them."""

    ids: dict[str, Any] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)
    rows: list[tuple[type, int]] = field(default_factory=list)  # checked unchanged when out of scope


@dataclass
class Scene:
    plant: MiniPlant
    catalog: Catalog
    shared: dict[str, Any]  # master data every person may name
    line1: Side
    line2: Side
    beijing: Side
    shanghai_orders: Side  # the site's sales orders: in scope over the site, out of scope over a line


def _node(uow, **kw) -> int:  # type: ignore[no-untyped-def]
    return plant_service.create_node(uow, NodeCreate(**kw)).id


def build_scene(db: Database, plant: MiniPlant) -> Scene:
    from synfab.inventory.models import Lot, Reservation
    from synfab.orders.models import SalesOrder, WorkOrder
    from synfab.plant.models import PlantNode

    catalog = build_catalog(db, plant)
    customers = build_customers(db)
    with db.uow() as uow:
        people.ensure_builtin_roles(uow)
        site_bj = _node(uow, code="SITE-BJ", name="北京工厂", level=Level.SITE, parent_id=plant.enterprise,
                        time_zone="Asia/Shanghai", shift_calendar_id=plant.calendar)
        area_bj = _node(uow, code="AREA-BJ", name="北京车间", level=Level.AREA, parent_id=site_bj)
        line_bj = _node(uow, code="LINE-BJ", name="北京一线", level=Level.LINE, parent_id=area_bj)
        wip = {key: _node(uow, code=f"WIP-{key}", name=f"{key} 线边库", level=Level.STORAGE_ZONE, parent_id=parent)
               for key, parent in (("L1", plant.line1), ("L2", plant.line2), ("BJ", line_bj))}
        uow.commit()
    sides: dict[str, Side] = {}
    with db.uow() as uow:
        made = {key: orders.create_work_order(uow, WorkOrderCreate(
            code=f"WO-{key}-7Q", material_id=material, quantity=Decimal(10), due_date=date(2026, 12, 1), site_id=site,
            production_line_id=line))
            for key, material, site, line in (("L1", catalog.caliper, plant.site, None),
                                              ("L2", catalog.piston, plant.site, None),
                                              ("BJ", catalog.piston, site_bj, line_bj))}
        lots = {}
        for key in ("L1", "L2", "BJ"):
            lot = inventory.ensure_lot(uow, catalog.casting, f"LOT-{key}-7Q")
            lots[key] = lot
            inventory.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=catalog.casting,
                                              to_location_id=wip[key], quantity=Decimal(9), lot_id=lot.id)])
        inventory.link_lots(uow, lots["L1"].id, lots["L2"].id, Decimal(1))  # line 1's lot went into line 2's
        reservations = {key: inventory.reserve(uow, ReservationCreate(
            material_id=catalog.casting, quantity=Decimal(1), demand_kind="work_order", demand_id=made[key].id,
            lot_id=lots[key].id, location_id=wip[key])) for key in ("L1", "L2", "BJ")}
        so = {code: orders.create_sales_order(uow, SalesOrderCreate(
            code=code, customer_id=customers.acme, site_id=site, order_date=date(2026, 11, 20),
            lines=[SalesOrderLineCreate(material_id=catalog.caliper, quantity=Decimal(5),
                                        due_date=date(2026, 12, 9))]))
            for code, site in (("SO-SH-7Q", plant.site), ("SO-BJ-7Q", site_bj))}
        uow.commit()
        assert made["L1"].production_line_id == plant.line1 and made["L2"].production_line_id == plant.line2
        for key, node in (("L1", plant.line1), ("L2", plant.line2), ("BJ", line_bj)):
            wo = made[key]
            sides[key] = Side(
                ids={"node_id": node, "parent_id": node, "work_order_id": wo.id, "demand_id": wo.id,
                     "operation_id": wo.operations[0].id, "lot_id": lots[key].id,
                     "reservation_id": reservations[key].id, "location_id": wip[key]},
                markers=[wo.code, lots[key].code, f"WIP-{key}"],
                rows=[(WorkOrder, wo.id), (Lot, lots[key].id), (Reservation, reservations[key].id),
                      (PlantNode, node), (PlantNode, wip[key])])
        orders_side = {}
        for code, order in so.items():
            orders_side[code] = Side(ids={"order_id": order.id, "line_id": order.lines[0].id}, markers=[code],
                                     rows=[(SalesOrder, order.id)])
    with db.uow() as uow:  # a draft shipment of each site's order, with a finished lot picked on it
        from synfab.orders.shipments import service as shipments
        from synfab.orders.shipments.models import Shipment
        from synfab.orders.shipments.schemas import PickIn, ShipmentCreate

        for code, key in (("SO-SH-7Q", "L1"), ("SO-BJ-7Q", "BJ")):
            fg = inventory.ensure_lot(uow, catalog.caliper, f"FGL-{key}-7Q")
            inventory.post_moves(uow, [MoveIn(kind=MoveKind.PRODUCTION, material_id=catalog.caliper,
                                              to_location_id=wip[key], quantity=Decimal(9), lot_id=fg.id)])
            shipment = shipments.create_shipment(uow, ShipmentCreate(sales_order_id=so[code].id))
            picked = shipments.pick_lot(uow, shipment.id, PickIn(
                sales_order_line_id=so[code].lines[0].id, lot_id=fg.id, from_location_id=wip[key],
                quantity=Decimal(2)))
            uow.flush()
            orders_side[code].ids |= {"shipment_id": shipment.id, "shipment_line_id": picked.id}
            orders_side[code].markers.append(shipment.code)
            orders_side[code].rows.append((Shipment, shipment.id))
        uow.commit()
    with db.uow() as uow:  # purchasing: a shared supplier; per site a purchase order and a purchase suggestion
        from synfab.inventory.purchasing import service as purchasing
        from synfab.inventory.purchasing.models import PurchaseOrder
        from synfab.inventory.purchasing.schemas import PurchaseOrderCreate, PurchaseOrderLineIn, SupplierCreate
        from synfab.planning.materials.models import PurchaseSuggestion

        supplier = purchasing.create_supplier(uow, SupplierCreate(code="SUP-7Q", name="矩阵供应商"))
        uow.flush()
        for code, site in (("SO-SH-7Q", plant.site), ("SO-BJ-7Q", site_bj)):
            po_code = code.replace("SO-", "PO-")
            po = purchasing.create_purchase_order(uow, PurchaseOrderCreate(
                code=po_code, supplier_id=supplier.id, site_id=site, lines=[PurchaseOrderLineIn(
                    material_id=catalog.casting, quantity=Decimal(5), due_date=date(2026, 12, 5))]))
            suggestion = PurchaseSuggestion(material_id=catalog.casting, site_id=site, supplier_id=supplier.id,
                                            net_quantity=Decimal(3), quantity=Decimal(3),
                                            need_date=date(2026, 12, 9), order_by=date(2026, 12, 1))
            uow.session.add(suggestion)
            uow.flush()
            orders_side[code].ids |= {"purchase_order_id": po.id, "po_line_id": po.lines[0].id,
                                      "suggestion_id": suggestion.id}
            orders_side[code].markers.append(po_code)
            orders_side[code].rows += [(PurchaseOrder, po.id), (PurchaseSuggestion, suggestion.id)]
        uow.commit()
        purchase_ids = {"supplier_id": supplier.id}
    sides["BJ"].markers.append("SITE-BJ")
    sides["BJ"].rows.append((PlantNode, site_bj))
    _merge(sides["BJ"], orders_side["SO-BJ-7Q"])
    # People working in each place, with a grant and a token each.
    with db.uow() as uow:
        for key, node in (("L1", plant.line1), ("L2", plant.line2), ("BJ", line_bj)):
            user = people.create_user(uow, f"op-{key.lower()}-7q", f"Op {key}", PASSWORD)
            grant = people.grant_role(uow, user, "operator", node)
            uow.flush()
            token = ApiToken(user_id=user.id, name="theirs", token_hash=uuid.uuid4().hex, prefix="sfb_test",
                             permissions=["work_order.view"], expires_at=datetime(2099, 1, 1, tzinfo=UTC))
            uow.session.add(token)
            uow.flush()
            sides[key].ids |= {"user_id": user.id, "grant_id": grant.id, "token_id": token.id}
            sides[key].rows += [(User, user.id), (Grant, grant.id), (ApiToken, token.id)]
        uow.commit()
    with db.uow() as uow:  # skills: a shared catalogue and plan; each side's people certified and rostered
        skill = skills.create_skill(uow, SkillCreate(code="MATRIX", name="矩阵技能"))
        plan = skills.create_training_plan(uow, TrainingPlanCreate(name="培训计划", due_on=date(2026, 12, 31)))
        uow.flush()
        for key, node in (("L1", plant.line1), ("L2", plant.line2), ("BJ", line_bj)):
            person = sides[key].ids["user_id"]
            cert = skills.add_certification(uow, CertificationCreate(
                user_id=person, name=f"CERT-{key}-7Q", skill_id=skill.id, issued_on=date(2026, 1, 5)))
            entry = skills.add_roster_entry(uow, RosterEntryCreate(day=date(2026, 12, 1), shift_code="D",
                                                                   line_id=node, user_id=person))
            uow.flush()
            sides[key].ids |= {"certification_id": cert.id, "entry_id": entry.id}
            sides[key].markers.append(f"CERT-{key}-7Q")
            sides[key].rows += [(Certification, cert.id), (RosterEntry, entry.id)]
        uow.commit()
        skill_ids = {"skill_id": skill.id, "plan_id": plan.id}
    with db.uow() as uow:  # a breakdown of a work center of each side (the schedule's records)
        from synfab.planning.schedule import service as schedule
        from synfab.planning.schedule.models import WorkCenterOutage

        wc_bj = _node(uow, code="WC-BJ", name="北京工位", level=Level.WORK_CENTER, parent_id=line_bj)
        for key, wc in (("L1", plant.wc1), ("L2", plant.wc2), ("BJ", wc_bj)):
            outage = schedule.report_breakdown(uow, wc, f"BRK-{key}-7Q", 60)
            sides[key].ids["outage_id"] = outage.id
            sides[key].markers.append(f"BRK-{key}-7Q")
            sides[key].rows.append((WorkCenterOutage, outage.id))
        uow.commit()
    with db.uow() as uow:  # machine data: a connector per site; a tag and a stop on each side's work center
        from synfab.connect.choices import ConnectorKind
        from synfab.connect.models import Connector
        from synfab.connect.schemas import ConnectorCreate
        from synfab.connect.service import create_connector
        from synfab.telemetry.choices import MachineState
        from synfab.telemetry.models import StateInterval, Tag
        from synfab.telemetry.schemas import TagCreate
        from synfab.telemetry.service import create_tag

        connectors = {}
        for key, site, side in (("SH", plant.site, orders_side["SO-SH-7Q"]), ("BJ", site_bj, sides["BJ"])):
            con = create_connector(uow, ConnectorCreate(code=f"CON-{key}-7Q", name=f"CON-{key}-7Q",
                                                        kind=ConnectorKind.HTTP, site_id=site))
            connectors[key] = con.id
            side.ids["connector_id"] = con.id
            side.markers.append(f"CON-{key}-7Q")
            side.rows.append((Connector, con.id))
        for key, wc, site_key in (("L1", plant.wc1, "SH"), ("L2", plant.wc2, "SH"), ("BJ", wc_bj, "BJ")):
            tag = create_tag(uow, TagCreate(connector_id=connectors[site_key], address=f"TAG-{key}-7Q",
                                            equipment_id=wc, signal="alarm"))
            stop = StateInterval(equipment_id=wc, state=MachineState.DOWN, start_ms=1_795_000_000_000,
                                 end_ms=1_795_000_600_000)
            uow.session.add(stop)
            uow.flush()
            sides[key].ids |= {"tag_id": tag.id, "equipment_id": wc, "interval_id": stop.id}
            sides[key].markers.append(f"TAG-{key}-7Q")
            sides[key].rows += [(Tag, tag.id), (StateInterval, stop.id)]
        uow.commit()
    with db.uow() as uow:  # master data the catalog routes name
        from synfab.catalog import service as catalog_service
        from synfab.catalog.models import Unit
        from synfab.catalog.schemas import ConversionCreate, MaterialClassCreate

        box = Unit(code="BOX", name="箱", name_en="box")
        uow.session.add(box)
        uow.flush()
        conversion = catalog_service.add_conversion(uow, ConversionCreate(from_unit_id=box.id, to_unit_id=catalog.pcs,
                                                                          factor=Decimal(12)))
        castings = catalog_service.create_material_class(uow, MaterialClassCreate(code="CASTINGS", name="铸件"))
        erp_code = catalog_service.map_external_id(uow, "ERP", "material", "100-200", catalog.caliper)
        uow.commit()
        master = {"conversion_id": conversion.id, "class_id": castings.id, "external_id": erp_code.id}
    with db.session() as s:
        shared = master | skill_ids | purchase_ids | {
            "calendar_id": plant.calendar, "material_id": catalog.caliper, "bom_id": catalog.bom_caliper,
            "routing_id": catalog.routing_caliper, "unit_id": catalog.pcs, "customer_id": customers.acme,
            "role_id": s.scalar(select(Role.id).where(Role.code == "viewer")),
            "name": "plant", "locale": "en", "day": "2026-12-01", "shift_code": "D", "role": "viewer",
            "from_unit_id": catalog.pcs, "to_unit_id": catalog.pcs, "kind": "material", "demand_kind": "work_order",
            "start": "2026-12-01T00:00:00+08:00", "end": "2026-12-02T00:00:00+08:00",
        }
    return Scene(plant, catalog, shared, sides["L1"], sides["L2"], sides["BJ"], orders_side["SO-SH-7Q"])


def _merge(into: Side, other: Side) -> None:
    into.ids |= other.ids
    into.markers += other.markers
    into.rows += other.rows


# -- what a person may send ---------------------------------------------------------------------------------


def _sample(annotation: Any, name: str, ids: dict[str, Any], username: str) -> Any:
    """A plausible value for a body field: the records of the person's own side for ids, else by type."""
    if name in ("password", "current_password"):
        return PASSWORD
    if name == "new_password":
        return "matrix-sweep-Passw0rd"
    if name == "idempotency_key":
        return uuid.uuid4().hex
    if name in ("totp", "code"):
        return totp_code() if username.startswith("it_admin") else "000000"
    if name in ids and ids[name] is not None:
        return ids[name]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _sample(args[0], name, ids, username)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)), name, ids, username)
    if origin is typing.Literal:
        return args[0]
    if origin in (list, set, tuple, frozenset):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, (Decimal, float)):
            return "1"
        if issubclass(annotation, datetime):
            return "2026-12-01T08:00:00+08:00"
        if issubclass(annotation, date):
            return "2026-12-01"
        if issubclass(annotation, time):
            return "08:00"
        if issubclass(annotation, str):
            return "matrix"
        if hasattr(annotation, "model_fields"):
            return {k: _sample(f.annotation, k, ids, username) for k, f in annotation.model_fields.items()
                    if f.is_required() or ids.get(k) is not None}
    return None


def _request_kwargs(route: APIRoute, ids: dict[str, Any], username: str) -> dict[str, Any]:
    """The required query parameters, and a JSON body or form fields the route will accept as well-formed."""
    ids = _for_route(route, ids)
    query = {p.alias: _sample(p.field_info.annotation, p.alias, ids, username)
             for p in route.dependant.query_params if p.field_info.is_required()}
    body = _body(route, ids, username)
    return body | {"params": query} if query else body


def _body(route: APIRoute, ids: dict[str, Any], username: str) -> dict[str, Any]:
    params = route.dependant.body_params
    if not params:
        return {}
    from fastapi.params import File, Form

    if any(isinstance(p.field_info, File) for p in params):
        return {"files": {p.alias: ("empty.xlsx", b"", "application/octet-stream") for p in params
                          if isinstance(p.field_info, File)}}
    if any(isinstance(p.field_info, Form) for p in params):
        data = {}
        for p in params:
            value = _sample(p.field_info.annotation, p.alias, ids, username)
            if value is not None:
                data[p.alias] = [str(v) for v in value] if isinstance(value, list) else str(value)
        return {"data": data}
    body = params[0]
    if len(params) == 1 and not route.dependant.body_params[0].field_info.embed:
        return {"json": _sample(body.field_info.annotation, body.alias, ids, username)}
    return {"json": {p.alias: _sample(p.field_info.annotation, p.alias, ids, username) for p in params}}


def _names(route: APIRoute) -> list[str]:
    return re.findall(r"{(\w+)", route.path)


def _for_route(route: APIRoute, values: dict[str, Any]) -> dict[str, Any]:
    """Where rosters say `line_id` they mean a production line, not a sales order line."""
    return values | {"line_id": values.get("node_id")} if "roster" in route.path else values


def _path(route: APIRoute, values: dict[str, Any]) -> str | None:
    """The route's path with the records filled in; None when one is missing."""
    values = _for_route(route, values)
    if any(values.get(n) is None for n in _names(route)):
        return None
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: str(values[m.group(1)]), route.path)


def _access(route: APIRoute) -> object:
    return declared_access(route.dependant)[0]


def _error_code(response: Any) -> str | None:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        return body.get("error", {}).get("code") if isinstance(body, dict) else None
    found = re.search(r'<p class="code">(\w+) ·', response.text)
    return found.group(1) if found else None


def _text(response: Any) -> str:
    if "spreadsheetml" in response.headers.get("content-type", ""):
        book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        return "\n".join(str(cell) for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
                         for cell in row)
    return response.text


def _snapshot(db: Database, rows: list[tuple[type, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    with db.session() as s:
        out = {}
        for model, pk in rows:
            obj = s.get(model, pk)
            out[(model.__name__, pk)] = None if obj is None else {
                a.key: getattr(obj, a.key) for a in inspect(model).column_attrs if a.key != "last_used_at"}
        return out


def _ordered(routes: list[APIRoute]) -> list[tuple[str, APIRoute]]:
    """Reads first, on the records as built; then writes; last what ends the caller's session or factor."""
    calls = [(m, r) for r in routes for m in sorted(r.methods) if m != "HEAD"]
    def last(path: str) -> int:
        return next((i + 1 for i, prefix in enumerate(LAST) if path.startswith(prefix)), 0)

    return sorted(calls, key=lambda c: (c[0] != "GET", last(c[1].path)))


# -- the sweep ------------------------------------------------------------------------------------------------


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)

    def add(self, method: str, path: str, who: str, what: str) -> None:
        self.problems.append(f"{who}: {method} {path} → {what}")


def sweep(db: Database, client: TestClient, who: str, role: str, inside: Side, outside: Side, shared: dict[str, Any],
          findings: Findings) -> None:
    """Every route as `who`: let through or refused as the role says; never reaching `outside`."""
    permissions = BUILTIN_ROLES[role][2]
    before = _snapshot(db, outside.rows)
    for method, route in _ordered(api_routes(client.app)):  # type: ignore[arg-type]
        access = _access(route)
        if isinstance(access, Public):
            continue
        allowed = isinstance(access, SignedIn) or (isinstance(access, Require) and access.permission in permissions)
        own = shared | inside.ids
        names = set(_names(route))
        there = own | {k: v for k, v in outside.ids.items() if k in names or k == "node_id"}
        path, out_path = _path(route, own), _path(route, there) if names & SCOPED_PARAMS else None
        if path is None and out_path is None:
            findings.add(method, route.path, who, f"no record for {sorted(names)}: add one to the scene")
            continue
        body = _request_kwargs(route, own, who)
        if not allowed:
            r = client.request(method, path or out_path, follow_redirects=False, **body)
            if (r.status_code, _error_code(r)) != (403, "permission_missing"):
                findings.add(method, path or out_path, who, f"{r.status_code} {_error_code(r)}, expected 403 "
                             "permission_missing")
            continue
        if path is not None:
            if method != "GET" and path in ENDS_SESSION:
                _another_session(db, client, who)
            r = client.request(method, path, follow_redirects=False, **body)
            code = _error_code(r) if r.status_code >= 400 else None
            if r.status_code == 401 or r.status_code >= 500 or code in ("permission_missing", "out_of_scope"):
                findings.add(method, path, who, f"{r.status_code} {code}: refused in scope")
            elif method == "GET" and r.status_code != 200 and not r.is_redirect:
                findings.add(method, path, who, f"{r.status_code} {code}: a read of records in scope should answer 200")
            elif method == "GET" and r.status_code == 200:
                leaked = [m for m in outside.markers if m in _text(r)]
                if leaked:
                    findings.add(method, path, who, f"shows out-of-scope records {leaked}")
        if out_path is not None and out_path != path:
            r = client.request(method, out_path, follow_redirects=False, **body)
            if r.status_code not in (403, 404):
                findings.add(method, out_path, who, f"{r.status_code} {_error_code(r)}: out of scope, expected 404/403")
    after = _snapshot(db, outside.rows)
    changed = [k for k in before if before[k] != after[k]]
    if changed:
        findings.problems.append(f"{who}: out-of-scope records changed: {changed}")


@pytest.fixture
def scene(db: Database, plant: MiniPlant) -> Scene:
    return build_scene(db, plant)


def _client(db: Database) -> TestClient:
    """Server errors come back as 500s, to be listed with everything else found."""
    from synfab.web.app import create_app

    return TestClient(create_app(db, dispatcher=False), raise_server_exceptions=False)


def _another_session(db: Database, client: TestClient, username: str) -> None:
    """Switch the client to a new session of the same person (signing in again would reuse a one-time code)."""
    from datetime import timedelta

    from synfab.people.models import UserSession
    from synfab.web.middleware import SESSION_COOKIE

    with db.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        token = people.start_session(uow, user, absolute=timedelta(hours=1))
        uow.commit()
        csrf = uow.session.scalar(select(UserSession.csrf_token).where(UserSession.user_id == user.id)
                                  .order_by(UserSession.id.desc()))
    client.cookies.set(SESSION_COOKIE, token)
    client.headers["X-CSRF-Token"] = csrf


def _own_token(db: Database, username: str) -> int:
    with db.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        token = ApiToken(user_id=user.id, name="own", token_hash=uuid.uuid4().hex, prefix="sfb_own",
                         permissions=[], expires_at=datetime(2099, 1, 1, tzinfo=UTC))
        uow.session.add(token)
        uow.commit()
        return token.id


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_a_role_granted_over_a_site(db: Database, scene: Scene, role: str) -> None:
    """In scope: the Shanghai site with both its lines; out of scope: the Beijing site."""
    username = f"{role}-sh"
    add_user(db, username, role, scene.plant.site)
    inside = Side(ids=scene.line1.ids | scene.shanghai_orders.ids | {"token_id": _own_token(db, username),
                                                                      "site_id": scene.plant.site})
    findings = Findings()
    with _client(db) as client:
        sign_in(client, username)
        sweep(db, client, username, role, inside, scene.beijing, scene.shared, findings)
    assert findings.problems == [], "\n".join(findings.problems)


def test_a_line_one_manager_cannot_reach_line_two_anywhere(db: Database, scene: Scene) -> None:
    """The acceptance: granted over line 1, line 2's records (and the other site's) are out of reach.
    Sales orders belong to a site, so over a line none are in scope: their routes are only tried out of scope."""
    add_user(db, "manager-l1", "manager", scene.plant.line1)
    inside = Side(ids=scene.line1.ids | {"token_id": _own_token(db, "manager-l1")})
    outside = Side(ids=scene.line2.ids | scene.shanghai_orders.ids)
    for side in (scene.line2, scene.beijing, scene.shanghai_orders):
        outside.markers += side.markers
        outside.rows += side.rows
    findings = Findings()
    with _client(db) as client:
        sign_in(client, "manager-l1")
        sweep(db, client, "manager-l1", "manager", inside, outside, scene.shared, findings)
    assert findings.problems == [], "\n".join(findings.problems)


def test_nobody_signed_in_is_let_through_anywhere(db: Database, scene: Scene) -> None:
    findings = Findings()
    values = scene.shared | scene.line1.ids | scene.shanghai_orders.ids
    with _client(db) as client:
        for method, route in _ordered(api_routes(client.app)):  # type: ignore[arg-type]
            if isinstance(_access(route), Public):
                continue
            path = _path(route, values)
            if path is None:
                findings.add(method, route.path, "nobody", "no record to put in the path")
                continue
            r = client.request(method, path, follow_redirects=False, **_request_kwargs(route, values, "nobody"))
            to_login = r.status_code == 303 and r.headers["location"].startswith("/login?next=")
            if not (r.status_code == 401 or (to_login and method == "GET" and not path.startswith("/api/"))):
                findings.add(method, path, "nobody", f"{r.status_code}: expected 401 or the sign-in page")
    assert findings.problems == [], "\n".join(findings.problems)
