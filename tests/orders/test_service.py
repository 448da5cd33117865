"""Orders use cases on SQLite and PostgreSQL: customers, sales orders and lines, work orders, list queries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from synfab.core import clock
from synfab.core.context import Actor, acting_as
from synfab.core.db import Database
from synfab.core.errors import Conflict, DomainError, Invalid
from synfab.core.models import EventRecord
from synfab.orders import service
from synfab.orders.choices import LineStatus, OperationStatus, Priority, SalesOrderStatus, WorkOrderStatus
from synfab.orders.models import Customer, SalesOrder, SalesOrderLine, WorkOrder, WorkOrderOperation
from synfab.orders.schemas import (
    CustomerCreate, CustomerUpdate, SalesOrderCreate, SalesOrderLineCreate, SalesOrderLineUpdate, SalesOrderUpdate,
    WorkOrderCreate, WorkOrderUpdate,
)
from tests.conftest import MiniPlant
from tests.orders.conftest import Catalog, Customers, make_order


def counts(db: Database) -> tuple[int, int, int, int]:
    """Orders, lines, work orders and events in the database."""
    with db.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in  # type: ignore[return-value]
                     (SalesOrder, SalesOrderLine, WorkOrder, EventRecord))


def events(db: Database, type_name: str) -> list[dict]:
    with db.session() as s:
        return [r.payload for r in s.scalars(select(EventRecord).where(EventRecord.type == type_name)
                                             .order_by(EventRecord.occurred_at))]


def refused(db: Database, fn, *args) -> DomainError:
    """Run a write that must be refused; return the error (nothing is committed)."""
    with db.uow() as uow, pytest.raises(DomainError) as caught:
        fn(uow, *args)
        uow.commit()
    return caught.value


def order_ids(db: Database, **filters) -> set[str]:
    with db.session() as s:
        return {o.code for o in s.scalars(service.sales_order_query(**filters)).unique()}


def wo_codes(db: Database, **filters) -> set[str]:
    with db.session() as s:
        return {w.code for w in s.scalars(service.work_order_query(**filters)).unique()}


# -- customers ------------------------------------------------------------------------------------------------


def test_customer_code_is_unique_and_versioned(db: Database, customers: Customers) -> None:
    err = refused(db, service.create_customer, CustomerCreate(code="C-ACME", name="另一个"))
    assert isinstance(err, Conflict) and err.code == "customer_code_taken"
    assert "艾克米汽车" in err.message.in_locale("en") and "C-ACME" in err.message.in_locale("zh_CN")

    with acting_as(Actor(7, "wang")), db.uow() as uow:
        service.update_customer(uow, customers.acme, CustomerUpdate(version=1, contact="李经理", active=False))
        uow.commit()
    err = refused(db, service.update_customer, customers.acme, CustomerUpdate(version=1, phone="123"))
    assert err.code == "stale_version" and "wang" in err.message.in_locale("en")
    with db.session() as s:
        acme = s.get(Customer, customers.acme)
        assert (acme.contact, acme.active, acme.version, acme.phone) == ("李经理", False, 2, None)
    assert events(db, "CustomerChanged")[0]["changes"] == {"contact": [None, "李经理"], "active": ["True", "False"]}


def test_customer_query_filters(db: Database, customers: Customers) -> None:
    with db.session() as s:
        def codes(**f) -> list[str]:
            return [c.code for c in s.scalars(service.customer_query(**f).order_by(Customer.code))]

        assert codes() == ["C-ACME", "C-BETA", "C-OLD"]
        assert codes(active=True) == ["C-ACME", "C-BETA"]
        assert codes(active="0") == ["C-OLD"]
        assert codes(q="beta") == ["C-BETA"]
        assert codes(q="艾克米") == ["C-ACME"]


# -- sales orders ---------------------------------------------------------------------------------------------


def test_create_order_with_lines(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    with db.uow() as uow:
        order = service.create_sales_order(uow, SalesOrderCreate(
            code="SO-1", customer_id=customers.acme, site_id=plant.site, order_date=date(2026, 11, 20),
            customer_po="PO-88", priority=Priority.HIGH, lines=[
                SalesOrderLineCreate(material_id=catalog.caliper, quantity=Decimal("40"), due_date=date(2026, 12, 10)),
                SalesOrderLineCreate(line_no=5, material_id=catalog.piston, quantity=Decimal("12.5"),
                                     due_date=date(2026, 12, 3), priority=Priority.URGENT),
                SalesOrderLineCreate(material_id=catalog.casting, quantity=Decimal("3"), due_date=date(2026, 12, 20)),
            ]))
        uow.commit()
        order_id = order.id
    with db.session() as s:
        order = service.get_sales_order(s, order_id)
        assert (order.code, order.status, order.customer.code, order.customer_po) == (
            "SO-1", SalesOrderStatus.OPEN, "C-ACME", "PO-88")
        assert [(ln.line_no, ln.material.code, ln.quantity, ln.priority) for ln in order.lines] == [
            (1, "CAL-01", Decimal("40"), Priority.HIGH),
            (5, "PST-01", Decimal("12.5"), Priority.URGENT),
            (6, "CST-01", Decimal("3"), Priority.HIGH),
        ]
        assert order.earliest_due_date == date(2026, 12, 3)
    assert events(db, "SalesOrderCreated") == [
        {"order_id": order_id, "code": "SO-1", "customer_id": customers.acme, "site_id": plant.site, "line_count": 3}]
    assert [e["line_no"] for e in events(db, "SalesOrderLineAdded")] == [1, 5, 6]


def test_generated_code_and_order_date_follow_the_site_day(db: Database, plant: MiniPlant, catalog: Catalog,
                                                           customers: Customers) -> None:
    # 17:30 UTC on 22 November is already 23 November in Shanghai.
    clock.set_clock(lambda: datetime(2026, 11, 22, 17, 30, tzinfo=UTC))
    made = []
    for _ in range(2):
        with db.uow() as uow:
            order = service.create_sales_order(uow, SalesOrderCreate(
                customer_id=customers.beta, site_id=plant.site,
                lines=[SalesOrderLineCreate(material_id=catalog.caliper, quantity=Decimal(1),
                                            due_date=date(2026, 12, 1))]))
            uow.commit()
            made.append((order.code, order.order_date))
    assert made == [("SO-20261123-0001", date(2026, 11, 23)), ("SO-20261123-0002", date(2026, 11, 23))]


def test_duplicate_order_code_writes_nothing(db: Database, plant: MiniPlant, catalog: Catalog,
                                             customers: Customers) -> None:
    make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "1", "2026-12-01")])
    before = counts(db)
    err = refused(db, service.create_sales_order, SalesOrderCreate(
        code="SO-1", customer_id=customers.beta, site_id=plant.site, order_date=date(2026, 11, 1),
        lines=[SalesOrderLineCreate(material_id=catalog.piston, quantity=Decimal(2), due_date=date(2026, 12, 1))]))
    assert isinstance(err, Conflict) and err.code == "sales_order_code_taken"
    assert "SO-1" in err.message.in_locale("en") and "艾克米汽车" in err.message.in_locale("zh_CN")
    assert counts(db) == before


def test_duplicate_line_number_writes_nothing(db: Database, plant: MiniPlant, catalog: Catalog,
                                              customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "1", "2026-12-01")])
    before = counts(db)
    err = refused(db, service.create_sales_order, SalesOrderCreate(
        code="SO-2", customer_id=customers.acme, site_id=plant.site, order_date=date(2026, 11, 1), lines=[
            SalesOrderLineCreate(line_no=1, material_id=catalog.caliper, quantity=Decimal(1), due_date=date(2026, 12, 1)),
            SalesOrderLineCreate(line_no=1, material_id=catalog.piston, quantity=Decimal(1), due_date=date(2026, 12, 1)),
        ]))
    assert err.code == "sales_order_line_no_taken" and err.status_code == 409
    assert err.message.in_locale("en") == "Line number 1 is given twice; each line of an order needs its own number."
    assert err.message.in_locale("zh_CN") != err.message.in_locale("en")

    err = refused(db, service.add_sales_order_line, order_id, SalesOrderLineCreate(
        line_no=1, material_id=catalog.piston, quantity=Decimal(1), due_date=date(2026, 12, 1)))
    assert err.code == "sales_order_line_no_taken" and "SO-1" in err.message.in_locale("zh_CN")
    assert counts(db) == before


@pytest.mark.parametrize("change, code", [
    ({"customer_id": 999}, "customer_not_found"),
    ({"site_id": 999}, "site_not_found"),
    ({"material_id": 999}, "material_not_found"),
    ({"customer": "dormant"}, "customer_inactive"),
    ({"material": "seal"}, "material_inactive"),
    ({"site": "line1"}, "not_a_site"),
    ({"due_date": date(2026, 10, 1)}, "due_before_order_date"),
])
def test_bad_references_are_refused_in_both_languages(db: Database, plant: MiniPlant, catalog: Catalog,
                                                      customers: Customers, change: dict, code: str) -> None:
    header = {"code": "SO-X", "customer_id": customers.acme, "site_id": plant.site, "order_date": date(2026, 11, 1)}
    line = {"material_id": catalog.caliper, "quantity": Decimal(1), "due_date": date(2026, 12, 1)}
    for key, value in change.items():
        if key == "customer":
            header["customer_id"] = getattr(customers, value)
        elif key == "site":
            header["site_id"] = getattr(plant, value)
        elif key == "material":
            line["material_id"] = getattr(catalog, value)
        elif key in line:
            line[key] = value
        else:
            header[key] = value
    before = counts(db)
    err = refused(db, service.create_sales_order, SalesOrderCreate(**header, lines=[SalesOrderLineCreate(**line)]))
    assert isinstance(err, Invalid) and err.code == code
    both = err.message.both()
    assert both["en"] and both["zh_CN"] and both["en"] != both["zh_CN"]
    assert counts(db) == before


def test_line_change_records_old_and_new_values(db: Database, plant: MiniPlant, catalog: Catalog,
                                                customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "10", "2026-12-01"),
                                                              (catalog.piston, "4", "2026-12-05")])
    with db.session() as s:
        line_id = service.get_sales_order(s, order_id).lines[0].id
    with acting_as(Actor(3, "zhang")), db.uow() as uow:
        service.change_sales_order_line(uow, order_id, line_id, SalesOrderLineUpdate(
            version=1, quantity=Decimal("15"), due_date=date(2026, 12, 8)))
        uow.commit()
    [changed] = events(db, "SalesOrderLineChanged")
    assert changed == {
        "order_id": order_id, "order_code": "SO-1", "line_id": line_id, "line_no": 1, "material_id": catalog.caliper,
        "old_quantity": "10", "new_quantity": "15", "old_due_date": "2026-12-01", "new_due_date": "2026-12-08",
        "old_priority": "3", "new_priority": "3",
    }
    with db.session() as s:
        order = service.get_sales_order(s, order_id)
        assert (order.lines[0].quantity, order.lines[0].version, order.lines[0].updated_by) == (15, 2, "zhang")
        assert order.earliest_due_date == date(2026, 12, 5)

    # Someone still holding version 1 is told who changed the line.
    err = refused(db, service.change_sales_order_line, order_id, line_id,
                  SalesOrderLineUpdate(version=1, priority=Priority.URGENT))
    assert isinstance(err, Conflict) and err.code == "stale_version"
    assert "zhang" in err.message.in_locale("en") and "zhang" in err.message.in_locale("zh_CN")
    # The same quantity again is no change and records nothing.
    with db.uow() as uow:
        service.change_sales_order_line(uow, order_id, line_id, SalesOrderLineUpdate(version=2, quantity=Decimal(15)))
        uow.commit()
    assert len(events(db, "SalesOrderLineChanged")) == 1


def test_header_update_and_stale_version(db: Database, plant: MiniPlant, catalog: Catalog,
                                         customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "1", "2026-12-01")])
    with acting_as(Actor(4, "li")), db.uow() as uow:
        service.update_sales_order(uow, order_id, SalesOrderUpdate(version=1, customer_po="PO-9",
                                                                   customer_id=customers.beta))
        uow.commit()
    assert events(db, "SalesOrderChanged")[-1]["changes"] == {
        "customer_id": [str(customers.acme), str(customers.beta)], "customer_po": [None, "PO-9"]}
    err = refused(db, service.update_sales_order, order_id, SalesOrderUpdate(version=1, note="x"))
    assert err.code == "stale_version" and "li" in err.message.in_locale("en")
    err = refused(db, service.update_sales_order, order_id,
                  SalesOrderUpdate(version=2, order_date=date(2026, 12, 15)))
    assert err.code == "due_before_order_date"


def test_cancelling_lines_and_orders(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "1", "2026-12-01"),
                                                              (catalog.piston, "2", "2026-12-02")])
    with db.session() as s:
        first, second = (ln.id for ln in service.get_sales_order(s, order_id).lines)
    with db.uow() as uow:
        service.cancel_sales_order_line(uow, order_id, first, version=1)
        uow.commit()
    with db.session() as s:
        order = service.get_sales_order(s, order_id)
        assert order.status == SalesOrderStatus.OPEN and order.earliest_due_date == date(2026, 12, 2)
    err = refused(db, service.change_sales_order_line, order_id, first,
                  SalesOrderLineUpdate(version=2, quantity=Decimal(3)))
    assert err.code == "sales_order_line_not_open" and "已取消" in err.message.in_locale("zh_CN")
    # The last open line cancelled: the order follows its lines.
    with db.uow() as uow:
        service.cancel_sales_order_line(uow, order_id, second)
        uow.commit()
    with db.session() as s:
        assert service.get_sales_order(s, order_id).status == SalesOrderStatus.CANCELLED
    assert events(db, "SalesOrderChanged")[-1]["changes"] == {"status": ["open", "cancelled"]}
    err = refused(db, service.add_sales_order_line, order_id, SalesOrderLineCreate(
        material_id=catalog.caliper, quantity=Decimal(1), due_date=date(2026, 12, 1)))
    assert err.code == "sales_order_not_open"

    other = make_order(db, plant, customers.beta, "SO-2", [(catalog.caliper, "1", "2026-12-01"),
                                                           (catalog.piston, "2", "2026-12-02")])
    with db.uow() as uow:
        service.cancel_sales_order(uow, other, version=1)
        uow.commit()
    with db.session() as s:
        order = service.get_sales_order(s, other)
        assert order.status == SalesOrderStatus.CANCELLED
        assert [ln.status for ln in order.lines] == [LineStatus.CANCELLED, LineStatus.CANCELLED]
    assert [e["order_code"] for e in events(db, "SalesOrderLineCancelled")] == ["SO-1", "SO-1", "SO-2", "SO-2"]
    assert events(db, "SalesOrderCancelled") == [{"order_id": other, "code": "SO-2"}]
    assert refused(db, service.cancel_sales_order, other).code == "sales_order_not_open"


def test_order_status_follows_lines() -> None:
    def status(*line_statuses: LineStatus, current: SalesOrderStatus = SalesOrderStatus.OPEN) -> SalesOrderStatus:
        return service.order_status_from_lines(current, [SalesOrderLine(status=st) for st in line_statuses])

    assert status(LineStatus.OPEN, LineStatus.CANCELLED) == SalesOrderStatus.OPEN
    assert status(LineStatus.CANCELLED, LineStatus.CANCELLED) == SalesOrderStatus.CANCELLED
    assert status(LineStatus.RELEASED, LineStatus.OPEN) == SalesOrderStatus.IN_PRODUCTION
    assert status(LineStatus.SHIPPED, LineStatus.RELEASED) == SalesOrderStatus.PARTIALLY_SHIPPED
    assert status(LineStatus.SHIPPED, LineStatus.CANCELLED) == SalesOrderStatus.SHIPPED
    assert status(LineStatus.OPEN, current=SalesOrderStatus.CLOSED) == SalesOrderStatus.CLOSED
    assert status() == SalesOrderStatus.OPEN


def test_sales_order_filters(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    make_order(db, plant, customers.acme, "SO-A", [(catalog.caliper, "1", "2026-12-01"),
                                                   (catalog.piston, "1", "2026-12-20")], customer_po="PO-ALPHA")
    b = make_order(db, plant, customers.beta, "SO-B", [(catalog.caliper, "1", "2026-12-10")])
    c = make_order(db, plant, customers.acme, "SO-C", [(catalog.caliper, "1", "2026-12-12"),
                                                       (catalog.piston, "1", "2027-01-15")])
    with db.session() as s:
        c_first = service.get_sales_order(s, c).lines[0].id
    with db.uow() as uow:
        service.cancel_sales_order(uow, b)
        # SO-C's line due in December is cancelled: SO-C is no longer due in December.
        service.cancel_sales_order_line(uow, c, c_first)
        uow.commit()

    assert order_ids(db) == {"SO-A", "SO-B", "SO-C"}
    assert order_ids(db, status="open") == {"SO-A", "SO-C"}
    assert order_ids(db, status=SalesOrderStatus.CANCELLED) == {"SO-B"}
    assert order_ids(db, status="cancelled,open") == {"SO-A", "SO-B", "SO-C"}
    assert order_ids(db, status="已取消") == {"SO-B"}
    assert order_ids(db, customer_id=customers.acme) == {"SO-A", "SO-C"}
    assert order_ids(db, customer_id=str(customers.beta)) == {"SO-B"}
    assert order_ids(db, due_from="2026-12-05", due_to="2026-12-31") == {"SO-A"}
    assert order_ids(db, due_from=date(2027, 1, 1)) == {"SO-C"}
    assert order_ids(db, due_to=date(2026, 12, 1)) == {"SO-A"}
    assert order_ids(db, due_from="2026-12-11", due_to="2026-12-19") == set()
    assert order_ids(db, q="alpha") == {"SO-A"}
    assert order_ids(db, q="贝塔") == {"SO-B"}
    assert order_ids(db, q="so-c") == {"SO-C"}
    assert order_ids(db, q="%") == set()
    assert order_ids(db, site_id=plant.site, customer_id=customers.acme, status="open", q="SO") == {"SO-A", "SO-C"}
    with pytest.raises(Invalid) as bad:
        service.sales_order_query(status="lost")
    assert bad.value.code == "bad_filter"
    with pytest.raises(Invalid):
        service.sales_order_query(due_from="next week")

    with db.session() as s:
        def sorted_codes(sort: str, desc: bool = False) -> list[str]:
            col = service.SALES_ORDER_SORTS[sort]
            stmt = service.sales_order_query(status="open").order_by(col.desc() if desc else col, SalesOrder.code)
            return [o.code for o in s.scalars(stmt).unique()]

        assert sorted_codes("due") == ["SO-A", "SO-C"]
        assert sorted_codes("due", desc=True) == ["SO-C", "SO-A"]

        lines = s.scalars(service.sales_order_line_query(status="open", due_from="2026-12-01", due_to="2026-12-31")
                          .order_by(SalesOrderLine.due_date)).all()
        assert [(ln.order.code, ln.line_no, ln.material.code) for ln in lines] == [
            ("SO-A", 1, "CAL-01"), ("SO-A", 2, "PST-01")]
        assert len(s.scalars(service.sales_order_line_query(order_status="cancelled")).all()) == 1
        assert len(s.scalars(service.sales_order_line_query(q="PST")).all()) == 2


# -- work orders ----------------------------------------------------------------------------------------------


def _line_of(db: Database, order_id: int, index: int = 0) -> int:
    with db.session() as s:
        return service.get_sales_order(s, order_id).lines[index].id


def test_work_order_copies_routing_operations(db: Database, plant: MiniPlant, catalog: Catalog,
                                              customers: Customers) -> None:
    clock.set_clock(lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "40", "2026-12-10")])
    line_id = _line_of(db, order_id)
    with db.uow() as uow:
        wo = service.create_work_order(uow, WorkOrderCreate(sales_order_line_id=line_id))
        uow.commit()
        wo_id = wo.id
    with db.session() as s:
        wo = service.get_work_order(s, wo_id)
        assert (wo.code, wo.material_id, wo.quantity, wo.due_date, wo.site_id, wo.status) == (
            "WO-20261123-0001", catalog.caliper, Decimal(40), date(2026, 12, 10), plant.site, WorkOrderStatus.PLANNED)
        assert (wo.routing_id, wo.bom_id, wo.production_line_id) == (catalog.routing_caliper, catalog.bom_caliper,
                                                                     plant.line1)
        # 40 pieces: 30 + 40 × 2.5 = 130 and 15 + 40 × 1.25 = 65 minutes.
        assert [(op.seq, op.name, op.work_center_id, op.equipment_class_id, op.setup_minutes, op.run_minutes,
                 op.planned_minutes, op.required_skill, op.required_skill_level, op.status) for op in wo.operations] == [
            (10, "精车", plant.wc1, catalog.lathe_class, Decimal(30), Decimal("2.5"), Decimal(130), "TURN", 2,
             OperationStatus.PENDING),
            (20, "装配", plant.wc2, None, Decimal(15), Decimal("1.25"), Decimal(65), "ASSY", 1,
             OperationStatus.PENDING),
        ]
    [created] = events(db, "WorkOrderCreated")
    assert (created["code"], created["sales_order_line_id"], created["quantity"]) == ("WO-20261123-0001", line_id, "40")


def test_work_order_codes_are_generated_unique(db: Database, plant: MiniPlant, catalog: Catalog) -> None:
    clock.set_clock(lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    with db.uow() as uow:
        service.create_work_order(uow, WorkOrderCreate(
            code="WO-20261123-0002", material_id=catalog.piston, quantity=Decimal(1), due_date=date(2026, 12, 1),
            site_id=plant.site))
        uow.commit()
    made = []
    for _ in range(2):
        with db.uow() as uow:
            wo = service.create_work_order(uow, WorkOrderCreate(
                material_id=catalog.piston, quantity=Decimal(5), due_date=date(2026, 12, 1), site_id=plant.site))
            uow.commit()
            made.append(wo.code)
    assert made == ["WO-20261123-0003", "WO-20261123-0004"]
    before = counts(db)
    err = refused(db, service.create_work_order, WorkOrderCreate(
        code="WO-20261123-0003", material_id=catalog.piston, quantity=Decimal(1), due_date=date(2026, 12, 1),
        site_id=plant.site))
    assert isinstance(err, Conflict) and err.code == "work_order_code_taken"
    assert counts(db) == before


def test_generated_code_taken_meanwhile_moves_to_the_next(db: Database, plant: MiniPlant, catalog: Catalog,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Another session took the number computed a moment ago: the insert is retried with a fresh number."""
    clock.set_clock(lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    spec = {"material_id": catalog.piston, "quantity": Decimal(1), "due_date": date(2026, 12, 1), "site_id": plant.site}
    with db.uow() as uow:
        service.create_work_order(uow, WorkOrderCreate(**spec))
        uow.commit()
    from synfab.orders.service import common

    real = common._next_code
    stale = iter(["WO-20261123-0001"])
    monkeypatch.setattr(common, "_next_code", lambda s, model, prefix: next(stale, None) or real(s, model, prefix))
    with db.uow() as uow:
        wo = service.create_work_order(uow, WorkOrderCreate(**spec))
        uow.commit()
    assert wo.code == "WO-20261123-0002"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrderOperation)) == 2
        assert len(service.get_work_order(s, wo.id).operations) == 1


def test_work_order_needs_a_routing_in_effect(db: Database, plant: MiniPlant, catalog: Catalog) -> None:
    before = counts(db)
    # Revision A ends on 1 July 2027; revision B after it is only a draft.
    err = refused(db, service.create_work_order, WorkOrderCreate(
        material_id=catalog.caliper, quantity=Decimal(1), due_date=date(2027, 7, 1), site_id=plant.site))
    assert isinstance(err, Invalid) and err.code == "no_routing"
    assert "CAL-01" in err.message.in_locale("en") and "2027-07-01" in err.message.in_locale("en")
    assert "CAL-01" in err.message.in_locale("zh_CN") and "工艺路线" in err.message.in_locale("zh_CN")
    err = refused(db, service.create_work_order, WorkOrderCreate(
        material_id=catalog.casting, quantity=Decimal(1), due_date=date(2026, 12, 1), site_id=plant.site))
    assert err.code == "no_routing" and "CST-01" in err.message.in_locale("en")
    assert counts(db) == before
    # The day before revision A ends it is still in effect.
    with db.uow() as uow:
        wo = service.create_work_order(uow, WorkOrderCreate(
            material_id=catalog.caliper, quantity=Decimal(1), due_date=date(2027, 6, 30), site_id=plant.site))
        assert wo.routing_id == catalog.routing_caliper


def test_work_order_references(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    base = {"material_id": catalog.piston, "quantity": Decimal(1), "due_date": date(2026, 12, 1), "site_id": plant.site}
    cases = [
        ({"site_id": None}, "site_required"),
        ({"material_id": None}, "material_required"),
        ({"quantity": None}, "quantity_required"),
        ({"production_line_id": plant.wc1}, "not_a_production_line"),
        ({"site_id": plant.area}, "not_a_site"),
        ({"parent_id": 999}, "work_order_not_found"),
        ({"sales_order_line_id": 999}, "sales_order_line_not_found"),
    ]
    for change, code in cases:
        err = refused(db, service.create_work_order, WorkOrderCreate(**{**base, **change}))
        assert err.code == code, (change, err)
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "5", "2026-12-10")])
    err = refused(db, service.create_work_order, WorkOrderCreate(
        sales_order_line_id=_line_of(db, order_id), material_id=catalog.piston))
    assert err.code == "work_order_material_mismatch" and "CAL-01" in err.message.in_locale("en")
    # An explicit production line is kept.
    with db.uow() as uow:
        wo = service.create_work_order(uow, WorkOrderCreate(**base, production_line_id=plant.line1))
        assert wo.production_line_id == plant.line1


def test_child_work_order_inherits_from_its_parent(db: Database, plant: MiniPlant, catalog: Catalog,
                                                   customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "10", "2026-12-10")])
    line_id = _line_of(db, order_id)
    with db.uow() as uow:
        parent = service.create_work_order(uow, WorkOrderCreate(sales_order_line_id=line_id, priority=Priority.URGENT))
        child = service.create_work_order(uow, WorkOrderCreate(parent_id=parent.id, material_id=catalog.piston,
                                                               quantity=Decimal(20)))
        uow.commit()
        assert (child.due_date, child.site_id, child.priority, child.sales_order_line_id, child.production_line_id) == (
            date(2026, 12, 10), plant.site, Priority.URGENT, line_id, plant.line2)
        # 20 pistons: 10 + 20 × 0.5 = 20 minutes.
        assert [op.planned_minutes for op in child.operations] == [Decimal(20)]
        assert child.source.value == "parent" and parent.source.value == "order_line"
    with db.session() as s:
        by_line = service.work_orders_for_lines(s, [line_id])
        assert [w.code for w in by_line[line_id]] == sorted([parent.code, child.code])


def test_work_order_change_recomputes_planned_minutes(db: Database, plant: MiniPlant, catalog: Catalog) -> None:
    with db.uow() as uow:
        wo = service.create_work_order(uow, WorkOrderCreate(
            material_id=catalog.caliper, quantity=Decimal(40), due_date=date(2026, 12, 1), site_id=plant.site))
        uow.commit()
        wo_id = wo.id
    with db.uow() as uow:  # the first operation has started (reporting arrives with a later issue)
        first = uow.session.scalar(select(WorkOrderOperation).where(WorkOrderOperation.work_order_id == wo_id,
                                                                    WorkOrderOperation.seq == 10))
        first.status = OperationStatus.RUNNING
        uow.commit()
    with acting_as(Actor(5, "zhao")), db.uow() as uow:
        service.change_work_order(uow, wo_id, WorkOrderUpdate(version=1, quantity=Decimal(100),
                                                              due_date=date(2026, 12, 5)))
        uow.commit()
    with db.session() as s:
        wo = service.get_work_order(s, wo_id)
        # Started operation keeps 130; the other: 15 + 100 × 1.25 = 140.
        assert [op.planned_minutes for op in wo.operations] == [Decimal(130), Decimal(140)]
        assert (wo.quantity, wo.due_date, wo.version) == (Decimal(100), date(2026, 12, 5), 2)
    [changed] = events(db, "WorkOrderChanged")
    assert (changed["old_quantity"], changed["new_quantity"], changed["old_due_date"], changed["new_due_date"]) == (
        "40", "100", "2026-12-01", "2026-12-05")
    err = refused(db, service.change_work_order, wo_id, WorkOrderUpdate(version=1, priority=Priority.LOW))
    assert err.code == "stale_version" and "zhao" in err.message.in_locale("zh_CN")


def test_cancel_work_order(db: Database, plant: MiniPlant, catalog: Catalog) -> None:
    with db.uow() as uow:
        wo = service.create_work_order(uow, WorkOrderCreate(
            material_id=catalog.piston, quantity=Decimal(4), due_date=date(2026, 12, 1), site_id=plant.site))
        uow.commit()
        wo_id = wo.id
    with db.uow() as uow:
        service.cancel_work_order(uow, wo_id, version=1)
        uow.commit()
    with db.session() as s:
        wo = service.get_work_order(s, wo_id)
        assert wo.status == WorkOrderStatus.CANCELLED
        assert [op.status for op in wo.operations] == [OperationStatus.CANCELLED]
    assert events(db, "WorkOrderCancelled")[0]["work_order_id"] == wo_id
    assert refused(db, service.cancel_work_order, wo_id).code == "work_order_not_cancellable"
    assert refused(db, service.change_work_order, wo_id, WorkOrderUpdate(version=2, quantity=Decimal(1))).code == \
        "work_order_not_open"


def test_work_order_filters(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-77", [(catalog.caliper, "10", "2026-12-10")])
    line_id = _line_of(db, order_id)
    with db.uow() as uow:
        def wo(code: str, **kw) -> WorkOrder:
            return service.create_work_order(uow, WorkOrderCreate(code=code, **kw))

        parent = wo("W-1", sales_order_line_id=line_id)
        wo("W-2", parent_id=parent.id, material_id=catalog.piston, quantity=Decimal(20))
        wo("W-3", material_id=catalog.piston, quantity=Decimal(5), due_date=date(2027, 1, 5), site_id=plant.site)
        cancelled = wo("W-4", material_id=catalog.caliper, quantity=Decimal(5), due_date=date(2026, 12, 20),
                       site_id=plant.site)
        service.cancel_work_order(uow, cancelled.id)
        uow.commit()

    assert wo_codes(db) == {"W-1", "W-2", "W-3", "W-4"}
    assert wo_codes(db, status="planned") == {"W-1", "W-2", "W-3"}
    assert wo_codes(db, status=[WorkOrderStatus.CANCELLED]) == {"W-4"}
    assert wo_codes(db, material_id=catalog.piston) == {"W-2", "W-3"}
    assert wo_codes(db, production_line_id=plant.line1) == {"W-1", "W-4"}
    assert wo_codes(db, production_line_id=plant.line2) == {"W-2", "W-3"}
    assert wo_codes(db, site_id=plant.site, due_from="2026-12-11", due_to="2026-12-31") == {"W-4"}
    assert wo_codes(db, due_to=date(2026, 12, 10)) == {"W-1", "W-2"}
    assert wo_codes(db, sales_order_id=order_id) == {"W-1", "W-2"}
    assert wo_codes(db, q="so-77") == {"W-1", "W-2"}
    assert wo_codes(db, q="活塞") == {"W-2", "W-3"}
    with db.session() as s:
        figures = service.open_figures(s, date(2026, 12, 5))
        assert figures == {"open_sales_orders": 1, "lines_due_soon": 1, "open_work_orders": 3}


def test_order_timeline(db: Database, plant: MiniPlant, catalog: Catalog, customers: Customers) -> None:
    order_id = make_order(db, plant, customers.acme, "SO-1", [(catalog.caliper, "10", "2026-12-10")])
    other = make_order(db, plant, customers.beta, "SO-2", [(catalog.caliper, "1", "2026-12-10")])
    line_id, other_line = _line_of(db, order_id), _line_of(db, other)
    with db.uow() as uow:
        wo = service.create_work_order(uow, WorkOrderCreate(sales_order_line_id=line_id))
        service.create_work_order(uow, WorkOrderCreate(sales_order_line_id=other_line))
        uow.commit()
    with db.uow() as uow:
        service.change_sales_order_line(uow, order_id, line_id, SalesOrderLineUpdate(version=1, quantity=Decimal(12)))
        service.change_work_order(uow, wo.id, WorkOrderUpdate(version=1, quantity=Decimal(12)))
        uow.commit()
    with db.session() as s:
        order = service.get_sales_order(s, order_id)
        assert [e.type for e in service.order_timeline(s, order)] == [
            "SalesOrderCreated", "SalesOrderLineAdded", "WorkOrderCreated", "SalesOrderLineChanged",
            "WorkOrderChanged"]
