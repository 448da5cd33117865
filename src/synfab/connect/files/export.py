"""Excel out: exports of any kind (the same columns the importer reads, so files go round trip) and
empty templates with a sheet of instructions.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from synfab.connect.files.spec import ImportKind
from synfab.core.choices import Choice
from synfab.core.i18n import LazyText, _l

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_REQUIRED_FILL = PatternFill("solid", fgColor="1565C0")
_OPTIONAL_FILL = PatternFill("solid", fgColor="607D8B")
YES, NO = _l("yes"), _l("no")
INSTRUCTIONS = _l("Instructions")
INSTRUCTION_TITLES = (_l("Sheet"), _l("Column"), _l("Required"), _l("Meaning"), _l("Example"))
# Excel forbids these in sheet names.
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_name(kind: ImportKind, locale: str) -> str:
    return kind.sheet_title(locale).translate(_BAD_SHEET_CHARS)[:31]


def _cell_value(value: Any, locale: str) -> Any:
    if isinstance(value, Choice):
        return value.label.in_locale(locale)
    if isinstance(value, LazyText):
        return value.in_locale(locale)
    if isinstance(value, bool):
        return (YES if value else NO).in_locale(locale)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, (Decimal, int, float, date, str)) or value is None:
        return value
    return str(value)


def _header_row(ws: Worksheet, kind: ImportKind, locale: str) -> list[WriteOnlyCell]:
    cells = []
    for col in kind.columns:
        cell = WriteOnlyCell(ws, value=col.header(locale))
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if col.required else _OPTIONAL_FILL
        cells.append(cell)
    return cells


def _data_sheet(book: Workbook, kind: ImportKind, rows: Iterable[dict[str, Any]], locale: str) -> int:
    ws = book.create_sheet(sheet_name(kind, locale))
    ws.freeze_panes = "A2"
    for i, col in enumerate(kind.columns):
        ws.column_dimensions[_letter(i)].width = max(12, min(40, len(col.header(locale)) * 2 + 4))
    ws.append(_header_row(ws, kind, locale))
    keys = [c.key for c in kind.columns]
    count = 0
    for row in rows:
        ws.append([_cell_value(row.get(k), locale) for k in keys])
        count += 1
    return count


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def export_workbook(session: Session, kinds: list[ImportKind], filters: dict[str, str], locale: str) -> bytes:
    """One sheet per kind with the records matching the filters (each kind takes the filters it knows)."""
    book = Workbook(write_only=True)
    for kind in kinds:
        wanted = {k: v for k, v in filters.items() if k in kind.export_filters}
        _data_sheet(book, kind, kind.export_rows(session, wanted), locale)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def template_workbook(kinds: list[ImportKind], locale: str) -> bytes:
    """Empty sheets with the headers (required ones in blue), and an instructions sheet describing each column."""
    book = Workbook(write_only=True)
    for kind in kinds:
        _data_sheet(book, kind, [], locale)
    info = book.create_sheet(INSTRUCTIONS.in_locale(locale))
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 22
    info.column_dimensions["C"].width = 10
    info.column_dimensions["D"].width = 60
    info.column_dimensions["E"].width = 20
    titles = [t.in_locale(locale) for t in INSTRUCTION_TITLES]
    info.append([_bold(info, t) for t in titles])
    for kind in kinds:
        for col in kind.columns:
            info.append([
                sheet_name(kind, locale), col.header(locale),
                YES.in_locale(locale) if col.required else "",
                col.help.in_locale(locale) if col.help else "", col.example,
            ])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _bold(ws: Worksheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=text)
    cell.font = Font(bold=True)
    return cell
