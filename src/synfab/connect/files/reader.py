"""Read spreadsheets people send: .xlsx (calamine, fast) and .csv in UTF-8 or GB18030/GBK.

Chinese ERP exports are often GBK-encoded CSV; Excel saves "CSV UTF-8" with a byte-order mark. Both work.
The result is a list of sheets, each a header row plus data rows with their spreadsheet row numbers.
"""

from __future__ import annotations

import csv
import json
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from python_calamine import CalamineError, CalamineWorkbook

from synfab.core.errors import Invalid
from synfab.core.i18n import _l

CellValue = str | int | float | bool | date | datetime | time | None

# Sheets that explain a template rather than hold data.
INSTRUCTION_SHEETS = {"instructions", "说明", "填写说明", "readme"}


@dataclass
class Sheet:
    name: str
    header: list[str]
    header_row: int  # 1-based row number of the header
    rows: list[tuple[int, list[CellValue]]] = field(default_factory=list)  # (row number, cells)


def _is_blank(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table(name: str, grid: list[list[CellValue]]) -> Sheet | None:
    """The first non-empty row is the header; fully empty rows are skipped."""
    header_at = next((i for i, row in enumerate(grid) if any(not _is_blank(c) for c in row)), None)
    if header_at is None:
        return None
    header = ["" if c is None else str(c).strip() for c in grid[header_at]]
    while header and not header[-1]:
        header.pop()
    sheet = Sheet(name=name, header=header, header_row=header_at + 1)
    width = len(header)
    for i in range(header_at + 1, len(grid)):
        row = grid[i]
        if all(_is_blank(c) for c in row):
            continue
        cells = list(row[:width])
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        sheet.rows.append((i + 1, cells))
    return sheet


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) if it decodes, else GB18030 (a superset of GBK and GB2312)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise Invalid("file_encoding_unknown", _l(
            "The CSV file is neither UTF-8 nor GBK/GB18030 text; save it again as 'CSV UTF-8' from Excel.")) from None


def read_csv(data: bytes, name: str) -> list[Sheet]:
    text = decode_csv(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    grid: list[list[CellValue]] = [list(r) for r in csv.reader(io.StringIO(text, newline=""), dialect)]
    sheet = _table(Path(name).stem, grid)
    return [sheet] if sheet else []


def read_xlsx(data: bytes) -> list[Sheet]:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, ValueError, OSError) as exc:
        raise Invalid("file_unreadable", _l(
            "The file could not be read as an Excel workbook (.xlsx): {detail}", detail=str(exc)[:200])) from None
    sheets = []
    for name in book.sheet_names:
        if name.strip().casefold() in INSTRUCTION_SHEETS:
            continue
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        sheet = _table(name, grid)
        if sheet is not None:
            sheets.append(sheet)
    return sheets


def read_yaml(data: bytes) -> list[Sheet]:
    """A YAML document of `kind or sheet name: [records]`, e.g. `tags: [{connector: PLC1, address: …}, …]`.
    Each list becomes a sheet whose header is the keys met; nested settings stay as JSON text in their cell."""
    try:
        doc = yaml.safe_load(data.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Invalid("file_unreadable", _l("The file could not be read as YAML: {detail}",
                                            detail=str(exc).splitlines()[0][:200])) from None
    if not isinstance(doc, dict) or not all(isinstance(v, list) for v in doc.values()):
        raise Invalid("yaml_shape", _l("A YAML import file maps each kind to a list of records, for example "
                                       "\"tags:\" followed by one \"- connector: …\" entry per tag."))
    sheets = []
    for name, records in doc.items():
        if not all(isinstance(r, dict) for r in records):
            raise Invalid("yaml_shape", _l("Every entry under {name} must be a set of key: value pairs.", name=name))
        header: list[str] = []
        for record in records:
            header.extend(str(k) for k in record if str(k) not in header)
        rows = [(number, [_yaml_cell(record.get(key)) for key in header])
                for number, record in enumerate(records, start=2)]
        sheets.append(Sheet(name=str(name), header=header, header_row=1, rows=rows))
    return sheets


def _yaml_cell(value: Any) -> CellValue:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value  # type: ignore[no-any-return]


def read_file(data: bytes, filename: str) -> list[Sheet]:
    """Sheets of an uploaded or local file, by its extension."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(data)
    if suffix in (".csv", ".txt"):
        return read_csv(data, filename)
    if suffix in (".yaml", ".yml"):
        return read_yaml(data)
    if suffix == ".xls":
        raise Invalid("file_type_old_excel", _l(
            "Old .xls workbooks are not read; open the file in Excel or WPS and save it as .xlsx."))
    raise Invalid("file_type_unknown", _l(
        "{name} is not a file synfab can import; use .xlsx, .csv or .yaml.", name=Path(filename).name))


def cell_text(value: Any) -> str:
    """A cell as the text a person typed: 12.0 → "12", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
