"""Suppliers and work orders of the demo: three suppliers with terms for every bought material, then production of
the twelve earliest-due order lines released — their work order and, under it, one for every sub-assembly the plant
makes — through the same `release_sales_order_line` a planner uses (components reserved, shortages and purchase
suggestions follow by themselves)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from synfab.catalog import service as catalog
from synfab.catalog.choices import Sourcing
from synfab.catalog.models import Material
from synfab.core.uow import UnitOfWork
from synfab.inventory.purchasing import service as purchasing
from synfab.inventory.purchasing.schemas import SupplierCreate, SupplierItemIn
from synfab.orders import service as orders
from synfab.orders.models import SalesOrderLine

WORK_ORDERS = 12
# (code, name, English name, lead time days, minimum order, pack size)
SUPPLIERS = [
    ("SUP-CAST", "苏州精铸有限公司", "Suzhou Precision Casting", 14, 200, 50),
    ("SUP-SEAL", "宁波密封件厂", "Ningbo Seals", 7, 500, 100),
    ("SUP-STEEL", "上海特钢贸易", "Shanghai Special Steel", 10, 100, 20),
]


def create_demo_suppliers(uow: UnitOfWork) -> None:
    """Three suppliers; every bought material gets terms from one of them (preferred) in turn."""
    made = [purchasing.create_supplier(uow, SupplierCreate(code=c, name=n, name_en=e, lead_time_days=lead))
            for c, n, e, lead, _min, _pack in SUPPLIERS]
    uow.flush()
    bought = uow.session.scalars(select(Material).where(Material.sourcing == Sourcing.BUY, Material.active.is_(True))
                                 .order_by(Material.code)).all()
    for i, material in enumerate(bought):
        k = i % len(made)
        _c, _n, _e, lead, minimum, pack = SUPPLIERS[k]
        purchasing.set_supplier_item(uow, made[k].id, SupplierItemIn(
            material_id=material.id, min_order_qty=Decimal(minimum), pack_size=Decimal(pack), lead_time_days=lead,
            preferred=True))


def create_demo_work_orders(uow: UnitOfWork, today: date) -> None:
    create_demo_suppliers(uow)
    s = uow.session
    lines = s.scalars(select(SalesOrderLine).order_by(SalesOrderLine.due_date, SalesOrderLine.id)).all()
    made = 0
    for line in lines:
        if made == WORK_ORDERS:
            break
        if catalog.effective_routing(s, line.material_id, line.due_date) is None:
            continue
        orders.release_sales_order_line(uow, line.order_id, line.id)
        made += 1
