"""Work orders of the demo: the twelve earliest-due order lines get one, their sub-assemblies a child each.

Until the orders loop releases demand by itself (a later release), this is how the demo's work order pages
get content: through the same `create_work_order` a planner would use.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from synfab.catalog import service as catalog
from synfab.catalog.choices import Sourcing
from synfab.core.uow import UnitOfWork
from synfab.orders import service as orders
from synfab.orders.models import SalesOrderLine
from synfab.orders.schemas import WorkOrderCreate

WORK_ORDERS = 12


def create_demo_work_orders(uow: UnitOfWork, today: date) -> None:
    s = uow.session
    lines = s.scalars(select(SalesOrderLine).order_by(SalesOrderLine.due_date, SalesOrderLine.id)).all()
    made = 0
    for line in lines:
        if made == WORK_ORDERS:
            break
        if catalog.effective_routing(s, line.material_id, line.due_date) is None:
            continue
        parent = orders.create_work_order(uow, WorkOrderCreate(sales_order_line_id=line.id))
        made += 1
        # Made-to-order sub-assemblies one level down, due a few days before the assembly.
        for exploded in catalog.explode_bom(s, line.material_id, parent.quantity, today):
            material = exploded.material
            if exploded.level != 1 or material.sourcing != Sourcing.MAKE or catalog.effective_routing(s, material.id, today) is None:
                continue
            orders.create_work_order(uow, WorkOrderCreate(
                material_id=material.id, quantity=exploded.total_quantity.quantize(1),
                due_date=max(today + timedelta(days=1), parent.due_date - timedelta(days=3)), parent_id=parent.id))
