"""`synfab bench NAME [--quick] [--json]`: the figure and its baseline; with --json the last line is one JSON object."""

from __future__ import annotations

import importlib
import json
import os
import platform
from collections.abc import Callable
from typing import Annotated, Any

import typer

# name → "module:function"; each function takes (quick: bool, database_url: str | None, log) and returns figures.
BENCHMARKS: dict[str, str] = {
    "import": "synfab.bench.import_bench:run",
    "ingest": "synfab.bench.ingest_bench:run",
    "opcua": "synfab.bench.opcua_bench:run",
    "materials": "synfab.bench.materials_bench:run",
    "memory": "synfab.bench.memory_bench:run",
    "propagation": "synfab.bench.propagation_bench:run",
    "schedule": "synfab.bench.schedule_bench:run",
    "trace": "synfab.bench.trace_bench:run",
}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.system()}


def register(app: typer.Typer) -> None:
    @app.command("bench")
    def bench(
        name: Annotated[str, typer.Argument(help=f"One of: {', '.join(BENCHMARKS)}, or all.")],
        quick: Annotated[bool, typer.Option("--quick", help="A smaller run (smoke test).")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line of figures.")] = False,
        database_url: Annotated[str | None, typer.Option(
            "--database-url", help="Run against this database (e.g. PostgreSQL) instead of a fresh SQLite file.")] = None,
    ) -> None:
        """Run a benchmark and print its figures beside the baseline measured in the same run."""
        from synfab.cli import console, err

        names = list(BENCHMARKS) if name == "all" else [name]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            err.print(f"unknown benchmark {unknown[0]}; choose one of: {', '.join(BENCHMARKS)}, all")
            raise typer.Exit(2)
        for n in names:
            module, func = BENCHMARKS[n].split(":")
            run: Callable[..., dict[str, Any]] = getattr(importlib.import_module(module), func)
            figures = run(quick=quick, database_url=database_url, log=console.print)
            figures = {"bench": n, **figures, "quick": quick, "machine": machine()}
            for key, value in figures.items():
                if key != "machine":
                    console.print(f"  {key:<24} {value}")
            if as_json:
                print(json.dumps(figures, ensure_ascii=False))
