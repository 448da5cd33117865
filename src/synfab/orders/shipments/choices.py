"""Statuses of a shipment, with their zh/en labels and colours.

A shipment is a `draft` while lots are picked against its order's lines, `shipped` once its stock has left
(the SHIPMENT moves are posted), `cancelled` when a draft is dropped. A shipped shipment is history: a return
is a new receipt, never an undone shipment.
"""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l, _lc


class ShipmentStatus(Choice):
    DRAFT = "draft", _lc("shipment", "Draft"), "grey"
    SHIPPED = "shipped", _l("Shipped"), "green"
    CANCELLED = "cancelled", _l("Cancelled"), "red"
