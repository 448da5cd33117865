"""`synfab import FILE`, `synfab export KIND FILE.xlsx`, `synfab template KIND FILE.xlsx`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from synfab.core.context import SYSTEM, acting_as, speaking
from synfab.core.i18n import _, normalise_locale

DbOption = Annotated[Path | None, typer.Option("--db", help="SQLite file (shorthand for SYNFAB_DATABASE_URL).")]
LangOption = Annotated[str | None, typer.Option("--lang", help="zh_CN or en (default: from LANG).")]


def cli_locale(lang: str | None) -> str:
    return normalise_locale(lang or os.environ.get("SYNFAB_LANG") or os.environ.get("LANG", "en").split(".")[0],
                            default="en")


def print_report(console: Console, report: object) -> None:
    from synfab.connect.files.report import ImportReport

    assert isinstance(report, ImportReport)
    if report.summaries:
        table = Table(title=report.filename)
        for title in (_("Sheet"), _("Holds"), _("Rows"), _("New"), _("Changed"), _("Unchanged")):
            table.add_column(title)
        for s in report.summaries:
            table.add_row(s.sheet, str(s.title), str(s.rows), str(s.created), str(s.updated), str(s.unchanged))
        console.print(table)
    if report.problems:
        table = Table(title=_("Problems"), show_lines=False)
        for title in (_("Sheet"), _("Row"), _("Column"), _("Value"), _("Problem")):
            table.add_column(title, overflow="fold")
        for p in report.sorted_problems():
            style = "red" if p.severity == "error" else "yellow"
            table.add_row(p.sheet, str(p.row or ""), p.column, p.value, f"[{style}]{p.message}[/{style}] ({p.code})")
        console.print(table)
    if report.committed:
        console.print("[green]" + _("Imported {rows} rows from {file}.", rows=report.rows, file=report.filename))
    elif report.ok:
        console.print("[blue]" + _("Trial run: all {rows} rows of {file} are correct. Nothing was written.",
                                   rows=report.rows, file=report.filename))
    else:
        console.print("[red]" + _("{file} has {n} problems. Nothing was written; correct them and import again.",
                                  file=report.filename, n=len(report.errors) + report.truncated))


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_file(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx, .csv (UTF-8 or GBK) or .yaml")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, write nothing.")] = False,
        system: Annotated[str | None, typer.Option(help="The system the file's codes come from (ERP, WMS…).")] = None,
        db: DbOption = None, lang: LangOption = None,
    ) -> None:
        """Import master data, orders or opening stock. All or nothing: any error writes nothing (exit code 1)."""
        from synfab.cli import console, open_database
        from synfab.connect.files.runner import run_import

        _settings, database = open_database(db, migrate=True)
        with speaking(cli_locale(lang)), acting_as(SYSTEM):
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, transient=True) as bar:
                task = bar.add_task(_("Reading {file}", file=file.name), total=None)

                def tick(phase: str, done: int, total: int) -> None:
                    bar.update(task, description=phase, completed=done, total=total or None)

                report = run_import(database, file.read_bytes(), file.name, dry_run=dry_run, system=system,
                                    progress=tick)
            print_report(console, report)
        raise typer.Exit(0 if report.ok else 1)

    @app.command("export")
    def export_kind(
        kind: Annotated[str, typer.Argument(help="What to export: plant, materials, sales_orders … or all.")],
        file: Annotated[Path, typer.Argument(help="The .xlsx file to write.")],
        where: Annotated[list[str] | None, typer.Option("--filter", help="KEY=VALUE, as on the list page.")] = None,
        db: DbOption = None, lang: LangOption = None,
    ) -> None:
        """Export records to Excel, in the columns the importer reads (edit and import back)."""
        from synfab.cli import console, err, open_database
        from synfab.connect.files.export import export_workbook
        from synfab.connect.files.registry import kinds

        chosen = list(kinds().values()) if kind == "all" else [k for k in kinds().values() if k.name == kind]
        if not chosen:
            err.print(f"unknown kind {kind}; choose one of: all, {', '.join(kinds())}")
            raise typer.Exit(2)
        filters = dict(w.split("=", 1) for w in where or [] if "=" in w)
        _settings, database = open_database(db)
        locale = cli_locale(lang)
        with speaking(locale), database.session() as session:
            file.write_bytes(export_workbook(session, chosen, filters, locale))
        console.print(f"{file}: {', '.join(k.name for k in chosen)}")

    @app.command("template")
    def template(
        kind: Annotated[str, typer.Argument(help="A kind (materials, sales_orders …) or all.")],
        file: Annotated[Path, typer.Argument(help="The .xlsx file to write.")], lang: LangOption = None,
    ) -> None:
        """Write an empty import template with instructions."""
        from synfab.cli import console, err
        from synfab.connect.files.export import template_workbook
        from synfab.connect.files.registry import importable_kinds

        chosen = importable_kinds() if kind == "all" else [k for k in importable_kinds() if k.name == kind]
        if not chosen:
            err.print(f"unknown kind {kind}; choose one of: all, {', '.join(k.name for k in importable_kinds())}")
            raise typer.Exit(2)
        locale = cli_locale(lang)
        with speaking(locale):
            file.write_bytes(template_workbook(chosen, locale))
        console.print(str(file))
