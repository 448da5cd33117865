"""Routing revisions: where each operation runs, times and skills, one revision in effect at a time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from synfab.catalog import service
from synfab.catalog.choices import DocumentStatus
from synfab.catalog.events import RoutingRevisionReleased, RoutingRevisionSaved
from synfab.catalog.schemas import OperationIn, RoutingCreate, RoutingUpdate
from synfab.core.errors import Conflict, Invalid
from synfab.plant import service as plant_service
from synfab.plant.schemas import EquipmentClassCreate
from tests.catalog.conftest import JAN_2024, Sample
from tests.conftest import MiniPlant, signature_on


@pytest.fixture
def lathe_class(db, plant: MiniPlant) -> int:
    with db.uow() as uow:
        ec = plant_service.create_equipment_class(uow, EquipmentClassCreate(code="LATHE", name="车床"))
        uow.commit()
        return ec.id


def ops(plant: MiniPlant, lathe: int) -> list[OperationIn]:
    return [
        OperationIn(seq=10, name="粗车", work_center_id=plant.wc1, setup_minutes=Decimal(30),
                    run_minutes=Decimal("2.5"), required_skill="TURN", required_skill_level=2),
        OperationIn(seq=20, name="精车", equipment_class_id=lathe, setup_minutes=Decimal(15),
                    run_minutes=Decimal(4)),
        OperationIn(seq=30, name="检验", work_center_id=plant.wc2, required_skill="QC"),
    ]


def create(db, sample: Sample, operations: list[OperationIn], **kw) -> int:
    with db.uow() as uow:
        r = service.create_routing(uow, RoutingCreate(
            material_id=sample.hsg, revision=kw.pop("revision", "A"),
            effective_from=kw.pop("effective_from", JAN_2024), operations=operations, **kw))
        uow.commit()
        return r.id


def test_a_routing_is_created_released_and_found_by_date(db, sample: Sample, plant: MiniPlant,
                                                         lathe_class) -> None:
    rid = create(db, sample, ops(plant, lathe_class))
    with db.uow() as uow:
        r = service.release_routing(uow, rid, version=1)
        uow.commit()
    assert [type(e) for e in uow.published] == [RoutingRevisionReleased]
    assert r.status == DocumentStatus.RELEASED
    with db.session() as s:
        found = service.effective_routing(s, sample.hsg, date(2024, 3, 1))
        assert found.id == rid
        assert [(op.seq, op.required_skill, op.required_skill_level) for op in found.operations] == [
            (10, "TURN", 2), (20, None, None), (30, "QC", 1)]
        assert service.effective_routing(s, sample.hsg, date(2023, 3, 1)) is None


def test_an_operation_runs_at_a_work_center_or_machine(db, sample: Sample, plant: MiniPlant,
                                                       lathe_class) -> None:
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_routing(uow, RoutingCreate(material_id=sample.hsg, revision="A", operations=[
            OperationIn(seq=10, name="装配", work_center_id=plant.line1)]))
    assert err.value.code == "operation_work_center_level"
    assert "L1" in err.value.message.in_locale("en")
    assert "Production line" in err.value.message.in_locale("en")
    assert "产线" in err.value.message.in_locale("zh_CN")
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_routing(uow, RoutingCreate(material_id=sample.hsg, revision="A", operations=[
            OperationIn(seq=10, name="装配", work_center_id=999999)]))
    assert err.value.code == "operation_work_center_missing"


@pytest.mark.parametrize(("change", "code"), [
    ({"work_center_id": None}, "operation_resource_missing"),
    ({"setup_minutes": Decimal(-1)}, "operation_time_negative"),
    ({"run_minutes": Decimal("-0.5")}, "operation_time_negative"),
    ({"required_skill_level": 5}, "operation_skill_level"),
    ({"required_skill": None, "required_skill_level": 2}, "operation_skill_missing"),
    ({"seq": 0}, "operation_seq"),
    ({"work_center_id": None, "equipment_class_id": 999999}, "equipment_class_not_found"),
])
def test_operation_rules(db, sample: Sample, plant: MiniPlant, change: dict, code: str) -> None:
    base = {"seq": 10, "name": "粗车", "work_center_id": plant.wc1, "required_skill": "TURN",
            "required_skill_level": 2}
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_routing(uow, RoutingCreate(material_id=sample.hsg, revision="A",
                                                  operations=[OperationIn(**(base | change))]))
    assert err.value.code == code


def test_step_numbers_differ_and_a_release_needs_steps(db, sample: Sample, plant: MiniPlant) -> None:
    with db.uow() as uow:
        with pytest.raises(Invalid) as err:
            service.create_routing(uow, RoutingCreate(material_id=sample.hsg, revision="A", operations=[
                OperationIn(seq=10, name="a", work_center_id=plant.wc1),
                OperationIn(seq=10, name="b", work_center_id=plant.wc2)]))
        assert err.value.code == "operation_seq_repeated"
        with pytest.raises(Invalid) as err:
            service.create_routing(uow, RoutingCreate(material_id=sample.hsg, revision="A",
                                                      status=DocumentStatus.RELEASED))
        assert err.value.code == "routing_empty"


def test_released_routings_may_not_overlap(db, sample: Sample, plant: MiniPlant, lathe_class) -> None:
    create(db, sample, ops(plant, lathe_class), status=DocumentStatus.RELEASED)
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.create_routing(uow, RoutingCreate(
            material_id=sample.hsg, revision="B", status=DocumentStatus.RELEASED, effective_from=date(2025, 1,
                                                                                                      1),
            operations=ops(plant, lathe_class)))
    assert err.value.code == "revision_overlap"
    assert "HSG-01" in err.value.message.in_locale("en")


def test_replacing_operations(db, sample: Sample, plant: MiniPlant, lathe_class) -> None:
    rid = create(db, sample, ops(plant, lathe_class))
    with db.uow() as uow:
        r = service.update_routing(uow, rid, RoutingUpdate(version=1, note="合并工序", operations=[
            OperationIn(seq=10, name="车削", work_center_id=plant.wc1, run_minutes=Decimal(6)),
            OperationIn(seq=20, name="粗车", work_center_id=plant.wc2)]))
        uow.commit()
        assert [(op.seq, op.name) for op in r.operations] == [(10, "车削"), (20, "粗车")]
    assert r.version == 2 and r.note == "合并工序"
    saved = next(e for e in uow.published if isinstance(e, RoutingRevisionSaved))
    assert saved.operation_seqs == [10, 20] and saved.material_code == "HSG-01" and not saved.created
    with db.uow() as uow, pytest.raises(Conflict):
        service.update_routing(uow, rid, RoutingUpdate(version=1, note="x"))
    with db.uow() as uow:  # a draft changes and goes out of use unsigned
        service.obsolete_routing(uow, rid, version=2)
        uow.commit()
    with db.uow() as uow, pytest.raises(Invalid) as err:
        service.update_routing(uow, rid, RoutingUpdate(version=3, note="x"))
    assert err.value.code == "routing_obsolete"


def test_a_released_routing_changes_only_with_a_signature(db, sample: Sample, plant: MiniPlant,
                                                          lathe_class) -> None:
    rid = create(db, sample, ops(plant, lathe_class), status=DocumentStatus.RELEASED)
    change = RoutingUpdate(version=1, operations=[OperationIn(seq=10, name="车削", work_center_id=plant.wc1)])
    for attempt in (lambda uow: service.update_routing(uow, rid, change),
                    lambda uow: service.update_routing(uow, rid, change, signature_on("routing", rid + 1)),
                    lambda uow: service.obsolete_routing(uow, rid)):
        with db.uow() as uow, pytest.raises(Invalid) as err:
            attempt(uow)
        assert err.value.code == "signature_required" and "HSG-01" in err.value.message.in_locale("zh_CN")
    with db.uow() as uow:
        service.update_routing(uow, rid, change, signature_on("routing", rid))
        service.obsolete_routing(uow, rid, signature=signature_on("routing", rid))
        uow.commit()
    with db.session() as s:
        routing = service.get_routing(s, rid)
        assert (routing.status, [op.seq for op in routing.operations]) == (DocumentStatus.OBSOLETE, [10])


def test_routing_query(db, sample: Sample, plant: MiniPlant, lathe_class) -> None:
    create(db, sample, ops(plant, lathe_class), status=DocumentStatus.RELEASED)
    with db.session() as s:
        at_wc2 = s.scalars(service.routing_query(work_center_id=plant.wc2)).unique()
        assert [r.revision for r in at_wc2] == ["A"]
        assert [r.revision for r in s.scalars(service.routing_query(q="housing")).unique()] == ["A"]
        assert list(s.scalars(service.routing_query(status="draft")).unique()) == []
