"""Running operations at the machine — the operator terminal's commands.

Start, pause with a reason, resume, report good / scrap (with its reason) / rework quantities, complete; consume a
scanned lot. Only an operation of a released (or already running) work order can start, and only by someone
qualified for the skill and level it requires — or whom a supervisor let run it with an electronic signature
(`people.skills.override_qualification`). Every command may carry the terminal's submission key: sent again, it
answers what the first one did and moves nothing twice. Stock follows by itself (`production`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select

from synfab.core import clock
from synfab.core.config import get_settings
from synfab.core.context import current_actor
from synfab.core.db import check_version, require_in_scope
from synfab.core.errors import Forbidden, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.inventory.service.ledger import plain
from synfab.orders.choices import ACTIVE_OPERATION_STATUSES, OperationStatus, WorkOrderStatus
from synfab.orders.events import (
    OperationCompleted, OperationPaused, OperationResumed, OperationStarted, ProductionReported, WorkOrderCompleted,
)
from synfab.orders.models import WorkOrder, WorkOrderOperation
from synfab.orders.schemas import ConsumeIn, OperationCommand, PauseIn, ReportIn, TerminalResult
from synfab.orders.service import production
from synfab.people.skills.service import require_qualified_for_operation

STARTABLE = frozenset({OperationStatus.PENDING, OperationStatus.READY})
RUNNING_WORK = frozenset({WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS})
FINISHED = frozenset({OperationStatus.DONE, OperationStatus.CANCELLED})


def get_operation(session: object, work_order_id: int, operation_id: int) -> WorkOrderOperation:
    """An operation of a work order, as the caller may see it (404 when not, or not of this work order)."""
    op = session.scalar(select(WorkOrderOperation).where(WorkOrderOperation.id == operation_id))  # type: ignore[attr-defined]
    if op is None or op.work_order_id != work_order_id:
        raise NotFound("operation_not_found", _l("Work order {id} has no operation {op}.", id=work_order_id,
                                                 op=operation_id))
    return op


def _check_running_work(wo: WorkOrder) -> None:
    if wo.status not in RUNNING_WORK:
        raise Invalid("work_order_not_released", _l(
            "Work order {code} is {status}; only released work orders can be worked on.",
            code=wo.code, status=wo.status.label))


def _active(uow: UnitOfWork, work_order_id: int, operation_id: int, version: int | None,
            allowed: frozenset[OperationStatus], what: object) -> WorkOrderOperation:
    op = get_operation(uow.session, work_order_id, operation_id)
    check_version(op, version)
    _check_running_work(op.work_order)
    if op.status not in allowed:
        raise Invalid("operation_not_" + str(what), _l(
            "Operation {seq} {name} of {code} is {status}; it cannot be {action} now.", seq=op.seq, name=op.name,
            code=op.work_order.code, status=op.status.label, action=_ACTION_WORDS[str(what)]))
    require_in_scope(uow.session, op.work_order, "change")
    return op


_ACTION_WORDS = {"paused": _l("paused"), "resumed": _l("resumed"), "reported": _l("reported on"),
                 "started": _l("started")}


def _result(op: WorkOrderOperation, lot: object = None, moves: list[int] | None = None) -> TerminalResult:
    wo = op.work_order
    return TerminalResult(
        work_order_id=wo.id, code=wo.code, operation_id=op.id, seq=op.seq, status=op.status,
        work_order_status=wo.status, good_qty=op.good_qty, scrap_qty=op.scrap_qty, rework_qty=op.rework_qty,
        version=op.version, lot_id=getattr(lot, "id", None), lot_code=getattr(lot, "code", None),
        move_ids=moves or [])


def _once(uow: UnitOfWork, key: str | None, act: Callable[[], TerminalResult]) -> TerminalResult:
    """Run a terminal command once per submission key; a replay answers the stored result."""
    if key:
        done = uow.claim_idempotency(key, "terminal")
        if done is not None:
            return TerminalResult.model_validate({**done, "replayed": True})
    result = act()
    if key:
        uow.session.flush()
        uow.complete_idempotency(key, result.model_dump(mode="json"))
    return result


def _operator() -> str:
    return current_actor().username

def start_operation(uow: UnitOfWork, work_order_id: int, operation_id: int,
                    version: int | None = None) -> WorkOrderOperation:
    """Start an operation as the acting person. Refused: an operation not of this work order (404), a work order
    not released (`work_order_not_released`), an operation already started, done or cancelled
    (`operation_not_startable`), a person not qualified for its skill and level without a signed override
    (`not_qualified`, naming the skill, the level needed and the level held)."""
    s = uow.session
    op = get_operation(s, work_order_id, operation_id)
    check_version(op, version)
    wo = op.work_order
    _check_running_work(wo)
    if op.status not in STARTABLE:
        raise Invalid("operation_not_startable", _l(
            "Operation {seq} {name} of {code} is {status} and cannot be started.",
            seq=op.seq, name=op.name, code=wo.code, status=op.status.label))
    actor = current_actor()
    if actor.user_id is None:
        raise Forbidden("operator_required", _l("An operation is started by a signed-in person."))
    require_in_scope(s, wo, "change")
    qualification = require_qualified_for_operation(s, actor.user_id, op.id)
    now = clock.now()
    op.status, op.actual_start = OperationStatus.RUNNING, now
    if wo.status == WorkOrderStatus.RELEASED:
        wo.status, wo.actual_start = WorkOrderStatus.IN_PROGRESS, now
    uow.record(OperationStarted(work_order_id=wo.id, code=wo.code, operation_id=op.id, seq=op.seq,
                                work_center_id=op.work_center_id, operator=actor.username,
                                overridden=qualification.overridden))
    return op


def start(uow: UnitOfWork, work_order_id: int, operation_id: int, cmd: OperationCommand) -> TerminalResult:
    """`start_operation` from the terminal, once per submission key."""
    def act() -> TerminalResult:
        op = start_operation(uow, work_order_id, operation_id, cmd.version)
        uow.flush()
        return _result(op)
    return _once(uow, cmd.client_key, act)


def pause_operation(uow: UnitOfWork, work_order_id: int, operation_id: int, cmd: PauseIn) -> TerminalResult:
    """Pause a running operation with the reason the operator chose."""
    def act() -> TerminalResult:
        op = _active(uow, work_order_id, operation_id, cmd.version, frozenset({OperationStatus.RUNNING}), "paused")
        op.status = OperationStatus.PAUSED
        uow.flush()
        reason = cmd.reason.value if not cmd.note else f"{cmd.reason.value}: {cmd.note.strip()}"
        uow.record(OperationPaused(work_order_id=op.work_order_id, code=op.work_order.code, operation_id=op.id,
                                   seq=op.seq, work_center_id=op.work_center_id, reason=reason,
                                   operator=_operator()))
        return _result(op)
    return _once(uow, cmd.client_key, act)


def resume_operation(uow: UnitOfWork, work_order_id: int, operation_id: int,
                     cmd: OperationCommand) -> TerminalResult:
    def act() -> TerminalResult:
        op = _active(uow, work_order_id, operation_id, cmd.version, frozenset({OperationStatus.PAUSED}), "resumed")
        op.status = OperationStatus.RUNNING
        uow.flush()
        uow.record(OperationResumed(work_order_id=op.work_order_id, code=op.work_order.code, operation_id=op.id,
                                    seq=op.seq, work_center_id=op.work_center_id, operator=_operator()))
        return _result(op)
    return _once(uow, cmd.client_key, act)


def _is_last(op: WorkOrderOperation) -> bool:
    """The work order's last operation still to be done (its output is the work order's output)."""
    later = [o for o in op.work_order.operations if o.seq > op.seq and o.status != OperationStatus.CANCELLED]
    return not later


def report_production(uow: UnitOfWork, work_order_id: int, operation_id: int, data: ReportIn) -> TerminalResult:
    """Report good, scrap and rework quantities on a running (or paused) operation, and with `complete` end it.

    Refused: scrap without a reason; good + scrap beyond the work order's quantity plus the tolerance
    (`over_report_tolerance`). Backflushed components of the operation are consumed for good + scrap; good output
    of the last operation is received into the output lot. Completing the last operation completes the work order;
    completing another makes the next one ready.
    """
    def act() -> TerminalResult:
        op = _active(uow, work_order_id, operation_id, data.version, ACTIVE_OPERATION_STATUSES, "reported")
        wo = op.work_order
        good, scrap, rework = Decimal(data.good), Decimal(data.scrap), Decimal(data.rework)
        if scrap > 0 and data.scrap_reason is None:
            raise Invalid("scrap_reason_required", _l("Say why {quantity} were scrapped.", quantity=plain(scrap)))
        if not data.complete and good == scrap == rework == 0:
            raise Invalid("nothing_reported", _l("Enter a good, scrap or rework quantity, or complete the operation."))
        tolerance = Decimal(str(get_settings().over_report_tolerance))
        limit = (wo.quantity * (1 + tolerance)).quantize(Decimal("0.000001"))
        total = op.good_qty + op.scrap_qty + good + scrap
        if total > limit:
            raise Invalid("over_reported", _l(
                "Operation {seq} of {code} would report {total} against {quantity} ordered (at most {limit} with the "
                "tolerance); {open} are still open.", seq=op.seq, code=wo.code, total=plain(total),
                quantity=plain(wo.quantity), limit=plain(limit),
                open=plain(max(wo.quantity - op.good_qty - op.scrap_qty, Decimal(0)))))
        last = _is_last(op)
        lot = None
        with uow.as_system():  # stock is the system's to move once the person's scope was checked (_active)
            moves = [m.id for m in production.backflush(uow, wo, op, good + scrap, last)]
            if last and good > 0:
                move = production.receive_output(uow, wo, op, good, new_lot=data.new_output_lot)
                moves.append(move.id)
                lot = production.output_lot(uow, wo)
            uow.flush()
        op.good_qty += good
        op.scrap_qty += scrap
        op.rework_qty += rework
        operator = _operator()
        if good or scrap or rework:
            uow.flush()
            uow.record(ProductionReported(
                work_order_id=wo.id, code=wo.code, operation_id=op.id, seq=op.seq, work_center_id=op.work_center_id,
                good=good, scrap=scrap, rework=rework,
                scrap_reason=data.scrap_reason.value if data.scrap_reason else None, operator=operator))
        if data.complete:
            _complete(uow, op, last, operator)
        uow.flush()
        return _result(op, lot, moves)
    return _once(uow, data.client_key, act)


def _complete(uow: UnitOfWork, op: WorkOrderOperation, last: bool, operator: str) -> None:
    wo = op.work_order
    now = clock.now()
    op.status, op.actual_end = OperationStatus.DONE, now
    following = sorted((o for o in wo.operations if o.seq > op.seq and o.status == OperationStatus.PENDING),
                       key=lambda o: o.seq)
    if following:
        following[0].status = OperationStatus.READY
    uow.flush()
    uow.record(OperationCompleted(work_order_id=wo.id, code=wo.code, operation_id=op.id, seq=op.seq,
                                  work_center_id=op.work_center_id, good_qty=op.good_qty, scrap_qty=op.scrap_qty,
                                  last=last, operator=operator))
    if all(o.status in FINISHED for o in wo.operations):
        wo.status, wo.actual_end = WorkOrderStatus.COMPLETED, now
        uow.flush()
        uow.record(WorkOrderCompleted(work_order_id=wo.id, code=wo.code, material_id=wo.material_id,
                                      good_qty=op.good_qty, sales_order_line_id=wo.sales_order_line_id))


def consume(uow: UnitOfWork, work_order_id: int, operation_id: int, data: ConsumeIn) -> TerminalResult:
    """Consume a scanned lot into the work order at a running (or paused) operation (`production.consume_lot`)."""
    def act() -> TerminalResult:
        op = _active(uow, work_order_id, operation_id, None, ACTIVE_OPERATION_STATUSES, "reported")
        with uow.as_system():
            done = production.consume_lot(uow, op.work_order, op, data.lot_code, data.quantity)
            uow.flush()
        return _result(op, done.lot, [done.move.id])
    return _once(uow, data.client_key, act)


def running_at(session: object, node_ids: set[int]) -> dict[int, int]:
    """The operation running on each of these work centers (the one started last), for machine counts."""
    if not node_ids:
        return {}
    rows = session.execute(  # type: ignore[attr-defined]
        select(WorkOrderOperation.work_center_id, WorkOrderOperation.id)
        .where(WorkOrderOperation.work_center_id.in_(node_ids), WorkOrderOperation.status == OperationStatus.RUNNING)
        .order_by(WorkOrderOperation.actual_start))
    return {wc: op for wc, op in rows}


def describe_operations(session: object, operation_ids: set[int]) -> dict[int, tuple[str, str, Decimal]]:
    """Operation id → (work order code, operation name, work order quantity), for boards."""
    if not operation_ids:
        return {}
    rows = session.execute(  # type: ignore[attr-defined]
        select(WorkOrderOperation.id, WorkOrder.code, WorkOrderOperation.name, WorkOrder.quantity)
        .join(WorkOrder, WorkOrder.id == WorkOrderOperation.work_order_id)
        .where(WorkOrderOperation.id.in_(operation_ids)))
    return {op: (code, name, qty) for op, code, name, qty in rows}
