from __future__ import annotations

from dataclasses import dataclass

from synfab.core.bus import Event


@dataclass(frozen=True, kw_only=True)
class FileImported(Event):
    """A spreadsheet was imported; per kind, how many records were created, updated or left unchanged."""

    filename: str
    rows: int
    kinds: dict[str, dict[str, int]]
