"""`synfab audit verify`: walk the audit log's hash chain and name the first record that was tampered with."""

from __future__ import annotations

from typing import Annotated

import typer

from synfab.cli_options import DbOption
from synfab.core.context import speaking


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def verify(db: DbOption = None, lang: Annotated[str | None, typer.Option("--lang")] = None) -> None:
        """Check every record of the audit log; exit code 1 names the first altered, inserted or deleted one."""
        from synfab.cli import console, err, open_database
        from synfab.connect.files.cli import cli_locale
        from synfab.people.models import AuditHead
        from synfab.people.service.audit import verify_audit_chain

        _settings, database = open_database(db)
        with speaking(cli_locale(lang)), database.session() as session:
            checked, problem = verify_audit_chain(session)
            head = session.get(AuditHead, 1)
            if problem is not None:
                err.print(f"[red]{problem.code}[/red] record {problem.record_id}: {problem.message}")
                raise typer.Exit(1)
            console.print(f"audit log intact: {checked} records; head {head.last_hash if head else '-'}")
