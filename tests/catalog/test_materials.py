"""Material classes and materials: codes, version checks, events and the list query."""

from __future__ import annotations

import pytest

from synfab.catalog import service
from synfab.catalog.choices import MaterialType, Sourcing
from synfab.catalog.events import MaterialChanged, MaterialCreated
from synfab.catalog.schemas import MaterialClassUpdate, MaterialCreate, MaterialUpdate
from synfab.core.errors import Conflict, Invalid
from tests.catalog.conftest import Sample


def codes(db, **filters) -> list[str]:
    with db.session() as s:
        return [m.code for m in s.scalars(service.material_query(**filters))]


def test_a_material_code_is_unique(db, sample: Sample) -> None:
    with db.uow() as uow, pytest.raises(Conflict) as err:
        service.create_material(uow, MaterialCreate(code="CAL-01", name="重复", type=MaterialType.RAW,
                                                    unit_id=sample.pcs))
    assert err.value.code == "material_code_taken"
    assert "CAL-01" in err.value.message.in_locale("en") and "制动钳" in err.value.message.in_locale("zh_CN")


def test_creating_and_changing_a_material_records_events(db, sample: Sample) -> None:
    with db.uow() as uow:
        m = service.create_material(uow, MaterialCreate(code="BRK-PAD", name="刹车片", type=MaterialType.RAW,
                                                        sourcing=Sourcing.BUY, unit_id=sample.pcs))
        uow.commit()
    created = next(e for e in uow.published if isinstance(e, MaterialCreated))
    assert (created.code, created.type, created.sourcing) == ("BRK-PAD", "raw", "buy")
    with db.uow() as uow:
        change = MaterialUpdate(version=1, lead_time_days=12, unit_id=sample.box, sourcing=Sourcing.MAKE)
        m = service.update_material(uow, m.id, change)
        uow.commit()
        assert m.version == 2 and m.unit.code == "box"
    changed = [e for e in uow.published if isinstance(e, MaterialChanged)]
    assert changed[0].changes == {"lead_time_days": [None, "12"], "unit_id": [str(sample.pcs),
                                                                              str(sample.box)],
                                  "sourcing": ["buy", "make"]}


def test_a_stale_version_is_refused_with_who_changed_it(db, sample: Sample) -> None:
    with db.uow() as uow:
        service.update_material(uow, sample.scr, MaterialUpdate(version=1, name="十字螺钉"))
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict) as err:
        service.update_material(uow, sample.scr, MaterialUpdate(version=1, name="螺钉"))
    assert err.value.code == "stale_version"
    assert "system" in err.value.message.in_locale("en")


def test_renaming_to_a_taken_code_is_refused(db, sample: Sample) -> None:
    with db.uow() as uow, pytest.raises(Conflict):
        service.update_material(uow, sample.scr, MaterialUpdate(version=1, code="AL-01"))
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.update_material(uow, sample.scr, MaterialUpdate(version=1, name=None))
    assert err.value.code == "material_field_required"


def test_material_query_filters(db, sample: Sample) -> None:
    assert codes(db) == ["AL-01", "CAL-01", "CST-01", "HSG-01", "PST-01", "SCR-01", "SEAL-01"]
    assert codes(db, type="raw") == ["AL-01", "SCR-01", "SEAL-01"]
    assert codes(db, type=MaterialType.FINISHED) == ["CAL-01"]
    assert codes(db, sourcing="make") == ["CAL-01", "CST-01", "HSG-01", "PST-01"]
    assert codes(db, class_id=sample.cls_raw) == ["AL-01"]  # through its subclass METAL
    assert codes(db, q="seal") == ["SEAL-01"]
    assert codes(db, q="活塞") == ["PST-01"]
    with db.uow() as uow:
        service.update_material(uow, sample.seal, MaterialUpdate(version=1, active=False))
        service.map_external_id(uow, "ERP", "material", "900123", sample.scr)
        uow.commit()
    assert codes(db, active=True, type="raw") == ["AL-01", "SCR-01"]
    assert codes(db, active=False) == ["SEAL-01"]
    assert codes(db, q="900123") == ["SCR-01"]


def test_a_class_cannot_be_moved_under_itself(db, sample: Sample) -> None:
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.update_material_class(uow, sample.cls_raw, MaterialClassUpdate(version=1,
                                                                               parent_id=sample.cls_metal))
    assert err.value.code == "material_class_cycle"
    with db.session() as s:
        assert [c.code for c in service.list_material_classes(s)] == ["PARTS", "RAW", "METAL"]


def test_the_base_unit_cannot_strand_bom_lines(db, sample: Sample) -> None:
    """CAL-01 takes SCR-01 in boxes; a base unit boxes do not convert to would leave that line meaningless."""
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.update_material(uow, sample.scr, MaterialUpdate(version=1, unit_id=sample.kg))
    assert err.value.code == "material_unit_in_use"
    assert "box" in err.value.message.in_locale("en") and "SCR-01" in err.value.message.in_locale("zh_CN")
    with db.uow() as uow:  # boxes and pieces both convert to dozens
        service.update_material(uow, sample.scr, MaterialUpdate(version=1, unit_id=sample.dozen))
        uow.commit()
