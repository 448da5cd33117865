"""docs/import.md is the reference written from the kinds themselves; it must match the code."""

from __future__ import annotations

from pathlib import Path

from synfab.connect.files.reference import markdown_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "import.md"


def test_import_reference_matches_the_kinds() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown_reference(), (
        "regenerate it: python -m synfab.connect.files.reference > docs/import.md")
