"""Genealogy trace in one recursive query: levels, lots reached twice, scope; the recall scope over the API,
its Excel export and the trace page in both languages."""

from __future__ import annotations

import io
import re
from decimal import Decimal as D

import pytest
from python_calamine import CalamineWorkbook

from synfab.core.context import acting_as
from synfab.core.db import Database
from synfab.core.errors import NotFound
from synfab.inventory import service
from synfab.inventory.choices import MoveKind
from synfab.inventory.schemas import MoveIn
from synfab.orders.shipments import service as shipments
from synfab.orders.shipments.schemas import PickIn, ShipmentCreate
from synfab.plant import service as plant_service
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from tests.conftest import MiniPlant, add_user, make_client, sign_in
from tests.orders.shipments.conftest import Yard, build_yard
from tests.people.test_scoping import actor

API = "/api/v1/inventory"


@pytest.fixture
def yard(db: Database, plant: MiniPlant) -> Yard:
    """Finished-goods lots of an order to ship (the shipments tests' scene)."""
    return build_yard(db, plant)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def link(db: Database, pairs: list[tuple[int, int, str]]) -> None:
    with db.uow() as uow:
        for a, b, q in pairs:
            service.link_lots(uow, a, b, D(q))
        uow.commit()


def lot(db: Database, material_id: int, code: str, location: int | None = None, quantity: str = "1") -> int:
    with db.uow() as uow:
        made = service.ensure_lot(uow, material_id, code)
        if location is not None:
            service.post_moves(uow, [MoveIn(kind=MoveKind.RECEIPT, material_id=material_id, lot_id=made.id,
                                            to_location_id=location, quantity=D(quantity))])
        uow.commit()
        return made.id


def test_a_diamond_is_listed_on_both_paths_and_followed_once(db: Database, yard: Yard) -> None:
    c = yard.catalog
    raw, a, b, top, final = (lot(db, c.casting, code) for code in ("D-RAW", "D-A", "D-B", "D-TOP", "D-FINAL"))
    link(db, [(raw, a, "2"), (raw, b, "3"), (a, top, "1"), (b, top, "1"), (top, final, "1")])
    with db.session() as s:
        fwd = service.trace_forward(s, raw)
        back = service.trace_backward(s, final)
    assert [(x.level, x.lot_code, x.linked_lot_id) for x in fwd] == [
        (1, "D-A", raw), (1, "D-B", raw), (2, "D-TOP", a), (2, "D-TOP", b), (3, "D-FINAL", top)]
    assert [(x.level, x.lot_code) for x in back] == [(1, "D-TOP"), (2, "D-A"), (2, "D-B"), (3, "D-RAW"), (3, "D-RAW")]
    with db.session() as s, pytest.raises(NotFound):
        service.trace_forward(s, 999_999)


def test_lots_out_of_scope_are_neither_shown_nor_followed(db: Database, yard: Yard) -> None:
    with db.uow() as uow:
        bj = plant_service.create_node(uow, NodeCreate(code="BJ", name="北京工厂", level=Level.SITE,
                                                       parent_id=yard.plant.enterprise, time_zone="Asia/Shanghai"))
        uow.flush()
        bj_store = plant_service.create_node(uow, NodeCreate(code="BJ-FG", name="北京成品库", level=Level.STORAGE_ZONE,
                                                             parent_id=bj.id))
        uow.commit()
        bj_id, bj_store_id = bj.id, bj_store.id
    c = yard.catalog
    here = lot(db, c.casting, "S-HERE", yard.fg)
    there = lot(db, c.piston, "S-THERE", bj_store_id)
    beyond = lot(db, c.caliper, "S-BEYOND", yard.fg)
    link(db, [(here, there, "1"), (there, beyond, "1")])
    add_user(db, "mgr_sh", "manager", yard.plant.site)
    add_user(db, "mgr_bj", "manager", bj_id)
    with acting_as(actor(db, "mgr_sh")), db.session() as s:
        assert service.trace_forward(s, here) == []
    with acting_as(actor(db, "mgr_bj")), db.session() as s:
        with pytest.raises(NotFound):
            service.trace_forward(s, here)
        assert [x.lot_code for x in service.trace_backward(s, there)] == []
    with db.session() as s:
        assert [x.lot_code for x in service.trace_forward(s, here)] == ["S-THERE", "S-BEYOND"]


def shipped_scene(db: Database, yard: Yard) -> str:
    link(db, [(yard.lots["PS-1"], yard.lots["FG-A"], "2"), (yard.lots["PS-1"], yard.lots["FG-B"], "2")])
    with db.uow() as uow:
        shipment = shipments.create_shipment(uow, ShipmentCreate(sales_order_id=yard.order))
        order_line = shipments.get_sales_order(uow.session, yard.order).lines[0]
        for code, quantity in (("FG-A", "6"), ("FG-B", "3")):
            shipments.pick_lot(uow, shipment.id, PickIn(sales_order_line_id=order_line.id, lot_id=yard.lots[code],
                                                        from_location_id=yard.fg, quantity=D(quantity)))
        shipments.ship(uow, shipment.id)
        uow.commit()
        return shipment.code


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_recall_api_excel_and_trace_page(db: Database, yard: Yard, client, locale: str) -> None:
    code = shipped_scene(db, yard)
    assert client.get(f"/lang/{locale}", follow_redirects=False).status_code == 303
    r = client.get(f"{API}/lots/{yard.lots['PS-1']}/recall")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(c["customer_code"], c["shipments"], c["quantity"]) for c in body["customers"]] == [("C-ACME", 1, "9")]
    assert [(s["lot_code"], s["shipment_code"], s["quantity"]) for s in body["shipments"]] == [
        ("FG-A", code, "6"), ("FG-B", code, "3")]
    assert (body["shipped"], body["on_hand"]) == ("9", "15")
    assert client.get(f"{API}/lots/999999/recall").status_code == 404
    r = client.get(f"/inventory/lots/{yard.lots['PS-1']}/recall.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = CalamineWorkbook.from_filelike(io.BytesIO(r.content))
    customers_sheet, shipments_sheet, lots_sheet = book.sheet_names
    assert customers_sheet == ("客户" if locale == "zh_CN" else "Customers")
    rows = book.get_sheet_by_name(customers_sheet).to_python()
    assert rows[1][:3] == ["C-ACME", "艾克米汽车", 1] and float(rows[1][3]) == 9
    rows = book.get_sheet_by_name(shipments_sheet).to_python()
    assert [(row[2], row[5], float(row[8])) for row in rows[1:]] == [(code, "FG-A", 6.0), (code, "FG-B", 3.0)]
    rows = book.get_sheet_by_name(lots_sheet).to_python()
    assert [row[1] for row in rows[1:]] == ["PS-1", "FG-A", "FG-B"]
    assert client.get(f"{API}/lots/{yard.lots['PS-1']}/recall.xlsx").status_code == 200

    page = client.get(f"/inventory/lots/{yard.lots['FG-A']}/trace")
    assert page.status_code == 200
    assert 'data-lot="PS-1"' in page.text[page.text.index('id="trace-backward"'):]
    assert f'data-shipment="{code}"' in page.text and 'data-customer="C-ACME"' in page.text
    assert ("召回范围" if locale == "zh_CN" else "Recall scope") in text_of(page.text)
    assert 'id="recall-export"' in page.text
    r = client.get("/inventory/trace", params={"lot": "PS-1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/inventory/lots/{yard.lots['PS-1']}/trace"
    page = client.get("/inventory/trace", params={"lot": "FG"})
    assert 'data-lot="FG-A"' in page.text and 'data-lot="FG-B"' in page.text
    assert client.get(f"/inventory/lots/{yard.lots['PS-1']}").text.count('id="trace-link"') == 1


def test_recall_export_is_scoped(db: Database, yard: Yard) -> None:
    shipped_scene(db, yard)
    with db.uow() as uow:
        bj = plant_service.create_node(uow, NodeCreate(code="BJ", name="北京工厂", level=Level.SITE,
                                                       parent_id=yard.plant.enterprise, time_zone="Asia/Shanghai"))
        uow.commit()
        bj_id = bj.id
    add_user(db, "mgr_bj", "manager", bj_id)
    with make_client(db) as other:
        sign_in(other, "mgr_bj")
        assert other.get(f"/inventory/lots/{yard.lots['PS-1']}/recall.xlsx").status_code == 404
        assert other.get(f"/inventory/lots/{yard.lots['PS-1']}/trace").status_code == 404
        page = other.get("/inventory/trace", params={"lot": "PS-1"})
        assert page.status_code == 200 and 'href="/inventory/lots/' not in page.text.split('id="trace-search"')[1]
