"""Plant use cases: build and change the plant tree, shift calendars, and answer working-time questions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from synfab.core import clock
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.plant.calendar import BreakPattern, ShiftPattern, WorkingTime
from synfab.plant.choices import ALLOWED_PARENTS, STORAGE_LEVELS, Level, StorageRole
from synfab.plant.events import PlantNodeChanged, PlantNodeCreated, PlantNodeMoved, ShiftCalendarChanged
from synfab.plant.models import CalendarException, EquipmentClass, PlantNode, Shift, ShiftBreak, ShiftCalendar
from synfab.plant.schemas import CalendarCreate, CalendarUpdate, EquipmentClassCreate, NodeCreate, NodeUpdate

# -- reading ----------------------------------------------------------------------------------------


def get_node(session: Session, node_id: int) -> PlantNode:
    node = session.get(PlantNode, node_id)
    if node is None:
        raise NotFound("plant_node_not_found", _l("Plant node {id} does not exist.", id=node_id))
    return node


def nodes_by_id(session: Session, ids: Iterable[int]) -> dict[int, PlantNode]:
    """The nodes with these ids that the reader may see (master data names work centers anywhere in the plant)."""
    wanted = {i for i in ids if i is not None}
    return {n.id: n for n in session.scalars(select(PlantNode).where(PlantNode.id.in_(wanted)))} if wanted else {}


def node_by_code(session: Session, code: str) -> PlantNode:
    node = session.scalar(select(PlantNode).where(PlantNode.code == code))
    if node is None:
        raise NotFound("plant_node_not_found", _l("There is no plant node with code {code}.", code=code))
    return node


def list_nodes(session: Session, *, levels: Iterable[Level] | None = None, under: int | None = None) -> list[PlantNode]:
    """Nodes in tree order (parents before children, siblings by sort order then code)."""
    stmt = select(PlantNode)
    if levels is not None:
        stmt = stmt.where(PlantNode.level.in_([lv.value for lv in levels]))
    if under is not None:
        stmt = stmt.where(PlantNode.path.startswith(get_node(session, under).path))
    nodes = list(session.scalars(stmt))
    return order_as_tree(nodes)


def order_as_tree(nodes: list[PlantNode]) -> list[PlantNode]:
    """Depth-first order: each node followed by its subtree."""
    by_parent: dict[int | None, list[PlantNode]] = {}
    ids = {n.id for n in nodes}
    for n in nodes:
        by_parent.setdefault(n.parent_id if n.parent_id in ids else None, []).append(n)
    for children in by_parent.values():
        children.sort(key=lambda n: (n.sort_order, n.code))
    ordered: list[PlantNode] = []
    stack = list(reversed(by_parent.get(None, [])))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(by_parent.get(node.id, [])))
    return ordered


def ancestors(session: Session, node: PlantNode) -> list[PlantNode]:
    """From the root down to the node's parent."""
    ids = [int(p) for p in node.path.strip("/").split("/") if p][:-1]
    if not ids:
        return []
    found = {n.id: n for n in session.scalars(select(PlantNode).where(PlantNode.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def subtree_ids(session: Session, node_id: int) -> list[int]:
    """The node and everything under it."""
    path = get_node(session, node_id).path
    return list(session.scalars(select(PlantNode.id).where(PlantNode.path.startswith(path))))


def site_of(session: Session, node: PlantNode) -> PlantNode | None:
    if node.level == Level.SITE:
        return node
    return next((a for a in ancestors(session, node) if a.level == Level.SITE), None)


def time_zone_of(session: Session, node: PlantNode) -> ZoneInfo:
    """The site's time zone (UTC for nodes above any site)."""
    site = site_of(session, node)
    return ZoneInfo(site.time_zone) if site is not None and site.time_zone else ZoneInfo("UTC")


def main_time_zone(session: Session) -> ZoneInfo:
    """The time zone of the first site (pages that show times plant-wide); UTC while there is no site."""
    tz = session.scalar(select(PlantNode.time_zone).where(PlantNode.level == Level.SITE, PlantNode.time_zone.is_not(None))
                        .order_by(PlantNode.id).limit(1).execution_options(unrestricted=True))
    return ZoneInfo(tz) if tz else ZoneInfo("UTC")


def storage_location(session: Session, under: PlantNode, role: StorageRole) -> PlantNode | None:
    """The storage location with this role serving a node: in its own subtree first (a line's WIP), else in the
    nearest enclosing node's (the machining area's WIP for its lines), up to the site; by sort order and code."""
    for node in [under, *reversed(ancestors(session, under))]:
        found = session.scalar(
            select(PlantNode).where(PlantNode.path.startswith(node.path), PlantNode.storage_role == role,
                                    PlantNode.level.in_([lv.value for lv in STORAGE_LEVELS]),
                                    PlantNode.active.is_(True))
            .order_by(PlantNode.depth, PlantNode.sort_order, PlantNode.code).limit(1))
        if found is not None or node.level in (Level.SITE, Level.ENTERPRISE):
            return found
    return None


# -- the tree ----------------------------------------------------------------------------------------


def _check_parent(level: Level, parent: PlantNode | None) -> None:
    """The one place the ISA-95 level rules are enforced."""
    parent_level = parent.level if parent is not None else None
    if parent_level not in ALLOWED_PARENTS[level]:
        allowed = ", ".join(str(lv.label) if lv else str(_l("(top level)")) for lv in
                            sorted(ALLOWED_PARENTS[level], key=lambda lv: lv.value if lv else ""))
        raise Invalid("plant_level_not_allowed", _l(
            "A {level} cannot be placed under {parent}; allowed parents: {allowed}.",
            level=level.label, parent=parent.code if parent else _l("the top level"), allowed=allowed,
        ))


def _check_time_zone(tz: str | None) -> None:
    if tz is None:
        return
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("unknown_time_zone", _l(
            "{tz} is not a known time zone; use an IANA name such as Asia/Shanghai.", tz=tz)) from None


def _check_code_free(session: Session, code: str) -> None:
    taken = session.scalar(select(PlantNode).where(PlantNode.code == code))
    if taken is not None:
        raise Conflict("plant_code_taken", _l("The code {code} is already used by {name}.", code=code, name=taken.name))


def _refs_exist(session: Session, calendar_id: int | None, class_id: int | None) -> None:
    if calendar_id is not None and session.get(ShiftCalendar, calendar_id) is None:
        raise Invalid("calendar_not_found", _l("Shift calendar {id} does not exist.", id=calendar_id))
    if class_id is not None and session.get(EquipmentClass, class_id) is None:
        raise Invalid("equipment_class_not_found", _l("Equipment class {id} does not exist.", id=class_id))


def _check_storage_role(level: Level, role: StorageRole | None) -> None:
    if role is not None and level not in STORAGE_LEVELS:
        raise Invalid("storage_role_not_storage", _l(
            "Only storage zones and units have a storage role; a {level} does not.", level=level.label))


def create_node(uow: UnitOfWork, data: NodeCreate) -> PlantNode:
    """Add a node under its parent, checking the level rules, code, time zone and references."""
    s = uow.session
    parent = get_node(s, data.parent_id) if data.parent_id is not None else None
    _check_parent(data.level, parent)
    _check_storage_role(data.level, data.storage_role)
    _check_code_free(s, data.code)
    _check_time_zone(data.time_zone)
    if data.level == Level.SITE and not data.time_zone:
        raise Invalid("site_time_zone_required", _l("A site needs a time zone (for example Asia/Shanghai)."))
    _refs_exist(s, data.shift_calendar_id, data.equipment_class_id)
    node = PlantNode(**data.model_dump())
    s.add(node)
    s.flush()
    # The path needs the new id; writing it is part of creating the node, not a change to version.
    path, depth = f"{parent.path if parent else '/'}{node.id}/", parent.depth + 1 if parent else 0
    s.execute(update(PlantNode).where(PlantNode.id == node.id).values(path=path, depth=depth)
              .execution_options(synchronize_session=False))
    set_committed_value(node, "path", path)
    set_committed_value(node, "depth", depth)
    uow.record(PlantNodeCreated(node_id=node.id, code=node.code, level=node.level.value, parent_id=node.parent_id))
    return node


def update_node(uow: UnitOfWork, node_id: int, data: NodeUpdate) -> PlantNode:
    s = uow.session
    node = get_node(s, node_id)
    check_version(node, data.version)
    fields = data.model_dump(exclude_unset=True, exclude={"version", "parent_id"})
    _check_time_zone(fields.get("time_zone"))
    _check_storage_role(node.level, fields.get("storage_role"))
    _refs_exist(s, fields.get("shift_calendar_id"), fields.get("equipment_class_id"))
    changes: dict[str, list[str | None]] = {}
    for key, value in fields.items():
        old = getattr(node, key)
        if old != value:
            changes[key] = [None if old is None else str(old), None if value is None else str(value)]
            setattr(node, key, value)
    if "parent_id" in data.model_fields_set and data.parent_id != node.parent_id:
        if data.parent_id is None:
            raise Invalid("plant_parent_required", _l("Only an enterprise can be at the top level."))
        move_node(uow, node.id, data.parent_id)
    if changes:
        uow.record(PlantNodeChanged(node_id=node.id, code=node.code, changes=changes))
    return node


def move_node(uow: UnitOfWork, node_id: int, new_parent_id: int) -> PlantNode:
    """Re-parent a node and its subtree; moving a node under itself is refused with the cycle named."""
    s = uow.session
    node = get_node(s, node_id)
    parent = get_node(s, new_parent_id)
    if parent.path.startswith(node.path):
        chain = [a.code for a in ancestors(s, parent) if a.path.startswith(node.path)] + [parent.code, node.code]
        raise Invalid("plant_cycle", _l(
            "Moving {code} under {parent} would make a cycle: {cycle}.",
            code=node.code, parent=parent.code, cycle=" → ".join(chain),
        ))
    _check_parent(node.level, parent)
    old_path, old_parent = node.path, node.parent_id
    new_path = f"{parent.path}{node.id}/"
    depth_shift = parent.depth + 1 - node.depth
    s.flush()
    for child in s.scalars(select(PlantNode).where(PlantNode.path.startswith(old_path))):
        child.path = new_path + child.path[len(old_path):]
        child.depth += depth_shift
    node.parent_id = parent.id
    uow.record(PlantNodeMoved(node_id=node.id, code=node.code, old_parent_id=old_parent, new_parent_id=parent.id))
    return node


def create_equipment_class(uow: UnitOfWork, data: EquipmentClassCreate) -> EquipmentClass:
    if uow.session.scalar(select(EquipmentClass.id).where(EquipmentClass.code == data.code)) is not None:
        raise Conflict("equipment_class_code_taken", _l("The equipment class {code} already exists.", code=data.code))
    ec = EquipmentClass(**data.model_dump())
    uow.session.add(ec)
    uow.flush()
    return ec


def list_equipment_classes(session: Session) -> list[EquipmentClass]:
    return list(session.scalars(select(EquipmentClass).order_by(EquipmentClass.code)))


# -- shift calendars ----------------------------------------------------------------------------------


def get_calendar(session: Session, calendar_id: int) -> ShiftCalendar:
    cal = session.scalar(
        select(ShiftCalendar).where(ShiftCalendar.id == calendar_id)
        .options(selectinload(ShiftCalendar.shifts).selectinload(Shift.breaks), selectinload(ShiftCalendar.exceptions))
    )
    if cal is None:
        raise NotFound("calendar_not_found", _l("Shift calendar {id} does not exist.", id=calendar_id))
    return cal


def list_calendars(session: Session) -> list[ShiftCalendar]:
    return list(session.scalars(
        select(ShiftCalendar).order_by(ShiftCalendar.code)
        .options(selectinload(ShiftCalendar.shifts).selectinload(Shift.breaks), selectinload(ShiftCalendar.exceptions))
    ))


def _fill_calendar(cal: ShiftCalendar, data: CalendarCreate | CalendarUpdate) -> None:
    codes = [sh.code for sh in data.shifts]
    if len(set(codes)) != len(codes):
        raise Invalid("shift_code_repeated", _l("Each shift of a calendar needs its own code."))
    days = [ex.day for ex in data.exceptions]
    if len(set(days)) != len(days):
        raise Invalid("calendar_day_repeated", _l("A day can only be listed once as an exception."))
    for sh in data.shifts:
        if sh.start == sh.end:
            raise Invalid("shift_empty", _l("Shift {code} starts and ends at the same time.", code=sh.code))
    cal.shifts = [
        Shift(code=sh.code, name=sh.name, name_en=sh.name_en, start=sh.start, end=sh.end, weekdays=sh.weekdays,
              breaks=[ShiftBreak(start=b.start, end=b.end) for b in sh.breaks])
        for sh in data.shifts
    ]
    cal.exceptions = [CalendarException(day=ex.day, working=ex.working, note=ex.note) for ex in data.exceptions]


def create_calendar(uow: UnitOfWork, data: CalendarCreate) -> ShiftCalendar:
    if uow.session.scalar(select(ShiftCalendar.id).where(ShiftCalendar.code == data.code)) is not None:
        raise Conflict("calendar_code_taken", _l("The shift calendar {code} already exists.", code=data.code))
    cal = ShiftCalendar(code=data.code, name=data.name, description=data.description)
    _fill_calendar(cal, data)
    uow.session.add(cal)
    uow.flush()
    uow.record(ShiftCalendarChanged(calendar_id=cal.id, code=cal.code))
    return cal


def update_calendar(uow: UnitOfWork, calendar_id: int, data: CalendarUpdate) -> ShiftCalendar:
    cal = get_calendar(uow.session, calendar_id)
    check_version(cal, data.version)
    if data.name is not None:
        cal.name = data.name
    if data.description is not None:
        cal.description = data.description
    # Old shifts and days go first: a new shift may reuse a code (unique per calendar), and the unit of work
    # would otherwise insert the new rows before deleting the old ones.
    cal.shifts.clear()
    cal.exceptions.clear()
    uow.flush()
    _fill_calendar(cal, data)
    # Only children were replaced: touch the row so its version moves and other editors see the change.
    cal.updated_at = clock.now()
    uow.flush()
    uow.record(ShiftCalendarChanged(calendar_id=cal.id, code=cal.code))
    return cal


def set_calendar_day(uow: UnitOfWork, calendar_id: int, day: date, working: bool, note: str | None) -> str:
    """Mark a day a holiday or an extra working day; returns "created", "updated" or "unchanged"."""
    cal = get_calendar(uow.session, calendar_id)
    found = next((ex for ex in cal.exceptions if ex.day == day), None)
    if found is not None and found.working == working and found.note == note:
        return "unchanged"
    if found is None:
        cal.exceptions.append(CalendarException(day=day, working=working, note=note))
    else:
        found.working, found.note = working, note
    cal.updated_at = clock.now()
    uow.record(ShiftCalendarChanged(calendar_id=cal.id, code=cal.code))
    return "created" if found is None else "updated"


def assign_calendar(uow: UnitOfWork, node_id: int, calendar_id: int | None) -> PlantNode:
    node = get_node(uow.session, node_id)
    _refs_exist(uow.session, calendar_id, None)
    node.shift_calendar_id = calendar_id
    return node


def calendar_of(session: Session, node: PlantNode) -> ShiftCalendar | None:
    """The node's own calendar, else the nearest ancestor's."""
    for candidate in [node, *reversed(ancestors(session, node))]:
        if candidate.shift_calendar_id is not None:
            return get_calendar(session, candidate.shift_calendar_id)
    return None


def working_time(calendar: ShiftCalendar | None, tz: ZoneInfo) -> WorkingTime:
    if calendar is None:
        return WorkingTime(tz, [], always=True)
    shifts = [
        ShiftPattern(sh.code, sh.name, sh.start, sh.end, sh.weekdays,
                     tuple(BreakPattern(b.start, b.end) for b in sh.breaks))
        for sh in calendar.shifts
    ]
    return WorkingTime(tz, shifts, {ex.day: ex.working for ex in calendar.exceptions})


def working_time_for(session: Session, node_id: int) -> WorkingTime:
    """The working time of a node: its (inherited) calendar in its site's time zone."""
    node = get_node(session, node_id)
    return working_time(calendar_of(session, node), time_zone_of(session, node))


def planned_operation_time(session: Session, node_id: int, start: datetime, end: datetime) -> float:
    """Planned operation time (seconds) of a work center between two instants: shifts minus breaks."""
    return working_time_for(session, node_id).planned_time(start, end).total_seconds()


def known_time_zones() -> list[str]:
    return sorted(available_timezones())
