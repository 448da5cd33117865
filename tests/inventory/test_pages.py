"""Inventory pages in zh-CN and en: stock on hand by location and by lot, lots, a lot, stock moves."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from synfab.core import clock
from synfab.inventory import service
from synfab.inventory.choices import LotStatus, MoveKind
from synfab.inventory.models import Lot
from synfab.people.models import ESignature
from tests.conftest import PASSWORD, add_user, make_client, sign_in
from tests.inventory.conftest import Stores, make_lot, receive
from tests.inventory.test_ledger import move, post

D = Decimal


def speak(client, locale: str) -> None:
    assert client.get(f"/lang/{locale}", follow_redirects=False).status_code == 303


def location_block(html: str, code: str) -> str:
    """The rows of one location group of the stock page, up to the next group."""
    start = html.index(f'data-location="{code}"')
    following = html.find('class="group-head"', start + 1)
    return html[start:following if following > 0 else html.index("</table>", start)]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def stocked(db, stores: Stores) -> dict[str, Lot]:
    """Steel in two lots across RM and its bins, paint expired in FG, bolts without a lot."""
    clock.set_clock(lambda: datetime(2026, 3, 10, 2, tzinfo=UTC))
    lots = {"s1": make_lot(db, stores.steel, "S-001"), "s2": make_lot(db, stores.steel, "S-002"),
            "p1": make_lot(db, stores.paint, "P-OLD", received_on=date(2026, 1, 1))}
    receive(db, stores.steel, 10, stores.rm, lots["s1"].id)
    receive(db, stores.steel, "2.5", stores.bin1, lots["s1"].id)
    receive(db, stores.steel, 4, stores.bin1, lots["s2"].id)
    receive(db, stores.paint, 3, stores.fg, lots["p1"].id)
    receive(db, stores.bolt, 1200, stores.fg)
    with db.uow() as uow:
        service.hold_lot(uow, lots["s2"].id, "IQC")
        uow.commit()
    return lots


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_stock_by_location_shows_subtotals_per_material(db, stores, stocked, client, locale) -> None:
    speak(client, locale)
    r = client.get("/inventory/stock")
    assert r.status_code == 200, r.text
    page = text_of(r.text)
    assert ("现有库存" if locale == "zh_CN" else "Stock on hand") in page
    assert ("按库位" if locale == "zh_CN" else "By location") in page
    # RM-01 holds steel in two lots: its subtotal is 6.5 kg, with each lot beneath.
    assert re.findall(r'data-location="([^"]+)"', r.text) == ["FG", "RM", "RM-01"]
    block = location_block(r.text, "RM-01")
    assert re.findall(r'data-material="([^"]+)"', block) == ["STEEL-45"]
    assert "6.5 kg" in text_of(block[:block.index('class="lot-line"')])  # the subtotal row
    assert re.findall(r'href="/inventory/lots/\d+">([^<]+)<', block) == ["S-001", "S-002"]
    assert ("45号钢" if locale == "zh_CN" else "Steel C45") in page
    assert "1,200 pcs" in text_of(location_block(r.text, "FG"))
    assert 'href="/export/stock.xlsx?"' in r.text


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_stock_by_lot_filters_and_export_link(db, stores, stocked, client, locale) -> None:
    speak(client, locale)
    r = client.get("/inventory/stock", params={"view": "lot", "location_id": stores.rm, "sort": "quantity",
                                               "dir": "desc"})
    assert r.status_code == 200
    rows = re.findall(r'<a class="mono" href="/inventory/lots/\d+">([^<]+)</a>', r.text)
    assert rows == ["S-001", "S-002", "S-001"]  # 10, 4, 2.5 kg — FG is not under RM
    export = re.search(r'href="(/export/stock\.xlsx\?[^"]*)"', r.text).group(1).replace("&amp;", "&")
    assert sorted(export.split("?")[1].split("&")) == \
        sorted(["sort=quantity", "dir=desc", "view=lot", f"location_id={stores.rm}"])
    r = client.get("/inventory/stock", params={"view": "lot", "lot_status": "hold"})
    page = text_of(r.text)
    assert "S-002" in page and "S-001" not in page
    assert ("冻结" if locale == "zh_CN" else "On hold") in page
    r = client.get("/inventory/stock", params={"view": "lot", "q": "P-OLD"})
    page = text_of(r.text)
    assert "P-OLD" in page and ("已过期" if locale == "zh_CN" else "Expired") in page
    r = client.get("/inventory/stock", params={"q": "nothing-like-this"})
    assert ("没有符合" if locale == "zh_CN" else "No stock matches") in text_of(r.text)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_lots_page_filters(db, stores, stocked, client, locale) -> None:
    speak(client, locale)
    r = client.get("/inventory/lots")
    assert r.status_code == 200
    assert re.findall(r'data-lot="([^"]+)"', r.text) == ["P-OLD", "S-001", "S-002"]
    r = client.get("/inventory/lots", params={"status": "hold"})
    assert re.findall(r'data-lot="([^"]+)"', r.text) == ["S-002"]
    r = client.get("/inventory/lots", params={"expired": "yes"})
    assert re.findall(r'data-lot="([^"]+)"', r.text) == ["P-OLD"]
    r = client.get("/inventory/lots", params={"location_id": stores.bin1, "sort": "code", "dir": "desc"})
    assert re.findall(r'data-lot="([^"]+)"', r.text) == ["S-002", "S-001"]
    assert "12.5 kg" in text_of(client.get("/inventory/lots", params={"q": "S-001"}).text)
    assert '/export/lots.xlsx?status=hold' in client.get("/inventory/lots", params={"status": "hold"}).text


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_lot_page_shows_status_balances_moves_and_genealogy(db, stores, stocked, client, locale) -> None:
    speak(client, locale)
    s1, p1 = stocked["s1"], stocked["p1"]
    with db.uow() as uow:
        service.link_lots(uow, s1.id, p1.id, D(1))
        uow.commit()
    r = client.get(f"/inventory/lots/{s1.id}")
    assert r.status_code == 200
    page = text_of(r.text)
    assert "S-001" in page and ("可用" if locale == "zh_CN" else "Available") in page
    assert "12.5 kg" in text_of(r.text[r.text.index('id="lot-on-hand"'):][:200])
    assert re.findall(r'<td><span class="mono">([^<]+)</span>', r.text[r.text.index('id="lot-balances"'):])[:2] == \
        ["RM", "RM-01"]
    assert len(re.findall(r'data-move="\d+"', r.text)) == 2
    forward = r.text[r.text.index('id="trace-forward"'):]
    assert 'data-lot="P-OLD"' in forward
    assert ("正向追溯" if locale == "zh_CN" else "Forward trace") in page
    assert 'id="hold-form"' in r.text and 'name="idempotency_key"' in r.text
    assert 'id="expired-warning"' not in r.text
    r = client.get(f"/inventory/lots/{p1.id}")
    assert 'id="expired-warning"' in r.text
    assert ("已于 2026-01-31 过期" if locale == "zh_CN" else "expired on 2026-01-31") in text_of(r.text)
    assert 'data-lot="S-001"' in r.text[r.text.index('id="trace-backward"'):]
    r = client.get(f"/inventory/lots/{stocked['s2'].id}")
    assert 'id="release-form"' in r.text and "IQC" in text_of(r.text)
    assert client.get("/inventory/lots/9999").status_code == 404


def test_hold_and_release_forms_are_idempotent_and_release_is_signed(db, stores, stocked, plant, client) -> None:
    lot = stocked["s1"]
    form = {"reason": "customer complaint", "version": "1", "idempotency_key": "k-hold-1"}
    for _ in range(2):
        r = client.post(f"/inventory/lots/{lot.id}/hold", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/inventory/lots/{lot.id}"
    with db.session() as s:
        held = s.get(Lot, lot.id)
        assert (held.status, held.status_reason, held.version) == (LotStatus.HOLD, "customer complaint", 2)
    add_user(db, "qa", "quality", plant.site)
    with make_client(db) as qa:
        sign_in(qa, "qa")
        page = qa.get(f"/inventory/lots/{lot.id}").text
        assert 'id="release-form"' in page and 'name="password"' in page and 'name="meaning"' in page
        release = {"reason": "retest ok", "meaning": "approved", "password": PASSWORD, "version": "2"}
        r = qa.post(f"/inventory/lots/{lot.id}/release", data=release | {"version": "1", "idempotency_key": "k-1"},
                    headers={"HX-Request": "true"})
        assert r.status_code == 200 and "alert error" in r.text and r.headers["HX-Retarget"] == "#flash"
        r = qa.post(f"/inventory/lots/{lot.id}/release", data=release | {"password": "nope-nope", "idempotency_key": "k-2"},
                    headers={"HX-Request": "true"})
        assert r.status_code == 200 and "alert error" in r.text
        for _ in range(2):
            r = qa.post(f"/inventory/lots/{lot.id}/release", data=release | {"idempotency_key": "k-3"},
                        headers={"HX-Request": "true"})
            assert r.status_code == 204 and r.headers["HX-Redirect"] == f"/inventory/lots/{lot.id}"
        page = qa.get(f"/inventory/lots/{lot.id}").text
        assert "retest ok" in page[page.index('id="signatures"'):]
    with db.session() as s:
        assert s.get(Lot, lot.id).status == LotStatus.AVAILABLE
        assert s.scalar(select(func.count()).select_from(ESignature)) == 1


def test_split_form_creates_one_sublot(db, stores, stocked, client) -> None:
    lot = stocked["s1"]
    form = {"code": "S-001-1", "quantity": "3", "location_id": str(stores.rm), "idempotency_key": "k-split-1"}
    for _ in range(2):
        r = client.post(f"/inventory/lots/{lot.id}/split", data=form, follow_redirects=False)
        assert r.status_code == 303
    with db.session() as s:
        subs = service.sublots(s, lot.id)
        assert [x.code for x in subs] == ["S-001-1"]
        assert r.headers["location"] == f"/inventory/lots/{subs[0].id}"
        assert service.on_hand(s, stores.steel, stores.rm, lot.id) == D(7)
    r = client.post(f"/inventory/lots/{lot.id}/split", data={**form, "quantity": "lots", "code": "S-001-2",
                                                             "idempotency_key": "k-split-2"})
    assert r.status_code == 422 and "S-001-2" not in r.text
    with db.session() as s:
        assert [x.code for x in service.sublots(s, lot.id)] == ["S-001-1"]


def test_viewers_see_no_lot_forms(db, stores, stocked) -> None:
    add_user(db, "vic", "viewer", stores.plant.enterprise)
    with make_client(db) as viewer:
        sign_in(viewer, "vic")
        r = viewer.get(f"/inventory/lots/{stocked['s1'].id}")
        assert r.status_code == 200 and 'id="hold-form"' not in r.text and 'id="split-form"' not in r.text
        r = viewer.post(f"/inventory/lots/{stocked['s1'].id}/hold", data={"reason": "x", "idempotency_key": "k"})
        assert r.status_code == 403
        assert 'href="/export/stock.xlsx?"' in viewer.get("/inventory/stock").text  # seeing is exporting


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_moves_page_filters_by_kind_material_and_dates(db, stores, stocked, client, locale) -> None:
    speak(client, locale)
    post(db, move(MoveKind.ISSUE, stores.bolt, 200, src=stores.fg, reference="WO-42",
                  moved_at=datetime(2026, 3, 12, 2, tzinfo=UTC)))
    r = client.get("/inventory/moves")
    assert r.status_code == 200
    assert len(re.findall(r'data-move="\d+"', r.text)) == 6
    assert ("库存事务" if locale == "zh_CN" else "Stock moves") in text_of(r.text)
    r = client.get("/inventory/moves", params={"kind": "issue"})
    page = text_of(r.text)
    assert len(re.findall(r'data-move="\d+"', r.text)) == 1 and "WO-42" in page and "−200 pcs" in page
    assert ("领料" if locale == "zh_CN" else "Issue") in page
    r = client.get("/inventory/moves", params={"from": "2026-03-11", "to": "2026-03-12"})
    assert len(re.findall(r'data-move="\d+"', r.text)) == 1
    r = client.get("/inventory/moves", params={"to": "2026-03-10"})
    assert len(re.findall(r'data-move="\d+"', r.text)) == 5
    r = client.get("/inventory/moves", params={"q": "steel", "from": "not-a-date"})
    assert len(re.findall(r'data-move="\d+"', r.text)) == 3
    r = client.get("/inventory/moves", params={"lot_id": stocked["s1"].id})
    assert len(re.findall(r'data-move="\d+"', r.text)) == 2
    assert '/export/stock_moves.xlsx?kind=issue' in client.get("/inventory/moves", params={"kind": "issue"}).text


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_home_cards_count_held_and_expiring_lots(db, stores, stocked, client, locale) -> None:
    speak(client, locale)
    make_lot(db, stores.paint, "P-SOON")  # 30 days of shelf life, but not in stock: not counted
    soon = make_lot(db, stores.paint, "P-SOON-2")
    receive(db, stores.paint, 1, stores.rm, soon.id)
    page = client.get("/").text
    cards = dict((text_of(c).strip(), n) for n, c in
                 re.findall(r'<div class="figure">(\d+)</div>\s*<div class="caption">([^<]+)</div>', page))
    held = "冻结批次" if locale == "zh_CN" else "Lots on hold"
    expiring = "30 天内到期的批次" if locale == "zh_CN" else "Lots expiring within 30 days"
    assert cards[held] == "1" and cards[expiring] == "1"
    nav = text_of(page)
    assert ("库存" if locale == "zh_CN" else "Inventory") in nav
