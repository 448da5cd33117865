"""The recall scope as an Excel workbook: customers, shipments and lots, one sheet each, in the reader's
language — the file a quality engineer sends to sales and logistics when a lot is recalled."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from synfab.core.i18n import LazyText, _l
from synfab.inventory.choices import LotStatus
from synfab.orders.shipments.schemas import RecallScope

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1565C0")

CUSTOMERS, SHIPMENTS, LOTS = _l("Customers"), _l("Shipments"), _l("Lots")
CUSTOMER_COLUMNS = (_l("Customer code"), _l("Customer"), _l("Shipments"), _l("Quantity shipped"))
SHIPMENT_COLUMNS = (_l("Customer code"), _l("Customer"), _l("Shipment"), _l("Shipped at (UTC)"),
                    _l("Sales order"), _l("Lot"), _l("Material"), _l("Level"), _l("Quantity"))
LOT_COLUMNS = (_l("Level"), _l("Lot"), _l("Material"), _l("Status"), _l("On hand"), _l("Shipped"))


def _sheet(book: Workbook, title: LazyText, columns: tuple[LazyText, ...], rows: list[list[Any]],
           locale: str) -> None:
    ws = book.create_sheet(title.in_locale(locale)[:31])
    ws.freeze_panes = "A2"
    header = []
    for text in columns:
        cell = WriteOnlyCell(ws, value=text.in_locale(locale))
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append(row)


def recall_workbook(scope: RecallScope, locale: str) -> bytes:
    """Three sheets: affected customers (with how many shipments and how much), every shipment of a reached
    lot, and the reached lots with what is still on hand."""
    book = Workbook(write_only=True)
    _sheet(book, CUSTOMERS, CUSTOMER_COLUMNS,
           [[c.customer_code, c.customer_name, c.shipments, c.quantity] for c in scope.customers], locale)
    _sheet(book, SHIPMENTS, SHIPMENT_COLUMNS,
           [[s.customer_code, s.customer_name, s.shipment_code,
             s.shipped_at.replace(tzinfo=None) if s.shipped_at else None, s.order_code, s.lot_code,
             s.material_code, s.level, s.quantity] for s in scope.shipments], locale)
    _sheet(book, LOTS, LOT_COLUMNS,
           [[lot.level, lot.lot_code, lot.material_code, LotStatus(lot.lot_status).label.in_locale(locale),
             lot.on_hand, lot.shipped] for lot in scope.lots], locale)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
