"""The `synfab` command: demo, serve, db, import, export, users, outbox, bench, i18n.

Every command reads SYNFAB_DATABASE_URL; `--db PATH` is a shorthand for a SQLite file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from synfab.cli_options import DbOption
from synfab.core.config import Settings, get_settings, sqlite_url
from synfab.core.context import SYSTEM, acting_as
from synfab.core.db import Database
from synfab.core.errors import DomainError

if TYPE_CHECKING:
    from synfab.sim.factory import FactorySimulator

app = typer.Typer(help="synfab — smart factory collaborative control (智慧工厂协同管控)", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
outbox_app = typer.Typer(help="Event delivery outside transactions.", no_args_is_help=True)
i18n_app = typer.Typer(help="Translation catalogs (developers).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(outbox_app, name="outbox")
app.add_typer(i18n_app, name="i18n")
keys_app = typer.Typer(help="Keys that encrypt secrets at rest.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

console = Console()
err = Console(stderr=True)



def settings_for(db_path: Path | None) -> Settings:
    settings = get_settings()
    if db_path is not None:
        settings = settings.model_copy(update={"database_url": sqlite_url(db_path)})
    return settings


def open_database(db_path: Path | None, *, migrate: bool = False) -> tuple[Settings, Database]:
    """The configured database; with `migrate`, brought to the latest schema first."""
    from synfab.bootstrap import build_database
    from synfab.migrations import is_current, upgrade

    settings = settings_for(db_path)
    db = build_database(settings)
    if migrate and not is_current(db):
        upgrade(db)
    return settings, db


def fail(error: DomainError) -> None:
    err.print(f"[red]{error.code}[/red]: {error.message}")
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply all migrations (creates the schema on an empty database)."""
    from synfab.migrations import current_revision

    _, database = open_database(db, migrate=True)
    console.print(f"database at revision [bold]{current_revision(database)}[/bold]: {database.engine.url!r}")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Show the schema revision of the database and the newest one available."""
    from synfab.migrations import current_revision, head_revision

    _, database = open_database(db)
    console.print(f"current: {current_revision(database)}  head: {head_revision(database)}")


def run_server(settings: Settings, database: Database, host: str, port: int, banner: str = "") -> None:
    import uvicorn

    from synfab.web.app import create_app, settle_heap

    application = create_app(database, settings)
    settle_heap()
    console.print(f"synfab is running at [bold]http://{host}:{port}/[/bold]  (Ctrl-C stops it)")
    if banner:
        console.print(banner)
    # Open live streams (SSE) never end by themselves: give them a few seconds, then stop.
    uvicorn.run(application, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the web application (migrates an empty database; never creates users)."""
    settings, database = open_database(db, migrate=True)
    run_server(settings, database, host or settings.host, port or settings.port)


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="SQLite file of the demo.")] = Path("synfab-demo.db"),
    reset: Annotated[bool, typer.Option(help="Start again from a fresh demo factory.")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve_web: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the web UI after loading.")] = True,
    speed: Annotated[float, typer.Option(min=0.01, help="How many times faster simulated work runs.")] = 1.0,
    still: Annotated[bool, typer.Option("--still", help="Do not simulate: the factory stands still.")] = False,
    ticks: Annotated[int, typer.Option(min=0, help="With --no-serve: simulate this many ticks and print what "
                                                   "happened.")] = 0,
    sim_tags: Annotated[int, typer.Option(min=0, help="Simulate at least this many machine tags (the demo has "
                                                      "144): further process values on the OPC UA machines.")] = 0,
) -> None:
    """Create the demo auto-parts plant in a SQLite file and serve it while simulated people work the loop."""
    from synfab.sim.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
    from synfab.sim.factory import FactorySimulator

    if reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    settings, database = open_database(db, migrate=True)
    with acting_as(SYSTEM):
        created = load_demo(database, console=console)
    lines = ["", "[bold]Demo logins[/bold] (password for all: [bold]" + DEMO_PASSWORD + "[/bold])"]
    lines += [f"  {u.username:<12} {u.role:<12} {u.display_name}" for u in DEMO_USERS]
    if not created:
        lines.insert(0, f"(using the existing demo in {db}; --reset starts again)")
    simulator = FactorySimulator(database, speed=speed)
    if not serve_web:
        console.print("\n".join(lines))
        if ticks and not still:
            _simulate(simulator, ticks)
        return
    from synfab.sim.machines import DemoMachines

    from synfab.sim.demo_machines import BASE_TAGS, MACHINING

    extra = max(0, -(-(sim_tags - BASE_TAGS) // len(MACHINING)))  # rounded up, per machining machine
    machines = DemoMachines(database, speed=speed, extra_signals=extra)
    machines.start()
    lines += ["", f"Simulated machines: OPC UA at {machines.opcua.endpoint} (machining), Modbus TCP at "
                  f"{machines.modbus.host}:{machines.modbus.port} (assembly) — see /machines and /connectors."]
    if not still:
        lines += ["", (f"[bold]The factory is running[/bold] at speed {speed:g}: orders arrive, operators work, "
                       "goods ship. Ctrl-C stops it (and the server); --still keeps the factory still.")]
        simulator.start()
    try:
        run_server(settings, database, host, port, banner="\n".join(lines))
    finally:
        simulator.stop()
        machines.stop()


def _simulate(simulator: FactorySimulator, ticks: int) -> None:
    """Run the demo factory for some ticks in this process and print what it did."""
    from rich.progress import Progress
    from rich.table import Table

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=ticks)
        for _ in range(ticks):
            simulator.tick()
            bar.advance(task)
    table = Table(title=f"{ticks} ticks at speed {simulator.speed:g} ({simulator.minutes:,.0f} simulated minutes)")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in simulator.tally.rows():
        table.add_row(label, value)
    console.print(table)


@users_app.command("create")
def users_create(
    username: str, display_name: Annotated[str, typer.Option("--name")],
    role: Annotated[str, typer.Option(help="Built-in role code, e.g. it_admin.")],
    scope: Annotated[str, typer.Option(help="Code of the plant node the role covers.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    db: DbOption = None,
) -> None:
    """Create a user with one role over a plant node (the first administrator, scripts)."""
    from synfab.people import service as people
    from synfab.plant import service as plant

    _, database = open_database(db, migrate=True)
    try:
        with acting_as(SYSTEM), database.uow() as uow:
            people.ensure_builtin_roles(uow)
            user = people.create_user(uow, username, display_name, password)
            people.grant_role(uow, user, role, plant.node_by_code(uow.session, scope).id)
            uow.commit()
    except DomainError as e:
        fail(e)
    console.print(f"created {username} ({role} over {scope})")


@outbox_app.command("run")
def outbox_run(db: DbOption = None) -> None:
    """Deliver everything due in the outbox now, then exit."""
    from synfab.core.outbox import OutboxDispatcher

    settings, database = open_database(db)
    worker = OutboxDispatcher(database, max_attempts=settings.outbox_max_attempts, backoff_s=settings.outbox_backoff_s)
    console.print(f"delivered {asyncio.run(worker.drain())} outbox rows")


@outbox_app.command("retry")
def outbox_retry(db: DbOption = None) -> None:
    """Put every failed outbox row back in the queue."""
    from synfab.core.outbox import retry_outbox

    _, database = open_database(db)
    console.print(f"requeued {retry_outbox(database)} rows")


@keys_app.command("rotate")
def keys_rotate(
    db: DbOption = None,
    drop_old: Annotated[bool, typer.Option("--drop-old", help="Keep only the new key afterwards.")] = False,
) -> None:
    """Encrypt every stored secret with a new key (the old ones still decrypt unless --drop-old)."""
    from synfab.bootstrap import metadata
    from synfab.core import crypto

    _, database = open_database(db)
    count, ring = crypto.rotate(database.engine, metadata, drop_old=drop_old)
    console.print(f"re-encrypted {count} secrets with a new key; the ring holds {len(ring)} key(s)")
    if os.environ.get("SYNFAB_SECRET_KEY", "").strip():
        console.print("SYNFAB_SECRET_KEY must now be set to (newest first):")
        print(",".join(k.decode() for k in ring))
    else:
        console.print(f"key file updated: {crypto.key_file()}")


@i18n_app.command("update")
def i18n_update(
    package: Annotated[list[str] | None, typer.Option("--package", "-p", help="Only this package (repeatable).")] = None,
) -> None:
    """Extract translatable text per package and merge it into the zh_CN and en catalogs."""
    from synfab.core.i18n_tools import update_catalogs

    for line in update_catalogs(package):
        console.print(line)


def _register_optional_commands() -> None:
    """Commands of later-built parts register themselves here (import/export, bench)."""
    import importlib

    for module in ("synfab.connect.files.cli", "synfab.connect.cli", "synfab.people.cli", "synfab.orders.cli", "synfab.bench.cli"):
        try:
            importlib.import_module(module).register(app)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_optional_commands()


def main() -> None:
    logging.basicConfig(level=os.environ.get("SYNFAB_LOG_LEVEL", "WARNING"))
    try:
        app()
    except DomainError as e:
        err.print(f"[red]{e.code}[/red]: {e.message}")
        sys.exit(2)
