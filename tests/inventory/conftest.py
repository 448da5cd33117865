"""Inventory fixtures: units, materials (lot-tracked or not), and storage locations in the mini plant."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from synfab.catalog.choices import MaterialType
from synfab.catalog.models import Material, Unit
from synfab.core.db import Database
from synfab.inventory import service
from synfab.inventory.choices import MoveKind
from synfab.inventory.models import Lot
from synfab.inventory.schemas import LotCreate, MoveIn
from synfab.plant import service as plant_service
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from tests.conftest import MiniPlant


@dataclass
class Stores:
    """The mini plant plus what stock needs: materials and storage locations (ids)."""

    plant: MiniPlant
    steel: int  # lot-tracked, kg, 180 days shelf life
    paint: int  # lot-tracked, L, 30 days shelf life
    bolt: int  # not lot-tracked, pcs
    rm: int  # storage zone RM (raw materials) under the site
    bin1: int  # storage unit RM-01 in RM
    bin2: int  # storage unit RM-02 in RM
    fg: int  # storage zone FG (finished goods) under the site
    wip: int  # WIP storage zone at line L1


@pytest.fixture
def stores(db: Database, plant: MiniPlant) -> Stores:
    with db.uow() as uow:
        s = uow.session
        kg = Unit(code="kg", name="千克", name_en="Kilogram")
        pcs = Unit(code="pcs", name="件", name_en="Piece")
        litre = Unit(code="L", name="升", name_en="Litre")
        s.add_all([kg, pcs, litre])
        s.flush()
        steel = Material(code="STEEL-45", name="45号钢", name_en="Steel C45", type=MaterialType.RAW, unit_id=kg.id,
                         lot_tracked=True, shelf_life_days=180)
        paint = Material(code="PAINT-R", name="红漆", name_en="Red paint", type=MaterialType.CONSUMABLE,
                         unit_id=litre.id, lot_tracked=True, shelf_life_days=30)
        bolt = Material(code="BOLT-M8", name="螺栓M8", name_en="Bolt M8", type=MaterialType.RAW, unit_id=pcs.id,
                        lot_tracked=False)
        s.add_all([steel, paint, bolt])
        s.flush()
        bin1 = plant_service.create_node(uow, NodeCreate(code="RM-01", name="原料库位1", name_en="RM bin 1",
                                                         level=Level.STORAGE_UNIT, parent_id=plant.store))
        bin2 = plant_service.create_node(uow, NodeCreate(code="RM-02", name="原料库位2", name_en="RM bin 2",
                                                         level=Level.STORAGE_UNIT, parent_id=plant.store))
        fg = plant_service.create_node(uow, NodeCreate(code="FG", name="成品库", name_en="Finished goods",
                                                       level=Level.STORAGE_ZONE, parent_id=plant.site))
        wip = plant_service.create_node(uow, NodeCreate(code="L1-WIP", name="一线线边库", name_en="L1 WIP",
                                                        level=Level.STORAGE_ZONE, parent_id=plant.line1))
        uow.commit()
        return Stores(plant, steel.id, paint.id, bolt.id, plant.store, bin1.id, bin2.id, fg.id, wip.id)


def make_lot(db: Database, material_id: int, code: str, **fields: object) -> Lot:
    with db.uow() as uow:
        lot = service.create_lot(uow, LotCreate(code=code, material_id=material_id, **fields))
        uow.commit()
        return lot


def receive(db: Database, material_id: int, quantity: str | int, to: int, lot_id: int | None = None,
            kind: MoveKind = MoveKind.RECEIPT) -> None:
    with db.uow() as uow:
        service.post_moves(uow, [MoveIn(kind=kind, material_id=material_id, lot_id=lot_id, to_location_id=to,
                                        quantity=Decimal(str(quantity)))])
        uow.commit()
