"""Material planning use cases — the one door pages, the API, handlers and the terminal go through.

`reservations`: requirements of work orders, reservations against lots (FEFO, else FIFO), shortages;
`mrp`: netting of materials at a site → purchase suggestions and cover dates, the full run, converting and
dismissing suggestions; `queries`: what pages and the API read (`materials_for_work_order`, shortages, suggestions).
"""

from __future__ import annotations

from synfab.planning.materials.service.mrp import (
    convert_suggestions,
    dismiss_suggestion,
    get_suggestion,
    load_site_inputs,
    net_material,
    pairs_with_material,
    replan,
    replan_material,
    replan_site,
    run_mrp,
)
from synfab.planning.materials.service.queries import (
    SHORTAGE_ORDER,
    SHORTAGE_SORTS,
    SUGGESTION_ORDER,
    SUGGESTION_SORTS,
    ReservedLot,
    WorkOrderMaterial,
    materials_for_work_order,
    shortage_query,
    suggestion_query,
)
from synfab.planning.materials.service.reservations import (
    Touched,
    buy_components,
    close_work_order,
    consume,
    cover_shortages,
    free_stock,
    plan_requirement,
    plan_work_order,
    release_lot_reservations,
    requirements_of,
    sync_requirements,
)

__all__ = [
    "SHORTAGE_ORDER", "SHORTAGE_SORTS", "SUGGESTION_ORDER", "SUGGESTION_SORTS", "ReservedLot", "Touched",
    "WorkOrderMaterial", "buy_components", "close_work_order", "consume", "convert_suggestions", "cover_shortages",
    "dismiss_suggestion", "free_stock", "get_suggestion", "load_site_inputs", "materials_for_work_order",
    "net_material", "pairs_with_material", "plan_requirement", "plan_work_order", "release_lot_reservations",
    "replan", "replan_material", "replan_site", "requirements_of", "run_mrp", "shortage_query", "suggestion_query",
    "sync_requirements",
]
