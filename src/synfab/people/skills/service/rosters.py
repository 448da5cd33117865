"""Shift rosters: who works on which line in which shift; whether the planned work of a line's shift has a
qualified person for each skill it needs (coverage), and a suggested assignment of the rostered people to work
centers — a maximum bipartite matching, so that as many work centers as possible get a qualified person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import OPEN_WORK_ORDER_STATUSES, OperationStatus
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.people.models import User
from synfab.people.skills.events import RosterAssignmentApplied, RosterEntryAdded, RosterEntryRemoved
from synfab.people.skills.models import RosterEntry
from synfab.people.skills.schemas import RosterEntryCreate
from synfab.people.skills.service.common import date_filter, get_person, int_filter, site_today
from synfab.people.skills.service.qualification import Qualifier
from synfab.plant import service as plant
from synfab.plant.calendar import ShiftWindow
from synfab.plant.choices import PRODUCTIVE_LEVELS, Level
from synfab.plant.models import PlantNode, Shift

CLOSED_OPERATIONS = (OperationStatus.DONE.value, OperationStatus.CANCELLED.value)


# -- lines and their shifts --------------------------------------------------------------------------------------


def _allows(session: Session, line: PlantNode, action: str) -> bool:
    """Whether the acting person holds `roster.<action>` over the line (everyone, without a restriction)."""
    restriction = session.info.get("restriction")
    return restriction is None or restriction.allows_node("roster", action, line.path)


def roster_line(session: Session, line_id: int, action: str = "view") -> PlantNode:
    """A production line whose roster the acting person may see (or change)."""
    line = plant.get_node(session, line_id)
    if line.level != Level.LINE:
        raise Invalid("not_a_line", _l("{code} is not a production line; rosters are kept per line.", code=line.code))
    if not _allows(session, line, action):
        raise NotFound("line_not_found", _l("There is no roster of {code} you may see.", code=line.code))
    return line


def roster_lines(session: Session) -> list[PlantNode]:
    """The production lines whose rosters the acting person may see, in plant order."""
    return [ln for ln in plant.list_nodes(session, levels=[Level.LINE]) if _allows(session, ln, "view")]


def line_shifts(session: Session, line: PlantNode) -> list[Shift]:
    """The shifts of the line's (inherited) calendar; none when it has no calendar."""
    calendar = plant.calendar_of(session, line)
    return list(calendar.shifts) if calendar is not None else []


def shifts_on(session: Session, line: PlantNode, day: date) -> list[ShiftWindow]:
    """The shifts that start at the line on a day (holidays and non-working weekdays have none)."""
    wt = plant.working_time_for(session, line.id)
    if wt.always:
        return []
    start = datetime.combine(day, time(), tzinfo=wt.tz)
    return [w for w in wt.windows(start, start + timedelta(days=2)) if w.day == day]


def _shift_window(session: Session, line: PlantNode, day: date, shift_code: str) -> ShiftWindow:
    codes = [sh.code for sh in line_shifts(session, line)]
    if shift_code not in codes:
        raise Invalid("shift_unknown", _l("The calendar of {line} has no shift {shift}; its shifts: {shifts}.",
                                          line=line.code, shift=shift_code, shifts=", ".join(codes) or "—"))
    window = next((w for w in shifts_on(session, line, day) if w.shift_code == shift_code), None)
    if window is None:
        raise Invalid("shift_not_running", _l(
            "Shift {shift} does not run at {line} on {date} (a holiday or not a working day).",
            shift=shift_code, line=line.code, date=day.isoformat()))
    return window


def _work_centers(session: Session, line: PlantNode) -> dict[int, PlantNode]:
    stmt = select(PlantNode).where(PlantNode.path.startswith(line.path, autoescape=True),
                                   PlantNode.level.in_([lv.value for lv in PRODUCTIVE_LEVELS]))
    return {n.id: n for n in session.scalars(stmt.execution_options(unrestricted=True))}


# -- roster entries -----------------------------------------------------------------------------------------------


def roster_query(line_id: Any = None, day_from: Any = None, day_to: Any = None, shift_code: str | None = None,
                 user_id: Any = None) -> Select[Any]:
    """Roster entries (with their person) by day, shift and name. Filters: `line_id`, `day_from` / `day_to`,
    `shift_code`, `user_id`."""
    stmt = select(RosterEntry).join(User, User.id == RosterEntry.user_id)
    if (line := int_filter(line_id, "line_id")) is not None:
        stmt = stmt.where(RosterEntry.line_id == line)
    if (start := date_filter(day_from, "day_from")) is not None:
        stmt = stmt.where(RosterEntry.day >= start)
    if (end := date_filter(day_to, "day_to")) is not None:
        stmt = stmt.where(RosterEntry.day <= end)
    if shift_code:
        stmt = stmt.where(RosterEntry.shift_code == shift_code)
    if (person := int_filter(user_id, "user_id")) is not None:
        stmt = stmt.where(RosterEntry.user_id == person)
    return stmt.order_by(RosterEntry.day, RosterEntry.shift_code, User.display_name, User.id)


def get_roster_entry(session: Session, entry_id: int) -> RosterEntry:
    entry = session.get(RosterEntry, entry_id)
    if entry is None:
        raise NotFound("roster_entry_not_found", _l("There is no roster entry {id}.", id=entry_id))
    return entry


def add_roster_entry(uow: UnitOfWork, data: RosterEntryCreate) -> RosterEntry:
    """Put a person on a line's roster for a shift of a day, optionally at one of its work centers.

    Refused: a node that is not a line; a shift the line's calendar does not have or that does not run that
    day; a work center not on the line; an inactive person; a person already rostered in that shift.
    """
    s = uow.session
    line = roster_line(s, data.line_id, "create")
    _shift_window(s, line, data.day, data.shift_code)
    work_center = None
    if data.work_center_id is not None:
        work_center = _work_centers(s, line).get(data.work_center_id)
        if work_center is None:
            raise Invalid("work_center_not_on_line", _l("Work center {id} is not on {line}.",
                                                        id=data.work_center_id, line=line.code))
    person = get_person(s, data.user_id, None)  # a roster belongs to its line: anyone may be lent to it
    if not person.active:
        raise Invalid("person_inactive", _l("{name} is no longer active and cannot be rostered.",
                                            name=person.display_name))
    # Checked across every line (also those the person adding cannot see): one place per person and shift.
    taken = s.execute(select(RosterEntry.id, PlantNode.code).join(PlantNode, PlantNode.id == RosterEntry.line_id)
                      .where(RosterEntry.day == data.day, RosterEntry.shift_code == data.shift_code,
                             RosterEntry.user_id == person.id).execution_options(unrestricted=True)).first()
    if taken is not None:
        raise Conflict("already_rostered", _l("{name} is already on the roster of {line} for shift {shift} on {date}.",
                                              name=person.display_name, line=taken[1], shift=data.shift_code,
                                              date=data.day.isoformat()))
    entry = RosterEntry(day=data.day, shift_code=data.shift_code, line_id=line.id,
                        work_center_id=work_center.id if work_center else None, user_id=person.id,
                        note=(data.note or "").strip() or None)
    s.add(entry)
    uow.flush()
    uow.record(RosterEntryAdded(entry_id=entry.id, day=entry.day, shift_code=entry.shift_code, line_id=line.id,
                                user_id=person.id, work_center_id=entry.work_center_id))
    return entry


def remove_roster_entry(uow: UnitOfWork, entry_id: int, version: int | None = None) -> None:
    """Take a person off a shift's roster."""
    entry = get_roster_entry(uow.session, entry_id)
    check_version(entry, version)
    uow.record(RosterEntryRemoved(entry_id=entry.id, day=entry.day, shift_code=entry.shift_code,
                                  line_id=entry.line_id, user_id=entry.user_id))
    uow.session.delete(entry)
    uow.flush()


# -- coverage and the suggested assignment -------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationNeed:
    """An open work order operation at one of the line's work centers, needing a skill at a level."""

    operation_id: int
    work_order_code: str
    seq: int
    name: str
    work_center_id: int
    skill_code: str
    level: int
    planned_start: datetime | None
    planned_end: datetime | None


@dataclass
class Requirement:
    """A skill at a level needed at a work center (by one or more operations), and the rostered people
    qualified for it."""

    work_center: PlantNode
    skill_code: str
    level: int
    operations: list[OperationNeed]
    qualified: list[User]

    @property
    def covered(self) -> bool:
        return bool(self.qualified)


@dataclass(frozen=True)
class Assignment:
    user: User
    work_center: PlantNode
    kept: bool  # the roster already had the person there


@dataclass
class ShiftCoverage:
    line: PlantNode
    day: date
    shift_code: str
    window: ShiftWindow
    entries: list[RosterEntry]
    requirements: list[Requirement]
    assignments: list[Assignment] = field(default_factory=list)
    # Work centers with skill needs nobody could be put on: (work center, skill code → level needed).
    uncovered_work_centers: list[tuple[PlantNode, dict[str, int]]] = field(default_factory=list)
    spare: list[User] = field(default_factory=list)

    @property
    def placements(self) -> list[tuple[PlantNode, Assignment | None, dict[str, int]]]:
        """Every work center with skill needs, in code order: who the suggestion puts there (None: nobody can)
        and what it needs (skill code → level)."""
        needs: dict[int, dict[str, int]] = {}
        for r in self.requirements:
            wanted = needs.setdefault(r.work_center.id, {})
            wanted[r.skill_code] = max(wanted.get(r.skill_code, 0), r.level)
        given = {a.work_center.id: a for a in self.assignments}
        centers = {r.work_center.id: r.work_center for r in self.requirements}
        return [(wc, given.get(wc.id), needs[wc.id]) for wc in sorted(centers.values(), key=lambda n: n.code)]

    @property
    def uncovered(self) -> list[Requirement]:
        return [r for r in self.requirements if not r.covered]

    @property
    def people(self) -> list[User]:
        return [e.user for e in self.entries]


def _planned_work(session: Session, work_centers: dict[int, PlantNode]) -> list[OperationNeed]:
    """Open operations needing a skill at the work centers. Read for the whole line, whoever asks: people who
    roster a line need its skill needs without holding work order permissions (the line was checked)."""
    if not work_centers:
        return []
    rows = session.execute(
        select(WorkOrderOperation, WorkOrder.code).join(WorkOrder, WorkOrder.id == WorkOrderOperation.work_order_id)
        .where(WorkOrderOperation.work_center_id.in_(list(work_centers)),
               WorkOrderOperation.status.not_in(CLOSED_OPERATIONS),
               WorkOrder.status.in_([st.value for st in OPEN_WORK_ORDER_STATUSES]),
               WorkOrderOperation.required_skill.is_not(None), WorkOrderOperation.required_skill_level.is_not(None))
        .order_by(WorkOrder.code, WorkOrderOperation.seq).execution_options(unrestricted=True)).all()
    return [OperationNeed(op.id, code, op.seq, op.name, op.work_center_id, op.required_skill,  # type: ignore[arg-type]
                          op.required_skill_level, op.planned_start, op.planned_end) for op, code in rows]


def _in_shift(need: OperationNeed, window: ShiftWindow) -> bool:
    """Operations scheduled (start and end) count in the shifts they overlap; unscheduled ones in every shift."""
    if need.planned_start is None or need.planned_end is None:
        return True
    return need.planned_start < window.end and need.planned_end > window.start


def match_people(people: list[int], slots: list[int], can: dict[int, set[int]],
                 preferred: dict[int, int] | None = None) -> dict[int, int]:
    """A maximum matching of people to slots (each person one slot, each slot one person) along `can`
    (person → slots they qualify for): Kuhn's augmenting paths, starting from the `preferred` pairs that are
    allowed (a roster's own assignments are kept where that costs no coverage). Among the maximum matchings it
    leans towards the scarce: people with fewer options go first, and each tries the slots fewest people
    qualify for first — so a rare skill's work center is not given away to someone who could do another."""
    options = {p: can.get(p, set()) for p in people}
    takers = {w: sum(w in options[p] for p in people) for w in slots}
    order = {w: i for i, w in enumerate(slots)}
    slot_of: dict[int, int] = {}
    person_of: dict[int, int] = {}
    for p, w in (preferred or {}).items():
        if w in options.get(p, set()) and w not in person_of and p not in slot_of:
            slot_of[p], person_of[w] = w, p

    def augment(p: int, seen: set[int]) -> bool:
        for w in sorted(options[p] & set(slots), key=lambda w: (takers[w], order[w])):
            if w in seen:
                continue
            seen.add(w)
            if w not in person_of or augment(person_of[w], seen):
                slot_of[p], person_of[w] = w, p
                return True
        return False

    rank = {p: i for i, p in enumerate(people)}
    for p in sorted(people, key=lambda p: (len(options[p]), rank[p])):
        if p not in slot_of:
            augment(p, set())
    return slot_of


def _cover(line: PlantNode, day: date, window: ShiftWindow, entries: list[RosterEntry],
           planned: list[OperationNeed], work_centers: dict[int, PlantNode], qualifier: Qualifier) -> ShiftCoverage:
    entries = sorted(entries, key=lambda e: (e.user.display_name, e.user_id))
    people = [e.user for e in entries]
    on = window.day
    grouped: dict[tuple[int, str, int], list[OperationNeed]] = {}
    for need in planned:
        if _in_shift(need, window):
            grouped.setdefault((need.work_center_id, need.skill_code, need.level), []).append(need)
    requirements = [
        Requirement(work_centers[wc], skill, level, needs,
                    [u for u in people if qualifier.check(u.id, skill, level, on).ok])
        for (wc, skill, level), needs in sorted(grouped.items(), key=lambda kv: (work_centers[kv[0][0]].code,
                                                                                  kv[0][1], kv[0][2]))]
    # A work center needs one person qualified for everything queued there (each skill at its highest level).
    needs_at: dict[int, dict[str, int]] = {}
    for r in requirements:
        wanted = needs_at.setdefault(r.work_center.id, {})
        wanted[r.skill_code] = max(wanted.get(r.skill_code, 0), r.level)
    slots = sorted(needs_at, key=lambda wc: work_centers[wc].code)
    can = {u.id: {wc for wc in slots if all(qualifier.check(u.id, sk, lv, on).ok for sk, lv in needs_at[wc].items())}
           for u in people}
    preferred = {e.user_id: e.work_center_id for e in entries if e.work_center_id is not None}
    matched = match_people([u.id for u in people], slots, can, preferred)
    by_id = {u.id: u for u in people}
    coverage = ShiftCoverage(line, day, window.shift_code, window, entries, requirements)
    coverage.assignments = sorted(
        (Assignment(by_id[p], work_centers[wc], preferred.get(p) == wc) for p, wc in matched.items()),
        key=lambda a: a.work_center.code)
    taken = set(matched.values())
    coverage.uncovered_work_centers = [(work_centers[wc], needs_at[wc]) for wc in slots if wc not in taken]
    coverage.spare = [u for u in people if u.id not in matched]
    return coverage


def shift_coverage(session: Session, line_id: int, day: date, shift_code: str) -> ShiftCoverage:
    """Coverage of one shift of a line: the planned work (open operations at the line's work centers, each needing
    a skill at a level; scheduled ones only in the shifts they overlap) grouped into requirements, with the
    rostered people qualified for each — requirements nobody qualifies for are `uncovered` — and the suggested
    assignment of the rostered people to work centers with what stays uncovered."""
    line = roster_line(session, line_id)
    window = _shift_window(session, line, day, shift_code)
    entries = list(session.scalars(roster_query(line_id=line.id, day_from=day, day_to=day, shift_code=shift_code)))
    work_centers = _work_centers(session, line)
    qualifier = Qualifier(session, [e.user_id for e in entries])
    return _cover(line, day, window, entries, _planned_work(session, work_centers), work_centers, qualifier)


@dataclass
class RosterWeek:
    line: PlantNode
    days: list[date]
    shifts: list[Shift]
    # (day, shift code) → coverage, for the shifts that run.
    cells: dict[tuple[date, str], ShiftCoverage]


def roster_week(session: Session, line_id: int, first_day: date, days: int = 7) -> RosterWeek:
    """A line's roster for some days (a week from `first_day`), with every running shift's coverage."""
    line = roster_line(session, line_id)
    dates = [first_day + timedelta(days=i) for i in range(days)]
    entries = list(session.scalars(roster_query(line_id=line.id, day_from=dates[0], day_to=dates[-1])))
    work_centers = _work_centers(session, line)
    planned = _planned_work(session, work_centers)
    qualifier = Qualifier(session, [e.user_id for e in entries])
    cells = {}
    for day in dates:
        for window in shifts_on(session, line, day):
            here = [e for e in entries if e.day == day and e.shift_code == window.shift_code]
            cells[(day, window.shift_code)] = _cover(line, day, window, here, planned, work_centers, qualifier)
    return RosterWeek(line, dates, line_shifts(session, line), cells)


def uncovered_today(session: Session, lines: Iterable[PlantNode] | None = None) -> int:
    """Requirements of today's shifts, on the lines the acting person may roster-view, that no rostered person is
    qualified for (the home card)."""
    total = 0
    for line in roster_lines(session) if lines is None else lines:
        week = roster_week(session, line.id, site_today(session, line), days=1)
        total += sum(len(c.uncovered) for c in week.cells.values())
    return total


def apply_suggestion(uow: UnitOfWork, line_id: int, day: date, shift_code: str) -> ShiftCoverage:
    """Put the shift's rostered people on the work centers the suggested assignment gives them (people left over
    keep no work center); returns the coverage the assignment was taken from."""
    s = uow.session
    roster_line(s, line_id, "change")
    coverage = shift_coverage(s, line_id, day, shift_code)
    given = {a.user.id: a.work_center.id for a in coverage.assignments}
    changed: dict[str, int | None] = {}
    for entry in coverage.entries:
        wanted = given.get(entry.user_id)
        if entry.work_center_id != wanted:
            entry.work_center_id = wanted
            changed[str(entry.user_id)] = wanted
    if changed:
        uow.flush()
        uow.record(RosterAssignmentApplied(line_id=line_id, day=day, shift_code=shift_code, assignments=changed))
    return coverage


def people_on_shift(session: Session, line_id: int, at: datetime) -> list[str]:
    """User names rostered at a line for the shift running at an instant (none between shifts)."""
    window = plant.working_time_for(session, line_id).shift_at(at)
    if window is None:
        return []
    return sorted(session.scalars(
        select(User.username).join(RosterEntry, RosterEntry.user_id == User.id)
        .where(RosterEntry.line_id == line_id, RosterEntry.day == window.day,
               RosterEntry.shift_code == window.shift_code).execution_options(unrestricted=True)))
