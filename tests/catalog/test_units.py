"""Units of measure and conversions: inverses, chains, a material's own conversions, and no path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from synfab.catalog import service
from synfab.catalog.choices import Dimension
from synfab.catalog.schemas import ConversionCreate, UnitCreate, UnitUpdate
from synfab.core.errors import Conflict, Invalid
from tests.catalog.conftest import Sample


def test_same_unit_returns_the_quantity(db, sample: Sample) -> None:
    with db.session() as s:
        assert service.convert(s, Decimal("7.5"), sample.kg, sample.kg) == Decimal("7.5")


def test_conversion_and_its_inverse(db, sample: Sample) -> None:
    with db.session() as s:
        assert service.convert(s, Decimal(2), sample.kg, sample.g) == 2000
        assert service.convert(s, Decimal(500), sample.g, sample.kg) == Decimal("0.5")
        assert service.convert(s, Decimal(3), sample.pcs, sample.dozen) == Decimal("0.25")


def test_chains_of_conversions_are_followed(db, sample: Sample) -> None:
    # box → pcs exists for SCR-01 only, pcs → dozen is general: 3 boxes = 72 pcs = 6 dozen.
    with db.session() as s:
        assert service.convert(s, Decimal(3), sample.box, sample.dozen, sample.scr) == 6
        assert service.convert(s, Decimal(6), sample.dozen, sample.box, sample.scr) == 3


def test_factors_multiply_exactly(db, sample: Sample) -> None:
    # 1 pcs = 1/12 dozen: the round trip through the inverse comes back to exactly one.
    with db.session() as s:
        conv = service.UnitConverter(s)
        dz = conv.convert(Decimal(1), sample.pcs, sample.dozen)
        assert conv.convert(Decimal(12), sample.pcs, sample.dozen) == 1
        assert dz == Decimal(1) / Decimal(12)


def test_a_material_conversion_holds_only_for_that_material(db, sample: Sample) -> None:
    with db.session() as s:
        assert service.convert(s, Decimal(2), sample.box, sample.pcs, sample.scr) == 48
        with pytest.raises(Invalid) as err:
            service.convert(s, Decimal(2), sample.box, sample.pcs, sample.seal)
    assert err.value.code == "no_unit_conversion"
    en, zh = err.value.message.in_locale("en"), err.value.message.in_locale("zh_CN")
    assert "box" in en and "pcs" in en and "SEAL-01" in en
    assert "box" in zh and "pcs" in zh and "SEAL-01" in zh


def test_a_material_conversion_takes_precedence_over_the_general_one(db, sample: Sample) -> None:
    with db.uow() as uow:
        service.add_conversion(uow, ConversionCreate(from_unit_id=sample.box, to_unit_id=sample.pcs,
                                                     factor=Decimal(10)))
        uow.commit()
    with db.session() as s:
        assert service.convert(s, Decimal(1), sample.box, sample.pcs, sample.scr) == 24
        assert service.convert(s, Decimal(1), sample.box, sample.pcs, sample.seal) == 10
        assert service.convert(s, Decimal(1), sample.box, sample.pcs) == 10


def test_no_path_names_both_units(db, sample: Sample) -> None:
    with db.session() as s, pytest.raises(Invalid) as err:
        service.convert(s, Decimal(1), sample.kg, sample.m)
    assert err.value.code == "no_unit_conversion"
    assert "kg" in err.value.message.in_locale("en") and "m" in err.value.message.in_locale("en")
    assert "没有" in err.value.message.in_locale("zh_CN")


def test_conversion_rules(db, sample: Sample) -> None:
    with db.uow() as uow:
        with pytest.raises(Invalid) as err:
            service.add_conversion(uow, ConversionCreate(from_unit_id=sample.pcs, to_unit_id=sample.kg,
                                                         factor=Decimal("0.2")))
        assert err.value.code == "conversion_needs_material"
        with pytest.raises(Conflict) as dup:  # the reverse of kg → g exists already
            service.add_conversion(uow, ConversionCreate(from_unit_id=sample.g, to_unit_id=sample.kg,
                                                         factor=Decimal("0.001")))
        assert dup.value.code == "conversion_exists"
        with pytest.raises(Invalid) as zero:
            service.add_conversion(uow, ConversionCreate(from_unit_id=sample.m, to_unit_id=sample.m,
                                                         factor=Decimal(1)))
        assert zero.value.code == "conversion_same_unit"
        with pytest.raises(Invalid) as neg:
            service.add_conversion(uow, ConversionCreate(from_unit_id=sample.box, to_unit_id=sample.dozen,
                                                         factor=Decimal(0)))
        assert neg.value.code == "conversion_factor"
        # Across dimensions it is fine for one material: 1 pcs of SEAL-01 weighs 0.002 kg.
        conv = service.add_conversion(uow, ConversionCreate(from_unit_id=sample.pcs, to_unit_id=sample.kg,
                                                            factor=Decimal("0.002"), material_id=sample.seal))
        assert conv.material_id == sample.seal
        uow.commit()
    with db.session() as s:
        assert service.convert(s, Decimal(500), sample.pcs, sample.g, sample.seal) == 1000


def test_units_are_created_and_changed_with_a_version_check(db) -> None:
    with db.uow() as uow:
        unit = service.create_unit(uow, UnitCreate(code="L", name="升", name_en="litre",
                                                   dimension=Dimension.VOLUME))
        uow.commit()
    with db.uow() as uow:
        with pytest.raises(Conflict) as taken:
            service.create_unit(uow, UnitCreate(code="L", name="升"))
        assert taken.value.code == "unit_code_taken"
        changed = service.update_unit(uow, unit.id, UnitUpdate(version=1, name_en="liter"))
        uow.commit()
        assert changed.version == 2
    with db.uow() as uow, pytest.raises(Conflict) as stale:
        service.update_unit(uow, unit.id, UnitUpdate(version=1, name_en="litre"))
    assert stale.value.code == "stale_version"
