"""Skills test data: a skill catalogue, operators with levels and certifications, a line with work centers whose
open work order operations need skills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from synfab.catalog.choices import DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Material, Routing, RoutingOperation, Unit
from synfab.core.context import Actor
from synfab.core.db import Database
from synfab.orders import service as orders
from synfab.orders.schemas import WorkOrderCreate
from synfab.people import service as people
from synfab.people.models import User
from synfab.people.skills import service
from synfab.people.skills.choices import SkillCategory
from synfab.people.skills.schemas import CertificationCreate, LevelSet, SkillCreate
from synfab.plant import service as plant_service
from synfab.plant.choices import Level
from synfab.plant.schemas import NodeCreate
from tests.conftest import MiniPlant, add_user

MONDAY = date(2026, 11, 23)  # shift D (08–16) and N (16–24) run; Saturday the 28th has none


@dataclass
class Skills:
    turn: int
    grind: int
    assy: int
    leak: int  # needs a valid certification


def build_skills(db: Database) -> Skills:
    with db.uow() as uow:
        new = lambda code, name, **kw: service.create_skill(uow, SkillCreate(code=code, name=name, **kw)).id  # noqa: E731
        made = Skills(
            turn=new("TURN", "车削", name_en="Turning", category=SkillCategory.MACHINING),
            grind=new("GRIND", "磨削", name_en="Grinding", category=SkillCategory.MACHINING),
            assy=new("ASSY", "装配", name_en="Assembly", category=SkillCategory.ASSEMBLY),
            leak=new("LEAK", "气密检测", name_en="Leak testing", category=SkillCategory.TESTING,
                     certification_required=True),
        )
        uow.commit()
    return made


@pytest.fixture
def skills(db: Database, plant: MiniPlant) -> Skills:
    return build_skills(db)


def user_id(db: Database, username: str) -> int:
    with db.session() as s:
        return s.scalar(select(User.id).where(User.username == username))


def actor(db: Database, username: str) -> Actor:
    """Act as a user with the scope of their grants (as the web middleware does)."""
    with db.session() as s:
        p = people.principal_for(s, s.scalar(select(User).where(User.username == username)))
    return Actor(p.user_id, p.username, p.restriction)


def give(db: Database, username: str, skill_id: int, level: int, on: date = date(2026, 1, 5)) -> None:
    with db.uow() as uow:
        service.set_skill_level(uow, user_id(db, username), LevelSet(skill_id=skill_id, level=level, assessed_on=on))
        uow.commit()


def certify(db: Database, username: str, skill_id: int | None, issued: date, expires: date | None,
            name: str = "上岗证") -> int:
    with db.uow() as uow:
        cert = service.add_certification(uow, CertificationCreate(
            user_id=user_id(db, username), name=name, skill_id=skill_id, issued_on=issued, expires_on=expires))
        uow.commit()
        return cert.id


@dataclass
class Line1:
    """Line L1 with work centers WC1 (in the mini plant), WC3 and WC4, and one open work order whose operations
    need TURN 2 at WC1, GRIND 2 at WC3, ASSY 1 and LEAK 2 at WC4 (a cancelled one needs the same: not counted)."""

    wc3: int
    wc4: int
    work_order: str
    operations: dict[int, int]  # seq → operation id


def build_line1(db: Database, plant: MiniPlant) -> Line1:
    with db.uow() as uow:
        s = uow.session
        wc3 = plant_service.create_node(uow, NodeCreate(code="WC3", name="磨床3", level=Level.WORK_CENTER,
                                                        parent_id=plant.line1))
        wc4 = plant_service.create_node(uow, NodeCreate(code="WC4", name="装配台4", level=Level.WORK_CENTER,
                                                        parent_id=plant.line1))
        pcs = Unit(code="PCS", name="件")
        s.add(pcs)
        s.flush()
        shaft = Material(code="SHAFT", name="轴", type=MaterialType.FINISHED, unit_id=pcs.id, sourcing=Sourcing.MAKE)
        s.add(shaft)
        s.flush()
        s.add(Routing(material_id=shaft.id, revision="A", status=DocumentStatus.RELEASED,
                      effective_from=date(2026, 1, 1), operations=[
            RoutingOperation(seq=10, name="车削", work_center_id=plant.wc1, setup_minutes=Decimal(10),
                             run_minutes=Decimal(1), required_skill="TURN", required_skill_level=2),
            RoutingOperation(seq=20, name="磨削", work_center_id=wc3.id, setup_minutes=Decimal(10),
                             run_minutes=Decimal(1), required_skill="GRIND", required_skill_level=2),
            RoutingOperation(seq=30, name="装配", work_center_id=wc4.id, setup_minutes=Decimal(5),
                             run_minutes=Decimal(1), required_skill="ASSY", required_skill_level=1),
            RoutingOperation(seq=40, name="气密检测", work_center_id=wc4.id, setup_minutes=Decimal(5),
                             run_minutes=Decimal(1), required_skill="LEAK", required_skill_level=2),
            RoutingOperation(seq=50, name="包装", work_center_id=wc4.id, setup_minutes=Decimal(5),
                             run_minutes=Decimal(1)),
        ]))
        s.flush()
        wo = orders.create_work_order(uow, WorkOrderCreate(material_id=shaft.id, quantity=Decimal(10),
                                                           due_date=date(2026, 12, 10), site_id=plant.site))
        cancelled = orders.create_work_order(uow, WorkOrderCreate(material_id=shaft.id, quantity=Decimal(5),
                                                                  due_date=date(2026, 12, 10), site_id=plant.site))
        orders.cancel_work_order(uow, cancelled.id)
        uow.commit()
        return Line1(wc3.id, wc4.id, wo.code, {op.seq: op.id for op in wo.operations})


@pytest.fixture
def line1(db: Database, plant: MiniPlant) -> Line1:
    return build_line1(db, plant)


def operators(db: Database, plant: MiniPlant, *names: str, line: int | None = None) -> None:
    for name in names:
        add_user(db, name, "operator", line or plant.line1)
