"""The demo factory: a brake-caliper plant of an auto-parts group, as rows of the import kinds.

Everything here is invented (company, customers, codes) but shaped like a real plant: a machining area that
makes caliper housings, brackets and pistons from castings and bar stock, and an assembly area with two
caliper lines; three shifts six days a week; customers ordering calipers and service kits.
Dates are relative to the day the demo is built, so orders are always due in the coming weeks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from synfab.sim.demo_machines import machine_rows

Row = dict[str, Any]

ENTERPRISE = "HDAP"
SITE = "SZ"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    scope: str  # plant node code


DEMO_PASSWORD = "synfab-demo"
DEMO_USERS = (
    DemoUser("admin", "it_admin", "刘洋 (IT)", ENTERPRISE),
    DemoUser("manager", "manager", "陈强 (厂长)", SITE),
    DemoUser("engineer", "engineer", "李娜 (工艺工程师)", "MACH"),
    DemoUser("quality", "quality", "王芳 (质量)", SITE),
    DemoUser("operator", "operator", "张伟 (操作员)", "L-CA1"),
    DemoUser("procurement", "procurement", "赵敏 (采购)", SITE),
    DemoUser("hr", "hr_training", "孙丽 (人事培训)", SITE),
    DemoUser("supplier", "supplier", "周杰 (供应商)", SITE),
    DemoUser("viewer", "viewer", "吴静 (只读)", SITE),
)

EQUIPMENT_CLASSES = [
    ("CNC-MC", "立式加工中心", "Vertical machining center"),
    ("CNC-LATHE", "数控车床", "CNC lathe"),
    ("DRILL-TAP", "钻攻中心", "Drilling and tapping center"),
    ("GRINDER", "外圆磨床", "Cylindrical grinder"),
    ("WASHER", "清洗机", "Parts washer"),
    ("PRESS", "压装机", "Press-fit station"),
    ("ASSY", "装配工位", "Assembly station"),
    ("LEAK-TEST", "气密检测台", "Leak test bench"),
    ("MARKER", "激光打标机", "Laser marker"),
]

# (code, name, name_en, level, parent, extra)
PLANT = [
    (ENTERPRISE, "华东汽车零部件集团", "East China Auto Parts Group", "enterprise", None, {}),
    (SITE, "苏州制动系统工厂", "Suzhou brake systems plant", "site", ENTERPRISE,
     {"time_zone": "Asia/Shanghai", "calendar": "3S"}),
    ("MACH", "机加车间", "Machining", "area", SITE, {}),
    ("ASSY", "装配车间", "Assembly", "area", SITE, {}),
    ("L-CAL", "卡钳体加工线", "Caliper housing line", "line", "MACH", {}),
    ("L-PIS", "活塞加工线", "Piston line", "line", "MACH", {}),
    ("L-CA1", "卡钳装配一线", "Caliper assembly line 1", "line", "ASSY", {}),
    ("L-CA2", "卡钳装配二线", "Caliper assembly line 2", "line", "ASSY", {}),
    ("CNC-01", "加工中心 1#", "Machining center 1", "work_center", "L-CAL", {"equipment_class": "CNC-MC"}),
    ("CNC-02", "加工中心 2#", "Machining center 2", "work_center", "L-CAL", {"equipment_class": "CNC-MC"}),
    ("DRL-01", "钻攻中心", "Drill-tap center", "work_center", "L-CAL", {"equipment_class": "DRILL-TAP"}),
    ("WSH-01", "卡钳清洗机", "Housing washer", "work_center", "L-CAL", {"equipment_class": "WASHER"}),
    ("LTH-01", "数控车床 1#", "CNC lathe 1", "work_center", "L-PIS", {"equipment_class": "CNC-LATHE"}),
    ("LTH-02", "数控车床 2#", "CNC lathe 2", "work_center", "L-PIS", {"equipment_class": "CNC-LATHE"}),
    ("GRD-01", "外圆磨床", "Cylindrical grinder", "work_center", "L-PIS", {"equipment_class": "GRINDER"}),
    ("WSH-02", "活塞清洗机", "Piston washer", "work_center", "L-PIS", {"equipment_class": "WASHER"}),
    ("AS1-10", "一线活塞压装", "L1 piston press-fit", "work_center", "L-CA1", {"equipment_class": "PRESS"}),
    ("AS1-20", "一线密封装配", "L1 seal assembly", "work_center", "L-CA1", {"equipment_class": "ASSY"}),
    ("AS1-30", "一线气密检测", "L1 leak test", "work_center", "L-CA1", {"equipment_class": "LEAK-TEST"}),
    ("AS1-40", "一线打标包装", "L1 marking and packing", "work_center", "L-CA1", {"equipment_class": "MARKER"}),
    ("AS2-10", "二线活塞压装", "L2 piston press-fit", "work_center", "L-CA2", {"equipment_class": "PRESS"}),
    ("AS2-20", "二线密封装配", "L2 seal assembly", "work_center", "L-CA2", {"equipment_class": "ASSY"}),
    ("AS2-30", "二线气密检测", "L2 leak test", "work_center", "L-CA2", {"equipment_class": "LEAK-TEST"}),
    ("AS2-40", "二线打标包装", "L2 marking and packing", "work_center", "L-CA2", {"equipment_class": "MARKER"}),
    ("RM", "原材料库", "Raw material store", "storage_zone", SITE, {"storage_role": "raw_material"}),
    ("RM-A01", "原材料库 A01", "Raw store A01", "storage_unit", "RM", {}),
    ("RM-A02", "原材料库 A02", "Raw store A02", "storage_unit", "RM", {}),
    ("RM-B01", "原材料库 B01（辅料）", "Raw store B01 (consumables)", "storage_unit", "RM", {}),
    ("FG", "成品库", "Finished goods store", "storage_zone", SITE, {"storage_role": "finished_goods"}),
    ("WIP-MACH", "机加在制品区", "Machining WIP", "storage_zone", "MACH", {"storage_role": "wip"}),
    ("WIP-CA1", "一线线边库", "Line 1 line-side stock", "storage_zone", "L-CA1", {"storage_role": "wip"}),
    ("WIP-CA2", "二线线边库", "Line 2 line-side stock", "storage_zone", "L-CA2", {"storage_role": "wip"}),
]

SHIFTS = [  # calendar 3S: three shifts, Monday to Saturday
    ("A", "早班", "Morning", "06:00", "14:00", "10:00-10:30"),
    ("B", "中班", "Afternoon", "14:00", "22:00", "18:00-18:30"),
    ("C", "夜班", "Night", "22:00", "06:00", "02:00-02:30"),
]
HOLIDAYS = [  # (day, working, note)
    (date(2027, 1, 1), False, "元旦 New Year"),
    *((date(2027, 2, 5) + timedelta(days=i), False, "春节 Spring Festival") for i in range(7)),
    (date(2027, 2, 14), True, "春节调休 make-up working day"),
]

UNITS = [
    ("pcs", "件", "piece", "count"), ("set", "套", "set", "count"), ("box", "箱", "box", "count"),
    ("kg", "千克", "kilogram", "mass"), ("g", "克", "gram", "mass"), ("m", "米", "metre", "length"),
    ("mm", "毫米", "millimetre", "length"), ("L", "升", "litre", "volume"), ("mL", "毫升", "millilitre", "volume"),
]
CONVERSIONS = [  # (from, to, factor, material)
    ("kg", "g", "1000", None), ("m", "mm", "1000", None), ("L", "mL", "1000", None),
    ("box", "pcs", "200", "BLT-M10"), ("box", "pcs", "500", "BLT-M8"), ("box", "pcs", "100", "CLIP-SPR"),
]

MATERIAL_CLASSES = [
    ("ASSY", "制动卡钳总成", "Brake caliper assemblies"), ("MACH", "机加件", "Machined parts"),
    ("CAST", "铸件", "Castings"), ("BAR", "棒料", "Bar stock"), ("SEAL", "密封件", "Seals"),
    ("FAST", "紧固件", "Fasteners"), ("FRIC", "摩擦材料", "Friction material"), ("CHEM", "油脂化学品", "Greases and fluids"),
    ("PACK", "包装材料", "Packaging"), ("MRO", "维修备件", "Maintenance spares"), ("KIT", "售后维修包", "Service kits"),
]

# (code, name, name_en, type, sourcing, unit, class, spec, lot_tracked, shelf_life_days, lead_time_days)
MATERIALS = [
    ("CAL-FR-L", "前制动卡钳总成（左）", "Front brake caliper, left", "finished", "make", "pcs", "ASSY", "双活塞 Φ54", True, None, None),
    ("CAL-FR-R", "前制动卡钳总成（右）", "Front brake caliper, right", "finished", "make", "pcs", "ASSY", "双活塞 Φ54", True, None, None),
    ("CAL-RR-L", "后制动卡钳总成（左）", "Rear brake caliper, left", "finished", "make", "pcs", "ASSY", "单活塞 Φ38", True, None, None),
    ("CAL-RR-R", "后制动卡钳总成（右）", "Rear brake caliper, right", "finished", "make", "pcs", "ASSY", "单活塞 Φ38", True, None, None),
    ("CAL-FR-L-EV", "前制动卡钳总成（左，电动车）", "Front brake caliper, left, EV", "finished", "make", "pcs", "ASSY", "低拖滞", True, None, None),
    ("CAL-FR-R-EV", "前制动卡钳总成（右，电动车）", "Front brake caliper, right, EV", "finished", "make", "pcs", "ASSY", "低拖滞", True, None, None),
    ("KIT-SEAL-54", "前卡钳维修包", "Front caliper repair kit", "finished", "make", "set", "KIT", "密封圈+防尘罩", True, 1095, None),
    ("HSG-FR", "前卡钳体（机加）", "Front caliper housing, machined", "semi_finished", "make", "pcs", "MACH", "QT450", True, None, None),
    ("HSG-RR", "后卡钳体（机加）", "Rear caliper housing, machined", "semi_finished", "make", "pcs", "MACH", "QT450", True, None, None),
    ("BRK-FR", "前卡钳支架（机加）", "Front caliper bracket, machined", "semi_finished", "make", "pcs", "MACH", "QT500", True, None, None),
    ("BRK-RR", "后卡钳支架（机加）", "Rear caliper bracket, machined", "semi_finished", "make", "pcs", "MACH", "QT500", True, None, None),
    ("PIS-54", "活塞 Φ54", "Piston Φ54", "semi_finished", "make", "pcs", "MACH", "镀铬", True, None, None),
    ("PIS-38", "活塞 Φ38", "Piston Φ38", "semi_finished", "make", "pcs", "MACH", "镀铬", True, None, None),
    ("CST-HSG-FR", "前卡钳体铸件", "Front housing casting", "raw", "buy", "pcs", "CAST", "球墨铸铁 QT450-10", True, None, 21),
    ("CST-HSG-RR", "后卡钳体铸件", "Rear housing casting", "raw", "buy", "pcs", "CAST", "球墨铸铁 QT450-10", True, None, 21),
    ("CST-BRK-FR", "前支架铸件", "Front bracket casting", "raw", "buy", "pcs", "CAST", "球墨铸铁 QT500-7", True, None, 21),
    ("CST-BRK-RR", "后支架铸件", "Rear bracket casting", "raw", "buy", "pcs", "CAST", "球墨铸铁 QT500-7", True, None, 21),
    ("BAR-60", "钢棒 Φ60", "Steel bar Φ60", "raw", "buy", "kg", "BAR", "45# 冷拉", True, None, 14),
    ("BAR-42", "钢棒 Φ42", "Steel bar Φ42", "raw", "buy", "kg", "BAR", "45# 冷拉", True, None, 14),
    ("SEAL-P54", "活塞密封圈 Φ54", "Piston seal Φ54", "raw", "buy", "pcs", "SEAL", "EPDM", True, 1095, 30),
    ("SEAL-P38", "活塞密封圈 Φ38", "Piston seal Φ38", "raw", "buy", "pcs", "SEAL", "EPDM", True, 1095, 30),
    ("BOOT-P54", "防尘罩 Φ54", "Dust boot Φ54", "raw", "buy", "pcs", "SEAL", "EPDM", True, 1095, 30),
    ("BOOT-P38", "防尘罩 Φ38", "Dust boot Φ38", "raw", "buy", "pcs", "SEAL", "EPDM", True, 1095, 30),
    ("PIN-GD", "导向销", "Guide pin", "raw", "buy", "pcs", "FAST", "镀锌", True, None, 20),
    ("BLT-M10", "导向销螺栓 M10×1.25", "Guide pin bolt M10×1.25", "raw", "buy", "pcs", "FAST", "10.9 级", True, None, 15),
    ("BLT-M8", "放气螺钉 M8", "Bleeder screw M8", "raw", "buy", "pcs", "FAST", "镀锌", True, None, 15),
    ("CLIP-SPR", "弹簧卡子", "Anti-rattle spring clip", "raw", "buy", "pcs", "FAST", "不锈钢", True, None, 15),
    ("PAD-FR", "前刹车片", "Front brake pad set", "raw", "buy", "set", "FRIC", "低金属", True, None, 25),
    ("PAD-RR", "后刹车片", "Rear brake pad set", "raw", "buy", "set", "FRIC", "低金属", True, None, 25),
    ("GRS-SIL", "硅脂", "Silicone grease", "consumable", "buy", "kg", "CHEM", "耐高温", True, 365, 10),
    ("CNS-COOL", "切削液", "Cutting fluid", "consumable", "buy", "L", "CHEM", "乳化液", True, 540, 10),
    ("PKG-BOX", "包装箱", "Carton", "consumable", "buy", "pcs", "PACK", "瓦楞纸", False, None, 7),
    ("LBL-01", "产品标签", "Product label", "consumable", "buy", "pcs", "PACK", "", False, None, 7),
    ("SP-INSERT", "车刀片 CNMG", "Turning insert CNMG", "spare_part", "buy", "pcs", "MRO", "涂层硬质合金", False, None, 10),
    ("SP-BELT", "清洗机输送带", "Washer conveyor belt", "spare_part", "buy", "pcs", "MRO", "", False, None, 30),
]

CALIPER_LINES = {"CAL-FR-L": 1, "CAL-FR-R": 1, "CAL-FR-L-EV": 1, "CAL-FR-R-EV": 1, "CAL-RR-L": 2, "CAL-RR-R": 2}


def _boms(effective: date) -> list[Row]:
    rows: list[Row] = []

    def bom(parent: str, lines: list[tuple[str, str, str, str]], revision: str = "A", op: dict[str, int] | None = None
            ) -> None:
        for pos, (component, qty, unit, scrap) in enumerate(lines, start=1):
            rows.append({"parent": parent, "revision": revision, "effective_from": effective, "status": "released",
                         "base_quantity": 1, "position": pos * 10, "component": component, "quantity": qty,
                         "unit": unit, "scrap_factor": scrap, "operation_seq": (op or {}).get(component)})

    for side in ("L", "R"):
        for suffix, pad in (("", "PAD-FR"), ("-EV", "PAD-FR")):
            bom(f"CAL-FR-{side}{suffix}", [
                ("HSG-FR", "1", "pcs", "0"), ("BRK-FR", "1", "pcs", "0"), ("PIS-54", "2", "pcs", "0.005"),
                ("SEAL-P54", "2", "pcs", "0.01"), ("BOOT-P54", "2", "pcs", "0.01"), ("PIN-GD", "2", "pcs", "0"),
                ("BLT-M10", "2", "pcs", "0.005"), ("BLT-M8", "1", "pcs", "0.005"), ("CLIP-SPR", "1", "pcs", "0"),
                (pad, "1", "set", "0"), ("GRS-SIL", "6", "g", "0.1"), ("PKG-BOX", "1", "pcs", "0"),
                ("LBL-01", "1", "pcs", "0.02"),
            ], op={"PIS-54": 10, "SEAL-P54": 20, "BOOT-P54": 20, "GRS-SIL": 20, "PKG-BOX": 40, "LBL-01": 40})
        bom(f"CAL-RR-{side}", [
            ("HSG-RR", "1", "pcs", "0"), ("BRK-RR", "1", "pcs", "0"), ("PIS-38", "1", "pcs", "0.005"),
            ("SEAL-P38", "1", "pcs", "0.01"), ("BOOT-P38", "1", "pcs", "0.01"), ("PIN-GD", "2", "pcs", "0"),
            ("BLT-M10", "2", "pcs", "0.005"), ("BLT-M8", "1", "pcs", "0.005"), ("PAD-RR", "1", "set", "0"),
            ("GRS-SIL", "4", "g", "0.1"), ("PKG-BOX", "1", "pcs", "0"), ("LBL-01", "1", "pcs", "0.02"),
        ], op={"PIS-38": 10, "SEAL-P38": 20, "BOOT-P38": 20, "GRS-SIL": 20, "PKG-BOX": 40, "LBL-01": 40})
    bom("KIT-SEAL-54", [("SEAL-P54", "2", "pcs", "0"), ("BOOT-P54", "2", "pcs", "0"), ("GRS-SIL", "10", "g", "0"),
                        ("PKG-BOX", "0.1", "pcs", "0")])
    bom("HSG-FR", [("CST-HSG-FR", "1", "pcs", "0.02"), ("CNS-COOL", "0.05", "L", "0")])
    bom("HSG-RR", [("CST-HSG-RR", "1", "pcs", "0.02"), ("CNS-COOL", "0.04", "L", "0")])
    bom("BRK-FR", [("CST-BRK-FR", "1", "pcs", "0.01")])
    bom("BRK-RR", [("CST-BRK-RR", "1", "pcs", "0.01")])
    bom("PIS-54", [("BAR-60", "0.42", "kg", "0.05")])
    bom("PIS-38", [("BAR-42", "0.21", "kg", "0.05")])
    return rows


def _routings(effective: date) -> list[Row]:
    rows: list[Row] = []

    def routing(material: str, ops: list[tuple[int, str, str, str, str, str | None, int | None]]) -> None:
        for seq, name, wc, setup, run, skill, level in ops:
            rows.append({"material": material, "revision": "A", "effective_from": effective, "status": "released",
                         "seq": seq, "name": name, "work_center": wc, "setup_minutes": setup, "run_minutes": run,
                         "skill": skill, "skill_level": level})

    for suffix in ("FR", "RR"):
        routing(f"HSG-{suffix}", [
            (10, "粗铣安装面 / Rough mill mounting face", "CNC-01", "30", "4.5" if suffix == "FR" else "3.6", "CNC", 2),
            (20, "精镗缸孔 / Finish bore cylinder", "CNC-02", "25", "3.8" if suffix == "FR" else "2.9", "CNC", 3),
            (30, "钻孔攻丝 / Drill and tap", "DRL-01", "15", "2.0", "CNC", 2),
            (40, "清洗 / Wash", "WSH-01", "5", "0.5", None, None),
        ])
        routing(f"BRK-{suffix}", [
            (10, "铣支架 / Mill bracket", "CNC-01", "20", "2.4", "CNC", 2),
            (20, "钻安装孔 / Drill mounting holes", "DRL-01", "10", "1.2", "CNC", 1),
        ])
    for dia, run in (("54", "1.4"), ("38", "1.0")):
        routing(f"PIS-{dia}", [
            (10, "车削 / Turn", "LTH-01" if dia == "54" else "LTH-02", "20", run, "CNC", 2),
            (20, "磨外圆 / Grind OD", "GRD-01", "25", "0.9", "GRIND", 2),
            (30, "清洗 / Wash", "WSH-02", "5", "0.3", None, None),
        ])
    for material, line in CALIPER_LINES.items():
        rows_before = len(rows)
        routing(material, [
            (10, "活塞压装 / Press-fit pistons", f"AS{line}-10", "10", "0.8", "ASSY", 1),
            (20, "密封与防尘罩装配 / Seals and boots", f"AS{line}-20", "5", "1.1", "ASSY", 1),
            (30, "气密检测 / Leak test", f"AS{line}-30", "5", "0.6", "LEAK-TEST", 2),
            (40, "打标包装 / Mark and pack", f"AS{line}-40", "5", "0.5", None, None),
        ])
        assert len(rows) == rows_before + 4
    routing("KIT-SEAL-54", [(10, "配套包装 / Kit and pack", "AS1-40", "10", "0.4", None, None)])
    return rows


CUSTOMERS = [
    ("C001", "江南汽车有限公司", "王经理", "0512-6588 1001"), ("C002", "北方重型卡车股份有限公司", "刘工", "0431-8899 2002"),
    ("C003", "东海新能源汽车有限公司", "陈总", "0574-8765 3003"), ("C004", "西部客车制造有限公司", "赵经理", "028-8623 4004"),
    ("C005", "南方汽车集团采购中心", "孙女士", "020-3888 5005"), ("C006", "长江汽配贸易有限公司", "周先生", "027-8765 6006"),
    ("C007", "华中整车制造有限公司", "吴经理", "0731-8456 7007"), ("C008", "海天电动车科技有限公司", "郑工", "0755-2666 8008"),
    ("C009", "星辰汽车有限公司", "冯经理", "0571-8777 9009"), ("C010", "远航汽车售后服务有限公司", "钱先生", "021-5999 1010"),
]
AFTERMARKET = {"C006", "C010"}


def _orders(today: date, rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    oem_products = list(CALIPER_LINES)
    for n in range(1, 51):
        customer = CUSTOMERS[(n * 7) % len(CUSTOMERS)][0]
        ordered = today - timedelta(days=rng.randint(1, 30))
        products = ["KIT-SEAL-54", "CAL-FR-L", "CAL-FR-R"] if customer in AFTERMARKET else oem_products
        picked = rng.sample(products, k=rng.randint(1, min(3, len(products))))
        priority = rng.choices(["1", "2", "3", "4"], weights=[1, 3, 10, 2])[0]
        for line_no, material in enumerate(picked, start=1):
            due = today + timedelta(days=rng.randint(3, 56))
            qty = rng.choice([100, 200, 240, 300, 400, 500, 600, 800, 1000, 1200])
            rows.append({"order": f"SO-{today:%y%m}-{n:04d}", "customer": customer, "site": SITE, "order_date": ordered,
                         "customer_po": f"PO{ordered:%Y%m%d}{n:03d}", "priority": priority, "line_no": line_no * 10,
                         "material": material, "quantity": qty, "unit": "set" if material.startswith("KIT") else "pcs",
                         "due_date": due})
    return rows


# (material, location, lots, quantity per lot)
STOCK = [
    ("CST-HSG-FR", "RM-A01", 3, 900), ("CST-HSG-RR", "RM-A01", 2, 800), ("CST-BRK-FR", "RM-A02", 2, 1000),
    ("CST-BRK-RR", "RM-A02", 2, 700), ("BAR-60", "RM-A02", 2, 1500), ("BAR-42", "RM-A02", 2, 900),
    ("SEAL-P54", "RM-B01", 3, 4000), ("SEAL-P38", "RM-B01", 2, 2500), ("BOOT-P54", "RM-B01", 2, 3000),
    ("BOOT-P38", "RM-B01", 2, 2000), ("PIN-GD", "RM-B01", 2, 6000), ("BLT-M10", "RM-B01", 2, 8000),
    ("BLT-M8", "RM-B01", 1, 5000), ("CLIP-SPR", "RM-B01", 1, 3000), ("PAD-FR", "RM-A01", 2, 1500),
    ("PAD-RR", "RM-A01", 2, 1200), ("GRS-SIL", "RM-B01", 2, 25), ("CNS-COOL", "RM-B01", 1, 400),
    ("PKG-BOX", "RM-B01", 1, 5000), ("LBL-01", "RM-B01", 1, 20000),
    ("HSG-FR", "WIP-MACH", 2, 300), ("BRK-FR", "WIP-MACH", 1, 450), ("PIS-54", "WIP-MACH", 2, 800),
    ("PIS-38", "WIP-MACH", 1, 500), ("HSG-RR", "WIP-MACH", 1, 200), ("BRK-RR", "WIP-MACH", 1, 250),
    ("PIS-54", "WIP-CA1", 1, 240), ("SEAL-P54", "WIP-CA1", 1, 500),
    ("CAL-FR-L", "FG", 2, 180), ("CAL-FR-R", "FG", 2, 160), ("CAL-RR-L", "FG", 1, 220), ("KIT-SEAL-54", "FG", 1, 300),
]


def _stock(today: date, rng: random.Random) -> list[Row]:
    shelf = {m[0]: m[9] for m in MATERIALS}
    rows: list[Row] = []
    serial = 0
    for material, location, lots, qty in STOCK:
        for _ in range(lots):
            serial += 1
            received = today - timedelta(days=rng.randint(3, 60))
            life = shelf.get(material)
            expires = received + timedelta(days=life) if life else None
            if material == "GRS-SIL" and serial % 2:  # one grease lot close to its expiry date
                expires = today + timedelta(days=12)
            rows.append({"location": location, "material": material, "lot": f"L{received:%y%m%d}-{serial:03d}",
                         "quantity": Decimal(qty) - rng.randint(0, 5) * (Decimal(qty) / 50),
                         "received_on": received, "expires_on": expires,
                         "supplier_lot": None if location.startswith(("WIP", "FG")) else f"S{rng.randint(10000, 99999)}",
                         "status": "hold" if material == "SEAL-P38" and serial % 2 == 0 else "available"})
    return rows


def demo_rows(today: date) -> dict[str, list[Row]]:
    """Rows of every import kind for the demo factory, in kind order; deterministic for a given day."""
    rng = random.Random(2026)
    effective = today - timedelta(days=365)
    return {
        "equipment_classes": [{"code": c, "name": n, "name_en": e} for c, n, e in EQUIPMENT_CLASSES],
        "shift_calendars": [{"calendar": "3S", "calendar_name": "三班倒（周一至周六）", "shift": s, "shift_name": n,
                             "shift_name_en": e, "start": a, "end": b, "weekdays": "1-6", "breaks": br}
                            for s, n, e, a, b, br in SHIFTS],
        "holidays": [{"calendar": "3S", "day": d, "working": w, "note": note} for d, w, note in HOLIDAYS],
        "plant": [{"code": c, "name": n, "name_en": e, "level": lv, "parent": p, **extra}
                  for c, n, e, lv, p, extra in PLANT],
        "units": [{"code": c, "name": n, "name_en": e, "dimension": d} for c, n, e, d in UNITS],
        "material_classes": [{"code": c, "name": n, "name_en": e} for c, n, e in MATERIAL_CLASSES],
        "materials": [{"code": c, "name": n, "name_en": e, "type": t, "sourcing": s, "unit": u, "class": k,
                       "specification": spec, "lot_tracked": lot, "shelf_life_days": life, "lead_time_days": lead}
                      for c, n, e, t, s, u, k, spec, lot, life, lead in MATERIALS],
        "unit_conversions": [{"from_unit": a, "to_unit": b, "factor": f, "material": m} for a, b, f, m in CONVERSIONS],
        "boms": _boms(effective),
        "routings": _routings(effective),
        "external_ids": [
            {"system": "ERP", "kind": "material", "external_code": f"1000{i:04d}", "code": m[0]}
            for i, m in enumerate(MATERIALS, start=1)
        ],
        "customers": [{"code": c, "name": n, "contact": contact, "phone": phone} for c, n, contact, phone in CUSTOMERS],
        "sales_orders": _orders(today, rng),
        "stock": _stock(today, rng),
        **machine_rows([c for c, _n, _e in EQUIPMENT_CLASSES]),
    }
