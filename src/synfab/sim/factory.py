"""The demo factory moves: simulated people work the loop through the same services a person's clicks reach.

Every tick (about one real second; `speed` says how many simulated minutes of work it holds) these happen, each
step in a transaction of its own under a real demo user, so events, handlers, the audit log and the live pages
see exactly what they would see from a person:

- **Work centers.** Each works the first operation of its dispatch list it can: one already started, else one
  whose earlier operations are done. An operator of the line who is qualified starts it (the terminal refuses the
  others with `not_qualified`; the next is tried), scans the lots of the components the step uses from line-side
  WIP and reports good quantity as fast as the routing's minutes allow (now and then a little scrap with a
  reason on customer work), and completes it. An operation whose material is missing is paused and waits;
  the work center moves on to other work.
- **Line-side stock.** Before an operation runs, the storekeeper transfers what it still needs from the stores
  (raw materials, the area's WIP) to the line's WIP location, first expiring first, then oldest.
- **Purchasing.** Purchase suggestions due to be ordered become purchase orders that are placed at once; after
  the supplier's lead time (a lead-time day passes in `LEAD_DAY_MINUTES` simulated minutes) the goods are
  received into the raw-material store.
- **Orders.** New orders arrive now and then and are released; an open line changes now and then (due date or
  quantity, with its version); when too little work is open, the earliest-due open line is released.
- **Shipping.** Lines whose work is done — or, never released, that finished goods already cover — are picked
  (first expiring, then oldest lots) and shipped.

A refusal (`DomainError`) is what a person would meet too: it is logged at debug level and the simulation goes
on. Nothing that goes wrong stops it: unexpected errors are logged and counted. The wall clock stays real
(sessions, audit, events); only the amount of work per tick is scaled. Random choices come from a seeded
`random.Random`, so a run on the same demo is reproducible. Reading stock and BOMs for it is `sim.stock`'s.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.choices import MaterialType, Sourcing
from synfab.catalog.models import Material
from synfab.core.context import SYSTEM, Actor, acting_as
from synfab.core.db import Database
from synfab.core.errors import DomainError
from synfab.core.ids import new_id
from synfab.core.uow import UnitOfWork
from synfab.inventory import service as inventory
from synfab.inventory.choices import MoveKind
from synfab.inventory.models import Lot
from synfab.inventory.purchasing import service as purchasing
from synfab.inventory.purchasing.choices import RECEIVABLE_PO_STATUSES
from synfab.inventory.purchasing.models import PurchaseOrder
from synfab.inventory.purchasing.schemas import ReceiveIn
from synfab.inventory.schemas import MoveIn
from synfab.orders import service as orders
from synfab.orders.choices import (
    CHANGEABLE_LINE_STATUSES,
    LineStatus,
    OperationStatus,
    PauseReason,
    ScrapReason,
    WorkOrderStatus,
)
from synfab.orders.models import Customer, SalesOrderLine, WorkOrder, WorkOrderOperation
from synfab.orders.schemas import (
    ConsumeIn,
    OperationCommand,
    PauseIn,
    ReportIn,
    SalesOrderCreate,
    SalesOrderLineCreate,
    SalesOrderLineUpdate,
)
from synfab.orders.shipments import service as shipments
from synfab.orders.shipments.schemas import PickIn, ShipmentCreate
from synfab.people import service as people
from synfab.people.models import Grant, Role, User
from synfab.planning.materials import service as materials
from synfab.planning.materials.choices import SuggestionStatus
from synfab.planning.materials.models import PurchaseSuggestion
from synfab.planning.schedule import service as schedule
from synfab.plant import service as plant
from synfab.plant.choices import Level, StorageRole
from synfab.plant.models import PlantNode
from synfab.sim.stock import (
    Need,
    carry_reservations,
    operation_needs,
    reservations_by_place,
    stock_covers,
    store_locations,
    usable_stock,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

MINUTES_PER_TICK = 20  # simulated minutes of work in one tick at speed 1
LEAD_DAY_MINUTES = 30  # a supplier's lead-time day passes in this many simulated minutes
ORDER_EVERY_MINUTES = 300  # a new order arrives about this often (simulated minutes)
CHANGE_EVERY_MINUTES = 240  # an open order line changes about this often
OPEN_WORK_TARGET = 12  # the planner releases more order lines while fewer top-level work orders are open
LOOKAHEAD = 4  # how far down its dispatch list a work center looks for work it can do
SHIPMENTS_PER_TICK = 3
SCRAP_CHANCE = 0.15

# The demo people who do each kind of work (their grants decide what they may do, as for anyone signed in).
PLANNER, BUYER, STOREKEEPER = "manager", "procurement", "procurement"
RECEIVER = "procurement"  # the storekeeper of the site books the goods in
QTY = Decimal("0.000001")
ZERO = Decimal(0)
STARTED = frozenset({OperationStatus.RUNNING, OperationStatus.PAUSED})
FINISHED = frozenset({OperationStatus.DONE, OperationStatus.CANCELLED})
OPEN_WORK = (WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS)


@dataclass
class Tally:
    """What the simulation did, for the summary table and tests."""

    operations_started: int = 0
    operations_completed: int = 0
    quantity_reported: Decimal = ZERO
    output_lots: int = 0
    lots_consumed: int = 0
    transfers: int = 0
    paused_for_material: int = 0
    purchase_orders_placed: int = 0
    purchase_receipts: int = 0
    shipments: int = 0
    orders_arrived: int = 0
    lines_released: int = 0
    orders_changed: int = 0
    refused: int = 0
    errors: int = 0

    def rows(self) -> list[tuple[str, str]]:
        return [(f.name.replace("_", " "), str(getattr(self, f.name))) for f in fields(self)]


class FactorySimulator:
    """Runs the demo factory: `run(ticks)` in the caller's thread, or `start()` / `stop()` in a daemon thread."""

    def __init__(self, db: Database, *, speed: float = 1.0, seed: int = 2026, tick_seconds: float = 1.0) -> None:
        self.db = db
        self.speed = max(float(speed), 0.01)
        self.tick_seconds = tick_seconds
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.minutes = 0.0  # simulated time since the start
        self._placed: dict[int, float] = {}  # purchase order id → simulated minute it was placed or first seen
        self._actors: dict[str, Actor] = {}
        self._output_lots: set[int] = set()
        self._carry: dict[int, Decimal] = {}  # operation id → simulated minutes of work not yet reported
        self._qualified: dict[tuple[int, str | None, int | None], str] = {}  # (work center, skill, level) → who
        self._next_order = self._after(ORDER_EVERY_MINUTES)
        self._next_change = self._after(CHANGE_EVERY_MINUTES / 4)  # an early one, so a change shows soon
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- running ------------------------------------------------------------------------------------------

    @property
    def tick_minutes(self) -> float:
        return MINUTES_PER_TICK * self.speed

    def run(self, ticks: int) -> Tally:
        for _ in range(ticks):
            self.tick()
        return self.tally

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="synfab-factory", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            self.tick()

    def tick(self) -> None:
        """One tick of the factory; never raises."""
        self.minutes += self.tick_minutes
        activities: list[Callable[[], None]] = [self._arrive_orders, self._change_an_order, self._keep_work_released]
        activities += [lambda wc=wc: self._work_center(wc) for wc in self._work_centers()]
        activities += [self._order_materials, self._receive_materials, self._ship]
        for activity in activities:
            if self._stop.is_set() and self._thread is not None:
                return
            try:
                activity()
            except Exception:  # the factory goes on whatever one activity met
                self.tally.errors += 1
                log.exception("factory simulation: an activity failed")

    def _after(self, mean_minutes: float) -> float:
        return self.minutes + self.rng.expovariate(1 / mean_minutes)

    # -- people and transactions ----------------------------------------------------------------------------

    def _actor(self, username: str) -> Actor:
        """The demo user as the web would see them signed in: their grants make their scope."""
        if username not in self._actors:
            with self._reading() as s:
                user = s.scalar(select(User).where(User.username == username))
                if user is None:
                    raise LookupError(f"the demo has no user {username}")
                p = people.principal_for(s, user)
            self._actors[username] = Actor(p.user_id, p.username, p.restriction)
        return self._actors[username]

    def _reading(self) -> Session:
        with acting_as(SYSTEM):
            return self.db.session()

    def _step(self, username: str, what: str, act: Callable[[UnitOfWork], T]) -> T | None:
        """`act` in a transaction of its own as a demo user; a refusal is logged and answers None."""
        try:
            with acting_as(self._actor(username), request_id=new_id()), self.db.uow() as uow:
                result = act(uow)
                if result is not None:
                    uow.commit()
                return result
        except DomainError as exc:
            self.tally.refused += 1
            log.debug("%s (%s) refused: %s %s", what, username, exc.code, exc.message)
            return None

    # -- work centers ---------------------------------------------------------------------------------------

    def _work_centers(self) -> list[int]:
        with self._reading() as s:
            return [n.id for n in schedule.work_centers(s)]

    def _work_center(self, wc_id: int) -> None:
        """Work on the first operation of the dispatch list that can go on: a started one first. One that waits
        for material is paused, and the work center moves on to other work."""
        with self._reading() as s:
            lines = [ln for ln in schedule.dispatch_list(s, wc_id) if ln.status not in FINISHED]
        lines.sort(key=lambda ln: (ln.status != OperationStatus.RUNNING, ln.status != OperationStatus.PAUSED))
        tried = 0
        for line in lines:
            plan = self._plan(line.operation_id)
            if plan is None:
                continue
            worked = self._work_operation(wc_id, plan)
            if worked:
                return
            if plan.status == OperationStatus.RUNNING:
                self._pause_for_material(wc_id, plan)
            tried += 1
            if tried == LOOKAHEAD:
                return

    def _plan(self, operation_id: int) -> OperationPlan | None:
        """What is left of an operation that can be worked now (None: an earlier operation is not done)."""
        with self._reading() as s:
            op = s.get(WorkOrderOperation, operation_id)
            if op is None or op.status in FINISHED or op.work_order.status not in OPEN_WORK:
                return None
            wo = op.work_order
            live = sorted((o for o in wo.operations if o.status != OperationStatus.CANCELLED), key=lambda o: o.seq)
            earlier = [o for o in live if o.seq < op.seq]
            if op.status not in STARTED and any(o.status not in FINISHED for o in earlier):
                return None
            planned = earlier[-1].good_qty if earlier else wo.quantity  # what reached this step
            return OperationPlan(
                work_order_id=wo.id, work_order_code=wo.code, operation_id=op.id, status=op.status, version=op.version,
                left=max(planned - op.good_qty - op.scrap_qty, ZERO),
                setup=Decimal(op.setup_minutes or 0), run=Decimal(op.run_minutes or 0),
                skill=op.required_skill, level=op.required_skill_level,
                needs=operation_needs(s, wo, op, first=not earlier), may_scrap=wo.parent_id is None,
                line_id=wo.production_line_id or wo.site_id)

    def _work_operation(self, wc_id: int, plan: OperationPlan) -> bool:
        """Start (or resume), consume and report one tick's worth; False when nothing could be done."""
        # Minutes of this tick, with what earlier ticks left over (a setup longer than a tick goes on).
        minutes = self._carry.pop(plan.operation_id, ZERO) + Decimal(str(self.tick_minutes))
        if plan.status not in STARTED:
            minutes -= plan.setup
        can = plan.left if plan.run <= 0 else min(plan.left, max(minutes / plan.run, ZERO).quantize(
            Decimal(1), ROUND_DOWN))
        if plan.left > 0 and plan.needs:
            self._bring_to_line(plan)
            makeable = self._makeable(plan)
            if makeable <= 0:
                return False  # waits for material
            can = min(can, makeable)
        operator = self._begin(wc_id, plan)
        if operator is None:
            return False
        if plan.left > 0 and can <= 0:
            self._carry[plan.operation_id] = minutes
            return True  # still setting up, or the next piece is not done yet
        done = can >= plan.left
        scrap = ZERO
        if plan.may_scrap and can >= 20 and self.rng.random() < SCRAP_CHANCE:
            scrap = max(Decimal(1), (can * Decimal("0.01")).quantize(Decimal(1), ROUND_DOWN))
        reason = self.rng.choice(list(ScrapReason)) if scrap else None
        with self._reading() as s:
            scans = self._scans(s, plan, can)

        def report(uow: UnitOfWork) -> Any:
            for lot_code, quantity in scans:
                orders.consume(uow, plan.work_order_id, plan.operation_id,
                               ConsumeIn(lot_code=lot_code, quantity=quantity, client_key=_key()))
            return orders.report_production(uow, plan.work_order_id, plan.operation_id, ReportIn(
                good=can - scrap, scrap=scrap, scrap_reason=reason, complete=done, client_key=_key()))

        result = self._step(operator, "report production", report)
        if result is None:
            return False
        self.tally.lots_consumed += len(scans)
        self.tally.quantity_reported += can
        if result.lot_id is not None and result.lot_id not in self._output_lots:
            self._output_lots.add(result.lot_id)
            self.tally.output_lots += 1
        if done:
            self.tally.operations_completed += 1
        elif plan.run > 0:
            self._carry[plan.operation_id] = min(max(minutes - can * plan.run, ZERO), plan.run)
        return True

    def _begin(self, wc_id: int, plan: OperationPlan) -> str | None:
        """Who works the operation: started (or resumed) by a qualified operator of the line."""
        key = (wc_id, plan.skill, plan.level)
        if plan.status == OperationStatus.RUNNING:
            return self._qualified.get(key) or next(iter(self._operators(wc_id)), None)
        candidates = self._operators(wc_id)
        if key in self._qualified:
            candidates.sort(key=lambda u: u != self._qualified[key])
        for username in candidates:
            if plan.status == OperationStatus.PAUSED:
                act: Callable[[UnitOfWork], Any] = lambda uow: orders.resume_operation(
                    uow, plan.work_order_id, plan.operation_id, OperationCommand(client_key=_key()))
                return username if self._step(username, "resume", act) is not None else None
            started = self._step(username, "start operation", lambda uow: orders.start(
                uow, plan.work_order_id, plan.operation_id, OperationCommand(version=plan.version,
                                                                               client_key=_key())))
            if started is not None:
                self._qualified[key] = username
                self.tally.operations_started += 1
                return username
        return None

    def _operators(self, wc_id: int) -> list[str]:
        """People holding the operator role over the work center (its line or above), in a shuffled order."""
        with self._reading() as s:
            node = plant.get_node(s, wc_id)
            rows = s.execute(select(User.username, PlantNode.path).join(Grant, Grant.user_id == User.id)
                             .join(Role, Role.id == Grant.role_id).join(PlantNode, PlantNode.id == Grant.scope_node_id)
                             .where(Role.code == "operator", User.active.is_(True))
                             .order_by(User.username)).all()
        names = sorted({name for name, path in rows if node.path.startswith(path)})
        self.rng.shuffle(names)
        return names

    def _pause_for_material(self, wc_id: int, plan: OperationPlan) -> None:
        """The operator who runs it pauses an operation whose material ran out."""
        operator = self._qualified.get((wc_id, plan.skill, plan.level))
        if operator is None:
            return
        paused = self._step(operator, "pause", lambda uow: orders.pause_operation(
            uow, plan.work_order_id, plan.operation_id, PauseIn(reason=PauseReason.MATERIAL_MISSING,
                                                                client_key=_key())))
        if paused is not None:
            self.tally.paused_for_material += 1

    # -- material at the line -------------------------------------------------------------------------------

    def _wip(self, s: Session, plan: OperationPlan) -> PlantNode | None:
        return plant.storage_location(s, plant.get_node(s, plan.line_id), StorageRole.WIP)

    def _makeable(self, plan: OperationPlan) -> Decimal:
        """How many units the usable stock at the line's WIP covers for every component of the operation."""
        with self._reading() as s:
            wip = self._wip(s, plan)
            if wip is None:
                return ZERO
            today = inventory.today(s)
            units = [sum((q for _lot, _loc, q in usable_stock(s, need.material_id, [wip.id], today)), ZERO)
                     / need.per_unit for need in plan.needs]
        return min(units).quantize(Decimal(1), ROUND_DOWN) if min(units) < plan.left else plan.left

    def _bring_to_line(self, plan: OperationPlan) -> None:
        """The storekeeper transfers what the operation still needs from the stores to the line's WIP: stock
        set aside for this work order or free, never what is set aside for other work; what was set aside for
        this work order moves with it."""
        with self._reading() as s:
            wip = self._wip(s, plan)
            if wip is None:
                return
            today = inventory.today(s)
            sources = store_locations(s, wip)
            moves: list[MoveIn] = []
            for need in plan.needs:
                at_line = sum((q for _lot, _loc, q in usable_stock(s, need.material_id, [wip.id], today)), ZERO)
                missing = (plan.left * need.per_unit - at_line).quantize(QTY, ROUND_UP)
                if missing <= 0:
                    continue
                held = reservations_by_place(s, need.material_id)
                stock = usable_stock(s, need.material_id, sources, today)
                for lot_id, location_id, quantity in sorted(stock, key=lambda r: not held[(r[0], r[1])].get(
                        plan.work_order_id)):
                    if missing <= 0:
                        break
                    others = sum((q for d, q in held[(lot_id, location_id)].items() if d != plan.work_order_id),
                                 ZERO) + sum(held[(lot_id, None)].values(), ZERO)
                    take = min(missing, quantity - others)
                    if take <= 0:
                        continue
                    moves.append(MoveIn(kind=MoveKind.TRANSFER, material_id=need.material_id, lot_id=lot_id,
                                        from_location_id=location_id, to_location_id=wip.id, quantity=take,
                                        reference=plan.work_order_code, reason="line supply"))
                    missing -= take
        if not moves:
            return

        def supply(uow: UnitOfWork) -> Any:
            posted = inventory.post_moves(uow, moves)
            for move in moves:
                carry_reservations(uow, plan.work_order_id, move)
            return posted

        if self._step(STOREKEEPER, "supply the line", supply) is not None:
            self.tally.transfers += len(moves)

    def _scans(self, s: Session, plan: OperationPlan, made: Decimal) -> list[tuple[str, Decimal]]:
        """The lots the operator scans for `made` units: from line-side WIP, first expiring first."""
        wip = self._wip(s, plan)
        if wip is None or made <= 0:
            return []
        today = inventory.today(s)
        scans: list[tuple[str, Decimal]] = []
        for need in plan.needs:
            left = (made * need.per_unit).quantize(QTY, ROUND_UP)
            held = reservations_by_place(s, need.material_id)
            stock = usable_stock(s, need.material_id, [wip.id], today)
            # The lots set aside for this work order first: scanning another's would leave it short.
            for lot_id, _location, quantity in sorted(stock, key=lambda r: not held[(r[0], r[1])].get(
                    plan.work_order_id)):
                if left <= 0:
                    break
                take = min(left, quantity)
                scans.append((s.get(Lot, lot_id).code, take))  # type: ignore[union-attr]
                left -= take
        return scans

    # -- purchasing -----------------------------------------------------------------------------------------

    def _order_materials(self) -> None:
        """Purchase suggestions due to be ordered become purchase orders, placed with the supplier at once."""
        with self._reading() as s:
            today = inventory.today(s)
            due = list(s.scalars(select(PurchaseSuggestion.id).where(
                PurchaseSuggestion.status == SuggestionStatus.OPEN, PurchaseSuggestion.supplier_id.is_not(None),
                PurchaseSuggestion.order_by <= today).order_by(PurchaseSuggestion.id)))
        if not due:
            return
        made = self._step(BUYER, "convert suggestions",
                          lambda uow: [o.id for o in materials.convert_suggestions(uow, due)])
        for order_id in made or []:
            if self._step(BUYER, "place purchase order",
                          lambda uow, o=order_id: purchasing.place_purchase_order(uow, o)) is not None:
                self._placed[order_id] = self.minutes - self.tick_minutes  # placed as the tick's time began
                self.tally.purchase_orders_placed += 1

    def _receive_materials(self) -> None:
        """Goods arrive once the supplier's lead time has passed, into the raw-material store."""
        with self._reading() as s:
            placed = list(s.scalars(select(PurchaseOrder).where(PurchaseOrder.status.in_(
                [st.value for st in RECEIVABLE_PO_STATUSES])).order_by(PurchaseOrder.id)))
            arrivals = []
            for po in placed:
                since = self._placed.setdefault(po.id, self.minutes)
                lead = po.supplier.lead_time_days or 1
                if self.minutes - since < lead * LEAD_DAY_MINUTES:
                    continue
                store = plant.storage_location(s, plant.get_node(s, po.site_id), StorageRole.RAW_MATERIAL)
                if store is None:
                    continue
                arrivals += [(po.id, ln.id, ln.quantity - ln.received_quantity, store.id)
                             for ln in po.lines if ln.open and ln.quantity > ln.received_quantity]
        for po_id, line_id, quantity, store_id in arrivals:
            if self._step(RECEIVER, "receive", lambda uow, p=po_id, ln=line_id, q=quantity, to=store_id:
                          purchasing.receive_purchase_order_line(uow, p, ln, ReceiveIn(
                              quantity=q, location_id=to, supplier_lot=f"S{self.rng.randint(10000, 99999)}",
                              client_key=_key()))) is not None:
                self.tally.purchase_receipts += 1

    # -- orders ---------------------------------------------------------------------------------------------

    def _arrive_orders(self) -> None:
        """A customer's order arrives now and then; the planner releases its lines."""
        if self.minutes < self._next_order:
            return
        self._next_order = self._after(ORDER_EVERY_MINUTES)
        with self._reading() as s:
            customers = list(s.scalars(select(Customer.id).where(Customer.active.is_(True)).order_by(Customer.id)))
            products = [m.id for m in s.scalars(select(Material).where(
                Material.type == MaterialType.FINISHED, Material.sourcing == Sourcing.MAKE,
                Material.active.is_(True)).order_by(Material.code))
                if catalog.effective_routing(s, m.id, inventory.today(s)) is not None]
            site = s.scalar(select(PlantNode.id).where(PlantNode.level == Level.SITE).order_by(PlantNode.id))
            today = inventory.today(s)
        if not customers or not products or site is None:
            return
        picked = self.rng.sample(products, k=min(len(products), self.rng.randint(1, 2)))
        data = SalesOrderCreate(
            customer_id=self.rng.choice(customers), site_id=site, customer_po=f"PO{self.rng.randint(100000, 999999)}",
            lines=[SalesOrderLineCreate(material_id=m, quantity=Decimal(self.rng.choice([60, 100, 120, 200, 240])),
                                        due_date=today + timedelta(days=self.rng.randint(5, 21))) for m in picked])
        made = self._step(PLANNER, "enter order", lambda uow: _ids(orders.create_sales_order(uow, data)))
        if made is None:
            return
        self.tally.orders_arrived += 1
        order_id, line_ids = made
        for line_id in line_ids:
            self._release(order_id, line_id)

    def _release(self, order_id: int, line_id: int) -> None:
        if self._step(PLANNER, "release", lambda uow: orders.release_sales_order_line(uow, order_id, line_id)):
            self.tally.lines_released += 1

    def _keep_work_released(self) -> None:
        """While too little work is open, the planner releases the earliest-due open line."""
        with self._reading() as s:
            open_work = s.scalar(select(func.count()).select_from(WorkOrder).where(
                WorkOrder.parent_id.is_(None), WorkOrder.status.in_([st.value for st in OPEN_WORK]))) or 0
            if open_work >= OPEN_WORK_TARGET:
                return
            today = inventory.today(s)
            candidates = s.execute(select(SalesOrderLine.order_id, SalesOrderLine.id, SalesOrderLine.material_id)
                                   .where(SalesOrderLine.status == LineStatus.OPEN)
                                   .order_by(SalesOrderLine.due_date, SalesOrderLine.id).limit(20)).all()
            line = next(((o, ln) for o, ln, m in candidates if catalog.effective_routing(s, m, today)), None)
        if line is not None:
            self._release(*line)

    def _change_an_order(self) -> None:
        """Now and then a customer moves a due date or changes a quantity; the change reaches the work itself."""
        if self.minutes < self._next_change:
            return
        self._next_change = self._after(CHANGE_EVERY_MINUTES)
        with self._reading() as s:
            today = inventory.today(s)
            lines = s.execute(select(SalesOrderLine.order_id, SalesOrderLine.id, SalesOrderLine.version,
                                     SalesOrderLine.quantity, SalesOrderLine.due_date)
                              .where(SalesOrderLine.status.in_([st.value for st in CHANGEABLE_LINE_STATUSES]),
                                     SalesOrderLine.due_date > today + timedelta(days=3))
                              .order_by(SalesOrderLine.id)).all()
        if not lines:
            return
        order_id, line_id, version, quantity, due = self.rng.choice(lines)
        if self.rng.random() < 0.5:
            change = SalesOrderLineUpdate(version=version, due_date=due + timedelta(days=self.rng.choice([-2, -1, 2, 3])))
        else:
            factor = Decimal(self.rng.choice(["0.9", "1.1", "1.2"]))
            change = SalesOrderLineUpdate(version=version, quantity=(quantity * factor).quantize(Decimal(1)))
        if self._step(PLANNER, "change order line",
                      lambda uow: orders.change_sales_order_line(uow, order_id, line_id, change)) is not None:
            self.tally.orders_changed += 1

    # -- shipping -------------------------------------------------------------------------------------------

    def _ship(self) -> None:
        """Lines whose work is done (or, never released, that stock covers) leave with a shipment per order."""
        for order_id, line_ids in self._ready_to_ship()[:SHIPMENTS_PER_TICK]:
            def ship(uow: UnitOfWork, order_id: int = order_id, line_ids: list[int] = line_ids) -> Any:
                shipment = shipments.create_shipment(uow, ShipmentCreate(sales_order_id=order_id))
                picked = 0
                for line_id in line_ids:
                    for lot in shipments.suggest_lots(uow.session, order_id, line_id):
                        if lot.suggested > 0:
                            shipments.pick_lot(uow, shipment.id, PickIn(
                                sales_order_line_id=line_id, lot_id=lot.lot_id, from_location_id=lot.location_id,
                                quantity=lot.suggested))
                            picked += 1
                if not picked:
                    return None  # nothing to pick after all: the draft is not kept
                return shipments.ship(uow, shipment.id, idempotency_key=_key())
            if self._step(STOREKEEPER, "ship", ship) is not None:
                self.tally.shipments += 1

    def _ready_to_ship(self) -> list[tuple[int, list[int]]]:
        with self._reading() as s:
            done = select(WorkOrder.sales_order_line_id).where(
                WorkOrder.parent_id.is_(None), WorkOrder.status == WorkOrderStatus.COMPLETED)
            still_open = select(WorkOrder.sales_order_line_id).where(
                WorkOrder.sales_order_line_id.is_not(None), WorkOrder.status.in_([st.value for st in OPEN_WORK]))
            rows = s.execute(select(SalesOrderLine.order_id, SalesOrderLine.id, SalesOrderLine.status,
                                    SalesOrderLine.material_id, SalesOrderLine.quantity)
                             .where(SalesOrderLine.status.in_([LineStatus.OPEN.value, LineStatus.RELEASED.value,
                                                               LineStatus.PARTIALLY_SHIPPED.value]),
                                    SalesOrderLine.id.not_in(still_open))
                             .order_by(SalesOrderLine.due_date, SalesOrderLine.id)).all()
            worked = set(s.scalars(done))
            today = inventory.today(s)
            ready: dict[int, list[int]] = {}
            for order_id, line_id, status, material_id, quantity in rows:
                if line_id in worked or (status == LineStatus.OPEN and stock_covers(s, material_id, quantity, today)):
                    ready.setdefault(order_id, []).append(line_id)
        return list(ready.items())


@dataclass(frozen=True)
class OperationPlan:
    """An operation as the simulator works it: what is left and what it uses."""

    work_order_id: int
    work_order_code: str
    operation_id: int
    status: OperationStatus
    version: int
    left: Decimal  # of what reached the step (the previous step's good quantity), not yet reported
    setup: Decimal
    run: Decimal
    skill: str | None
    level: int | None
    needs: list[Need]
    may_scrap: bool
    line_id: int


def _ids(order: Any) -> tuple[int, list[int]]:
    return order.id, [ln.id for ln in order.lines]


def _key() -> str:
    return f"sim-{new_id()}"
