"""Inventory use cases — the one door other contexts, the web and the importers go through.

A sub-package because it grew past one file: `ledger` (posting moves, balances, on hand), `lots`,
`reservations` (and availability), `genealogy`, `queries` (the rows of list pages and exports).
Writes take a `UnitOfWork` and never commit; reads take a `Session`.
"""

from __future__ import annotations

from synfab.inventory.service.genealogy import (
    link_lots, trace_backward, trace_forward,
)
from synfab.inventory.service.ledger import (
    ledger_balance_mismatches, on_hand, post_moves, set_on_hand, set_on_hand_many,
)
from synfab.inventory.service.lots import (
    create_lot, ensure_lot, get_lot, hold_lot, lot_balances, lot_by_code, lot_moves, plant_time_zone,
    release_lot, scrap_lot, split_lot, sublots, today,
)
from synfab.inventory.service.queries import (
    LOT_ORDER, LOT_SORTS, MOVE_ORDER, MOVE_SORTS, STOCK_BY_LOCATION_ORDER, STOCK_BY_LOCATION_SORTS,
    STOCK_ORDER, STOCK_SORTS, expiring_lots_count_query, lot_query, lots_on_hold_count_query,
    move_query, stock_by_location_query, stock_query,
)
from synfab.inventory.service.reservations import (
    available, get_reservation, release_demand, release_reservation, reservations_for_demand, reserve,
    reserved, usable_on_hand,
)

__all__ = [
    "LOT_ORDER", "LOT_SORTS", "MOVE_ORDER", "MOVE_SORTS", "STOCK_BY_LOCATION_ORDER",
    "STOCK_BY_LOCATION_SORTS", "STOCK_ORDER", "STOCK_SORTS", "available", "create_lot", "ensure_lot",
    "expiring_lots_count_query", "get_lot", "get_reservation", "hold_lot", "ledger_balance_mismatches",
    "link_lots", "lot_balances", "lot_by_code", "lot_moves", "lot_query", "lots_on_hold_count_query",
    "move_query", "on_hand", "plant_time_zone", "post_moves", "release_demand", "release_lot",
    "release_reservation", "reservations_for_demand", "reserve", "reserved", "scrap_lot", "set_on_hand",
    "set_on_hand_many", "split_lot", "stock_by_location_query", "stock_query", "sublots", "today",
    "trace_backward", "trace_forward", "usable_on_hand",
]
