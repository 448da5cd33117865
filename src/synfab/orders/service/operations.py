"""Running operations at the machine: starting one, as the operator signed in at the terminal.

Only an operation of a released (or already running) work order can start, and only by someone qualified for the
skill and level it requires — or whom a supervisor let run it with an electronic signature
(`people.skills.override_qualification`). Pausing, reporting quantities and completing arrive with the operator
terminal.
"""

from __future__ import annotations

from sqlalchemy import select

from synfab.core import clock
from synfab.core.context import current_actor
from synfab.core.db import check_version
from synfab.core.errors import Forbidden, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders.choices import OperationStatus, WorkOrderStatus
from synfab.orders.events import OperationStarted
from synfab.orders.models import WorkOrderOperation
from synfab.people.skills.service import require_qualified_for_operation

STARTABLE = frozenset({OperationStatus.PENDING, OperationStatus.READY})
RUNNING_WORK = frozenset({WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS})


def start_operation(uow: UnitOfWork, work_order_id: int, operation_id: int,
                    version: int | None = None) -> WorkOrderOperation:
    """Start an operation as the acting person. Refused: an operation not of this work order (404), a work order
    not released (`work_order_not_released`), an operation already started, done or cancelled
    (`operation_not_startable`), a person not qualified for its skill and level without a signed override
    (`not_qualified`, naming the skill, the level needed and the level held)."""
    s = uow.session
    op = s.scalar(select(WorkOrderOperation).where(WorkOrderOperation.id == operation_id))  # scoped: not get()
    if op is None or op.work_order_id != work_order_id:
        raise NotFound("operation_not_found", _l("Work order {id} has no operation {op}.", id=work_order_id,
                                                 op=operation_id))
    check_version(op, version)
    wo = op.work_order
    if wo.status not in RUNNING_WORK:
        raise Invalid("work_order_not_released", _l(
            "Work order {code} is {status}; only released work orders can be worked on.",
            code=wo.code, status=wo.status.label))
    if op.status not in STARTABLE:
        raise Invalid("operation_not_startable", _l(
            "Operation {seq} {name} of {code} is {status} and cannot be started.",
            seq=op.seq, name=op.name, code=wo.code, status=op.status.label))
    actor = current_actor()
    if actor.user_id is None:
        raise Forbidden("operator_required", _l("An operation is started by a signed-in person."))
    qualification = require_qualified_for_operation(s, actor.user_id, op.id)
    now = clock.now()
    op.status, op.actual_start = OperationStatus.RUNNING, now
    if wo.status == WorkOrderStatus.RELEASED:
        wo.status, wo.actual_start = WorkOrderStatus.IN_PROGRESS, now
    uow.record(OperationStarted(work_order_id=wo.id, code=wo.code, operation_id=op.id, seq=op.seq,
                                work_center_id=op.work_center_id, operator=actor.username,
                                overridden=qualification.overridden))
    return op
