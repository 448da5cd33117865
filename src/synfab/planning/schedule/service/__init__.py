"""Dispatch schedule use cases: rebuild it (fully, or after one change), report and end breakdowns, and read
dispatch lists, a work order's schedule and the work orders at risk."""

from synfab.planning.schedule.service.breakdowns import (
    MAX_BREAKDOWN_MINUTES,
    end_breakdown,
    get_breakdown,
    open_breakdowns,
    report_breakdown,
)
from synfab.planning.schedule.service.reading import (
    AtRiskWorkOrder,
    ScheduledLine,
    WorkOrderSchedule,
    at_risk_work_orders,
    dispatch_list,
    last_run,
    list_schedule,
    schedule_for_work_order,
    schedule_node,
    work_centers,
)
from synfab.planning.schedule.service.rebuild import (
    RebuildResult,
    compute_schedule,
    forget_calendars,
    rebuild_schedule,
    reschedule,
    work_orders_of_line,
)

__all__ = [
    "MAX_BREAKDOWN_MINUTES", "AtRiskWorkOrder", "RebuildResult", "ScheduledLine", "WorkOrderSchedule",
    "at_risk_work_orders", "compute_schedule", "dispatch_list", "end_breakdown", "forget_calendars",
    "get_breakdown", "last_run", "list_schedule", "open_breakdowns", "rebuild_schedule", "report_breakdown",
    "reschedule", "schedule_for_work_order", "schedule_node", "work_centers", "work_orders_of_line",
]
