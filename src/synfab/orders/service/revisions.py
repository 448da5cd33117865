"""BOM and routing revisions coming into effect reach the open work orders by themselves.

A work order follows the BOM and routing revisions it was made with (`bom_id`, `routing_id`: those in effect on
its due date when it was released). When another revision is in effect on the day (each site's today, or `on`):

- a work order not started takes it. A new BOM: the component work orders under it follow the new lines
  (quantities change, components added are released, components removed are cancelled) and its bought material
  follows (materials planning re-plans it on `WorkOrderRevised`). A new routing: its operations are replaced by
  the routing's, planned minutes = setup + quantity × run, and the schedule re-plans it;
- a work order whose work has started is never changed: it waits for the planner (`ReviewReason.BOM_REVISED`,
  `ROUTING_REVISED`, `BOM_ROUTING_REVISED`), once per revision — the flag's event names the revisions, so a
  planner who decided to keep the old one is not asked again the next day. So does one that cannot take the
  new BOM by itself because a component work order it would need cannot be released (the note says why);
- a work order made with a revision that takes effect later than the one in effect now (released for a due date
  after the change) keeps it: a revision is never taken back.

Everything happens in the caller's transaction. From the catalog's events (`orders.handlers`) the changes carry
the release as their cause; the daily turn (`orders.jobs`) and `synfab revisions apply` record
`RevisionsTookEffect` first and make it the cause.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from synfab.catalog import service as catalog
from synfab.catalog.choices import DocumentStatus
from synfab.catalog.models import Bom, Routing
from synfab.core.errors import DomainError
from synfab.core.models import EventRecord
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import (
    OPEN_WORK_ORDER_STATUSES,
    REVISION_REVIEW_REASONS,
    ReviewReason,
    WorkOrderStatus,
)
from synfab.orders.events import RevisionsTookEffect, WorkOrderRevised
from synfab.orders.models import WorkOrder
from synfab.orders.schemas import WorkOrderCreate
from synfab.orders.service.common import site_today
from synfab.orders.service.propagation import (
    cancel_tree,
    flag_for_review,
    follow,
    make_component_needs,
    open_children,
    share_needs,
    started,
)
from synfab.orders.service.release import MAX_LEVELS, release_work_order
from synfab.orders.service.work_orders import operations_from_routing, production_line_of

STARTED = "started"
R = TypeVar("R", Bom, Routing)


@dataclass
class RevisionsApplied:
    """What one run did: the work orders that took the revisions in effect, and those left to the planner."""

    revised: list[str] = field(default_factory=list)  # work order codes
    held: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Due:
    """What one work order is to do: take `bom` and/or `routing` (None: that one stays), unless `blocked_by`
    (`started`, or the code of the error that releasing a component work order would meet)."""

    wo: WorkOrder
    bom: Bom | None
    routing: Routing | None
    blocked_by: str | None

    @property
    def reason(self) -> ReviewReason:
        if self.bom is not None and self.routing is not None:
            return ReviewReason.BOM_ROUTING_REVISED
        return ReviewReason.BOM_REVISED if self.bom is not None else ReviewReason.ROUTING_REVISED

    def note(self, s: Session) -> str:
        """The revisions, old → new ("CAL-01: A → B", BOM first when both), and why it waits if it is not
        obvious; codes only, so that it reads the same in every language."""
        wo = self.wo
        parts = []
        for model, current, new in ((Bom, wo.bom_id, self.bom), (Routing, wo.routing_id, self.routing)):
            if new is not None:
                old = s.get(model, current) if current is not None else None
                parts.append(f"{old.revision if old is not None else '—'} → {new.revision}")
        note = f"{wo.material.code}: {' / '.join(parts)}"
        return note if self.blocked_by in (None, STARTED) else f"{note} ({self.blocked_by})"


def _to_take(current: R | None, in_effect: R | None) -> R | None:
    """The revision in effect, when the work order should take it: not the one it follows already, and that one
    is not a released revision taking effect later (made for a due date after the change: it keeps it)."""
    if in_effect is None or (current is not None and current.id == in_effect.id):
        return None
    if current is not None and current.status == DocumentStatus.RELEASED and \
            current.effective_from > in_effect.effective_from:
        return None
    return in_effect


def _release_blocker(s: Session, material_id: int, due: date, path: tuple[int, ...]) -> str | None:
    """Why a work order for this component could not be released with its own components (what
    `release_work_order` would refuse), as the error's code; None when it can."""
    if material_id in path or len(path) >= MAX_LEVELS:
        return "bom_loop"
    routing = catalog.effective_routing(s, material_id, due)
    if routing is None or not routing.operations:
        return "no_routing"
    bom = catalog.effective_bom(s, material_id, due)
    if bom is not None:
        for component_id in make_component_needs(s, bom, Decimal(1)):
            if (blocked := _release_blocker(s, component_id, due, (*path, material_id))) is not None:
                return blocked
    return None


class _Planner:
    """Which work orders are due to take which revisions, on which day; revisions in effect read once per
    (material, day)."""

    def __init__(self, s: Session, on: date | None) -> None:
        self.s, self.on = s, on
        self._days: dict[int, date] = {}
        self._in_effect: dict[tuple[int, date], tuple[Bom | None, Routing | None]] = {}

    def day(self, wo: WorkOrder) -> date:
        if self.on is not None:
            return self.on
        if wo.site_id not in self._days:
            self._days[wo.site_id] = site_today(self.s, wo.site)
        return self._days[wo.site_id]

    def in_effect(self, material_id: int, day: date) -> tuple[Bom | None, Routing | None]:
        key = (material_id, day)
        if key not in self._in_effect:
            self._in_effect[key] = (catalog.effective_bom(self.s, material_id, day),
                                    catalog.effective_routing(self.s, material_id, day))
        return self._in_effect[key]

    def due(self, wo: WorkOrder) -> _Due | None:
        s = self.s
        bom_now, routing_now = self.in_effect(wo.material_id, self.day(wo))
        bom = _to_take(s.get(Bom, wo.bom_id) if wo.bom_id is not None else None, bom_now)
        routing = _to_take(s.get(Routing, wo.routing_id) if wo.routing_id is not None else None, routing_now)
        if bom is None and routing is None:
            return None
        blocked_by = STARTED if started(wo) else self._bom_blocker(wo, bom)
        due = _Due(wo, bom, routing, blocked_by)
        if blocked_by is not None and self._asked_already(due):
            return None
        return due

    def _bom_blocker(self, wo: WorkOrder, bom: Bom | None) -> str | None:
        """Why the work order cannot follow the new BOM by itself: a component work order it would need cannot be
        released (only released work orders have them), or a quantity cannot be converted."""
        if bom is None:
            return None
        try:
            needs = make_component_needs(self.s, bom, wo.quantity)
            if wo.status == WorkOrderStatus.PLANNED:
                return None
            have = {child.material_id for child in open_children(self.s, wo)}
            for component_id in needs.keys() - have:
                if (blocked := _release_blocker(self.s, component_id, wo.due_date, (wo.material_id,))) is not None:
                    return blocked
        except DomainError as exc:
            return exc.code
        return None

    def _asked_already(self, due: _Due) -> bool:
        """The planner was asked about these revisions before (and may have decided to keep the old ones)."""
        wo = due.wo
        if wo.review_reason in REVISION_REVIEW_REASONS and wo.review_note == due.note(self.s)[:200]:
            return True
        asked_bom, asked_routing = set(), set()
        for payload in self.s.scalars(select(EventRecord.payload).where(
                EventRecord.type == "WorkOrderNeedsReview",
                EventRecord.payload["work_order_id"].as_integer() == wo.id)):
            asked_bom.add(payload.get("new_bom_id"))
            asked_routing.add(payload.get("new_routing_id"))
        return (due.bom is None or due.bom.id in asked_bom) and \
            (due.routing is None or due.routing.id in asked_routing)


def _open_work_orders(s: Session, material_id: int | None) -> list[WorkOrder]:
    stmt = select(WorkOrder).where(WorkOrder.status.in_([st.value for st in OPEN_WORK_ORDER_STATUSES])) \
        .options(selectinload(WorkOrder.operations)).order_by(WorkOrder.id)
    if material_id is not None:
        stmt = stmt.where(WorkOrder.material_id == material_id)
    return list(s.scalars(stmt))


def _replace_operations(s: Session, wo: WorkOrder, routing: Routing) -> None:
    """The work order's operations (none started) become the routing's. Its production line follows when it
    came from the old routing's first work center, and stays when a person chose it."""
    steps = sorted(routing.operations, key=lambda op: op.seq)
    old = sorted(wo.operations, key=lambda op: op.seq)
    line_from_routing = production_line_of(s, old[0].work_center_id if old else None) == wo.production_line_id
    # Old operations go first: step numbers are unique within a work order.
    wo.operations.clear()
    s.flush()
    wo.operations.extend(operations_from_routing(steps, wo.quantity))
    wo.routing_id = routing.id
    if line_from_routing and steps:
        wo.production_line_id = production_line_of(s, steps[0].work_center_id)


def _follow_bom(uow: UnitOfWork, wo: WorkOrder, note: str) -> list[WorkOrder]:
    """The component work orders under `wo` follow its (new) BOM; returns the ones released for components
    added."""
    s = uow.session
    needs = make_component_needs(s, s.get(Bom, wo.bom_id), wo.quantity)
    for child, need in share_needs(open_children(s, wo), needs):
        if need is None:
            cancel_tree(uow, child, note, ReviewReason.BOM_REVISED)
        else:
            follow(uow, child, need, child.due_date, child.priority, note, ReviewReason.BOM_REVISED)
    if wo.status == WorkOrderStatus.PLANNED:
        return []  # not released yet: its components' work orders come with its release
    made: list[WorkOrder] = []
    for component_id, need in needs.items():
        made += release_work_order(uow, WorkOrderCreate(material_id=component_id, quantity=need, parent_id=wo.id))
    return made


def _take(uow: UnitOfWork, due: _Due) -> list[WorkOrder]:
    s, wo = uow.session, due.wo
    note = due.note(s)
    old_bom = s.get(Bom, wo.bom_id) if wo.bom_id is not None else None
    old_routing = s.get(Routing, wo.routing_id) if wo.routing_id is not None else None
    if due.routing is not None:
        _replace_operations(s, wo, due.routing)
    if due.bom is not None:
        wo.bom_id = due.bom.id
    uow.flush()
    bom, routing = due.bom or old_bom, due.routing or old_routing
    uow.record(WorkOrderRevised(
        work_order_id=wo.id, code=wo.code, material_id=wo.material_id,
        old_bom_id=old_bom.id if old_bom else None, new_bom_id=bom.id if bom else None,
        old_bom_revision=old_bom.revision if old_bom else None, new_bom_revision=bom.revision if bom else None,
        old_routing_id=old_routing.id if old_routing else None, new_routing_id=routing.id if routing else None,
        old_routing_revision=old_routing.revision if old_routing else None,
        new_routing_revision=routing.revision if routing else None, production_line_id=wo.production_line_id,
    ))
    return _follow_bom(uow, wo, note) if due.bom is not None else []


def apply_effective_revisions(uow: UnitOfWork, material_id: int | None = None,
                              on: date | None = None) -> RevisionsApplied:
    """Let the open work orders (of one material, or all) follow the BOM and routing revisions in effect on `on`
    (default: each site's today): those not started take them, with their component work orders, material and
    operations; started ones wait for the planner. Running it again changes nothing."""
    s = uow.session
    planner = _Planner(s, on)
    result = RevisionsApplied()
    seen: set[int] = set()
    queue = deque(_open_work_orders(s, material_id))
    while queue:
        wo = queue.popleft()
        if wo.id in seen or wo.status not in OPEN_WORK_ORDER_STATUSES:
            continue
        seen.add(wo.id)
        due = planner.due(wo)
        if due is None:
            continue
        if due.blocked_by is not None:
            flag_for_review(uow, wo, due.reason, due.note(s), new_bom_id=due.bom.id if due.bom else None,
                            new_routing_id=due.routing.id if due.routing else None)
            result.held.append(wo.code)
        else:
            # Component work orders released for new lines were made with the revisions of their due date:
            # they are looked at too, so that a second run finds nothing to do.
            queue.extend(_take(uow, due))
            result.revised.append(wo.code)
    return result


def work_orders_due(session: Session, material_id: int | None = None, on: date | None = None) -> list[WorkOrder]:
    """The open work orders that `apply_effective_revisions` would change or flag now (nothing is written)."""
    planner = _Planner(session, on)
    return [wo for wo in _open_work_orders(session, material_id) if planner.due(wo) is not None]


def apply_revisions_taking_effect(uow: UnitOfWork, on: date | None = None) -> RevisionsApplied:
    """The daily turn (and `synfab revisions apply`): revisions released ahead of time come into effect. When
    open work orders are due to follow, `RevisionsTookEffect` is recorded first and is the cause of every change."""
    due = work_orders_due(uow.session, on=on)
    if not due:
        return RevisionsApplied()
    cause = uow.record(RevisionsTookEffect(on=on, material_ids=sorted({wo.material_id for wo in due})))
    with uow.caused_by(cause):
        return apply_effective_revisions(uow, on=on)
