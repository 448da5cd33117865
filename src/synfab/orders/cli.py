"""`synfab revisions apply`: open work orders follow the BOM and routing revisions in effect (for cron, or to
catch up by hand; the server does it by itself when the day changes)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from synfab.cli_options import DbOption


def register(app: typer.Typer) -> None:
    revisions_app = typer.Typer(help="BOM and routing revisions coming into effect.", no_args_is_help=True)
    app.add_typer(revisions_app, name="revisions")

    @revisions_app.command("apply")
    def apply(
        db: DbOption = None,
        on: Annotated[str | None, typer.Option("--on", help="The day (YYYY-MM-DD); default: each site's today.")]
        = None,
    ) -> None:
        """Work orders not started take the revisions in effect; started ones are flagged for the planner."""
        from synfab.cli import console, err, open_database
        from synfab.core.context import SYSTEM, acting_as
        from synfab.orders.service import apply_revisions_taking_effect

        try:
            day = date.fromisoformat(on) if on else None
        except ValueError:
            err.print(f"[red]--on[/red]: {on} is not a date (YYYY-MM-DD)")
            raise typer.Exit(2) from None
        _settings, database = open_database(db)
        with acting_as(SYSTEM), database.uow() as uow:
            done = apply_revisions_taking_effect(uow, on=day)
            uow.commit()
        console.print(f"{len(done.revised)} work orders took the revisions in effect"
                      + (f": {', '.join(done.revised)}" if done.revised else ""))
        console.print(f"{len(done.held)} work orders left to the planner"
                      + (f": {', '.join(done.held)}" if done.held else ""))
