"""Statuses and priorities of customers' orders and work orders, with their zh/en labels and colours.

How the statuses move (this issue covers creating, changing and cancelling; release, reporting and
shipping arrive with the orders loop):

- A sales order line is `open` when entered, `released` once production of it has been released,
  `partially_shipped` / `shipped` as deliveries go out, `cancelled` when cancelled.
- A sales order's status follows its lines (see `orders.service.order_status_from_lines`): all lines
  cancelled → cancelled; all remaining lines shipped → shipped; any shipped → partially shipped;
  any released → in production; otherwise open. `closed` is only ever set on purpose.
- A work order is `planned` when created; only planned or released work orders can be cancelled.
"""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l, _lc


class SalesOrderStatus(Choice):
    OPEN = "open", _l("Open"), "blue"
    IN_PRODUCTION = "in_production", _l("In production"), "orange"
    PARTIALLY_SHIPPED = "partially_shipped", _l("Partially shipped"), "teal"
    SHIPPED = "shipped", _l("Shipped"), "green"
    CLOSED = "closed", _l("Closed"), "grey"
    CANCELLED = "cancelled", _l("Cancelled"), "red"


class LineStatus(Choice):
    OPEN = "open", _l("Open"), "blue"
    RELEASED = "released", _lc("production", "Released"), "orange"
    PARTIALLY_SHIPPED = "partially_shipped", _l("Partially shipped"), "teal"
    SHIPPED = "shipped", _l("Shipped"), "green"
    CANCELLED = "cancelled", _l("Cancelled"), "red"


class WorkOrderStatus(Choice):
    PLANNED = "planned", _l("Planned"), "grey"
    RELEASED = "released", _lc("production", "Released"), "blue"
    IN_PROGRESS = "in_progress", _l("In progress"), "orange"
    COMPLETED = "completed", _l("Completed"), "green"
    CLOSED = "closed", _l("Closed"), "grey"
    CANCELLED = "cancelled", _l("Cancelled"), "red"


class OperationStatus(Choice):
    PENDING = "pending", _lc("operation", "Pending"), "grey"
    READY = "ready", _l("Ready"), "blue"
    RUNNING = "running", _lc("operation", "Running"), "green"
    PAUSED = "paused", _l("Paused"), "orange"
    DONE = "done", _l("Done"), "teal"
    CANCELLED = "cancelled", _l("Cancelled"), "red"


class Priority(Choice):
    """1 is the most urgent."""

    URGENT = "1", _l("Urgent"), "red"
    HIGH = "2", _l("High"), "orange"
    NORMAL = "3", _l("Normal"), "blue"
    LOW = "4", _l("Low"), "grey"


class WorkOrderSource(Choice):
    """What a work order is for (derived from its links, not stored)."""

    ORDER_LINE = "order_line", _l("For an order line"), "blue"
    PARENT = "parent", _l("For a parent work order"), "purple"
    STOCK = "stock", _l("For stock"), "grey"


# Lines that still ask for production or delivery.
OPEN_LINE_STATUSES = frozenset({LineStatus.OPEN, LineStatus.RELEASED, LineStatus.PARTIALLY_SHIPPED})
# Lines whose quantity, due date or priority may still be changed, or that may be cancelled.
CHANGEABLE_LINE_STATUSES = frozenset({LineStatus.OPEN, LineStatus.RELEASED})
OPEN_ORDER_STATUSES = frozenset({SalesOrderStatus.OPEN, SalesOrderStatus.IN_PRODUCTION,
                                 SalesOrderStatus.PARTIALLY_SHIPPED})
OPEN_WORK_ORDER_STATUSES = frozenset({WorkOrderStatus.PLANNED, WorkOrderStatus.RELEASED,
                                      WorkOrderStatus.IN_PROGRESS})
CANCELLABLE_WORK_ORDER_STATUSES = frozenset({WorkOrderStatus.PLANNED, WorkOrderStatus.RELEASED})
# Operations nobody has started: their planned minutes follow the work order's quantity.
NOT_STARTED_OPERATION_STATUSES = frozenset({OperationStatus.PENDING, OperationStatus.READY})


class PauseReason(Choice):
    """Why an operator paused an operation (the metrics' downtime reasons start here)."""

    MATERIAL_MISSING = "material_missing", _l("Material missing"), "orange"
    MACHINE_FAULT = "machine_fault", _l("Machine fault"), "red"
    QUALITY_CHECK = "quality_check", _l("Waiting for quality check"), "purple"
    ADJUSTMENT = "adjustment", _l("Adjustment or tool change"), "blue"
    BREAK = "break", _l("Break or shift change"), "grey"
    OTHER = "other", _lc("reason", "Other"), "grey"


class ScrapReason(Choice):
    DIMENSION = "dimension", _l("Out of tolerance"), "red"
    SURFACE = "surface", _l("Surface defect"), "orange"
    MATERIAL = "material", _l("Material defect"), "brown"
    SETUP = "setup", _l("Setup piece"), "blue"
    HANDLING = "handling", _l("Damaged in handling"), "purple"
    OTHER = "other", _lc("reason", "Other"), "grey"


# Operations that are being worked on: reports and consumption go to them.
ACTIVE_OPERATION_STATUSES = frozenset({OperationStatus.RUNNING, OperationStatus.PAUSED})


class ReviewReason(Choice):
    """Why a work order waits for the planner: a change reached it after its work had started."""

    QUANTITY_CHANGED = "quantity_changed", _l("Order quantity changed after work started"), "orange"
    CANCELLED = "cancelled", _l("Demand cancelled after work started"), "red"
    # A BOM or routing revision came into effect that the work order could not take by itself (its work has
    # started, or a component work order it would need cannot be released): the note names the revisions.
    BOM_REVISED = "bom_revised", _l("New BOM revision in effect"), "purple"
    ROUTING_REVISED = "routing_revised", _l("New routing revision in effect"), "purple"
    BOM_ROUTING_REVISED = "bom_routing_revised", _l("New BOM and routing revisions in effect"), "purple"


# The reasons a revision coming into effect flags a work order with.
REVISION_REVIEW_REASONS = frozenset({ReviewReason.BOM_REVISED, ReviewReason.ROUTING_REVISED,
                                     ReviewReason.BOM_ROUTING_REVISED})
