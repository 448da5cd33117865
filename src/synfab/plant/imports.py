"""Plant kinds for Excel/CSV import and export: equipment classes, the plant tree, shift calendars, holidays."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.connect.files.spec import (
    CellError, Column, ImportContext, ImportKind, Row, choice_parser, parse_bool, parse_date, parse_int, parse_text,
    parse_time,
)
from synfab.core.errors import DomainError, Invalid
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant import service
from synfab.plant.choices import Level, StorageRole
from synfab.plant.models import EquipmentClass, PlantNode, ShiftCalendar
from synfab.plant.schemas import BreakIn, CalendarCreate, CalendarUpdate, EquipmentClassCreate, NodeCreate, NodeUpdate, ShiftIn

_WEEKDAY_WORDS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "日": "7", "天": "7"}
_WEEKDAY_EN = {"mon": "1", "tue": "2", "wed": "3", "thu": "4", "fri": "5", "sat": "6", "sun": "7"}


def parse_weekdays(value: Any) -> str:
    """"12345", "1-5", "1,3,5", "周一至周五", "Mon-Fri" → "12345"."""
    text = unicodedata.normalize("NFKC", str(value)).strip().casefold()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    for word, digit in _WEEKDAY_WORDS.items():
        text = text.replace(f"周{word}", digit).replace(f"星期{word}", digit)
    for word, digit in _WEEKDAY_EN.items():
        text = re.sub(rf"{word}[a-z]*", digit, text)
    text = re.sub(r"\s*(至|到|~|–|—)\s*", "-", text)
    days: set[int] = set()
    for part in re.split(r"[,;、\s]+", text):
        if not part:
            continue
        m = re.fullmatch(r"([1-7])-([1-7])", part)
        if m:
            days.update(range(int(m.group(1)), int(m.group(2)) + 1))
        elif re.fullmatch(r"[1-7]+", part):
            days.update(int(ch) for ch in part)
        else:
            raise CellError("not_weekdays", _l("Write the days as 1-5, 12345 or 周一至周五 (1 = Monday)."))
    return "".join(str(d) for d in sorted(days))


def parse_breaks(value: Any) -> list[tuple[time, time]]:
    """"12:00-12:30; 17:00-17:30" → [(12:00, 12:30), (17:00, 17:30)]."""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    found = []
    for part in re.split(r"[;,、\s]+", text):
        if not part:
            continue
        pieces = re.split(r"\s*[-~–—至]\s*", part)
        if len(pieces) != 2:
            raise CellError("not_breaks", _l("Write breaks as 12:00-12:30; 17:00-17:30."))
        found.append((parse_time(pieces[0]), parse_time(pieces[1])))
    return found


def _fmt_time(t: time) -> str:
    return t.strftime("%H:%M")


def _node_codes(session: Session) -> dict[str, PlantNode]:
    return {n.code: n for n in session.scalars(select(PlantNode))}


class EquipmentClassKind(ImportKind):
    name = "equipment_classes"
    title = _l("Equipment classes")
    sheet_names = ("设备类别", "equipment classes")
    permission = "plant.create"
    view_permission = "plant.view"
    columns = (
        Column("code", "Code", "编码", required=True, aliases=("类别编码",), example="CNC-LATHE"),
        Column("name", "Name", "名称", required=True, example="数控车床"),
        Column("name_en", "English name", "英文名称", example="CNC lathe"),
        Column("description", "Description", "说明", lambda v: parse_text(v, 2000)),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        existing = {c.code: c for c in uow.session.scalars(select(EquipmentClass))}
        for row in rows:
            if not row.ok:
                continue
            data = {k: row.values.get(k) for k in ("name", "name_en", "description")}
            found = existing.get(row.values["code"])
            if found is None:
                service.create_equipment_class(uow, EquipmentClassCreate(code=row.values["code"], **data))
                ctx.result.created += 1
            elif any(getattr(found, k) != v for k, v in data.items()):
                for k, v in data.items():
                    setattr(found, k, v)
                ctx.result.updated += 1
            else:
                ctx.result.unchanged += 1

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        for c in service.list_equipment_classes(session):
            yield {"code": c.code, "name": c.name, "name_en": c.name_en, "description": c.description}


class ShiftCalendarKind(ImportKind):
    """One row per shift; a calendar is the rows with its code. Importing a calendar replaces its shifts."""

    name = "shift_calendars"
    title = _l("Shift calendars")
    sheet_names = ("班次日历", "工作日历", "shifts", "班次")
    key = ("calendar", "shift")
    permission = "plant.create"
    view_permission = "plant.view"
    columns = (
        Column("calendar", "Calendar", "日历编码", required=True, aliases=("calendar code", "日历"), example="3S"),
        Column("calendar_name", "Calendar name", "日历名称", example="三班倒"),
        Column("shift", "Shift", "班次编码", required=True, aliases=("shift code",), example="A"),
        Column("shift_name", "Shift name", "班次名称", required=True, example="早班"),
        Column("shift_name_en", "Shift name (English)", "班次英文名称", example="Morning"),
        Column("start", "Start", "开始时间", parse_time, required=True, example="08:00"),
        Column("end", "End", "结束时间", parse_time, required=True, example="16:00",
               help=_l("An end at or before the start means the shift ends the next day.")),
        Column("weekdays", "Days", "工作日", parse_weekdays, example="1-5",
               help=_l("Days the shift starts on: 1-5, 12345 or 周一至周五 (1 = Monday). Default 1-5.")),
        Column("breaks", "Breaks", "休息时间", parse_breaks, example="12:00-12:30",
               help=_l("Unpaid breaks, separated by semicolons.")),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        groups: dict[str, list[Row]] = {}
        for row in rows:
            if row.values.get("calendar"):
                groups.setdefault(row.values["calendar"], []).append(row)
        existing = {c.code: c for c in service.list_calendars(s)}
        for code, group in groups.items():
            if not all(r.ok for r in group):
                continue
            shifts = [ShiftIn(
                code=r.values["shift"], name=r.values["shift_name"], name_en=r.values.get("shift_name_en"),
                start=r.values["start"], end=r.values["end"], weekdays=r.values.get("weekdays") or "12345",
                breaks=[BreakIn(start=a, end=b) for a, b in r.values.get("breaks") or []],
            ) for r in group]
            name = next((r.values["calendar_name"] for r in group if r.values.get("calendar_name")), code)
            cal = existing.get(code)
            try:
                if cal is None:
                    service.create_calendar(uow, CalendarCreate(code=code, name=name, shifts=shifts))
                    ctx.result.created += len(group)
                    continue
                current = [(sh.code, sh.name, sh.name_en, sh.start, sh.end, sh.weekdays,
                            [(b.start, b.end) for b in sh.breaks]) for sh in cal.shifts]
                wanted = [(sh.code, sh.name, sh.name_en, sh.start, sh.end, sh.weekdays,
                           [(b.start, b.end) for b in sh.breaks]) for sh in shifts]
                if sorted(current) == sorted(wanted) and cal.name == name:
                    ctx.result.unchanged += len(group)
                    continue
                service.update_calendar(uow, cal.id, CalendarUpdate(
                    version=cal.version, name=name, shifts=shifts,
                    exceptions=[{"day": e.day, "working": e.working, "note": e.note} for e in cal.exceptions]))
                ctx.result.updated += len(group)
            except DomainError as exc:
                ctx.refused(group[0], exc, {"shift_empty": "end", "shift_code_repeated": "shift"})

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        for cal in service.list_calendars(session):
            for sh in cal.shifts:
                yield {"calendar": cal.code, "calendar_name": cal.name, "shift": sh.code, "shift_name": sh.name,
                       "shift_name_en": sh.name_en, "start": _fmt_time(sh.start), "end": _fmt_time(sh.end),
                       "weekdays": sh.weekdays,
                       "breaks": "; ".join(f"{_fmt_time(b.start)}-{_fmt_time(b.end)}" for b in sh.breaks)}


class HolidayKind(ImportKind):
    name = "holidays"
    title = _l("Holidays and working days")
    sheet_names = ("节假日", "节假日与调休", "holidays", "calendar days")
    key = ("calendar", "day")
    depends_on = ("shift_calendars",)
    permission = "plant.create"
    view_permission = "plant.view"
    columns = (
        Column("calendar", "Calendar", "日历编码", required=True, aliases=("calendar code", "日历"), example="3S"),
        Column("day", "Date", "日期", parse_date, required=True, example="2026-10-01"),
        Column("working", "Working day", "是否上班", parse_bool, example="否",
               help=_l("No (default): a holiday, no shift starts. Yes: an extra working day (调休), every shift starts.")),
        Column("note", "Note", "备注", example="国庆节"),
    )

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        calendars = {c.code: c for c in service.list_calendars(s)}
        for row in rows:
            if not row.ok:
                continue
            cal = calendars.get(row.values["calendar"])
            if cal is None:
                ctx.error(row, "calendar", "calendar_not_found",
                          _l("There is no shift calendar {code}.", code=row.values["calendar"]))
                continue
            outcome = service.set_calendar_day(uow, cal.id, row.values["day"], bool(row.values.get("working")),
                                               row.values.get("note"))
            ctx.count(outcome)

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        for cal in service.list_calendars(session):
            for ex in cal.exceptions:
                yield {"calendar": cal.code, "day": ex.day, "working": ex.working, "note": ex.note}


class PlantKind(ImportKind):
    """The plant tree. Parents may come later in the file; a cycle among the rows is named."""

    name = "plant"
    title = _l("Plant structure")
    sheet_names = ("工厂结构", "工厂模型", "plant", "plant model", "equipment hierarchy")
    depends_on = ("equipment_classes", "shift_calendars")
    permission = "plant.create"
    view_permission = "plant.view"
    export_filters = ("level",)
    columns = (
        Column("code", "Code", "编码", required=True, aliases=("node code", "节点编码"), example="L1"),
        Column("name", "Name", "名称", required=True, example="一号线"),
        Column("name_en", "English name", "英文名称", example="Line 1"),
        Column("level", "Level", "层级", choice_parser(Level), required=True, example="产线",
               help=_l("Enterprise, site, area, production line, work center, equipment, storage zone or storage unit.")),
        Column("parent", "Parent", "上级编码", aliases=("parent code", "上级"), example="MACH",
               help=_l("Code of the node above; empty only for the enterprise.")),
        Column("time_zone", "Time zone", "时区", example="Asia/Shanghai", help=_l("Sites only.")),
        Column("calendar", "Shift calendar", "班次日历", aliases=("calendar",), example="3S"),
        Column("equipment_class", "Equipment class", "设备类别", example="CNC-LATHE"),
        Column("capacity", "Capacity", "产能（并行数）", parse_int, aliases=("并行数", "产能"), example="1"),
        Column("storage_role", "Storage role", "库位用途", choice_parser(StorageRole), aliases=("用途",),
               example="线边", help=_l("Storage zones and units only: raw materials, line-side WIP, finished goods or "
                                       "quarantine.")),
        Column("sort_order", "Order", "排序", parse_int, example="10"),
        Column("active", "Active", "启用", parse_bool, example="是"),
        Column("description", "Description", "说明", lambda v: parse_text(v, 2000)),
    )

    ERROR_COLUMNS = {"plant_level_not_allowed": "parent", "unknown_time_zone": "time_zone",
                     "site_time_zone_required": "time_zone", "plant_cycle": "parent", "plant_code_taken": "code"}

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        nodes = _node_codes(s)
        calendars = {c.code: c.id for c in s.scalars(select(ShiftCalendar))}
        classes = {c.code: c.id for c in s.scalars(select(EquipmentClass))}
        by_code: dict[str, Row] = {}
        for r in rows:  # the first row of a code counts; repeats are already reported as duplicates
            if r.values.get("code"):
                by_code.setdefault(r.values["code"], r)
        for row in rows:
            for key, table, what in (("calendar", calendars, _l("shift calendar")),
                                     ("equipment_class", classes, _l("equipment class"))):
                code = row.values.get(key)
                if code and code not in table:
                    ctx.error(row, key, f"{key}_not_found", _l("There is no {what} {code}.", what=what, code=code))
            parent = row.values.get("parent")
            if parent and parent not in nodes and parent not in by_code:
                ctx.error(row, "parent", "parent_not_found", _l(
                    "There is no plant node {code}, neither in the database nor in this sheet.", code=parent))
        for row in self._in_tree_order(rows, by_code, ctx):
            parent_row = by_code.get(row.values.get("parent") or "")
            if parent_row is not None and not parent_row.ok:
                row.ok = False  # its parent's own error explains it; fixing that row fixes this one
            if not row.ok:
                continue
            v = row.values
            try:
                self._upsert(uow, v, nodes, calendars, classes, ctx)
            except DomainError as exc:
                ctx.refused(row, exc, self.ERROR_COLUMNS)

    def _in_tree_order(self, rows: list[Row], by_code: dict[str, Row], ctx: ImportContext) -> list[Row]:
        """Parents before children; rows whose parent chain loops are errors naming the loop."""
        ordered: list[Row] = []
        state: dict[str, str] = {}

        def visit(row: Row, trail: list[str]) -> None:
            code = row.values.get("code")
            if code is None or state.get(code) == "done":
                return
            if state.get(code) == "visiting":
                loop = trail[trail.index(code):] + [code]
                ctx.error(row, "parent", "plant_cycle", _l("The parents form a cycle: {cycle}.", cycle=" → ".join(loop)))
                return
            state[code] = "visiting"
            parent = row.values.get("parent")
            if parent in by_code:
                visit(by_code[parent], [*trail, code])
            state[code] = "done"
            ordered.append(row)

        for row in rows:
            visit(row, [])
        return ordered

    def _upsert(self, uow: UnitOfWork, v: dict[str, Any], nodes: dict[str, PlantNode], calendars: dict[str, int],
                classes: dict[str, int], ctx: ImportContext) -> None:
        fields = {
            "name": v["name"], "name_en": v.get("name_en"), "time_zone": v.get("time_zone"),
            "shift_calendar_id": calendars.get(v.get("calendar") or ""),
            "equipment_class_id": classes.get(v.get("equipment_class") or ""),
            "capacity": v.get("capacity") or 1, "sort_order": v.get("sort_order") or 0,
            "storage_role": v.get("storage_role"),
            "description": v.get("description"),
        }
        parent = nodes.get(v.get("parent") or "")
        node = nodes.get(v["code"])
        if node is None:
            node = service.create_node(uow, NodeCreate(code=v["code"], level=v["level"],
                                                       parent_id=parent.id if parent else None, **fields))
            if v.get("active") is False:
                node.active = False
            nodes[node.code] = node
            ctx.result.created += 1
            return
        if node.level != v["level"]:
            raise Invalid("plant_level_changed", _l(
                "{code} is a {old}; a node cannot change its level (create a new node instead).",
                code=node.code, old=node.level.label))
        if v.get("active") is not None:
            fields["active"] = v["active"]
        changed = {k: val for k, val in fields.items() if getattr(node, k) != val}
        moved = parent is not None and parent.id != node.parent_id
        if not changed and not moved:
            ctx.result.unchanged += 1
            return
        service.update_node(uow, node.id, NodeUpdate(version=node.version, **changed,
                                                     **({"parent_id": parent.id} if moved else {})))
        ctx.result.updated += 1

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        levels = [Level(filters["level"])] if filters.get("level") in {lv.value for lv in Level} else None
        nodes = service.list_nodes(session, levels=levels)
        by_id = {n.id: n for n in session.scalars(select(PlantNode))}
        calendars = {c.id: c.code for c in session.scalars(select(ShiftCalendar))}
        for n in nodes:
            yield {
                "code": n.code, "name": n.name, "name_en": n.name_en, "level": n.level,
                "parent": by_id[n.parent_id].code if n.parent_id in by_id else None, "time_zone": n.time_zone,
                "calendar": calendars.get(n.shift_calendar_id or 0),
                "equipment_class": n.equipment_class.code if n.equipment_class else None,
                "capacity": n.capacity, "storage_role": n.storage_role, "sort_order": n.sort_order, "active": n.active, "description": n.description,
            }


KINDS = [EquipmentClassKind, ShiftCalendarKind, HolidayKind, PlantKind]
