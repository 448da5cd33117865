"""Release: a sales order line (or stock) becomes its work order and child work orders for every make
component of the BOM, all levels — quantities per base quantity with scrap, operations with planned times,
all-or-nothing, once per line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, BomLine, Material, Routing, RoutingOperation
from synfab.core.db import Database
from synfab.core.errors import Conflict, Invalid
from synfab.core.models import EventRecord
from synfab.orders import service
from synfab.orders.choices import LineStatus, SalesOrderStatus, WorkOrderStatus
from synfab.orders.models import SalesOrder, WorkOrder
from synfab.orders.schemas import WorkOrderCreate
from tests.conftest import MiniPlant
from tests.orders.conftest import Catalog, Customers, make_order


def first_line(db: Database, order_id: int) -> int:
    with db.session() as s:
        return s.get(SalesOrder, order_id).lines[0].id


def work_orders(db: Database) -> list[tuple[str, Decimal, str | None, WorkOrderStatus, list[Decimal]]]:
    """(material, quantity, parent's material, status, planned minutes of the operations), parent first."""
    with db.session() as s:
        found = []
        for wo in s.scalars(select(WorkOrder).order_by(WorkOrder.id)):
            parent = s.get(WorkOrder, wo.parent_id).material.code if wo.parent_id else None
            found.append((wo.material.code, wo.quantity, parent, wo.status,
                          [op.planned_minutes for op in wo.operations]))
        return found


def add_piston_blank(db: Database, catalog: Catalog, plant: MiniPlant, routing: bool = True) -> None:
    """A third level: two pistons (base quantity) need one blank, with 10 % scrap; the blank is made too."""
    with db.uow() as uow:
        s = uow.session
        blank = Material(code="BLK-01", name="活塞毛坯", type=MaterialType.SEMI_FINISHED, unit_id=catalog.pcs,
                         sourcing=Sourcing.MAKE)
        s.add(blank)
        s.flush()
        s.add(Bom(material_id=catalog.piston, revision="A", status=DocumentStatus.RELEASED, base_quantity=Decimal(2),
                  effective_from=date(2026, 1, 1), lines=[
                      BomLine(position=10, component_id=blank.id, quantity=Decimal(1), unit_id=catalog.pcs,
                              scrap_factor=Decimal("0.1"))]))
        if routing:
            s.add(Routing(material_id=blank.id, revision="A", status=DocumentStatus.RELEASED,
                          effective_from=date(2026, 1, 1), operations=[
                              RoutingOperation(seq=10, name="锻造", work_center_id=plant.wc1,
                                               setup_minutes=Decimal(20), run_minutes=Decimal("0.4"))]))
        uow.commit()


def test_a_line_becomes_its_work_order_and_the_made_components_under_it(
        db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    order = make_order(db, plant, customers.acme, "SO-R1", [(catalog.caliper, "5", "2026-12-10")])
    line = first_line(db, order)
    with db.uow() as uow:
        made = service.release_sales_order_line(uow, order, line)
        uow.commit()
        codes = [wo.code for wo in made]
    # The caliper (5) and, under it, 2 pistons each (the casting is bought: left to materials planning).
    # Planned minutes = setup + quantity × run: 30 + 5 × 2.5, 15 + 5 × 1.25; piston 10 + 10 × 0.5.
    assert work_orders(db) == [
        ("CAL-01", Decimal(5), None, WorkOrderStatus.RELEASED, [Decimal("42.5"), Decimal("21.25")]),
        ("PST-01", Decimal(10), "CAL-01", WorkOrderStatus.RELEASED, [Decimal(15)]),
    ]
    with db.session() as s:
        so = s.get(SalesOrder, order)
        assert so.lines[0].status == LineStatus.RELEASED and so.status == SalesOrderStatus.IN_PRODUCTION
        assert {wo.sales_order_line_id for wo in s.scalars(select(WorkOrder))} == {line}
        released = s.scalar(select(EventRecord).where(EventRecord.type == "ProductionReleased"))
        assert released.payload["code"] == codes[0] and len(released.payload["work_order_ids"]) == 2

    with db.uow() as uow, pytest.raises(Conflict) as again:
        service.release_sales_order_line(uow, order, line)
    assert again.value.code == "line_already_released" and codes[0] in again.value.message.in_locale("en")
    assert len(work_orders(db)) == 2


def test_three_levels_with_base_quantity_and_scrap(db: Database, plant: MiniPlant, catalog: Catalog,
                                                   customers: Customers) -> None:
    add_piston_blank(db, catalog, plant)
    order = make_order(db, plant, customers.acme, "SO-R2", [(catalog.caliper, "5", "2026-12-10")])
    with db.uow() as uow:
        service.release_sales_order_line(uow, order, first_line(db, order))
        uow.commit()
    # 10 pistons need 10 / 2 × 1 × 1.1 = 5.5 blanks; the blank's forging: 20 + 5.5 × 0.4 = 22.2 minutes.
    assert [(m, q, p) for m, q, p, _, _ in work_orders(db)] == [
        ("CAL-01", Decimal(5), None), ("PST-01", Decimal(10), "CAL-01"), ("BLK-01", Decimal("5.5"), "PST-01")]
    assert work_orders(db)[2][4] == [Decimal("22.2")]


def test_a_component_without_a_routing_releases_nothing(db: Database, plant: MiniPlant, catalog: Catalog,
                                                         customers: Customers) -> None:
    add_piston_blank(db, catalog, plant, routing=False)
    order = make_order(db, plant, customers.acme, "SO-R3", [(catalog.caliper, "5", "2026-12-10")])
    with db.uow() as uow, pytest.raises(Invalid) as refused:
        service.release_sales_order_line(uow, order, first_line(db, order))
    assert refused.value.code == "no_routing" and "BLK-01" in refused.value.message.in_locale("en")
    assert work_orders(db) == []
    with db.session() as s:
        assert s.get(SalesOrder, order).lines[0].status == LineStatus.OPEN


def test_a_bom_that_contains_itself_is_named(db: Database, plant: MiniPlant, catalog: Catalog,
                                             customers: Customers) -> None:
    with db.uow() as uow:  # written behind the catalog's back: the piston's BOM needs a caliper
        uow.session.add(Bom(material_id=catalog.piston, revision="X", status=DocumentStatus.RELEASED,
                            effective_from=date(2026, 1, 1), lines=[
                                BomLine(position=10, component_id=catalog.caliper, quantity=Decimal(1),
                                        unit_id=catalog.pcs)]))
        uow.commit()
    order = make_order(db, plant, customers.acme, "SO-R4", [(catalog.caliper, "1", "2026-12-10")])
    with db.uow() as uow, pytest.raises(Invalid) as refused:
        service.release_sales_order_line(uow, order, first_line(db, order))
    assert refused.value.code == "bom_loop" and "CAL-01" in refused.value.message.in_locale("zh_CN")
    assert work_orders(db) == []


def test_release_through_the_api_for_a_line_and_for_stock(client: TestClient, db: Database, plant: MiniPlant,
                                                          catalog: Catalog, customers: Customers) -> None:
    order = make_order(db, plant, customers.acme, "SO-R5", [(catalog.caliper, "4", "2026-12-10")])
    line = first_line(db, order)
    r = client.post(f"/api/v1/sales-orders/{order}/lines/{line}/release", json={"version": 1})
    assert r.status_code == 201, r.text
    assert [(w["quantity"], w["status"]) for w in r.json()] == [("4", "released"), ("8", "released")]
    r = client.post(f"/api/v1/sales-orders/{order}/lines/{line}/release")
    assert r.status_code == 409 and r.json()["error"]["code"] == "line_already_released"
    r = client.post("/api/v1/work-orders/release", json={"material_id": catalog.caliper, "quantity": "3",
                                                         "due_date": "2026-12-20", "site_id": plant.site})
    assert r.status_code == 201, r.text
    stock = r.json()
    assert [w["quantity"] for w in stock] == ["3", "6"] and stock[1]["parent_id"] == stock[0]["id"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrder)) == 4


def test_release_for_stock_in_the_service(db: Database, plant: MiniPlant, catalog: Catalog) -> None:
    with db.uow() as uow:
        made = service.release_work_order(uow, WorkOrderCreate(material_id=catalog.piston, quantity=Decimal(7),
                                                               due_date=date(2026, 12, 1), site_id=plant.site))
        uow.commit()
        assert [(wo.quantity, wo.sales_order_line_id, wo.status) for wo in made] == [
            (Decimal(7), None, WorkOrderStatus.RELEASED)]


def test_release_from_the_order_page_in_both_languages(client: TestClient, db: Database, plant: MiniPlant,
                                                       catalog: Catalog, customers: Customers) -> None:
    from tests.orders.test_pages import form_key, speak

    order = make_order(db, plant, customers.acme, "SO-R6", [(catalog.caliper, "2", "2026-12-10")])
    line = first_line(db, order)
    speak(client, "zh_CN")
    page = client.get(f"/orders/sales-orders/{order}")
    assert "下达生产" in page.text
    form = page.text.split(f'/lines/{line}/release"', 1)[1]
    sent = {"idempotency_key": form_key(form), "version": "1"}
    r = client.post(f"/orders/sales-orders/{order}/lines/{line}/release", data=sent, follow_redirects=False)
    again = client.post(f"/orders/sales-orders/{order}/lines/{line}/release", data=sent, follow_redirects=False)
    assert r.status_code == again.status_code == 303  # sent twice: released once
    assert [m for m, *_ in work_orders(db)] == ["CAL-01", "PST-01"]
    page = client.get(f"/orders/sales-orders/{order}")
    assert f'/lines/{line}/release"' not in page.text and "已下达生产：工单" in page.text  # no second release
    speak(client, "en")
    page = client.get(f"/orders/sales-orders/{order}")
    assert "Production released: work order" in page.text and "with 1 work orders for its components" in page.text
    with db.session() as s:
        version = s.get(SalesOrder, order).lines[0].version
    twice = client.post(f"/orders/sales-orders/{order}/lines/{line}/release",
                        data={"idempotency_key": "another", "version": str(version)})
    assert twice.status_code == 409 and "already released" in twice.text
