"""`bulk_insert` stores exactly what the ORM would: the rows read back the same on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select

from synfab.core.db import Database, bulk_insert
from synfab.orders.choices import LineStatus, Priority, SalesOrderStatus
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine
from tests.conftest import MiniPlant


def test_bulk_rows_read_back_like_orm_rows(db: Database, plant: MiniPlant) -> None:
    from synfab.catalog.models import Material, Unit

    with db.uow() as uow:
        unit = Unit(code="pcs", name="件")
        uow.session.add(unit)
        uow.flush()
        material = Material(code="M", name="m", type="finished", unit_id=unit.id)
        customer = Customer(code="C", name="客户")
        uow.session.add_all([material, customer])
        uow.flush()
        order = SalesOrder(code="SO-ORM", customer_id=customer.id, site_id=plant.site, order_date=date(2026, 11, 2),
                           priority=Priority.HIGH, status=SalesOrderStatus.OPEN)
        uow.session.add(order)
        uow.flush()
        shanghai = timezone(timedelta(hours=8))
        stamp = {"version": 1, "created_at": datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=shanghai),
                 "updated_at": datetime(2026, 11, 23, 1, 30, 15, 123456, tzinfo=UTC), "updated_by": "bulk"}
        rows = [{"order_id": order.id, "line_no": n, "material_id": material.id, "quantity": Decimal(q),
                 "due_date": date(2026, 12, n), "priority": Priority.URGENT if n == 1 else "3",
                 "status": LineStatus.OPEN, **stamp} for n, q in ((1, "12.5"), (2, "0.000001"), (3, "99999999.123456"))]
        assert bulk_insert(uow.session, SalesOrderLine.__table__, rows) == 3
        uow.session.add(SalesOrderLine(order_id=order.id, line_no=4, material_id=material.id, quantity=Decimal("12.5"),
                                       due_date=date(2026, 12, 1), priority=Priority.URGENT, status=LineStatus.OPEN,
                                       **stamp))
        uow.commit()
    with db.session() as s:
        lines = {ln.line_no: ln for ln in s.scalars(select(SalesOrderLine))}
    assert [lines[n].quantity for n in (1, 2, 3)] == [Decimal("12.5"), Decimal("0.000001"), Decimal("99999999.123456")]
    assert lines[1].priority is Priority.URGENT and lines[2].priority is Priority.NORMAL
    assert lines[1].status is LineStatus.OPEN
    assert lines[3].due_date == date(2026, 12, 3)
    # Same instant, stored in UTC, whatever zone it came in: bulk and ORM rows agree to the microsecond.
    assert lines[1].created_at == lines[4].created_at == datetime(2026, 11, 23, 1, 30, 15, 123456, tzinfo=UTC)
    assert lines[1].updated_at == lines[4].updated_at
    assert (lines[1].quantity, lines[1].due_date, lines[1].priority) == (lines[4].quantity, lines[4].due_date,
                                                                          lines[4].priority)
