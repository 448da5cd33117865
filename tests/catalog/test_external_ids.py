"""The data dictionary: one record, many codes (M001 in the ERP = MAT01 in the WMS)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from synfab.catalog import service
from synfab.catalog.models import ExternalId
from synfab.core.errors import Conflict, Invalid, NotFound
from tests.catalog.conftest import Sample


def mapped(db, sample: Sample) -> None:
    with db.uow() as uow:
        service.map_external_id(uow, "ERP", "material", "M001", sample.scr)
        service.map_external_id(uow, "WMS", "material", "MAT01", sample.scr, note="螺钉")
        service.map_external_id(uow, "ERP", "unit", "PCE", sample.pcs)
        uow.commit()


def test_every_code_resolves_to_one_record(db, sample: Sample) -> None:
    mapped(db, sample)
    with db.session() as s:
        assert service.resolve_external_id(s, "material", "M001") == sample.scr
        assert service.resolve_external_id(s, "material", "MAT01", system="WMS") == sample.scr
        assert service.resolve_external_id(s, "material", "MAT01", system="ERP") is None
        assert service.resolve_external_id(s, "material", "NOPE") is None
        codes = ("SCR-01", "M001", "MAT01", " M001 ")
        assert {service.resolve_material(s, code).id for code in codes} == {sample.scr}
        assert service.resolve_material(s, "M001", system="ERP").id == sample.scr
        assert service.resolve_unit(s, "PCE").id == sample.pcs
        assert service.resolve_unit(s, "kg").id == sample.kg
        with pytest.raises(NotFound) as err:
            service.resolve_material(s, "MAT99")
        assert "MAT99" in err.value.message.in_locale("zh_CN")
        assert [(x.system, x.external_code) for x in service.external_ids_for(s, "material", sample.scr)] == [
            ("ERP", "M001"), ("WMS", "MAT01")]


def test_mapping_is_idempotent_and_a_taken_code_is_refused(db, sample: Sample) -> None:
    mapped(db, sample)
    with db.uow() as uow:
        again = service.map_external_id(uow, "ERP", "material", "M001", sample.scr)
        uow.commit()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ExternalId)) == 3
        assert again.internal_id == sample.scr
    with db.uow() as uow, pytest.raises(Conflict) as err:
        service.map_external_id(uow, "ERP", "material", "M001", sample.seal)
    assert err.value.code == "external_id_taken"
    assert "SCR-01" in err.value.message.in_locale("en") and "M001" in err.value.message.in_locale("zh_CN")


def test_one_code_in_two_systems_for_two_records_needs_the_system(db, sample: Sample) -> None:
    mapped(db, sample)
    with db.uow() as uow:
        service.map_external_id(uow, "PLM", "material", "M001", sample.seal)
        uow.commit()
    with db.session() as s:
        with pytest.raises(Conflict) as err:
            service.resolve_external_id(s, "material", "M001")
        assert err.value.code == "external_id_ambiguous"
        assert service.resolve_material(s, "M001", system="PLM").id == sample.seal
        assert service.resolve_material(s, "M001", system="ERP").id == sample.scr


def test_a_mapping_needs_an_existing_record_and_a_plain_kind(db, sample: Sample) -> None:
    with db.uow() as uow:
        with pytest.raises(Invalid) as err:
            service.map_external_id(uow, "ERP", "material", "X1", 999999)
        assert err.value.code == "external_id_target_missing"
        with pytest.raises(Invalid):
            service.map_external_id(uow, "ERP", "Material Codes", "X1", sample.scr)
        # Kinds of other contexts are taken as they are: they check their own references.
        row = service.map_external_id(uow, "ERP", "customer", "C-100", 42)
        uow.commit()
    with db.uow() as uow:
        service.remove_external_id(uow, row.id)
        uow.commit()
    with db.session() as s:
        assert service.resolve_external_id(s, "customer", "C-100") is None
