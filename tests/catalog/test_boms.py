"""BOM revisions: line rules, cycles named and refused, one revision in effect at a time, explosion and
where-used."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from synfab.catalog import service
from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.events import BomRevisionObsoleted, BomRevisionReleased, BomRevisionSaved
from synfab.catalog.models import Bom, BomLine
from synfab.catalog.schemas import BomCreate, BomUpdate, MaterialCreate
from synfab.core.errors import Conflict, Invalid
from tests.catalog.conftest import Sample, line
from tests.conftest import signature_on

MID_2024 = date(2024, 6, 1)


def counts(db) -> tuple[int, int]:
    with db.session() as s:
        boms = s.scalar(select(func.count()).select_from(Bom))
        return boms, s.scalar(select(func.count()).select_from(BomLine))


def new_material(db, code: str, sample: Sample, mtype: MaterialType = MaterialType.SEMI_FINISHED) -> int:
    with db.uow() as uow:
        m = service.create_material(uow, MaterialCreate(code=code, name=code, type=mtype,
                                                        sourcing=Sourcing.MAKE, unit_id=sample.pcs))
        uow.commit()
        return m.id


# -- explosion ---------------------------------------------------------------------------------------------


def test_explosion_totals_on_three_levels(db, sample: Sample) -> None:
    """5 calipers, worked out by hand from the structure in conftest.py."""
    with db.session() as s:
        lines = service.explode_bom(s, sample.cal, Decimal(5), MID_2024)
        got = [(ln.level, "/".join(ln.path), ln.total_quantity, ln.unit.code, ln.has_bom) for ln in lines]
    assert got == [
        (1, "CAL-01/HSG-01", Decimal(5), "pcs", True),                 # 5 × 1
        (2, "CAL-01/HSG-01/CST-01", Decimal("5.1"), "pcs", True),      # 5 × 1 × 1.02
        (3, "CAL-01/HSG-01/CST-01/AL-01", Decimal("4.488"), "kg", False),  # 5.1 × 800 g × 1.10 = 4488 g
        (2, "CAL-01/HSG-01/SCR-01", Decimal(20), "pcs", False),        # 5 × 4
        (1, "CAL-01/PST-01", Decimal("10.5"), "pcs", True),            # 5 × 2 × 1.05
        (2, "CAL-01/PST-01/AL-01", Decimal("2.142"), "kg", False),     # 10.5 / 10 × 2 kg × 1.02
        (2, "CAL-01/PST-01/SEAL-01", Decimal("10.5"), "pcs", False),   # 10.5 / 10 × 10
        (1, "CAL-01/SCR-01", Decimal(60), "pcs", False),               # 5 × 0.5 box × 24 pcs/box
    ]


def test_exploded_lines_say_per_parent_quantity_and_sourcing(db, sample: Sample) -> None:
    with db.session() as s:
        lines = {"/".join(ln.path): ln for ln in service.explode_bom(s, sample.cal, Decimal(1), MID_2024)}
    screws = lines["CAL-01/SCR-01"]
    assert (screws.quantity_per, screws.line_unit.code, screws.total_quantity) == (Decimal("0.5"), "box", 12)
    assert screws.sourcing == Sourcing.BUY and screws.operation_seq == 30 and screws.bom_revision == "A"
    piston_al = lines["CAL-01/PST-01/AL-01"]
    assert piston_al.quantity_per == Decimal("0.2")  # 2 kg per 10 pistons
    assert lines["CAL-01/PST-01"].sourcing == Sourcing.MAKE


def test_where_used_goes_up_to_the_top_level_products(db, sample: Sample) -> None:
    with db.session() as s:
        used = [(u.level, "/".join(u.path), u.bom.revision, u.bom.status, u.quantity_per, u.unit.code,
                 u.top_level)
                for u in service.where_used(s, sample.seal)]
        al = [(u.level, u.material.code, u.top_level) for u in service.where_used(s, sample.al)]
    assert used == [
        (1, "SEAL-01/PST-01", "A", DocumentStatus.RELEASED, Decimal(1), "pcs", False),
        (2, "SEAL-01/PST-01/CAL-01", "A", DocumentStatus.RELEASED, Decimal(2), "pcs", True),
    ]
    assert al == [(1, "CST-01", False), (2, "HSG-01", False), (3, "CAL-01", True),
                  (1, "PST-01", False), (2, "CAL-01", True)]


# -- revisions and dates -----------------------------------------------------------------------------------


def test_the_revision_in_effect_is_chosen_by_date(db, sample: Sample) -> None:
    with db.uow() as uow:
        service.update_bom(uow, sample.bom_cal, BomUpdate(version=1, effective_to=date(2025, 1, 1)),
                           signature_on("bom", sample.bom_cal))
        rev_b = service.create_bom(uow, BomCreate(
            material_id=sample.cal, revision="B", status=DocumentStatus.RELEASED, effective_from=date(2025, 1,
                                                                                                      1),
            lines=[line(sample.hsg, "1"), line(sample.pst, "4")]))
        uow.commit()
    with db.session() as s:
        assert service.effective_bom(s, sample.cal, date(2023, 12, 31)) is None
        assert service.effective_bom(s, sample.cal, MID_2024).revision == "A"
        assert service.effective_bom(s, sample.cal, date(2024, 12, 31)).revision == "A"
        assert service.effective_bom(s, sample.cal, date(2025, 1, 1)).revision == "B"
        assert service.explode_bom(s, sample.cal, Decimal(1), date(2023, 6, 1)) == []
        later = service.explode_bom(s, sample.cal, Decimal(1), date(2025, 6, 1))
        later = [("/".join(ln.path), ln.total_quantity) for ln in later if ln.level == 1]
        assert later == [("CAL-01/HSG-01", 1), ("CAL-01/PST-01", 4)]
        # The revision selector: rev A exploded although B is in effect on the day.
        chosen = service.explode_bom(s, sample.cal, Decimal(1), date(2025, 6, 1), bom_id=sample.bom_cal)
        assert [ln.path[-1] for ln in chosen if ln.level == 1] == ["HSG-01", "PST-01", "SCR-01"]
        with pytest.raises(Invalid) as err:  # a revision of another material
            service.explode_bom(s, sample.cal, Decimal(1), MID_2024, bom_id=sample.bom_pst)
        assert err.value.code == "bom_other_material"
        assert rev_b.revision == "B"


def test_overlapping_released_revisions_are_refused(db, sample: Sample) -> None:
    before = counts(db)
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_bom(uow, BomCreate(material_id=sample.cal, revision="B",
                                          status=DocumentStatus.RELEASED,
                                          effective_from=date(2024, 6, 1), lines=[line(sample.hsg, "1")]))
    assert err.value.code == "revision_overlap"
    assert "A" in err.value.message.in_locale("en") and "CAL-01" in err.value.message.in_locale("zh_CN")
    assert counts(db) == before
    # A draft may overlap; releasing it may not.
    with db.uow() as uow:
        draft = service.create_bom(uow, BomCreate(material_id=sample.cal, revision="B",
                                                  effective_from=MID_2024,
                                                  lines=[line(sample.hsg, "1")]))
        uow.commit()
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.release_bom(uow, draft.id)
    assert err.value.code == "revision_overlap"
    # Ending A where B begins makes room.
    with db.uow() as uow:
        service.update_bom(uow, sample.bom_cal, BomUpdate(version=1, effective_to=MID_2024),
                           signature_on("bom", sample.bom_cal))
        released = service.release_bom(uow, draft.id, version=1)
        uow.commit()
    assert released.status == DocumentStatus.RELEASED
    assert [type(e) for e in uow.published] == [BomRevisionSaved, BomRevisionReleased]


def test_dates_and_header_rules(db, sample: Sample) -> None:
    with db.uow() as uow:
        with pytest.raises(Invalid) as err:
            service.create_bom(uow, BomCreate(material_id=sample.cal, revision="Z", effective_from=MID_2024,
                                              effective_to=MID_2024))
        assert err.value.code == "revision_dates"
        with pytest.raises(Conflict) as err2:
            service.create_bom(uow, BomCreate(material_id=sample.cal, revision="A"))
        assert err2.value.code == "bom_revision_taken"
        with pytest.raises(Invalid) as err3:
            service.create_bom(uow, BomCreate(material_id=sample.cal, revision="Z", base_quantity=Decimal(0)))
        assert err3.value.code == "bom_base_quantity"
        empty = service.create_bom(uow, BomCreate(material_id=sample.cal, revision="Z",
                                                  effective_from=date(2030, 1, 1)))
        with pytest.raises(Invalid) as err4:
            service.release_bom(uow, empty.id)
        assert err4.value.code == "bom_empty"


@pytest.mark.parametrize(("qty", "unit", "scrap", "code"), [
    ("0", None, "0", "bom_quantity"),
    ("-1", None, "0", "bom_quantity"),
    ("1", None, "1", "bom_scrap_factor"),
    ("1", None, "-0.1", "bom_scrap_factor"),
    ("1", "m", "0", "bom_unit_not_convertible"),
    ("1", "box", "0", "bom_unit_not_convertible"),  # 1 box = 24 pcs holds for SCR-01, not for SEAL-01
])
def test_line_rules(db, sample: Sample, qty: str, unit: str | None, scrap: str, code: str) -> None:
    unit_id = {"m": sample.m, "box": sample.box, None: None}[unit]
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_bom(uow, BomCreate(material_id=sample.pst, revision="X", lines=[
            line(sample.seal, qty, unit_id, scrap)]))
    assert err.value.code == code
    assert "SEAL-01" in err.value.message.in_locale("en")
    assert "SEAL-01" in err.value.message.in_locale("zh_CN")


def test_positions_default_and_must_differ(db, sample: Sample) -> None:
    with db.uow() as uow:
        with pytest.raises(Invalid) as err:
            service.create_bom(uow, BomCreate(material_id=sample.pst, revision="X", lines=[
                line(sample.seal, "1", position=10), line(sample.al, "1", position=10)]))
        assert err.value.code == "bom_position_repeated"
        bom = service.create_bom(uow, BomCreate(material_id=sample.pst, revision="X", lines=[
            line(sample.seal, "1"), line(sample.al, "1")]))
        assert [ln.position for ln in bom.lines] == [10, 20]


# -- cycles ------------------------------------------------------------------------------------------------


def test_a_material_cannot_be_its_own_component(db, sample: Sample) -> None:
    before = counts(db)
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_bom(uow, BomCreate(material_id=sample.scr, revision="A", lines=[line(sample.scr,
                                                                                            "1")]))
    assert err.value.code == "bom_cycle"
    assert "SCR-01 → SCR-01" in err.value.message.in_locale("en")
    assert "SCR-01 → SCR-01" in err.value.message.in_locale("zh_CN")
    assert counts(db) == before


def test_a_cycle_over_several_levels_is_named(db, sample: Sample) -> None:
    before = counts(db)
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_bom(uow, BomCreate(material_id=sample.cst, revision="B", lines=[line(sample.cal,
                                                                                            "1")]))
    assert err.value.code == "bom_cycle"
    assert "CST-01 → CAL-01 → HSG-01 → CST-01" in err.value.message.in_locale("en")
    assert err.value.details == [{"cycle": ["CST-01", "CAL-01", "HSG-01", "CST-01"]}]
    assert counts(db) == before


def test_replacing_lines_that_close_a_cycle_is_refused(db, sample: Sample) -> None:
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.update_bom(uow, sample.bom_hsg, BomUpdate(version=1, lines=[line(sample.cst, "1"),
                                                                            line(sample.cal, "1")]),
                           signature_on("bom", sample.bom_hsg))
    assert "HSG-01 → CAL-01 → HSG-01" in err.value.message.in_locale("en")
    with db.session() as s:
        assert [ln.component.code for ln in service.get_bom(s, sample.bom_hsg).lines] == ["CST-01", "SCR-01"]
        assert service.get_bom(s, sample.bom_hsg).version == 1


def test_a_cycle_through_another_revision_is_refused(db, sample: Sample) -> None:
    """Every revision that is not obsolete counts, also a draft that is not in effect yet."""
    gear = new_material(db, "GEAR-01", sample)
    with db.uow() as uow:
        draft = service.create_bom(uow, BomCreate(material_id=sample.pst, revision="B",
                                                  effective_from=date(2030, 1, 1),
                                                  lines=[line(sample.seal, "10"), line(gear, "1")]))
        uow.commit()
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_bom(uow, BomCreate(material_id=gear, revision="A", lines=[line(sample.cal, "1")]))
    assert "GEAR-01 → CAL-01 → PST-01 → GEAR-01" in err.value.message.in_locale("en")
    # Once that revision is obsolete the same BOM is fine.
    with db.uow() as uow:
        service.obsolete_bom(uow, draft.id)
        service.create_bom(uow, BomCreate(material_id=gear, revision="A", lines=[line(sample.cal, "1")]))
        uow.commit()
    assert any(isinstance(e, BomRevisionObsoleted) for e in uow.published)


def test_check_bom_cycles_for_an_import(db, sample: Sample) -> None:
    """An importer validates all new lines at once, with materials it has not inserted yet named by code."""
    with db.session() as s:
        assert service.find_bom_cycles(s, [("NEW-1", "CAL-01"), ("NEW-1", "SEAL-01")]) == []
        cycles = service.find_bom_cycles(s, [
            ("NEW-1", "CAL-01"), ("HSG-01", "NEW-1"),  # HSG-01 → NEW-1 → CAL-01 → HSG-01
            ("NEW-2", "NEW-3"), ("NEW-3", "NEW-2"),    # among new materials only
            (sample.al, sample.al),                    # by id
        ])
        assert cycles == [["NEW-1", "CAL-01", "HSG-01", "NEW-1"], ["NEW-2", "NEW-3", "NEW-2"], ["AL-01",
                                                                                                "AL-01"]]
        with pytest.raises(Invalid) as err:
            service.check_bom_cycles(s, [("SEAL-01", "CAL-01"), ("PST-01", "SEAL-01")])
        assert err.value.code == "bom_cycle"
        assert "SEAL-01 → CAL-01 → PST-01 → SEAL-01" in err.value.message.in_locale("zh_CN")
        # Re-importing rev A of HSG-01 without its old lines: they do not count.
        service.check_bom_cycles(s, [("CAL-01", "SEAL-01")], replacing_bom_ids=[sample.bom_cal])
        with pytest.raises(Invalid):
            service.check_bom_cycles(s, [("SCR-01", "CAL-01")])


# -- changing revisions ------------------------------------------------------------------------------------


def test_replacing_lines_moves_the_version_and_records_an_event(db, sample: Sample) -> None:
    change = BomUpdate(version=1, note="more aluminium", lines=[
        line(sample.al, "2.5", scrap="0.02"), line(sample.seal, "10"), line(sample.scr, "20", position=5)])
    for unsigned in (None, signature_on("bom", sample.bom_cal)):  # none, or one on another BOM
        with db.uow() as uow, pytest.raises(Invalid) as err:
            service.update_bom(uow, sample.bom_pst, change, unsigned)
        assert err.value.code == "signature_required" and "PST-01" in err.value.message.in_locale("en")
    with db.uow() as uow:
        bom = service.update_bom(uow, sample.bom_pst, change, signature_on("bom", sample.bom_pst))
        uow.commit()
    assert bom.version == 2
    with db.session() as s:
        assert [(ln.position, ln.component.code) for ln in service.get_bom(s, bom.id).lines] == [
            (5, "SCR-01"), (10, "AL-01"), (20, "SEAL-01")]
    saved = [e for e in uow.published if isinstance(e, BomRevisionSaved)]
    assert saved[0].created is False and saved[0].status == "released" and saved[0].material_code == "PST-01"
    assert sorted(saved[0].component_ids) == sorted([sample.al, sample.seal, sample.scr])
    with db.uow() as uow, pytest.raises(Conflict) as err:
        service.update_bom(uow, sample.bom_pst, BomUpdate(version=1, note="late"), signature_on("bom", sample.bom_pst))
    assert err.value.code == "stale_version"


def test_an_obsolete_revision_cannot_change(db, sample: Sample) -> None:
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.obsolete_bom(uow, sample.bom_pst)
    assert err.value.code == "signature_required"
    with db.uow() as uow:
        service.obsolete_bom(uow, sample.bom_pst, signature=signature_on("bom", sample.bom_pst))
        uow.commit()
    with db.uow() as uow:
        with pytest.raises(Invalid) as err:
            service.update_bom(uow, sample.bom_pst, BomUpdate(version=2, note="x"))
        assert err.value.code == "bom_obsolete"
        with pytest.raises(Invalid):
            service.release_bom(uow, sample.bom_pst)
    with db.session() as s:
        # Obsolete revisions drop out of where-used unless asked for.
        assert [u.material.code for u in service.where_used(s, sample.seal)] == []
        assert [u.material.code for u in service.where_used(s, sample.seal, include_obsolete=True)] == [
            "PST-01", "CAL-01"]


def test_bom_query(db, sample: Sample) -> None:
    with db.session() as s:
        assert [b.material.code for b in s.scalars(service.bom_query()).unique()] == [
            "CAL-01", "CST-01", "HSG-01", "PST-01"]
        assert [b.material.code for b in s.scalars(service.bom_query(component_id=sample.scr)).unique()] == [
            "CAL-01", "HSG-01"]
        assert [b.material.code for b in s.scalars(service.bom_query(q="piston")).unique()] == ["PST-01"]
        assert list(s.scalars(service.bom_query(status="draft")).unique()) == []
        assert service.count_released_boms(s) == 4
