"""Statuses of purchase orders, with their zh/en labels and colours.

A purchase order is `draft` while procurement prepares it, `ordered` once placed with the supplier,
`partially_received` / `received` as goods arrive, `cancelled` when called off before anything arrived.
"""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l, _lc


class PurchaseOrderStatus(Choice):
    DRAFT = "draft", _l("Draft"), "grey"
    ORDERED = "ordered", _lc("purchase order", "Ordered"), "blue"
    PARTIALLY_RECEIVED = "partially_received", _l("Partially received"), "teal"
    RECEIVED = "received", _lc("purchase order", "Received"), "green"
    CANCELLED = "cancelled", _l("Cancelled"), "red"


# Orders whose open quantity is still expected: scheduled receipts for MRP and shortage cover dates.
OPEN_PO_STATUSES = frozenset({PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.ORDERED,
                              PurchaseOrderStatus.PARTIALLY_RECEIVED})
# Orders whose lines may still be changed.
CHANGEABLE_PO_STATUSES = frozenset({PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.ORDERED,
                                    PurchaseOrderStatus.PARTIALLY_RECEIVED})
# Orders goods may be received against (placed with the supplier).
RECEIVABLE_PO_STATUSES = frozenset({PurchaseOrderStatus.ORDERED, PurchaseOrderStatus.PARTIALLY_RECEIVED})
