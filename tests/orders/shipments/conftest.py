"""Shipments test data: the orders catalog and customers, finished-goods lots in stock, an order to ship."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.schemas import MoveIn
from synfab.plant import service as plant_service
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from tests.conftest import MiniPlant
from tests.orders.conftest import Catalog, Customers, build_catalog, build_customers, make_order


@dataclass
class Yard:
    plant: MiniPlant
    catalog: Catalog
    customers: Customers
    fg: int  # finished-goods storage zone of the site
    order: int  # SO-SHIP: line 1 = 10 calipers, line 2 = 4 pistons
    lots: dict[str, int]  # code → id


def stock_lot(db: Database, material_id: int, code: str, quantity: str, location: int,
              expires_on: date | None = None, received_on: date | None = None) -> int:
    with db.uow() as uow:
        lot = inventory.ensure_lot(uow, material_id, code, expires_on=expires_on, received_on=received_on)
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.PRODUCTION, material_id=material_id, lot_id=lot.id,
                                          to_location_id=location, quantity=Decimal(quantity))])
        uow.commit()
        return lot.id


def build_yard(db: Database, plant: MiniPlant) -> Yard:
    catalog = build_catalog(db, plant)
    customers = build_customers(db)
    with db.uow() as uow:
        fg = plant_service.create_node(uow, NodeCreate(code="FG", name="成品库", name_en="Finished goods",
                                                       level=Level.STORAGE_ZONE, parent_id=plant.site))
        uow.commit()
        fg_id = fg.id
    order = make_order(db, plant, customers.acme, "SO-SHIP", [(catalog.caliper, "10", "2026-12-01"),
                                                             (catalog.piston, "4", "2026-12-01")])
    lots = {
        "FG-A": stock_lot(db, catalog.caliper, "FG-A", "6", fg_id, received_on=date(2026, 10, 1)),
        "FG-B": stock_lot(db, catalog.caliper, "FG-B", "8", fg_id, received_on=date(2026, 9, 1),
                          expires_on=date(2027, 3, 1)),
        "PS-1": stock_lot(db, catalog.piston, "PS-1", "10", fg_id, received_on=date(2026, 10, 1)),
    }
    return Yard(plant, catalog, customers, fg_id, order, lots)


@pytest.fixture
def yard(db: Database, plant: MiniPlant) -> Yard:
    return build_yard(db, plant)
