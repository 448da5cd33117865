"""Options shared by the `synfab` command and the commands contexts add to it (kept free of their imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[Path | None, typer.Option("--db", help="SQLite file (shorthand for SYNFAB_DATABASE_URL).")]
