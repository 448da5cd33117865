"""The one scoping helper: a person sees and changes only what lies in the plant areas they are granted —
in services, pages, the API and exports alike, with nothing filtered by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from synfab.core.context import Actor, acting_as
from synfab.core.db import Database
from synfab.core.errors import Forbidden, Invalid, NotFound
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.models import StockBalance, StockMove
from synfab.inventory.schemas import MoveIn
from synfab.orders import service as orders
from synfab.orders.models import SalesOrder, WorkOrder
from synfab.orders.schemas import SalesOrderCreate, SalesOrderLineCreate, WorkOrderCreate, WorkOrderUpdate
from synfab.people import service as people
from synfab.people.models import User
from synfab.plant import service as plant_service
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode
from synfab.plant.schemas import NodeCreate
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.orders.conftest import build_catalog, build_customers


@dataclass
class Scene:
    wo_l1: int
    wo_l2: int
    so_sh: int
    so_bj: int
    wip_l1: int
    wip_l2: int
    beijing: int


@pytest.fixture
def scene(db: Database, plant: MiniPlant) -> Scene:
    catalog = build_catalog(db, plant)
    customers = build_customers(db)
    with db.uow() as uow:
        new = lambda **kw: plant_service.create_node(uow, NodeCreate(**kw))  # noqa: E731
        bj = new(code="BJ", name="北京工厂", level=Level.SITE, parent_id=plant.enterprise, time_zone="Asia/Shanghai")
        wip1 = new(code="WIP-L1", name="一线线边库", level=Level.STORAGE_ZONE, parent_id=plant.line1)
        wip2 = new(code="WIP-L2", name="二线线边库", level=Level.STORAGE_ZONE, parent_id=plant.line2)
        wo1 = orders.create_work_order(uow, WorkOrderCreate(material_id=catalog.caliper, quantity=Decimal(10),
                                                            due_date=date(2026, 12, 1), site_id=plant.site))
        wo2 = orders.create_work_order(uow, WorkOrderCreate(material_id=catalog.piston, quantity=Decimal(20),
                                                            due_date=date(2026, 12, 1), site_id=plant.site))
        so = [orders.create_sales_order(uow, SalesOrderCreate(
            code=code, customer_id=customers.acme, site_id=site, order_date=date(2026, 11, 20),
            lines=[SalesOrderLineCreate(material_id=catalog.caliper, quantity=Decimal(5), due_date=date(2026, 12, 9))]))
            for code, site in (("SO-SH", plant.site), ("SO-BJ", bj.id))]
        inventory.post_moves(uow, [
            MoveIn(kind=MoveKind.RECEIPT, material_id=catalog.casting, to_location_id=wip.id, quantity=Decimal(q),
                   lot_id=inventory.ensure_lot(uow, catalog.casting, f"LOT-{wip.code}").id)
            for wip, q in ((wip1, 7), (wip2, 9))])
        uow.commit()
        assert (wo1.production_line_id, wo2.production_line_id) == (plant.line1, plant.line2)
        return Scene(wo1.id, wo2.id, so[0].id, so[1].id, wip1.id, wip2.id, bj.id)


def actor(db: Database, username: str) -> Actor:
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        p = people.principal_for(s, user)
    return Actor(p.user_id, p.username, p.restriction)


def test_a_line_manager_reads_only_their_line(db: Database, plant: MiniPlant, scene: Scene) -> None:
    add_user(db, "mgr_l1", "manager", plant.line1)
    with acting_as(actor(db, "mgr_l1")), db.session() as s:
        assert [wo.id for wo in s.scalars(orders.work_order_query())] == [scene.wo_l1]
        assert orders.get_work_order(s, scene.wo_l1).code
        with pytest.raises(NotFound):
            orders.get_work_order(s, scene.wo_l2)
        # Sales orders belong to the site: not granted over a line.
        assert list(s.scalars(orders.sales_order_query())) == []
        assert {r.location_id for r in s.execute(inventory.stock_query())} == {scene.wip_l1}
        assert [m.to_location_id for m in s.scalars(select(StockMove))] == [scene.wip_l1]
        assert [row.code for row in s.execute(inventory.lot_query())] == ["LOT-WIP-L1"]
        # The plant tree: their line and what is under it, and the nodes above for orientation — not line 2.
        codes = [n.code for n in plant_service.list_nodes(s)]
        assert codes == ["ENT", "SH", "MACH", "L1", "WC1", "WIP-L1"]
        with pytest.raises(NotFound):
            plant_service.get_node(s, plant.line2)
        # A work order's site is above the line: shown, for what is in scope.
        assert orders.get_work_order(s, scene.wo_l1).site.code == "SH"


def test_a_site_manager_sees_their_site_but_not_another(db: Database, plant: MiniPlant, scene: Scene) -> None:
    add_user(db, "mgr_sh", "manager", plant.site)
    with acting_as(actor(db, "mgr_sh")), db.session() as s:
        assert sorted(wo.id for wo in s.scalars(orders.work_order_query())) == sorted([scene.wo_l1, scene.wo_l2])
        assert [o.code for o in s.scalars(orders.sales_order_query())] == ["SO-SH"]
        assert s.get(SalesOrder, scene.so_bj) is None
        assert {b.location_id for b in s.scalars(select(StockBalance))} == {scene.wip_l1, scene.wip_l2}


def test_writes_are_rechecked_nobody_moves_a_record_out_of_scope(db: Database, plant: MiniPlant, scene: Scene) -> None:
    add_user(db, "mgr_l1", "manager", plant.line1)
    with acting_as(actor(db, "mgr_l1")):
        with db.uow() as uow:
            wo = orders.get_work_order(uow.session, scene.wo_l1)
            orders.change_work_order(uow, wo.id, WorkOrderUpdate(version=wo.version, quantity=Decimal(12)))
            uow.commit()
        with db.uow() as uow, pytest.raises(NotFound):  # line 2's work order is not even visible
            orders.change_work_order(uow, scene.wo_l2, WorkOrderUpdate(version=1, quantity=Decimal(1)))
        with db.uow() as uow:
            wo = uow.session.get(WorkOrder, scene.wo_l1)
            wo.production_line_id = plant.line2  # past the service: the flush check still refuses
            with pytest.raises(Forbidden) as info:
                uow.flush()
        assert info.value.code == "out_of_scope"
        assert "L1" in info.value.message.in_locale("en") and "范围" in info.value.message.in_locale("zh_CN")
        with db.uow() as uow, pytest.raises(Invalid) as unseen:  # to them, the other site does not exist
            orders.create_sales_order(uow, SalesOrderCreate(customer_id=1, site_id=scene.beijing, lines=[]))
        assert unseen.value.code == "site_not_found"
        with db.uow() as uow, pytest.raises(Forbidden):  # and cannot add a work center beside their line
            plant_service.create_node(uow, NodeCreate(code="WC9", name="九", level=Level.WORK_CENTER,
                                                      parent_id=plant.area))
    with db.session() as s:
        assert s.get(WorkOrder, scene.wo_l1).quantity == Decimal(12)
        assert s.get(WorkOrder, scene.wo_l1).production_line_id == plant.line1
        assert s.scalar(select(PlantNode).where(PlantNode.code == "WC9")) is None


def test_the_api_pages_and_exports_show_only_the_scope(db: Database, plant: MiniPlant, scene: Scene) -> None:
    add_user(db, "mgr_l1", "manager", plant.line1)
    with make_client(db) as c:
        sign_in(c, "mgr_l1")
        listed = c.get("/api/v1/work-orders").json()
        items = listed["items"] if isinstance(listed, dict) else listed
        assert [wo["id"] for wo in items] == [scene.wo_l1]
        assert c.get(f"/api/v1/work-orders/{scene.wo_l2}").status_code == 404
        assert c.get(f"/api/v1/work-orders/{scene.wo_l1}").status_code == 200
        page = c.get("/orders/work-orders")
        assert page.status_code == 200
        assert f"/orders/work-orders/{scene.wo_l1}" in page.text
        assert f"/orders/work-orders/{scene.wo_l2}" not in page.text
        assert c.get(f"/orders/work-orders/{scene.wo_l2}").status_code == 404
        tree = c.get("/plant/tree").text
        assert "WC1" in tree and "WC2" not in tree and "WIP-L2" not in tree
        stock = c.get("/inventory/stock").text
        assert "LOT-WIP-L1" in stock and "LOT-WIP-L2" not in stock
        exported = c.get("/export/work_orders.xlsx")
        from tests.connect.test_pages import sheet_rows

        rows = next(iter(sheet_rows(exported.content).values()))
        wo_l1 = next(wo for wo in _work_orders(db) if wo.id == scene.wo_l1)
        assert [r[0] for r in rows[1:]] == [wo_l1.code]  # line 1's work order only
        stock_rows = next(iter(sheet_rows(c.get("/export/stock.xlsx").content).values()))
        assert [r[2] for r in stock_rows[1:]] == ["LOT-WIP-L1"]


def _work_orders(db: Database) -> list[WorkOrder]:
    with db.session() as s:
        return list(s.scalars(select(WorkOrder)))


def test_event_handlers_see_the_whole_plant_whoever_set_them_off(db: Database, plant: MiniPlant, scene: Scene) -> None:
    from synfab.orders.events import WorkOrderChanged

    seen: list[int] = []

    def count_all_work_orders(uow, event) -> None:  # type: ignore[no-untyped-def]
        seen.append(len(list(uow.session.scalars(select(WorkOrder)))))

    db.bus.on(WorkOrderChanged, count_all_work_orders)
    add_user(db, "mgr_l1", "manager", plant.line1)
    with acting_as(actor(db, "mgr_l1")), db.uow() as uow:
        assert len(list(uow.session.scalars(select(WorkOrder)))) == 1  # the person's own reads: their scope
        wo = orders.get_work_order(uow.session, scene.wo_l1)
        orders.change_work_order(uow, wo.id, WorkOrderUpdate(version=wo.version, quantity=Decimal(11)))
        uow.commit()
    assert seen == [2]


def test_the_audit_log_shows_changes_only_to_what_the_reader_may_see(db: Database, plant: MiniPlant,
                                                                     scene: Scene) -> None:
    from synfab.people.models import AuditRecord

    add_user(db, "mgr_l1", "manager", plant.line1)
    with db.session() as s:
        everything = {(r.object_type, r.object_id) for r in s.scalars(select(AuditRecord))}
    assert {("work_order", str(scene.wo_l1)), ("work_order", str(scene.wo_l2))} <= everything
    with acting_as(actor(db, "mgr_l1")), db.session() as s:
        seen = {(r.object_type, r.object_id) for r in s.scalars(select(AuditRecord))}
    assert ("work_order", str(scene.wo_l1)) in seen and ("work_order", str(scene.wo_l2)) not in seen
    assert ("sales_order", str(scene.so_sh)) not in seen  # the site's orders are not granted over a line
    assert ("plant_node", str(plant.line2)) not in seen and ("plant_node", str(plant.line1)) in seen
    assert any(t == "material" for t, _ in seen)  # plant-wide master data: every reader of the log
    with make_client(db) as c:
        sign_in(c, "mgr_l1")
        page = c.get("/admin/audit", params={"object_type": "work_order"}).text
        from tests.connect.test_pages import sheet_rows

        rows = next(iter(sheet_rows(c.get("/export/audit.xlsx").content).values()))
    assert f"work_order {scene.wo_l1}</td>" in page and f"work_order {scene.wo_l2}</td>" not in page
    about = {(r[5], str(r[6])) for r in rows[1:]}
    assert ("work_order", str(scene.wo_l1)) in about and ("work_order", str(scene.wo_l2)) not in about
