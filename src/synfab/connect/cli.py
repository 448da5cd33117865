"""`synfab connect`: run machine connectors in a worker process of their own (for scale), beside `synfab serve`."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from synfab.cli_options import DbOption


def register(app: typer.Typer) -> None:
    @app.command("connect")
    def connect(
        db: DbOption = None,
        only: Annotated[list[str] | None, typer.Option(
            "--only", help="Run only this connector (by code; repeatable). Default: every enabled connector "
                           "that no other process runs.")] = None,
        buffer_dir: Annotated[Path | None, typer.Option(
            help="Where batches wait until stored (store-and-forward); one directory per worker.")] = None,
    ) -> None:
        """Run the enabled connectors: read machines, buffer on disk, write the store, report health."""
        from synfab.cli import console, open_database
        from synfab.connect.manager import ConnectorManager
        from synfab.connect.pipeline import TelemetryPipeline

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings, database = open_database(db, migrate=False)
        pipeline = TelemetryPipeline.at(database, buffer_dir or Path(settings.buffer_dir),
                                        max_bytes=settings.buffer_max_mb * 1024 * 1024)
        manager = ConnectorManager(database, pipeline, only=set(only) if only else None)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            manager.start()
            console.print(f"synfab connect: running connectors ({pipeline.process}); Ctrl-C stops")
            await stop.wait()
            await manager.stop()

        asyncio.run(main())
