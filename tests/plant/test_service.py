"""The plant tree: level rules in one place, moves with their subtree, cycles named, calendars inherited."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from synfab.core.db import Database
from synfab.core.errors import Conflict, Invalid
from synfab.core.models import EventRecord
from synfab.plant import service
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode
from synfab.plant.schemas import CalendarCreate, CalendarUpdate, ExceptionIn, NodeCreate, NodeUpdate, ShiftIn
from tests.conftest import MiniPlant

SH = ZoneInfo("Asia/Shanghai")


def create(db: Database, **fields: object) -> PlantNode:
    with db.uow() as uow:
        node = service.create_node(uow, NodeCreate(**fields))  # type: ignore[arg-type]
        uow.commit()
        return node


@pytest.mark.parametrize("level, parent_attr, allowed", [
    (Level.LINE, "site", False), (Level.LINE, "area", True), (Level.WORK_CENTER, "area", True),
    (Level.EQUIPMENT, "site", False), (Level.STORAGE_ZONE, "line1", True), (Level.STORAGE_UNIT, "area", False),
    (Level.AREA, "enterprise", False),
])
def test_allowed_parent_levels(db: Database, plant: MiniPlant, level: Level, parent_attr: str, allowed: bool) -> None:
    parent = getattr(plant, parent_attr)
    if allowed:
        node = create(db, code="NEW", name="新", level=level, parent_id=parent)
        assert node.parent_id == parent
        return
    with pytest.raises(Invalid) as info:
        create(db, code="NEW", name="新", level=level, parent_id=parent)
    assert info.value.code == "plant_level_not_allowed"
    with db.session() as s:
        assert s.scalar(select(PlantNode).where(PlantNode.code == "NEW")) is None


def test_only_an_enterprise_stands_alone_and_a_site_needs_a_valid_time_zone(db: Database, plant: MiniPlant) -> None:
    with pytest.raises(Invalid) as info:
        create(db, code="X", name="x", level=Level.SITE)
    assert info.value.code == "plant_level_not_allowed"
    with pytest.raises(Invalid) as info:
        create(db, code="X", name="x", level=Level.SITE, parent_id=plant.enterprise)
    assert info.value.code == "site_time_zone_required"
    with pytest.raises(Invalid) as info:
        create(db, code="X", name="x", level=Level.SITE, parent_id=plant.enterprise, time_zone="Asia/Shangai")
    assert info.value.code == "unknown_time_zone" and "Asia/Shangai" in info.value.message.in_locale("zh_CN")
    with pytest.raises(Conflict):
        create(db, code="L1", name="重复", level=Level.LINE, parent_id=plant.area)


def test_paths_ancestors_subtree_and_site(db: Database, plant: MiniPlant) -> None:
    with db.session() as s:
        wc = service.get_node(s, plant.wc1)
        assert wc.path == f"/{plant.enterprise}/{plant.site}/{plant.area}/{plant.line1}/{plant.wc1}/"
        assert [a.code for a in service.ancestors(s, wc)] == ["ENT", "SH", "MACH", "L1"]
        assert set(service.subtree_ids(s, plant.line1)) == {plant.line1, plant.wc1}
        assert service.site_of(s, wc).code == "SH" and service.time_zone_of(s, wc).key == "Asia/Shanghai"
        assert [n.code for n in service.list_nodes(s, under=plant.area)] == ["MACH", "L1", "WC1", "L2", "WC2"]
        assert service.get_node(s, plant.wc1).version == 1


def test_moving_a_node_moves_its_subtree_and_records_it(db: Database, plant: MiniPlant) -> None:
    eq = create(db, code="EQ1", name="设备", level=Level.EQUIPMENT, parent_id=plant.wc1)
    with db.uow() as uow:
        service.move_node(uow, plant.wc1, plant.line2)
        uow.commit()
    with db.session() as s:
        moved = service.get_node(s, eq.id)
        assert moved.path == f"/{plant.enterprise}/{plant.site}/{plant.area}/{plant.line2}/{plant.wc1}/{eq.id}/"
        assert moved.depth == 5
        assert set(service.subtree_ids(s, plant.line2)) == {plant.line2, plant.wc2, plant.wc1, eq.id}
        event = s.scalar(select(EventRecord).where(EventRecord.type == "PlantNodeMoved"))
        assert event.payload == {"node_id": plant.wc1, "code": "WC1", "old_parent_id": plant.line1,
                                 "new_parent_id": plant.line2}


def test_moving_a_node_under_itself_is_refused_with_the_cycle_named(db: Database, plant: MiniPlant) -> None:
    with db.uow() as uow, pytest.raises(Invalid) as info:
        service.move_node(uow, plant.area, plant.line1)
    assert info.value.code == "plant_cycle"
    assert "MACH → L1 → MACH" in info.value.message.in_locale("en")


def test_update_checks_the_version(db: Database, plant: MiniPlant) -> None:
    with db.uow() as uow:
        service.update_node(uow, plant.line1, NodeUpdate(version=1, name="一号线"))
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict) as info:
        service.update_node(uow, plant.line1, NodeUpdate(version=1, name="又改"))
    assert info.value.code == "stale_version"


def test_calendars_are_inherited_and_answer_planned_time(db: Database, plant: MiniPlant) -> None:
    with db.session() as s:
        # Mini plant: 2 shifts Mon–Fri on the site, 08–16 with a 30 min break and 16–24.
        assert service.planned_operation_time(s, plant.wc2, datetime(2026, 11, 23, tzinfo=SH),
                                              datetime(2026, 11, 30, tzinfo=SH)) == 5 * 15.5 * 3600
    with db.uow() as uow:
        single = service.create_calendar(uow, CalendarCreate(code="1S", name="单班", shifts=[
            ShiftIn(code="D", name="白班", start=time(8), end=time(17), weekdays="123456")]))
        service.assign_calendar(uow, plant.line2, single.id)
        uow.commit()
    with db.session() as s:
        week = service.planned_operation_time(s, plant.wc2, datetime(2026, 11, 23, tzinfo=SH),
                                              datetime(2026, 11, 30, tzinfo=SH))
        assert week == 6 * 9 * 3600  # the line's own calendar now wins over the site's
        assert service.planned_operation_time(s, plant.wc1, datetime(2026, 11, 23, tzinfo=SH),
                                              datetime(2026, 11, 24, tzinfo=SH)) == 15.5 * 3600


def test_replacing_a_calendars_shifts_moves_its_version(db: Database, plant: MiniPlant) -> None:
    with db.uow() as uow:
        cal = service.get_calendar(uow.session, plant.calendar)
        version = cal.version
        service.update_calendar(uow, cal.id, CalendarUpdate(
            version=version, shifts=[ShiftIn(code="D", name="白班", start=time(8), end=time(16))],
            exceptions=[ExceptionIn(day="2026-12-25", working=False, note="停产")]))
        uow.commit()
    with db.session() as s:
        cal = service.get_calendar(s, plant.calendar)
        assert cal.version == version + 1 and [sh.code for sh in cal.shifts] == ["D"]
        assert [(e.day.isoformat(), e.working) for e in cal.exceptions] == [("2026-12-25", False)]
    with db.uow() as uow, pytest.raises(Conflict):
        service.update_calendar(uow, plant.calendar, CalendarUpdate(version=version, shifts=[]))
