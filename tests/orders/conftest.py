"""Orders test data: materials, a BOM and routings (written straight into the catalog tables), customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, BomLine, Material, Routing, RoutingOperation, Unit
from synfab.core.db import Database
from synfab.orders import service
from synfab.orders.schemas import CustomerCreate, SalesOrderCreate, SalesOrderLineCreate
from synfab.plant.models import EquipmentClass
from tests.conftest import MiniPlant


@dataclass
class Catalog:
    pcs: int
    caliper: int  # finished good, routing WC1 then WC2 (line L1 first)
    piston: int  # semi-finished, one operation on WC2 (line L2)
    casting: int  # raw material, no routing
    seal: int  # inactive
    lathe_class: int
    routing_caliper: int
    bom_caliper: int


@dataclass
class Customers:
    acme: int
    beta: int
    dormant: int  # inactive


def build_catalog(db: Database, plant: MiniPlant) -> Catalog:
    with db.uow() as uow:
        s = uow.session
        pcs = Unit(code="PCS", name="件", name_en="piece")
        lathe = EquipmentClass(code="LATHE", name="数控车床", name_en="CNC lathe")
        s.add_all([pcs, lathe])
        s.flush()

        def material(code: str, name: str, name_en: str, kind: MaterialType, active: bool = True) -> Material:
            m = Material(code=code, name=name, name_en=name_en, type=kind, unit_id=pcs.id, active=active,
                         sourcing=Sourcing.MAKE if kind != MaterialType.RAW else Sourcing.BUY)
            s.add(m)
            return m

        caliper = material("CAL-01", "制动钳总成", "Brake caliper", MaterialType.FINISHED)
        piston = material("PST-01", "活塞", "Piston", MaterialType.SEMI_FINISHED)
        casting = material("CST-01", "钳体铸件", "Caliper casting", MaterialType.RAW)
        seal = material("SEAL-01", "密封圈", "Seal", MaterialType.CONSUMABLE, active=False)
        s.flush()
        routing = Routing(material_id=caliper.id, revision="A", status=DocumentStatus.RELEASED,
                          effective_from=date(2026, 1, 1), effective_to=date(2027, 7, 1), operations=[
            RoutingOperation(seq=20, name="装配", work_center_id=plant.wc2, setup_minutes=Decimal("15"),
                             run_minutes=Decimal("1.25"), required_skill="ASSY", required_skill_level=1),
            RoutingOperation(seq=10, name="精车", work_center_id=plant.wc1, equipment_class_id=lathe.id,
                             setup_minutes=Decimal("30"), run_minutes=Decimal("2.5"), required_skill="TURN",
                             required_skill_level=2),
        ])
        draft = Routing(material_id=caliper.id, revision="B", status=DocumentStatus.DRAFT,
                        effective_from=date(2027, 7, 1), operations=[
            RoutingOperation(seq=10, name="新工艺", work_center_id=plant.wc1, setup_minutes=Decimal(1),
                             run_minutes=Decimal(1)),
        ])
        piston_routing = Routing(material_id=piston.id, revision="A", status=DocumentStatus.RELEASED,
                                 effective_from=date(2026, 1, 1), operations=[
            RoutingOperation(seq=10, name="车削", work_center_id=plant.wc2, setup_minutes=Decimal("10"),
                             run_minutes=Decimal("0.5")),
        ])
        bom = Bom(material_id=caliper.id, revision="A", status=DocumentStatus.RELEASED,
                  effective_from=date(2026, 1, 1), lines=[
            BomLine(position=10, component_id=casting.id, quantity=Decimal(1), unit_id=pcs.id),
            BomLine(position=20, component_id=piston.id, quantity=Decimal(2), unit_id=pcs.id),
        ])
        s.add_all([routing, draft, piston_routing, bom])
        s.flush()
        cat = Catalog(pcs.id, caliper.id, piston.id, casting.id, seal.id, lathe.id, routing.id, bom.id)
        uow.commit()
    return cat


def build_customers(db: Database) -> Customers:
    with db.uow() as uow:
        acme = service.create_customer(uow, CustomerCreate(code="C-ACME", name="艾克米汽车", name_en="Acme Motors"))
        beta = service.create_customer(uow, CustomerCreate(code="C-BETA", name="贝塔制动", name_en="Beta Brakes"))
        dormant = service.create_customer(uow, CustomerCreate(code="C-OLD", name="旧客户", active=False))
        uow.commit()
        return Customers(acme.id, beta.id, dormant.id)


@pytest.fixture
def catalog(db: Database, plant: MiniPlant) -> Catalog:
    return build_catalog(db, plant)


@pytest.fixture
def customers(db: Database) -> Customers:
    return build_customers(db)


def make_order(db: Database, plant: MiniPlant, customer_id: int, code: str, lines: list[tuple[int, str, str]],
               order_date: date = date(2026, 11, 1), customer_po: str | None = None) -> int:
    """A sales order with lines given as (material id, quantity, due date ISO)."""
    with db.uow() as uow:
        order = service.create_sales_order(uow, SalesOrderCreate(
            code=code, customer_id=customer_id, site_id=plant.site, order_date=order_date, customer_po=customer_po,
            lines=[SalesOrderLineCreate(material_id=m, quantity=Decimal(q), due_date=date.fromisoformat(d))
                   for m, q, d in lines],
        ))
        uow.commit()
        return order.id
