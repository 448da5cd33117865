"""The demo's learning factory: the skill catalogue the demo routings name, twelve more operators on the four
lines with their levels, certifications (some about to lapse, one lapsed), training plans and records, and
rosters for this week and next with some gaps — all made through the skills services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from synfab.core.uow import UnitOfWork
from synfab.people import service as people
from synfab.people.models import User
from synfab.people.skills import service
from synfab.people.skills.choices import SkillCategory, TrainingResult
from synfab.people.skills.schemas import (
    CertificationCreate, LevelSet, RosterEntryCreate, SkillCreate, TrainingPlanCreate, TrainingRecordCreate,
    TrainingTargetIn,
)
from synfab.plant import service as plant
from synfab.sim.demo_data import DEMO_PASSWORD

# (code, name, English name, category, certification required, description)
SKILLS = [
    ("CNC", "数控加工", "CNC machining", SkillCategory.MACHINING, False, "加工中心、数控车床、钻攻中心的操作与换型"),
    ("GRIND", "外圆磨削", "Cylindrical grinding", SkillCategory.MACHINING, False, "外圆磨床操作、砂轮修整"),
    ("ASSY", "卡钳装配", "Caliper assembly", SkillCategory.ASSEMBLY, False, "活塞压装、密封圈与防尘罩装配"),
    ("LEAK-TEST", "气密检测", "Leak testing", SkillCategory.TESTING, True, "气密检测台操作与判定，需持上岗证"),
    ("QC-GAUGE", "量具使用", "Gauge use", SkillCategory.TESTING, False, "卡尺、千分尺、塞规的使用与点检"),
    ("FORKLIFT", "叉车证", "Forklift licence", SkillCategory.LOGISTICS, True, "场内机动车辆（叉车）作业，需持证"),
    ("FIRST-AID", "急救", "First aid", SkillCategory.SAFETY, True, "现场急救员，需持红十字会急救员证"),
]

# (user name, name, line): the operators of the four lines.
OPERATORS = [
    ("huangzq", "黄志强", "L-CAL"), ("zhouting", "周婷", "L-CAL"), ("wugang", "吴刚", "L-CAL"),
    ("xuli", "徐丽", "L-PIS"), ("sunhao", "孙浩", "L-PIS"), ("hujun", "胡军", "L-PIS"),
    ("zhulin", "朱琳", "L-CA1"), ("gaofeng", "高峰", "L-CA1"), ("lintao", "林涛", "L-CA1"),
    ("hejing", "何静", "L-CA2"), ("guopeng", "郭鹏", "L-CA2"), ("machao", "马超", "L-CA2"),
]

# (user name, skill, level, assessed how many days ago)
LEVELS = [
    ("huangzq", "CNC", 4, 200), ("huangzq", "GRIND", 2, 200), ("huangzq", "QC-GAUGE", 3, 120),
    ("zhouting", "CNC", 3, 90), ("zhouting", "QC-GAUGE", 2, 90), ("wugang", "FORKLIFT", 3, 60),
    ("xuli", "CNC", 3, 150), ("xuli", "GRIND", 4, 150), ("sunhao", "CNC", 2, 80), ("hujun", "CNC", 2, 45),
    ("hujun", "GRIND", 1, 45),
    ("zhulin", "ASSY", 3, 100), ("zhulin", "LEAK-TEST", 3, 100), ("gaofeng", "ASSY", 4, 300),
    ("gaofeng", "LEAK-TEST", 4, 300), ("gaofeng", "FIRST-AID", 3, 180), ("lintao", "ASSY", 1, 70),
    ("operator", "ASSY", 3, 120), ("operator", "LEAK-TEST", 2, 120),
    ("hejing", "ASSY", 4, 250), ("hejing", "LEAK-TEST", 3, 250), ("guopeng", "ASSY", 2, 60),
    ("guopeng", "LEAK-TEST", 2, 60), ("machao", "ASSY", 1, 30), ("machao", "FORKLIFT", 3, 30),
]

LEAK_CERT = ("气密检测上岗证", "质量部 Quality dept.")
# (user name, certification, issuer, skill, issued days ago, expires in days)
CERTIFICATIONS = [
    ("zhulin", *LEAK_CERT, "LEAK-TEST", 165, 200), ("gaofeng", *LEAK_CERT, "LEAK-TEST", 330, 400),
    ("hejing", *LEAK_CERT, "LEAK-TEST", 355, 10), ("guopeng", *LEAK_CERT, "LEAK-TEST", 340, 25),
    ("operator", *LEAK_CERT, "LEAK-TEST", 370, -5),
    ("wugang", "特种设备作业人员证（叉车 N1）", "苏州市市场监督管理局", "FORKLIFT", 400, 300),
    ("machao", "特种设备作业人员证（叉车 N1）", "苏州市市场监督管理局", "FORKLIFT", 1440, 20),
    ("gaofeng", "红十字救护员证", "苏州市红十字会", "FIRST-AID", 200, 900),
]


def load_demo_skills(uow: UnitOfWork, today: date) -> None:
    """Skills, operators, levels, certifications, training and two weeks of rosters for the demo plant."""
    s = uow.session
    # Levels and training cannot be dated after today at the site, whatever day the demo is built for.
    past = min(today, service.site_today(s))
    skills = {code: service.create_skill(uow, SkillCreate(
        code=code, name=name, name_en=name_en, category=category, certification_required=certified,
        description=description)).id for code, name, name_en, category, certified, description in SKILLS}
    lines: dict[str, list[int]] = {}
    for username, name, line in OPERATORS:
        user = people.create_user(uow, username, name, DEMO_PASSWORD)
        people.grant_role(uow, user, "operator", plant.node_by_code(s, line).id)
        lines.setdefault(line, []).append(user.id)
    ids = dict(s.execute(select(User.username, User.id)).all())
    assessor = ids.get("hr")
    if "operator" in ids:  # the demo's own operator works on assembly line 1 too
        lines.setdefault("L-CA1", []).append(ids["operator"])
    for username, code, level, ago in LEVELS:
        service.set_skill_level(uow, ids[username], LevelSet(
            skill_id=skills[code], level=level, assessed_on=past - timedelta(days=ago), assessed_by_id=assessor))
    for username, name, issuer, code, issued_ago, expires_in in CERTIFICATIONS:
        service.add_certification(uow, CertificationCreate(
            user_id=ids[username], name=name, issuer=issuer, skill_id=skills[code],
            number=f"{code}-{ids[username]:04d}", issued_on=today - timedelta(days=issued_ago),
            expires_on=today + timedelta(days=expires_in)))
    _training(uow, past, ids, skills)
    _rosters(uow, today, lines)


def _training(uow: UnitOfWork, past: date, ids: dict[str, int], skills: dict[str, int]) -> None:
    leak = service.create_training_plan(uow, TrainingPlanCreate(
        name="气密检测岗位培训（装配线）", description="每条装配线每班至少两名持证气密检测员 / two certified leak testers per "
        "shift on each assembly line", due_on=past + timedelta(days=30), targets=[
            TrainingTargetIn(user_id=ids["lintao"], skill_id=skills["LEAK-TEST"], target_level=2),
            TrainingTargetIn(user_id=ids["guopeng"], skill_id=skills["LEAK-TEST"], target_level=3),
            TrainingTargetIn(user_id=ids["machao"], skill_id=skills["ASSY"], target_level=2),
        ]))
    machining = service.create_training_plan(uow, TrainingPlanCreate(
        name="机加技能提升 2026", description="磨削与数控后备人员 / grinding and CNC back-up",
        due_on=past + timedelta(days=60), targets=[
            TrainingTargetIn(user_id=ids["wugang"], skill_id=skills["CNC"], target_level=2),
            TrainingTargetIn(user_id=ids["hujun"], skill_id=skills["GRIND"], target_level=2),
            TrainingTargetIn(user_id=ids["sunhao"], skill_id=skills["GRIND"], target_level=3,
                             due_on=past - timedelta(days=3)),
        ]))
    # (trainee, skill, trainer, days ago, hours, result, level reached, plan)
    records = [
        ("wugang", "CNC", "huangzq", 30, "16", TrainingResult.PASSED, 1, machining.id),
        ("lintao", "ASSY", "gaofeng", 20, "8", TrainingResult.PASSED, 2, None),
        ("sunhao", "GRIND", "xuli", 12, "12", TrainingResult.PASSED, 2, machining.id),
        ("lintao", "LEAK-TEST", "gaofeng", 5, "4", TrainingResult.FAILED, None, leak.id),
        ("guopeng", "LEAK-TEST", "gaofeng", 3, "6", TrainingResult.PASSED, None, leak.id),
    ]
    for trainee, code, trainer, ago, hours, result, level, plan in records:
        service.record_training(uow, TrainingRecordCreate(
            trainee_id=ids[trainee], skill_id=skills[code], trainer_id=ids[trainer],
            trained_on=past - timedelta(days=ago), hours=Decimal(hours), result=result, level_reached=level,
            plan_id=plan))
    service.record_training(uow, TrainingRecordCreate(
        trainee_id=ids["machao"], skill_id=skills["FIRST-AID"], trainer_name="苏州市红十字会 Red Cross",
        trained_on=past - timedelta(days=40), hours=Decimal(16), result=TrainingResult.PASSED))


def _rosters(uow: UnitOfWork, today: date, lines: dict[str, list[int]]) -> None:
    """This week and next: one person per shift and line, rotating weekly (the demo operator always on line 1's
    morning shift); nobody on Saturday nights and one empty afternoon shift on line 2 — gaps to see."""
    s = uow.session
    monday = today - timedelta(days=today.weekday())
    for code, crew in lines.items():
        line = plant.node_by_code(s, code)
        team = crew[:3]
        for offset in range(14):
            day = monday + timedelta(days=offset)
            week = offset // 7
            for slot, window in enumerate(service.shifts_on(s, line, day)):
                if window.shift_code == "C" and day.weekday() == 5:
                    continue
                if code == "L-CA2" and window.shift_code == "B" and offset == 2:
                    continue
                people_here = [team[(slot + week) % len(team)]]
                if code == "L-CA1" and window.shift_code == "A" and len(crew) > 3:
                    people_here.append(crew[3])
                for user_id in people_here:
                    service.add_roster_entry(uow, RosterEntryCreate(
                        day=day, shift_code=window.shift_code, line_id=line.id, user_id=user_id))
