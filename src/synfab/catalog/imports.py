"""Catalog kinds for Excel/CSV import and export: units, conversions, material classes, materials, BOMs,
routings and the data dictionary of external codes.

Rows name other records by code — ours or another system's (the import's `system`) — through `code_index`.
Each kind writes through the catalog services, so a row is held to the same rules as a change made on a page.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from synfab.catalog import service
from synfab.catalog.choices import Dimension, DocumentStatus, MaterialType, Sourcing
from synfab.catalog.models import Bom, ExternalId, Material, MaterialClass, Routing, Unit, UnitConversion
from synfab.catalog.schemas import (
    BomCreate, BomLineIn, BomUpdate, ConversionCreate, MaterialClassCreate, MaterialClassUpdate, MaterialCreate,
    MaterialUpdate, OperationIn, RoutingCreate, RoutingUpdate, UnitCreate, UnitUpdate,
)
from synfab.connect.files.spec import (
    Column, ImportContext, ImportKind, Row, choice_parser, group_rows, header_value, parse_bool, parse_date, parse_decimal,
    parse_int, parse_text, same_header,
)
from synfab.core.errors import DomainError
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant.models import EquipmentClass, PlantNode

EXTERNAL_KINDS = ("material", "unit", "customer", "plant_node")


MATERIAL, UNIT, COMPONENT = _l("material"), _l("unit of measure"), _l("component")


# -- units and conversions -------------------------------------------------------------------------------------

class UnitKind(ImportKind):
    name = "units"
    title = _l("Units of measure")
    sheet_names = ("计量单位", "单位", "units", "UoM")
    permission = "material.create"
    view_permission = "material.view"
    columns = (
        Column("code", "Code", "编码", required=True, aliases=("unit", "单位编码"), example="pcs"),
        Column("name", "Name", "名称", required=True, example="件"),
        Column("name_en", "English name", "英文名称", example="piece"),
        Column("dimension", "Dimension", "量纲", choice_parser(Dimension), example="计数",
               help=_l("What it measures: count, mass, length, area, volume, time or energy.")),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        existing = {u.code: u for u in uow.session.scalars(select(Unit))}
        for row in rows:
            if not row.ok:
                continue
            v = row.values
            unit = existing.get(v["code"])
            fields = {"name": v["name"], "name_en": v.get("name_en"), "dimension": v.get("dimension") or Dimension.COUNT}
            if unit is None:
                existing[v["code"]] = service.create_unit(uow, UnitCreate(code=v["code"], **fields))
                ctx.count("created")
            elif any(getattr(unit, k) != val for k, val in fields.items()):
                service.update_unit(uow, unit.id, UnitUpdate(version=unit.version, **fields))
                ctx.count("updated")
            else:
                ctx.count("unchanged")

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        for u in service.list_units(session):
            yield {"code": u.code, "name": u.name, "name_en": u.name_en, "dimension": u.dimension}


class UnitConversionKind(ImportKind):
    name = "unit_conversions"
    title = _l("Unit conversions")
    sheet_names = ("单位换算", "换算", "conversions", "unit conversions")
    key = ("from_unit", "to_unit", "material")
    depends_on = ("units", "materials")
    permission = "material.create"
    view_permission = "material.view"
    columns = (
        Column("from_unit", "From unit", "原单位", required=True, example="box"),
        Column("factor", "Factor", "换算系数", parse_decimal, required=True, example="200",
               help=_l("1 from-unit = factor × to-unit.")),
        Column("to_unit", "To unit", "目标单位", required=True, example="pcs"),
        Column("material", "Material", "物料编码", aliases=("物料",), example="BLT-M10",
               help=_l("Only for this material (1 box of bolts = 200 pcs); empty for every material.")),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        units = service.code_index(s, "unit", ctx.system)
        materials = service.code_index(s, "material", ctx.system)
        existing: dict[tuple[int, int, int | None], UnitConversion] = {}
        for c in s.scalars(select(UnitConversion)):
            existing[(c.from_unit_id, c.to_unit_id, c.material_id)] = c
            existing[(c.to_unit_id, c.from_unit_id, c.material_id)] = c
        for row in rows:
            src = ctx.resolve(row, "from_unit", units, UNIT)
            dst = ctx.resolve(row, "to_unit", units, UNIT)
            material = ctx.resolve(row, "material", materials, MATERIAL)
            if not row.ok or src is None or dst is None:
                continue
            factor = row.values["factor"]
            found = existing.get((src, dst, material))
            if found is not None:
                same = factor if found.from_unit_id == src else (1 / factor if factor else None)
                if same is not None and abs(found.factor - same) <= Decimal("1e-9") * max(Decimal(1), abs(same)):
                    ctx.count("unchanged")
                    continue
                service.remove_conversion(uow, found.id)
            try:
                conv = service.add_conversion(uow, ConversionCreate(from_unit_id=src, to_unit_id=dst, factor=factor,
                                                                    material_id=material))
            except DomainError as exc:
                ctx.refused(row, exc, {"conversion_factor": "factor", "conversion_same_unit": "to_unit",
                                       "conversion_needs_material": "material"})
                continue
            existing[(src, dst, material)] = existing[(dst, src, material)] = conv
            ctx.count("updated" if found is not None else "created")

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        for c in service.list_conversions(session):
            yield {"from_unit": c.from_unit.code, "factor": c.factor, "to_unit": c.to_unit.code,
                   "material": c.material.code if c.material else None}


# -- materials ------------------------------------------------------------------------------------------------

class MaterialClassKind(ImportKind):
    name = "material_classes"
    title = _l("Material classes")
    sheet_names = ("物料类别", "物料分类", "material classes")
    permission = "material.create"
    view_permission = "material.view"
    columns = (
        Column("code", "Code", "编码", required=True, aliases=("类别编码",), example="CAST"),
        Column("name", "Name", "名称", required=True, example="铸件"),
        Column("name_en", "English name", "英文名称", example="Castings"),
        Column("parent", "Parent", "上级类别", aliases=("上级编码",), example=""),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        existing = {c.code: c for c in s.scalars(select(MaterialClass))}
        pending = [r for r in rows if r.ok]
        # Parents first: a row waits until its parent exists; what never gets placed points at nothing or loops.
        while pending:
            placed = []
            for row in pending:
                parent_code = row.values.get("parent")
                if parent_code and parent_code not in existing:
                    continue
                placed.append(row)
                self._upsert(uow, row, existing, ctx)
            if not placed:
                in_file = {r.values["code"] for r in pending}
                for row in pending:
                    code = row.values["parent"]
                    if code in in_file:
                        ctx.error(row, "parent", "material_class_cycle", _l(
                            "The parent classes form a cycle through {code}.", code=code))
                    else:
                        ctx.error(row, "parent", "material_class_not_found", _l(
                            "There is no material class {code}.", code=code))
                break
            pending = [r for r in pending if r not in placed]

    def _upsert(self, uow: UnitOfWork, row: Row, existing: dict[str, MaterialClass], ctx: ImportContext) -> None:
        v = row.values
        parent = existing[v["parent"]].id if v.get("parent") else None
        found = existing.get(v["code"])
        try:
            if found is None:
                existing[v["code"]] = service.create_material_class(uow, MaterialClassCreate(
                    code=v["code"], name=v["name"], name_en=v.get("name_en"), parent_id=parent))
                ctx.count("created")
            elif (found.name, found.name_en, found.parent_id) != (v["name"], v.get("name_en"), parent):
                service.update_material_class(uow, found.id, MaterialClassUpdate(
                    version=found.version, name=v["name"], name_en=v.get("name_en"), parent_id=parent))
                ctx.count("updated")
            else:
                ctx.count("unchanged")
        except DomainError as exc:
            ctx.refused(row, exc, {"material_class_cycle": "parent"})

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        classes = service.list_material_classes(session)
        codes = {c.id: c.code for c in classes}
        for c in classes:
            yield {"code": c.code, "name": c.name, "name_en": c.name_en, "parent": codes.get(c.parent_id or 0)}


class MaterialKind(ImportKind):
    name = "materials"
    title = _l("Materials")
    sheet_names = ("物料", "物料主数据", "物料清单主数据", "items", "material master")
    depends_on = ("units", "material_classes")
    permission = "material.create"
    view_permission = "material.view"
    export_filters = ("type", "class_id", "sourcing", "q", "active")
    columns = (
        Column("code", "Code", "物料编码", required=True, aliases=("编码", "料号", "item", "material code"),
               example="CAL-FR-L"),
        Column("name", "Name", "物料名称", required=True, aliases=("名称", "品名"), example="前制动卡钳总成（左）"),
        Column("name_en", "English name", "英文名称", example="Front brake caliper, left"),
        Column("type", "Type", "物料类型", choice_parser(MaterialType), required=True, aliases=("类型",),
               example="成品", help=_l("Raw material, semi-finished, finished good, consumable or spare part.")),
        Column("sourcing", "Make or buy", "来源", choice_parser(Sourcing), aliases=("自制/外购", "sourcing"),
               example="自制", help=_l("Make or buy; default buy.")),
        Column("unit", "Unit", "计量单位", required=True, aliases=("单位", "base unit"), example="pcs"),
        Column("class", "Class", "物料类别", aliases=("类别", "material class"), example="ASSY"),
        Column("specification", "Specification", "规格型号", lambda v: parse_text(v, 2000), aliases=("规格",)),
        Column("lot_tracked", "Lot tracked", "批次管理", parse_bool, example="是"),
        Column("shelf_life_days", "Shelf life (days)", "保质期（天）", parse_int, example="365"),
        Column("lead_time_days", "Lead time (days)", "采购提前期（天）", parse_int, aliases=("提前期",), example="14"),
        Column("active", "Active", "启用", parse_bool, example="是"),
    )
    ERROR_COLUMNS = {"material_code_taken": "code", "unit_not_found": "unit", "material_unit_in_use": "unit",
                     "material_class_not_found": "class"}

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        units = service.code_index(s, "unit", ctx.system)
        classes = {c.code: c.id for c in s.scalars(select(MaterialClass))}
        existing = {m.code: m for m in s.scalars(select(Material))}
        for row in rows:
            unit = ctx.resolve(row, "unit", units, UNIT)
            class_code = row.values.get("class")
            if class_code and class_code not in classes:
                ctx.error(row, "class", "material_class_not_found",
                          _l("There is no material class {code}.", code=class_code))
            if not row.ok or unit is None:
                continue
            v = row.values
            fields = {
                "name": v["name"], "name_en": v.get("name_en"), "type": v["type"],
                "sourcing": v.get("sourcing") or Sourcing.BUY, "unit_id": unit, "class_id": classes.get(class_code or ""),
                "specification": v.get("specification") or None,
                "lot_tracked": True if v.get("lot_tracked") is None else v["lot_tracked"],
                "shelf_life_days": v.get("shelf_life_days"), "lead_time_days": v.get("lead_time_days"),
                "active": True if v.get("active") is None else v["active"],
            }
            found = existing.get(v["code"])
            try:
                if found is None:
                    existing[v["code"]] = service.create_material(uow, MaterialCreate(code=v["code"], **fields))
                    ctx.count("created")
                    continue
                changed = {k: val for k, val in fields.items() if getattr(found, k) != val}
                if changed:
                    service.update_material(uow, found.id, MaterialUpdate(version=found.version, **changed))
                    ctx.count("updated")
                else:
                    ctx.count("unchanged")
            except DomainError as exc:
                ctx.refused(row, exc, self.ERROR_COLUMNS)

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        class_id = int(filters["class_id"]) if filters.get("class_id", "").isdigit() else None
        active = {"true": True, "false": False}.get(filters.get("active", ""))
        stmt = service.material_query(type=filters.get("type") or None, class_id=class_id,
                                      sourcing=filters.get("sourcing") or None, q=filters.get("q") or None,
                                      active=active)
        for m in session.scalars(stmt).unique():
            yield {"code": m.code, "name": m.name, "name_en": m.name_en, "type": m.type, "sourcing": m.sourcing,
                   "unit": m.unit.code, "class": m.material_class.code if m.material_class else None,
                   "specification": m.specification, "lot_tracked": m.lot_tracked,
                   "shelf_life_days": m.shelf_life_days, "lead_time_days": m.lead_time_days, "active": m.active}


# -- BOMs and routings: one row per line, grouped into revisions ------------------------------------------------

REVISION_COLUMNS = (
    Column("revision", "Revision", "版本", required=True, aliases=("版本号", "rev"), example="A"),
    Column("status", "Status", "状态", choice_parser(DocumentStatus), example="已发布",
           help=_l("Draft, released or obsolete; default draft.")),
    Column("effective_from", "Effective from", "生效日期", parse_date, example="2026-01-01"),
    Column("effective_to", "Effective to", "失效日期", parse_date, help=_l("Empty: open-ended.")),
)


def _apply_status(uow: UnitOfWork, record: Bom | Routing, wanted: DocumentStatus) -> bool:
    """Move a revision to the status the file asks for; True if it changed."""
    if record.status == wanted:
        return False
    if wanted == DocumentStatus.RELEASED:
        (service.release_bom if isinstance(record, Bom) else service.release_routing)(uow, record.id)
    elif wanted == DocumentStatus.OBSOLETE:
        (service.obsolete_bom if isinstance(record, Bom) else service.obsolete_routing)(uow, record.id)
    else:
        raise DomainError("revision_back_to_draft", _l(
            "A {status} revision cannot go back to draft; create a new revision instead.", status=record.status.label))
    return True


class BomKind(ImportKind):
    """One row per BOM line; the rows with the same parent and revision are one BOM revision."""

    name = "boms"
    title = _l("Bills of materials")
    sheet_names = ("BOM", "物料清单", "bill of materials", "boms")
    key = ("parent", "revision", "position")
    depends_on = ("materials", "unit_conversions")
    permission = "bom.create"
    view_permission = "bom.view"
    export_filters = ("material_id", "status")
    columns = (
        Column("parent", "Parent material", "父件编码", required=True, aliases=("父件", "产品编码", "parent"),
               example="CAL-FR-L"),
        *REVISION_COLUMNS,
        Column("base_quantity", "Base quantity", "基本数量", parse_decimal, example="1",
               help=_l("Component quantities are per this many parents; default 1.")),
        Column("position", "Position", "行号", parse_int, aliases=("序号", "项次"), example="10"),
        Column("component", "Component", "子件编码", required=True, aliases=("子件", "component code"), example="HSG-FR"),
        Column("quantity", "Quantity", "用量", parse_decimal, required=True, aliases=("数量",), example="1"),
        Column("unit", "Unit", "单位", example="pcs", help=_l("Default: the component's base unit.")),
        Column("scrap_factor", "Scrap factor", "损耗率", parse_decimal, example="0.02",
               help=_l("0.02 means 2 % more is issued than the product needs.")),
        Column("operation_seq", "Operation", "工序号", parse_int, example="10",
               help=_l("The routing step that consumes it (for backflush).")),
        Column("backflush", "Backflush", "倒冲", parse_bool, example="否",
               help=_l("Yes: consumed by itself from line-side WIP when its operation reports output.")),
    )
    HEADER = ("status", "effective_from", "effective_to", "base_quantity")
    ERROR_COLUMNS = {"bom_cycle": "component", "bom_quantity": "quantity", "bom_scrap_factor": "scrap_factor",
                     "bom_unit_not_convertible": "unit", "bom_position": "position", "bom_position_repeated": "position",
                     "revision_overlap": "effective_from", "revision_dates": "effective_to", "bom_obsolete": "status",
                     "bom_base_quantity": "base_quantity", "bom_empty": "component", "revision_back_to_draft": "status",
                     "bom_operation_seq": "operation_seq"}

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        materials = service.code_index(s, "material", ctx.system)
        units = service.code_index(s, "unit", ctx.system)
        groups = group_rows(rows, "parent", "revision")
        resolved: dict[tuple[str, str], tuple[int, list[BomLineIn]]] = {}
        for key, group in groups.items():
            parent = ctx.resolve(group[0], "parent", materials, MATERIAL)
            lines = []
            for row in group:
                component = ctx.resolve(row, "component", materials, COMPONENT)
                unit = ctx.resolve(row, "unit", units, UNIT)
                if row.ok and component is not None:
                    lines.append(BomLineIn(position=row.values.get("position"), component_id=component,
                                           quantity=row.values["quantity"], unit_id=unit,
                                           scrap_factor=row.values.get("scrap_factor") or Decimal(0),
                                           operation_seq=row.values.get("operation_seq"),
                                           backflush=bool(row.values.get("backflush"))))
            if same_header(ctx, group, self.HEADER) and parent is not None and all(r.ok for r in group):
                resolved[key] = (parent, lines)
        existing = {(b.material_id, b.revision): b for b in s.scalars(select(Bom).options(selectinload(Bom.lines)))}
        self._refuse_cycles(s, groups, resolved, existing, ctx)
        for key, (parent, lines) in resolved.items():
            group = groups[key]
            if not all(r.ok for r in group):
                continue
            try:
                self._save(uow, key[1], parent, lines, group, existing.get((parent, key[1])), ctx)
            except DomainError as exc:
                ctx.refused(group[0], exc, self.ERROR_COLUMNS)

    def _refuse_cycles(self, session: Session, groups: dict[tuple[str, str], list[Row]],
                       resolved: dict[tuple[str, str], tuple[int, list[BomLineIn]]],
                       existing: dict[tuple[int, str], Bom], ctx: ImportContext) -> None:
        """Check the whole file's lines together: a cycle may run through several BOMs of one workbook."""
        edges, where = [], {}
        for key, (parent, lines) in resolved.items():
            status = header_value(groups[key], "status", DocumentStatus.DRAFT)
            if status == DocumentStatus.OBSOLETE:
                continue
            for line, row in zip(lines, [r for r in groups[key] if r.ok], strict=False):
                edges.append((parent, line.component_id))
                where.setdefault((parent, line.component_id), row)
        replacing = [existing[(p, rev)].id for (_, rev), (p, _) in resolved.items() if (p, rev) in existing]
        codes = dict(session.execute(select(Material.code, Material.id)).all())
        for cycle in service.find_bom_cycles(session, edges, replacing_bom_ids=replacing):
            first = next((where[(codes.get(a), codes.get(b))] for a, b in zip(cycle, cycle[1:], strict=False)
                          if (codes.get(a), codes.get(b)) in where), None)
            ctx.error(first, "component", "bom_cycle", _l(
                "These BOM lines would make a material contain itself: {cycles}.", cycles=" → ".join(cycle)))

    def _save(self, uow: UnitOfWork, revision: str, parent: int, lines: list[BomLineIn], group: list[Row],
              found: Bom | None, ctx: ImportContext) -> None:
        status = header_value(group, "status", DocumentStatus.DRAFT)
        effective_from = header_value(group, "effective_from")
        effective_to = header_value(group, "effective_to")
        base = header_value(group, "base_quantity", Decimal(1))
        if found is None:
            service.create_bom(uow, BomCreate(material_id=parent, revision=revision, status=status,
                                              effective_from=effective_from, effective_to=effective_to,
                                              base_quantity=base, lines=lines))
            ctx.result.created += len(group)
            return
        base_units = {m.id: m.unit_id for m in uow.session.scalars(
            select(Material).where(Material.id.in_([ln.component_id for ln in lines])))}
        wanted = sorted((ln.position or (i + 1) * 10, ln.component_id, ln.quantity, ln.unit_id or base_units[ln.component_id],
                         ln.scrap_factor, ln.operation_seq, ln.backflush) for i, ln in enumerate(lines))
        current = sorted((ln.position, ln.component_id, ln.quantity, ln.unit_id, ln.scrap_factor, ln.operation_seq,
                          ln.backflush) for ln in found.lines)
        header_same = (found.effective_from == (effective_from or found.effective_from)
                       and found.effective_to == effective_to and found.base_quantity == base)
        changed = False
        if wanted != current or not header_same:
            if found.status == DocumentStatus.OBSOLETE:
                raise DomainError("bom_obsolete", _l(
                    "Revision {revision} is obsolete and cannot change; give the BOM a new revision.", revision=revision))
            service.update_bom(uow, found.id, BomUpdate(
                version=found.version, effective_from=effective_from, effective_to=effective_to, base_quantity=base,
                lines=lines if wanted != current else None))
            changed = True
        changed = _apply_status(uow, found, status) or changed
        if changed:
            ctx.result.updated += len(group)
        else:
            ctx.result.unchanged += len(group)

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        material_id = int(filters["material_id"]) if filters.get("material_id", "").isdigit() else None
        stmt = service.bom_query(material_id=material_id, status=filters.get("status") or None)
        for bom in session.scalars(stmt.options(selectinload(Bom.lines))).unique():
            for ln in bom.lines:
                yield {"parent": bom.material.code, "revision": bom.revision, "status": bom.status,
                       "effective_from": bom.effective_from, "effective_to": bom.effective_to,
                       "base_quantity": bom.base_quantity, "position": ln.position, "component": ln.component.code,
                       "quantity": ln.quantity, "unit": ln.unit.code, "scrap_factor": ln.scrap_factor,
                       "operation_seq": ln.operation_seq, "backflush": ln.backflush}


class RoutingKind(ImportKind):
    """One row per operation; the rows with the same material and revision are one routing revision."""

    name = "routings"
    title = _l("Routings")
    sheet_names = ("工艺路线", "工艺", "routings", "routing")
    key = ("material", "revision", "seq")
    depends_on = ("materials",)
    permission = "routing.create"
    view_permission = "routing.view"
    export_filters = ("material_id", "status")
    columns = (
        Column("material", "Material", "物料编码", required=True, aliases=("产品编码", "物料"), example="HSG-FR"),
        *REVISION_COLUMNS,
        Column("seq", "Operation", "工序号", parse_int, required=True, aliases=("工序", "operation no"), example="10"),
        Column("name", "Operation name", "工序名称", required=True, example="粗铣安装面"),
        Column("work_center", "Work center", "工作中心", aliases=("工位", "设备编码"), example="CNC-01"),
        Column("equipment_class", "Equipment class", "设备类别", example="CNC-MC",
               help=_l("Any machine of this class, when no work center is named.")),
        Column("setup_minutes", "Setup (min)", "准备时间（分钟）", parse_decimal, aliases=("准备时间",), example="30"),
        Column("run_minutes", "Run per unit (min)", "单件工时（分钟）", parse_decimal, aliases=("单件时间", "加工时间"),
               example="4.5"),
        Column("skill", "Skill", "技能要求", aliases=("技能",), example="CNC"),
        Column("skill_level", "Skill level", "技能等级", parse_int, example="2", help=_l("1 to 4.")),
        Column("description", "Description", "工序说明", lambda v: parse_text(v, 2000)),
    )
    HEADER = ("status", "effective_from", "effective_to")
    ERROR_COLUMNS = {"operation_resource_missing": "work_center", "operation_work_center_level": "work_center",
                     "operation_work_center_missing": "work_center", "equipment_class_not_found": "equipment_class",
                     "operation_time_negative": "run_minutes", "operation_skill_level": "skill_level",
                     "operation_skill_missing": "skill", "operation_seq": "seq", "operation_seq_repeated": "seq",
                     "revision_overlap": "effective_from", "revision_dates": "effective_to", "routing_obsolete": "status",
                     "revision_back_to_draft": "status", "routing_empty": "seq"}

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        materials = service.code_index(s, "material", ctx.system)
        nodes = dict(s.execute(select(PlantNode.code, PlantNode.id)).all())
        classes = dict(s.execute(select(EquipmentClass.code, EquipmentClass.id)).all())
        existing = {(r.material_id, r.revision): r
                    for r in s.scalars(select(Routing).options(selectinload(Routing.operations)))}
        for (_, revision), group in group_rows(rows, "material", "revision").items():
            material = ctx.resolve(group[0], "material", materials, MATERIAL)
            operations = []
            for row in group:
                v = row.values
                for key, table, what in (("work_center", nodes, _l("plant node")),
                                         ("equipment_class", classes, _l("equipment class"))):
                    if v.get(key) and v[key] not in table:
                        ctx.error(row, key, f"{key}_not_found", _l("There is no {what} {code}.", what=what, code=v[key]))
                if row.ok:
                    operations.append(OperationIn(
                        seq=v["seq"], name=v["name"], work_center_id=nodes.get(v.get("work_center") or ""),
                        equipment_class_id=classes.get(v.get("equipment_class") or ""),
                        setup_minutes=v.get("setup_minutes") or Decimal(0), run_minutes=v.get("run_minutes") or Decimal(0),
                        required_skill=v.get("skill"), required_skill_level=v.get("skill_level"),
                        description=v.get("description")))
            if not same_header(ctx, group, self.HEADER) or material is None or not all(r.ok for r in group):
                continue
            try:
                self._save(uow, material, revision, operations, group, existing.get((material, revision)), ctx)
            except DomainError as exc:
                ctx.refused(group[0], exc, self.ERROR_COLUMNS)

    def _save(self, uow: UnitOfWork, material: int, revision: str, operations: list[OperationIn], group: list[Row],
              found: Routing | None, ctx: ImportContext) -> None:
        status = header_value(group, "status", DocumentStatus.DRAFT)
        effective_from, effective_to = header_value(group, "effective_from"), header_value(group, "effective_to")
        if found is None:
            service.create_routing(uow, RoutingCreate(material_id=material, revision=revision, status=status,
                                                      effective_from=effective_from, effective_to=effective_to,
                                                      operations=operations))
            ctx.result.created += len(group)
            return
        def shape(ops: Iterable[Any]) -> list[tuple[Any, ...]]:
            return sorted((o.seq, o.name, o.work_center_id, o.equipment_class_id, Decimal(o.setup_minutes),
                           Decimal(o.run_minutes), o.required_skill, o.required_skill_level, o.description)
                          for o in ops)
        same_ops = shape(operations) == shape(found.operations)
        header_same = (found.effective_from == (effective_from or found.effective_from)
                       and found.effective_to == effective_to)
        changed = False
        if not same_ops or not header_same:
            service.update_routing(uow, found.id, RoutingUpdate(
                version=found.version, effective_from=effective_from, effective_to=effective_to,
                operations=None if same_ops else operations))
            changed = True
        changed = _apply_status(uow, found, status) or changed
        if changed:
            ctx.result.updated += len(group)
        else:
            ctx.result.unchanged += len(group)

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        material_id = int(filters["material_id"]) if filters.get("material_id", "").isdigit() else None
        nodes = dict(session.execute(select(PlantNode.id, PlantNode.code)).all())
        classes = dict(session.execute(select(EquipmentClass.id, EquipmentClass.code)).all())
        stmt = service.routing_query(material_id=material_id, status=filters.get("status") or None)
        for r in session.scalars(stmt.options(selectinload(Routing.operations))).unique():
            for op in r.operations:
                yield {"material": r.material.code, "revision": r.revision, "status": r.status,
                       "effective_from": r.effective_from, "effective_to": r.effective_to, "seq": op.seq,
                       "name": op.name, "work_center": nodes.get(op.work_center_id or 0),
                       "equipment_class": classes.get(op.equipment_class_id or 0), "setup_minutes": op.setup_minutes,
                       "run_minutes": op.run_minutes, "skill": op.required_skill,
                       "skill_level": op.required_skill_level, "description": op.description}


# -- the data dictionary ---------------------------------------------------------------------------------------

class ExternalIdKind(ImportKind):
    """Codes other systems use for our records: M001 in the ERP, MAT01 in the WMS → our material CAL-FR-L."""

    name = "external_ids"
    title = _l("External codes")
    sheet_names = ("外部编码", "编码对照", "数据字典", "external codes", "code mapping")
    key = ("system", "kind", "external_code")
    depends_on = ("materials", "units")
    permission = "material.change"
    view_permission = "material.view"
    columns = (
        Column("system", "System", "系统", required=True, example="ERP"),
        Column("kind", "Kind", "类型", required=True, example="material",
               help=_l("material, unit, customer or plant_node.")),
        Column("external_code", "External code", "外部编码", required=True, example="10000001"),
        Column("code", "Our code", "本系统编码", required=True, aliases=("synfab code", "内部编码"), example="CAL-FR-L"),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        targets = {
            "material": dict(s.execute(select(Material.code, Material.id)).all()),
            "unit": dict(s.execute(select(Unit.code, Unit.id)).all()),
            "plant_node": dict(s.execute(select(PlantNode.code, PlantNode.id)).all()),
        }
        from synfab.orders.models import Customer  # read-only lookup of the records being named

        targets["customer"] = dict(s.execute(select(Customer.code, Customer.id)).all())
        existing = {(e.system, e.kind, e.external_code): e for e in s.scalars(select(ExternalId))}
        for row in rows:
            if not row.ok:
                continue
            v = row.values
            kind = v["kind"].strip().lower()
            if kind not in targets:
                ctx.error(row, "kind", "external_id_kind", _l("Use one of: {allowed}.", allowed=", ".join(EXTERNAL_KINDS)))
                continue
            internal = targets[kind].get(v["code"])
            if internal is None:
                ctx.error(row, "code", "external_id_target_missing", _l("There is no {kind} with code {code}.",
                                                                        kind=kind, code=v["code"]))
                continue
            found = existing.get((v["system"], kind, v["external_code"]))
            if found is not None and found.internal_id == internal:
                ctx.count("unchanged")
                continue
            try:
                mapped = service.map_external_id(uow, v["system"], kind, v["external_code"], internal)
            except DomainError as exc:
                ctx.refused(row, exc, {"external_id_taken": "external_code"})
                continue
            existing[(v["system"], kind, v["external_code"])] = mapped
            ctx.count("created")

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        names: dict[str, dict[int, str]] = {
            "material": dict(session.execute(select(Material.id, Material.code)).all()),
            "unit": dict(session.execute(select(Unit.id, Unit.code)).all()),
            "plant_node": dict(session.execute(select(PlantNode.id, PlantNode.code)).all()),
        }
        from synfab.orders.models import Customer

        names["customer"] = dict(session.execute(select(Customer.id, Customer.code)).all())
        for e in service.list_external_ids(session):
            yield {"system": e.system, "kind": e.kind, "external_code": e.external_code,
                   "code": names.get(e.kind, {}).get(e.internal_id)}


KINDS = [UnitKind, MaterialClassKind, MaterialKind, UnitConversionKind, BomKind, RoutingKind, ExternalIdKind]
