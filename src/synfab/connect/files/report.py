"""The import report: every problem with sheet, row, column, value and a message in Chinese and English."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synfab.core.i18n import LazyText


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" stops the import; "warning" does not
    sheet: str
    row: int | None
    column: str
    value: str
    code: str
    message: LazyText

    def to_dict(self) -> dict[str, Any]:
        both = self.message.both()
        return {"severity": self.severity, "sheet": self.sheet, "row": self.row, "column": self.column,
                "value": self.value, "code": self.code, "message": str(self.message),
                "message_zh": both["zh_CN"], "message_en": both["en"]}


@dataclass
class KindSummary:
    kind: str
    title: LazyText
    sheet: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": str(self.title), "sheet": self.sheet, "rows": self.rows,
                "created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportReport:
    filename: str
    dry_run: bool = False
    committed: bool = False
    problems: list[Problem] = field(default_factory=list)
    summaries: list[KindSummary] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)  # in the file's order
    # A file with thousands of bad rows still reports them all; this only bounds memory on absurd input.
    max_problems: int = 10_000
    truncated: int = 0

    def add(self, **fields: Any) -> None:
        if len(self.problems) >= self.max_problems:
            self.truncated += 1
            return
        self.problems.append(Problem(**fields))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.truncated

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.summaries)

    def sorted_problems(self) -> list[Problem]:
        order = {name: i for i, name in enumerate(self.sheets)}
        return sorted(self.problems, key=lambda p: (order.get(p.sheet, -1), p.row or 0, p.severity != "error"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename, "ok": self.ok, "dry_run": self.dry_run, "committed": self.committed,
            "rows": self.rows, "errors": len(self.errors) + self.truncated, "warnings": len(self.warnings),
            "kinds": [s.to_dict() for s in self.summaries],
            "problems": [p.to_dict() for p in self.sorted_problems()],
        }
