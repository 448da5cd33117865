"""Lots and sublots, the immutable stock ledger and the balances derived from it, reservations, genealogy."""
from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l, _lc


class LotStatus(Choice):
    AVAILABLE = "available", _l("Available"), "green"
    HOLD = "hold", _l("On hold"), "orange"
    CONSUMED = "consumed", _l("Consumed"), "grey"
    SCRAPPED = "scrapped", _l("Scrapped"), "red"


class MoveKind(Choice):
    RECEIPT = "receipt", _l("Receipt"), "green"
    ISSUE = "issue", _l("Issue"), "orange"
    TRANSFER = "transfer", _l("Transfer"), "blue"
    ADJUSTMENT = "adjustment", _l("Adjustment"), "purple"
    PRODUCTION = "production", _l("Production receipt"), "teal"
    CONSUMPTION = "consumption", _l("Consumption"), "brown"
    SHIPMENT = "shipment", _l("Shipment"), "grey"


class ReservationStatus(Choice):
    ACTIVE = "active", _l("Active"), "blue"
    # "Released" of a reservation gives the stock back (释放), unlike a released work order (下达).
    RELEASED = "released", _lc("reservation", "Released"), "grey"
    CONSUMED = "consumed", _l("Consumed"), "green"


class TraceDirection(Choice):
    BACKWARD = "backward", _l("Backward trace"), "blue"
    FORWARD = "forward", _l("Forward trace"), "teal"


# Which locations a move of each kind names: (source, destination). An adjustment names exactly one.
TAKES_FROM = frozenset({MoveKind.ISSUE, MoveKind.CONSUMPTION, MoveKind.SHIPMENT, MoveKind.TRANSFER})
PUTS_TO = frozenset({MoveKind.RECEIPT, MoveKind.PRODUCTION, MoveKind.TRANSFER})
# Stock on hold may be moved within the plant or corrected, but not used or sent out.
BLOCKED_WHEN_HELD = frozenset({MoveKind.ISSUE, MoveKind.CONSUMPTION, MoveKind.SHIPMENT})
# Lots in these states have no stock left to move and take none.
CLOSED_LOT_STATUSES = frozenset({LotStatus.CONSUMED, LotStatus.SCRAPPED})
