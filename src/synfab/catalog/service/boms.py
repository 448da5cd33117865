"""Bills of materials: revisions with lines, their rules (no cycles, convertible units, one revision in
effect at a time), multi-level explosion and where-used."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from synfab.catalog.choices import DocumentStatus
from synfab.catalog.events import BomRevisionObsoleted, BomRevisionReleased, BomRevisionSaved
from synfab.catalog.models import Bom, BomLine, Material, Unit
from synfab.catalog.schemas import BomCreate, BomLineIn, BomUpdate
from synfab.catalog.service.external import resolve_material
from synfab.catalog.service.materials import get_material
from synfab.catalog.service.revisions import (
    check_dates, check_no_overlap, effective_revision, serialise_engineering_changes,
)
from synfab.catalog.service.units import UnitConverter
from synfab.core import clock
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import ESignature
from synfab.people.service.signatures import check_signature

QTY_PLACES = Decimal("0.000001")  # the precision quantities are stored with
MAX_LEVELS = 30  # deeper than any real product structure: a guard against damaged data


def _qty(value: Decimal) -> Decimal:
    return value.quantize(QTY_PLACES, rounding=ROUND_HALF_UP)


# -- reading -----------------------------------------------------------------------------------------------


def get_bom(session: Session, bom_id: int) -> Bom:
    bom = session.scalar(select(Bom).where(Bom.id == bom_id).options(selectinload(Bom.lines)))
    if bom is None:
        raise NotFound("bom_not_found", _l("BOM revision {id} does not exist.", id=bom_id))
    return bom


def effective_bom(session: Session, material_id: int, on: date) -> Bom | None:
    """The BOM revision of a material in effect on `on` (released, on ∈ [effective_from, effective_to))."""
    return effective_revision(Bom, session, material_id, on)


def boms_of(session: Session, material_id: int) -> list[Bom]:
    """Every revision of a material's BOM, the latest to take effect first."""
    return list(session.scalars(select(Bom).where(Bom.material_id == material_id)
                                .order_by(Bom.effective_from.desc(), Bom.id.desc())))


def bom_query(material_id: int | None = None, status: DocumentStatus | str | None = None,
              q: str | None = None, component_id: int | None = None) -> Select[tuple[Bom]]:
    """BOM revisions for the list page and the export, by material code and date."""
    stmt = select(Bom).join(Material, Material.id == Bom.material_id)
    if material_id is not None:
        stmt = stmt.where(Bom.material_id == material_id)
    if status:
        stmt = stmt.where(Bom.status == DocumentStatus(status))
    if component_id is not None:
        stmt = stmt.where(Bom.id.in_(select(BomLine.bom_id).where(BomLine.component_id == component_id)))
    text = (q or "").strip().lower()
    if text:
        stmt = stmt.where(or_(*(func.lower(col).contains(text, autoescape=True)
                                for col in (Material.code, Material.name, Material.name_en, Bom.revision))))
    return stmt.order_by(Material.code, Bom.effective_from, Bom.revision)


def count_released_boms(session: Session) -> int:
    stmt = select(func.count()).select_from(Bom).where(Bom.status == DocumentStatus.RELEASED)
    return session.scalar(stmt) or 0


# -- cycles ------------------------------------------------------------------------------------------------

Node = Hashable  # a material id, or the code of a material an importer has not inserted yet


def _existing_edges(session: Session, replacing: Iterable[int]) -> dict[Node, set[Node]]:
    """parent → components over every BOM revision that is not obsolete, without the ones being replaced."""
    stmt = (select(Bom.material_id, BomLine.component_id).join(BomLine, BomLine.bom_id == Bom.id)
            .where(Bom.status != DocumentStatus.OBSOLETE))
    skip = list(replacing)
    if skip:
        stmt = stmt.where(Bom.id.not_in(skip))
    graph: dict[Node, set[Node]] = {}
    for parent, component in session.execute(stmt):
        graph.setdefault(parent, set()).add(component)
    return graph


def _strong_components(graph: dict[Node, set[Node]]) -> dict[Node, int]:
    """Tarjan's algorithm without recursion: node → number of its strongly connected component."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    on_stack: set[Node] = set()
    stack: list[Node] = []
    component: dict[Node, int] = {}
    counter = 0
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = index[node]
                    if member == node:
                        break
    return component


def _path(graph: dict[Node, set[Node]], start: Node, goal: Node, within: set[Node]) -> list[Node]:
    """Shortest path start → goal inside one strongly connected component (breadth-first)."""
    came_from: dict[Node, Node | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for child in sorted(graph.get(node, ()), key=str):
            if child in within and child not in came_from:
                came_from[child] = node
                queue.append(child)
    path: list[Node] = []
    node: Node | None = goal
    while node is not None:
        path.append(node)
        node = came_from[node]
    return path[::-1]


def find_bom_cycles(session: Session, edges: Iterable[tuple[int | str, int | str]], *,
                    replacing_bom_ids: Iterable[int] = ()) -> list[list[str]]:
    """The cycles that BOM lines `edges` (parent, component) would close with the BOMs already stored.

    Every revision that is not obsolete counts, except those in `replacing_bom_ids` (about to be rewritten).
    Materials are given by id or by code (ours or another system's); a code no material has yet stands for a
    material the caller is about to create. Each cycle comes back once, as codes from a parent round to
    itself: ["CAL-01", "HSG-01", "CAL-01"]. Writes nothing.
    """
    serialise_engineering_changes(session)
    graph = _existing_edges(session, replacing_bom_ids)
    new_edges: list[tuple[Node, Node]] = []
    keys: dict[int | str, Node] = {}

    def key(ref: int | str) -> Node:
        if ref not in keys:
            if isinstance(ref, int):
                keys[ref] = ref
            else:
                try:
                    keys[ref] = resolve_material(session, ref).id
                except (NotFound, Conflict):
                    keys[ref] = f"new:{ref.strip()}"
        return keys[ref]

    for parent, component in edges:
        edge = (key(parent), key(component))
        new_edges.append(edge)
        graph.setdefault(edge[0], set()).add(edge[1])
    sccs = _strong_components(graph)
    cycles: list[list[Node]] = []
    seen: set[frozenset[tuple[Node, Node]]] = set()
    for parent, component in new_edges:
        if parent == component:
            cycle = [parent, parent]
        elif sccs.get(parent) is not None and sccs.get(parent) == sccs.get(component):
            members = {n for n, c in sccs.items() if c == sccs[parent]}
            cycle = [parent, *_path(graph, component, parent, members)]
        else:
            continue
        signature = frozenset(pairwise(cycle))
        if signature not in seen:
            seen.add(signature)
            cycles.append(cycle)
    return [_labels(session, c) for c in cycles]


def _labels(session: Session, nodes: Sequence[Node]) -> list[str]:
    ids = [n for n in nodes if isinstance(n, int)]
    found = session.execute(select(Material.id, Material.code).where(Material.id.in_(ids))) if ids else []
    codes = {mid: code for mid, code in found}
    return [codes.get(n, f"#{n}") if isinstance(n, int) else str(n).removeprefix("new:") for n in nodes]


def _chain(cycle: list[str]) -> str:
    return " → ".join(cycle)


def check_bom_cycles(session: Session, edges: Iterable[tuple[int | str, int | str]], *,
                     replacing_bom_ids: Iterable[int] = ()) -> None:
    """Refuse a set of new BOM lines that would close a cycle, naming every cycle (all-or-nothing imports)."""
    cycles = find_bom_cycles(session, edges, replacing_bom_ids=replacing_bom_ids)
    if cycles:
        raise Invalid("bom_cycle", _l(
            "These BOM lines would make a material contain itself: {cycles}.",
            cycles="; ".join(_chain(c) for c in cycles)), details=[{"cycle": c} for c in cycles])


def _refuse_cycles(session: Session, material: Material, components: Iterable[int],
                   bom_id: int | None) -> None:
    cycles = find_bom_cycles(session, [(material.id, c) for c in components],
                             replacing_bom_ids=[bom_id] if bom_id is not None else [])
    if cycles:
        raise Invalid("bom_cycle", _l(
            "The BOM of {material} would make it contain itself: {cycle}. Remove that component or change "
            "the BOM it comes through.", material=material.code, cycle="; ".join(_chain(c) for c in cycles)),
            details=[{"cycle": c} for c in cycles])


# -- writing -----------------------------------------------------------------------------------------------


def _build_lines(session: Session, lines: list[BomLineIn]) -> list[BomLine]:
    """Check each line and make it, defaulting positions to 10, 20, 30 … and units to the component's."""
    converter = UnitConverter(session)
    positions = [ln.position if ln.position is not None else (i + 1) * 10 for i, ln in enumerate(lines)]
    repeated = sorted({p for p in positions if positions.count(p) > 1})
    if repeated:
        raise Invalid("bom_position_repeated", _l(
            "Each BOM line needs its own position; repeated: {positions}.",
            positions=", ".join(map(str, repeated))))
    built = []
    for pos, ln in zip(positions, lines, strict=True):
        component = session.get(Material, ln.component_id)
        if component is None:
            raise Invalid("bom_component_missing", _l(
                "Line {position}: material {id} does not exist.", position=pos, id=ln.component_id))
        where = {"position": pos, "component": component.code}
        if pos <= 0:
            raise Invalid("bom_position", _l("Line {position} ({component}): the position must be a positive "
                                             "number.", **where))
        if ln.quantity <= 0:
            raise Invalid("bom_quantity", _l(
                "Line {position} ({component}): the quantity must be greater than zero.", **where))
        if not Decimal(0) <= ln.scrap_factor < Decimal(1):
            raise Invalid("bom_scrap_factor", _l(
                "Line {position} ({component}): the scrap factor must be at least 0 and below 1 "
                "(0.02 means 2 % more is issued).", **where))
        if ln.operation_seq is not None and ln.operation_seq <= 0:
            raise Invalid("bom_operation_seq", _l(
                "Line {position} ({component}): the operation number must be a positive number.", **where))
        unit_id = ln.unit_id if ln.unit_id is not None else component.unit_id
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise Invalid("unit_not_found", _l("Unit of measure {id} does not exist.", id=unit_id))
        if not converter.can_convert(unit.id, component.unit_id, component.id):
            raise Invalid("bom_unit_not_convertible", _l(
                "Line {position} ({component}): {unit} cannot be converted to the component's base unit "
                "{base}; add a unit conversion first.", unit=unit.code, base=component.unit.code, **where))
        built.append(BomLine(position=pos, component_id=component.id, quantity=ln.quantity, unit_id=unit.id,
                             scrap_factor=ln.scrap_factor, operation_seq=ln.operation_seq,
                             backflush=ln.backflush))
    return built


def _check_header(material: Material, base_quantity: Decimal, effective_from: date,
                  effective_to: date | None) -> None:
    if base_quantity <= 0:
        raise Invalid("bom_base_quantity", _l(
            "The base quantity of the BOM of {material} must be greater than zero.", material=material.code))
    check_dates(Bom, effective_from, effective_to)


def _check_revision_free(session: Session, material: Material, revision: str, but: int | None = None) -> None:
    taken = session.scalar(select(Bom.id).where(Bom.material_id == material.id, Bom.revision == revision))
    if taken is not None and taken != but:
        raise Conflict("bom_revision_taken", _l(
            "{material} already has a BOM revision {revision}.", material=material.code, revision=revision))


def _refuse_empty_release(bom_material: Material, revision: str, line_count: int) -> None:
    if line_count == 0:
        raise Invalid("bom_empty", _l(
            "Revision {revision} of the BOM of {material} has no lines; add components before releasing it.",
            revision=revision, material=bom_material.code))


def _refuse_obsolete(bom: Bom) -> None:
    if bom.status == DocumentStatus.OBSOLETE:
        raise Invalid("bom_obsolete", _l(
            "Revision {revision} of the BOM of {material} is obsolete and can no longer change; make a new "
            "revision.", revision=bom.revision, material=bom.material.code))


def _refuse_unsigned(bom: Bom, signature: ESignature | None) -> None:
    """A released revision is what production follows: changing it, or taking it out of use, is signed."""
    if bom.status == DocumentStatus.RELEASED:
        check_signature(signature, "bom", bom.id, _l(
            "Revision {revision} of the BOM of {material} is released: changing it needs an electronic "
            "signature (or make a new revision).", revision=bom.revision, material=bom.material.code))


def _saved(uow: UnitOfWork, bom: Bom, created: bool) -> None:
    uow.record(BomRevisionSaved(
        bom_id=bom.id, material_id=bom.material_id, material_code=bom.material.code, revision=bom.revision,
        status=bom.status.value, created=created,
        component_ids=sorted({ln.component_id for ln in bom.lines})))


def _released(uow: UnitOfWork, bom: Bom) -> None:
    uow.record(BomRevisionReleased(
        bom_id=bom.id, material_id=bom.material_id, material_code=bom.material.code, revision=bom.revision,
        effective_from=bom.effective_from, effective_to=bom.effective_to))


def create_bom(uow: UnitOfWork, data: BomCreate) -> Bom:
    """Save a new BOM revision with its lines; every rule is checked before anything is written."""
    s = uow.session
    material = s.get(Material, data.material_id)
    if material is None:
        raise Invalid("material_not_found", _l("Material {id} does not exist.", id=data.material_id))
    revision = data.revision.strip()
    effective_from = data.effective_from or clock.now().date()
    _check_revision_free(s, material, revision)
    _check_header(material, data.base_quantity, effective_from, data.effective_to)
    lines = _build_lines(s, data.lines)
    if data.status != DocumentStatus.OBSOLETE:
        _refuse_cycles(s, material, [ln.component_id for ln in lines], None)
    if data.status == DocumentStatus.RELEASED:
        _refuse_empty_release(material, revision, len(lines))
        check_no_overlap(Bom, s, material.id, revision, effective_from, data.effective_to, None)
    bom = Bom(material_id=material.id, revision=revision, status=data.status, effective_from=effective_from,
              effective_to=data.effective_to, base_quantity=data.base_quantity, note=data.note, lines=lines)
    s.add(bom)
    uow.flush()
    _saved(uow, bom, created=True)
    if bom.status == DocumentStatus.RELEASED:
        _released(uow, bom)
    return bom


def update_bom(uow: UnitOfWork, bom_id: int, data: BomUpdate, signature: ESignature | None = None
                ) -> Bom:
    """Change a revision's header and, when `lines` is given, replace its lines. Obsolete revisions stay as
    they are; a stale `version` is refused."""
    s = uow.session
    bom = get_bom(s, bom_id)
    check_version(bom, data.version)
    _refuse_obsolete(bom)
    _refuse_unsigned(bom, signature)
    material = bom.material
    given = data.model_fields_set
    revision = data.revision.strip() if data.revision else bom.revision
    effective_from = data.effective_from or bom.effective_from
    effective_to = data.effective_to if "effective_to" in given else bom.effective_to
    base_quantity = data.base_quantity if data.base_quantity is not None else bom.base_quantity
    _check_revision_free(s, material, revision, but=bom.id)
    _check_header(material, base_quantity, effective_from, effective_to)
    lines = _build_lines(s, data.lines) if data.lines is not None else None
    if lines is not None:
        _refuse_cycles(s, material, [ln.component_id for ln in lines], bom.id)
    if bom.status == DocumentStatus.RELEASED:
        _refuse_empty_release(material, revision, len(lines if lines is not None else bom.lines))
        check_no_overlap(Bom, s, material.id, revision, effective_from, effective_to, bom.id)
    if lines is not None:
        # Old lines go before new ones come in (positions are unique within a revision), and before the header
        # changes, so that the row is written, and its version moves, once.
        bom.lines.clear()
        s.flush()
        bom.lines.extend(lines)
    bom.revision, bom.effective_from, bom.effective_to = revision, effective_from, effective_to
    bom.base_quantity = base_quantity
    if "note" in given:
        bom.note = data.note
    # Lines alone do not touch the row: move its version so other editors see the change.
    bom.updated_at = clock.now()
    uow.flush()
    _saved(uow, bom, created=False)
    return bom


def release_bom(uow: UnitOfWork, bom_id: int, version: int | None = None) -> Bom:
    """Put a draft revision in effect over its date range; releasing a released one changes nothing."""
    s = uow.session
    bom = get_bom(s, bom_id)
    check_version(bom, version)
    if bom.status == DocumentStatus.RELEASED:
        return bom
    _refuse_obsolete(bom)
    _refuse_empty_release(bom.material, bom.revision, len(bom.lines))
    check_no_overlap(Bom, s, bom.material_id, bom.revision, bom.effective_from, bom.effective_to, bom.id)
    bom.status = DocumentStatus.RELEASED
    uow.flush()
    _released(uow, bom)
    return bom


def obsolete_bom(uow: UnitOfWork, bom_id: int, version: int | None = None,
                signature: ESignature | None = None) -> Bom:
    """Take a revision out of use for good; work orders made from it keep it."""
    bom = get_bom(uow.session, bom_id)
    check_version(bom, version)
    if bom.status == DocumentStatus.OBSOLETE:
        return bom
    _refuse_unsigned(bom, signature)
    bom.status = DocumentStatus.OBSOLETE
    uow.flush()
    uow.record(BomRevisionObsoleted(bom_id=bom.id, material_id=bom.material_id,
                                    material_code=bom.material.code, revision=bom.revision))
    return bom


# -- explosion and where-used ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplodedLine:
    """One component of a multi-level explosion.

    `quantity_per` is per one base unit of the parent, in the line's unit; `total_quantity` is what the
    requested quantity needs, scrap included, in the component's base `unit`.
    """

    level: int  # 1 = a direct component
    path: tuple[str, ...]  # codes from the exploded material down to this component
    position: int
    material: Material
    quantity_per: Decimal
    line_unit: Unit
    scrap_factor: Decimal
    total_quantity: Decimal
    unit: Unit
    has_bom: bool
    bom_id: int  # the revision this line belongs to
    bom_revision: str
    parent_id: int
    operation_seq: int | None

    @property
    def sourcing(self) -> object:
        return self.material.sourcing


def explode_bom(session: Session, material_id: int, quantity: Decimal, on: date, *,
                bom_id: int | None = None) -> list[ExplodedLine]:
    """Everything `quantity` of a material is made of, level by level, through the BOMs in effect on `on`.

    Lines come in tree order (each followed by its own components). A component's total is
    (parent total / base quantity) × line quantity × (1 + scrap factor), converted to its base unit.
    `bom_id` explodes that revision at the top instead of the one in effect (the revision selector).
    """
    root = get_material(session, material_id)
    converter = UnitConverter(session)
    effective: dict[int, Bom | None] = {}

    def bom_of(mid: int) -> Bom | None:
        if mid not in effective:
            effective[mid] = effective_bom(session, mid, on)
        return effective[mid]

    if bom_id is not None:
        top = get_bom(session, bom_id)
        if top.material_id != root.id:
            raise Invalid("bom_other_material", _l(
                "BOM revision {revision} belongs to {other}, not to {material}.",
                revision=top.revision, other=top.material.code, material=root.code))
    else:
        top = bom_of(root.id)
    out: list[ExplodedLine] = []
    if top is None:
        return out

    def walk(bom: Bom, parent_total: Decimal, path: tuple[str, ...], ids: tuple[int, ...]) -> None:
        level = len(path)
        if level > MAX_LEVELS:
            raise Invalid("bom_too_deep", _l("The BOM of {material} is more than {n} levels deep.",
                                             material=root.code, n=MAX_LEVELS))
        for line in bom.lines:
            component = line.component
            if component.id in ids:
                cycle = [*path[ids.index(component.id):], component.code]
                raise Invalid("bom_cycle", _l(
                    "The BOM of {material} would make it contain itself: {cycle}. Remove that component or "
                    "change the BOM it comes through.", material=root.code, cycle=_chain(cycle)))
            in_line_unit = parent_total / bom.base_quantity * line.quantity * (1 + line.scrap_factor)
            total = converter.convert(in_line_unit, line.unit_id, component.unit_id, component.id)
            own = bom_of(component.id)
            out.append(ExplodedLine(
                level=level, path=(*path, component.code), position=line.position, material=component,
                quantity_per=_qty(line.quantity / bom.base_quantity), line_unit=line.unit,
                scrap_factor=line.scrap_factor, total_quantity=_qty(total), unit=component.unit,
                has_bom=own is not None, bom_id=bom.id, bom_revision=bom.revision, parent_id=bom.material_id,
                operation_seq=line.operation_seq,
            ))
            if own is not None:
                walk(own, total, (*path, component.code), (*ids, component.id))

    walk(top, Decimal(quantity), (root.code,), (root.id,))
    return out


@dataclass(frozen=True)
class WhereUsedLine:
    """A BOM revision that uses the material (level 1) or uses a material that uses it (level 2 …)."""

    level: int
    path: tuple[str, ...]  # codes from the material asked about up to this parent
    material: Material  # the parent
    bom: Bom
    position: int
    quantity_per: Decimal  # per one base unit of the parent, in `unit`
    unit: Unit
    top_level: bool  # the parent is not a component of anything


def where_used(session: Session, material_id: int, *, include_obsolete: bool = False) -> list[WhereUsedLine]:
    """Every product a material goes into, up to the top-level products, through each BOM revision.

    Obsolete revisions are left out unless asked for. In tree order: a parent's revisions, then its own users.
    """
    root = get_material(session, material_id)
    users: dict[int, list[BomLine]] = {}

    def used_in(mid: int) -> list[BomLine]:
        if mid not in users:
            stmt = (select(BomLine).join(Bom, Bom.id == BomLine.bom_id)
                    .join(Material, Material.id == Bom.material_id)
                    .where(BomLine.component_id == mid)
                    .order_by(Material.code, Bom.effective_from, Bom.revision, BomLine.position))
            if not include_obsolete:
                stmt = stmt.where(Bom.status != DocumentStatus.OBSOLETE)
            users[mid] = list(session.scalars(stmt))
        return users[mid]

    out: list[WhereUsedLine] = []

    def walk(mid: int, path: tuple[str, ...], ids: tuple[int, ...]) -> None:
        level = len(path)
        if level > MAX_LEVELS:
            return
        by_parent: dict[int, list[BomLine]] = {}
        for line in used_in(mid):
            by_parent.setdefault(line.bom.material_id, []).append(line)
        for parent_id, lines in by_parent.items():
            if parent_id in ids:  # damaged data with a cycle: do not go round forever
                continue
            parent = lines[0].bom.material
            top = not used_in(parent_id)
            for line in lines:
                out.append(WhereUsedLine(
                    level=level, path=(*path, parent.code), material=parent, bom=line.bom,
                    position=line.position, quantity_per=_qty(line.quantity / line.bom.base_quantity),
                    unit=line.unit, top_level=top))
            walk(parent_id, (*path, parent.code), (*ids, parent_id))

    walk(root.id, (root.code,), (root.id,))
    return out
