"""A small brake-caliper catalog whose explosion is worked out by hand in test_boms.py.

    CAL-01 caliper (finished, make, pcs), BOM rev A from 2024-01-01, base 1:
      10  HSG-01 housing      1    pcs
      20  PST-01 piston       2    pcs   scrap 5 %
      30  SCR-01 screw        0.5  box   (1 box = 24 pcs, for SCR-01 only)
    HSG-01 housing (semi-finished, make), base 1:
      10  CST-01 casting      1    pcs   scrap 2 %
      20  SCR-01 screw        4    pcs
    CST-01 casting (semi-finished, make), base 1:
      10  AL-01 aluminium     800  g     scrap 10 %   (AL-01 is kept in kg; 1 kg = 1000 g)
    PST-01 piston (semi-finished, make), base 10 (quantities per 10 pistons):
      10  AL-01 aluminium     2    kg    scrap 2 %
      20  SEAL-01 seal        10   pcs
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from synfab.catalog import service
from synfab.catalog.choices import Dimension, DocumentStatus, MaterialType, Sourcing
from synfab.catalog.schemas import (
    BomCreate, BomLineIn, ConversionCreate, MaterialClassCreate, MaterialCreate, UnitCreate,
)
from synfab.core.db import Database

JAN_2024 = date(2024, 1, 1)


@dataclass
class Sample:
    pcs: int
    box: int
    dozen: int
    kg: int
    g: int
    m: int
    cls_raw: int
    cls_metal: int
    cls_parts: int
    cal: int
    hsg: int
    cst: int
    pst: int
    scr: int
    al: int
    seal: int
    bom_cal: int
    bom_hsg: int
    bom_cst: int
    bom_pst: int


def line(component: int, qty: str, unit: int | None = None, scrap: str = "0", position: int | None = None,
         op: int | None = None) -> BomLineIn:
    return BomLineIn(component_id=component, quantity=Decimal(qty), unit_id=unit, scrap_factor=Decimal(scrap),
                     position=position, operation_seq=op)


def build_sample(db: Database) -> Sample:
    with db.uow() as uow:
        def unit(code: str, name: str, en: str, dim: Dimension) -> int:
            return service.create_unit(uow, UnitCreate(code=code, name=name, name_en=en, dimension=dim)).id

        pcs = unit("pcs", "件", "piece", Dimension.COUNT)
        box = unit("box", "箱", "box", Dimension.COUNT)
        dozen = unit("dz", "打", "dozen", Dimension.COUNT)
        kg = unit("kg", "千克", "kilogram", Dimension.MASS)
        g = unit("g", "克", "gram", Dimension.MASS)
        m = unit("m", "米", "metre", Dimension.LENGTH)
        raw = service.create_material_class(uow, MaterialClassCreate(code="RAW", name="原材料类",
                                                                     name_en="Raw"))
        metal = service.create_material_class(uow, MaterialClassCreate(
            code="METAL", name="金属", name_en="Metals", parent_id=raw.id))
        parts = service.create_material_class(uow, MaterialClassCreate(code="PARTS", name="零部件",
                                                                       name_en="Parts"))

        def material(code: str, name: str, en: str, mtype: MaterialType, sourcing: Sourcing, u: int,
                     cls: int | None) -> int:
            return service.create_material(uow, MaterialCreate(
                code=code, name=name, name_en=en, type=mtype, sourcing=sourcing, unit_id=u, class_id=cls,
                lead_time_days=5)).id

        cal = material("CAL-01", "制动钳", "Brake caliper", MaterialType.FINISHED, Sourcing.MAKE, pcs,
                       parts.id)
        hsg = material("HSG-01", "钳体", "Housing", MaterialType.SEMI_FINISHED, Sourcing.MAKE, pcs, parts.id)
        cst = material("CST-01", "铸件", "Casting", MaterialType.SEMI_FINISHED, Sourcing.MAKE, pcs, parts.id)
        pst = material("PST-01", "活塞", "Piston", MaterialType.SEMI_FINISHED, Sourcing.MAKE, pcs, parts.id)
        scr = material("SCR-01", "螺钉", "Screw", MaterialType.RAW, Sourcing.BUY, pcs, None)
        al = material("AL-01", "铝棒", "Aluminium bar", MaterialType.RAW, Sourcing.BUY, kg, metal.id)
        seal = material("SEAL-01", "密封圈", "Seal", MaterialType.RAW, Sourcing.BUY, pcs, None)

        service.add_conversion(uow, ConversionCreate(from_unit_id=kg, to_unit_id=g, factor=Decimal(1000)))
        service.add_conversion(uow, ConversionCreate(from_unit_id=dozen, to_unit_id=pcs, factor=Decimal(12)))
        service.add_conversion(uow, ConversionCreate(from_unit_id=box, to_unit_id=pcs, factor=Decimal(24),
                                                     material_id=scr))

        def bom(parent: int, lines: list[BomLineIn], base: str = "1") -> int:
            return service.create_bom(uow, BomCreate(
                material_id=parent, revision="A", status=DocumentStatus.RELEASED, effective_from=JAN_2024,
                base_quantity=Decimal(base), lines=lines)).id

        bom_cst = bom(cst, [line(al, "800", g, "0.10")])
        bom_hsg = bom(hsg, [line(cst, "1", scrap="0.02"), line(scr, "4")])
        bom_pst = bom(pst, [line(al, "2", scrap="0.02"), line(seal, "10")], base="10")
        bom_cal = bom(cal, [line(hsg, "1", op=10), line(pst, "2", scrap="0.05", op=20),
                            line(scr, "0.5", box, op=30)])
        uow.commit()
    return Sample(pcs=pcs, box=box, dozen=dozen, kg=kg, g=g, m=m, cls_raw=raw.id, cls_metal=metal.id,
                  cls_parts=parts.id, cal=cal, hsg=hsg, cst=cst, pst=pst, scr=scr, al=al, seal=seal,
                  bom_cal=bom_cal, bom_hsg=bom_hsg, bom_cst=bom_cst, bom_pst=bom_pst)


@pytest.fixture
def sample(db: Database) -> Sample:
    return build_sample(db)
