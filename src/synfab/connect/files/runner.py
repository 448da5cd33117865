"""Run an import: read the file, recognise each sheet and its columns, parse cells, apply every kind —
all in one transaction that commits only if no row has an error (and never in a dry run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from synfab.connect.files.events import FileImported
from synfab.connect.files.reader import Sheet, cell_text, read_file
from synfab.connect.files.registry import kinds
from synfab.connect.files.report import ImportReport, KindSummary
from synfab.connect.files.spec import CellError, Column, ImportContext, ImportKind, Row, normalise_header
from synfab.core.db import Database
from synfab.core.errors import Invalid
from synfab.core.i18n import _l

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class Planned:
    sheet: Sheet
    kind: ImportKind
    index: dict[str, int]  # column key → position in the sheet
    headers: dict[str, str]  # column key → header text as written in the file


def _recognise(sheet: Sheet, candidates: dict[str, ImportKind]) -> ImportKind | None:
    """By the sheet's name; else the kind whose required headers are all present and that matches most."""
    for k in candidates.values():
        if k.recognises_sheet(sheet.name):
            return k
    present = {normalise_header(h) for h in sheet.header if h}
    best, best_score = None, 0
    for k in candidates.values():
        if not all(c.names() & present for c in k.columns if c.required):
            continue
        score = sum(1 for c in k.columns if c.names() & present)
        if score > best_score:
            best, best_score = k, score
    return best


def plan(sheets: list[Sheet], report: ImportReport) -> list[Planned]:
    """Match sheets to kinds and headers to columns; header-level problems are errors before any row is read."""
    available = {name: k for name, k in kinds().items() if k.importable}
    planned: list[Planned] = []
    seen: dict[str, str] = {}
    for sheet in sheets:
        kind = _recognise(sheet, available)
        if kind is None:
            known = ", ".join(f"{k.title.in_locale('zh_CN')} / {k.title.in_locale('en')}" for k in available.values())
            report.add(severity="error", sheet=sheet.name, row=sheet.header_row, column="", value="",
                       code="sheet_not_recognised", message=_l(
                           "Cannot tell what this sheet holds. Name the sheet after what it holds ({known}) "
                           "or use the headers of the template.", known=known))
            continue
        if kind.name in seen:
            report.add(severity="error", sheet=sheet.name, row=None, column="", value="", code="kind_twice",
                       message=_l("Sheet {other} already holds {kind}; put all of them on one sheet.",
                                  other=seen[kind.name], kind=kind.title))
            continue
        seen[kind.name] = sheet.name
        by_name: dict[str, Column] = {}
        for col in kind.columns:
            for n in col.names():
                by_name.setdefault(n, col)
        index: dict[str, int] = {}
        headers: dict[str, str] = {}
        for pos, text in enumerate(sheet.header):
            if not text:
                continue
            col = by_name.get(normalise_header(text))
            if col is None:
                report.add(severity="warning", sheet=sheet.name, row=sheet.header_row, column=text, value="",
                           code="unknown_column", message=_l("This column is not part of {kind} and is ignored.",
                                                             kind=kind.title))
            elif col.key in index:
                report.add(severity="error", sheet=sheet.name, row=sheet.header_row, column=text, value="",
                           code="column_twice", message=_l("The column {header} appears twice.", header=col.zh))
            else:
                index[col.key] = pos
                headers[col.key] = text
        for col in kind.columns:
            if col.required and col.key not in index:
                report.add(severity="error", sheet=sheet.name, row=sheet.header_row, column=f"{col.zh} / {col.en}",
                           value="", code="missing_column", message=_l(
                               "The required column {zh} ({en}) is missing.", zh=col.zh, en=col.en))
        planned.append(Planned(sheet, kind, index, headers))
    order = list(available)
    planned.sort(key=lambda p: order.index(p.kind.name))
    return planned


def parse_rows(p: Planned, ctx: ImportContext) -> list[Row]:
    """Typed rows; each bad cell is an error of its row and column. Repeated keys in the file are errors."""
    columns = [(c, p.index[c.key]) for c in p.kind.columns if c.key in p.index]
    rows: list[Row] = []
    first_seen: dict[tuple[object, ...], int] = {}
    key_cols = [k for k in p.kind.key if k in p.index]
    for number, cells in p.sheet.rows:
        values: dict[str, object] = {}
        row = Row(number, values, cells, p.index)
        for col, pos in columns:
            cell = cells[pos]
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                values[col.key] = None
                if col.required:
                    ctx.error(row, col.key, "required", _l("{header} is required.", header=col.header()))
                continue
            try:
                values[col.key] = col.parse(cell)
            except CellError as exc:
                values[col.key] = None
                ctx.error(row, col.key, exc.code, exc.message)
        if key_cols and all(values.get(k) is not None for k in key_cols):
            key = tuple(values[k] for k in key_cols)
            if key in first_seen:
                ctx.error(row, key_cols[-1], "duplicate_row", _l(
                    "The same {what} is already in row {row}.", what=" + ".join(cell_text(k) for k in key),
                    row=first_seen[key]))
            else:
                first_seen[key] = number
        rows.append(row)
    return rows


def run_import(
    db: Database, data: bytes, filename: str, *, dry_run: bool = False, system: str | None = None,
    can: Callable[[str], bool] | None = None, progress: Progress | None = None,
) -> ImportReport:
    """Import a workbook or CSV file. Nothing is written unless every row of every sheet is correct."""
    report = ImportReport(filename=filename, dry_run=dry_run)
    tick = progress or (lambda phase, done, total: None)
    try:
        sheets = read_file(data, filename)
    except Invalid as exc:
        report.add(severity="error", sheet="", row=None, column="", value="", code=exc.code, message=exc.message)
        return report
    if not sheets:
        report.add(severity="error", sheet="", row=None, column="", value="", code="empty_file",
                   message=_l("The file holds no data."))
        return report
    report.sheets = [s.name for s in sheets]
    planned = plan(sheets, report)
    for p in planned:
        if can is not None and not can(p.kind.permission):
            report.add(severity="error", sheet=p.sheet.name, row=None, column="", value="", code="not_allowed",
                       message=_l("You may not import {kind} (permission {permission}).", kind=p.kind.title,
                                  permission=p.kind.permission))
    if report.errors:
        return report
    total = sum(len(p.sheet.rows) for p in planned)
    done = 0
    with db.uow() as uow:
        try:
            for p in planned:
                ctx = ImportContext(report=report, sheet=p.sheet.name, kind=p.kind, headers=p.headers, system=system)
                tick(str(p.kind.title), done, total)
                rows = parse_rows(p, ctx)
                p.kind.apply(uow, rows, ctx)
                uow.flush()
                done += len(rows)
                tick(str(p.kind.title), done, total)
                report.summaries.append(KindSummary(
                    kind=p.kind.name, title=p.kind.title, sheet=p.sheet.name, rows=len(rows),
                    created=ctx.result.created, updated=ctx.result.updated, unchanged=ctx.result.unchanged))
        except DBAPIError as exc:  # a rule the kinds did not check first: report it, write nothing
            log.warning("import of %s rejected by the database: %s", filename, exc)
            report.add(severity="error", sheet="", row=None, column="", value="", code="database_rejected",
                       message=_l("The database refused the data: {detail}", detail=str(exc.orig)[:300]))
            return report
        if report.ok and not dry_run:
            uow.record(FileImported(filename=filename, rows=report.rows, kinds={
                s.kind: {"created": s.created, "updated": s.updated, "unchanged": s.unchanged}
                for s in report.summaries}))
            uow.commit()
            report.committed = True
    return report
