"""Material planning test data: the orders catalog (a caliper needs 1 casting, bought, and 2 pistons, made), a
supplier of castings, and helpers to put lots into the raw material store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from synfab.core import clock
from synfab.core.db import Database
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind, ReservationStatus
from synfab.inventory.models import Reservation
from synfab.inventory.purchasing import service as purchasing
from synfab.inventory.purchasing.schemas import SupplierCreate, SupplierItemIn
from synfab.inventory.schemas import LotCreate, MoveIn
from synfab.orders import service as orders
from synfab.orders.models import WorkOrder
from synfab.orders.schemas import WorkOrderCreate
from tests.conftest import MiniPlant
from tests.orders.conftest import Catalog, build_catalog

TODAY = date(2026, 11, 23)  # Shanghai


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    clock.set_clock(lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    yield
    clock.set_clock(None)


@dataclass
class Scene:
    plant: MiniPlant
    catalog: Catalog
    supplier: int


def build_scene(db: Database, plant: MiniPlant, *, min_qty: str = "0", pack: str = "0", lead: int = 10) -> Scene:
    cat = build_catalog(db, plant)
    with db.uow() as uow:
        supplier = purchasing.create_supplier(uow, SupplierCreate(code="SUP-FDY", name="华东铸造",
                                                                  name_en="East Foundry", lead_time_days=30))
        purchasing.set_supplier_item(uow, supplier.id, SupplierItemIn(
            material_id=cat.casting, min_order_qty=Decimal(min_qty), pack_size=Decimal(pack), lead_time_days=lead,
            preferred=True))
        uow.commit()
        return Scene(plant, cat, supplier.id)


@pytest.fixture
def scene(db: Database, plant: MiniPlant) -> Scene:
    return build_scene(db, plant)


def add_lot(db: Database, scene: Scene, code: str, quantity: str, *, received: date | None = None,
            expires: date | None = None, location: int | None = None) -> int:
    with db.uow() as uow:
        lot = inventory.create_lot(uow, LotCreate(code=code, material_id=scene.catalog.casting,
                                                  received_on=received or date(2026, 11, 1), expires_on=expires))
        inventory.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=scene.catalog.casting, lot_id=lot.id,
                                          to_location_id=location or scene.plant.store, quantity=Decimal(quantity))])
        uow.commit()
        return lot.id


def release(db: Database, scene: Scene, quantity: str, due: date = date(2026, 12, 20), code: str | None = None) -> int:
    """Release a caliper work order for stock; returns the top work order's id."""
    with db.uow() as uow:
        made = orders.release_work_order(uow, WorkOrderCreate(
            code=code, material_id=scene.catalog.caliper, quantity=Decimal(quantity), due_date=due,
            site_id=scene.plant.site))
        uow.commit()
        return made[0].id


def reserved_lots(db: Database, work_order_id: int) -> dict[int | None, Decimal]:
    with db.session() as s:
        out: dict[int | None, Decimal] = {}
        for r in s.scalars(select(Reservation).where(Reservation.demand_kind == "work_order",
                                                     Reservation.demand_id == work_order_id,
                                                     Reservation.status == ReservationStatus.ACTIVE)):
            out[r.lot_id] = out.get(r.lot_id, Decimal(0)) + r.quantity
        return out


def work_order(db: Database, work_order_id: int) -> WorkOrder:
    with db.session() as s:
        wo = s.scalar(select(WorkOrder).where(WorkOrder.id == work_order_id))
        assert wo is not None
        s.expunge(wo)
        return wo
