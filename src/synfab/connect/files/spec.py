"""What an importable kind looks like: its sheet, its columns (headers in Chinese or English), typed cells.

Each context declares its kinds in `<context>/imports.py` (it knows its rules and owns its tables);
this module gives them one vocabulary: `Column`, `Row`, `ImportKind`, `ImportContext`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.orm import Session

from synfab.core.choices import Choice
from synfab.core.errors import DomainError
from synfab.core.i18n import LazyText, _l, current_locale

if TYPE_CHECKING:
    from synfab.connect.files.report import ImportReport
    from synfab.core.uow import UnitOfWork


def normalise_header(text: str) -> str:
    """Header texts compare by meaning: full-width → half-width, case, spaces, `*` and `:` ignored."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return re.sub(r"[\s*:_\-（）()]+", "", folded)


class CellError(ValueError):
    def __init__(self, code: str, message: LazyText) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


# -- cell parsers: raw cell (str, number, date …) → typed value ----------------------------------------------

def parse_text(value: Any, max_length: int = 200) -> str:
    text = value if isinstance(value, str) else _plain(value)
    text = text.strip()
    if len(text) > max_length:
        raise CellError("too_long", _l("At most {n} characters.", n=max_length))
    return text


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CellError("not_a_number", _l("Enter a number."))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError("not_a_number", _l("Enter a number.")) from None
    if not number.is_finite():
        raise CellError("not_a_number", _l("Enter a number."))
    return number


def parse_int(value: Any) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise CellError("not_a_whole_number", _l("Enter a whole number."))
    return int(number)


_DATE_SEPARATORS = re.compile(r"[./年月]")


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip().rstrip("日")
    text = _DATE_SEPARATORS.sub("-", text)
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    text = text.split(" ")[0]
    try:
        parts = [int(p) for p in text.split("-")]
        return date(parts[0], parts[1], parts[2]) if len(parts) == 3 else date.fromisoformat(text)
    except (ValueError, IndexError):
        raise CellError("not_a_date", _l("Enter a date as YYYY-MM-DD.")) from None


def parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, datetime):
        return value.time()
    text = unicodedata.normalize("NFKC", str(value)).strip()
    try:
        return time.fromisoformat(text if len(text) > 4 else text.zfill(5))
    except ValueError:
        raise CellError("not_a_time", _l("Enter a time as HH:MM.")) from None


_TRUE = {"1", "y", "yes", "true", "t", "是", "√", "✓", "有"}
_FALSE = {"0", "n", "no", "false", "f", "否", "×", "✗", "无"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", _plain(value)).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("not_yes_no", _l("Enter yes or no (是/否)."))


def choice_parser(choice: type[Choice]) -> Callable[[Any], Choice]:
    lookup: dict[str, Choice] = {}
    for member in choice:
        lookup[normalise_header(member.value)] = member
        for text in member.label.both().values():
            lookup[normalise_header(text)] = member

    seen: dict[Any, Choice] = {}

    def parse(value: Any) -> Choice:
        if value in seen:  # a column holds a handful of distinct texts, many times over
            return seen[value]
        found = lookup.get(normalise_header(_plain(value)))
        if found is None:
            allowed = " / ".join(f"{m.value} ({m.label.in_locale('zh_CN')})" for m in choice)
            raise CellError("not_a_choice", _l("Use one of: {allowed}.", allowed=allowed))
        if isinstance(value, str) and len(seen) < 1000:
            seen[value] = found
        return found

    return parse


# -- columns, rows, kinds -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A column of a kind's sheet. Recognised by its English or Chinese header or an alias."""

    key: str
    en: str
    zh: str
    parse: Callable[[Any], Any] = parse_text
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: LazyText | None = None
    example: str = ""

    def header(self, locale: str | None = None) -> str:
        return self.zh if (locale or current_locale()) == "zh_CN" else self.en

    def names(self) -> set[str]:
        return {normalise_header(n) for n in (self.key, self.en, self.zh, *self.aliases)}


@dataclass(slots=True)
class Row:
    """One data row: its spreadsheet row number, typed values by column key, and its cells as typed."""

    number: int
    values: dict[str, Any]
    cells: list[Any]
    index: dict[str, int]  # column key → cell position (shared by the rows of a sheet)
    ok: bool = True

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        return default if value is None else value

    def text(self, key: str) -> str:
        """The cell as the person typed it (for the report)."""
        from synfab.connect.files.reader import cell_text

        position = self.index.get(key)
        return "" if position is None else cell_text(self.cells[position])


@dataclass
class KindResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportContext:
    """What a kind needs while it applies rows: the report to write problems to, and which system's codes."""

    report: ImportReport
    sheet: str
    kind: ImportKind
    headers: dict[str, str]  # column key → the header text used in this file
    system: str | None = None
    result: KindResult = field(default_factory=KindResult)

    def error(self, row: Row | None, key: str | None, code: str, message: LazyText, value: Any = None) -> None:
        self._add("error", row, key, code, message, value)
        if row is not None:
            row.ok = False

    def warning(self, row: Row | None, key: str | None, code: str, message: LazyText, value: Any = None) -> None:
        self._add("warning", row, key, code, message, value)

    def refused(self, row: Row | None, exc: DomainError, columns: Mapping[str, str] | None = None) -> None:
        """A service refused the row: its error (code and message) on the column it is about."""
        self.error(row, (columns or {}).get(exc.code), exc.code, exc.message)

    def resolve(self, row: Row, key: str, index: Any, what: LazyText) -> int | None:
        """The id the row's code in column `key` names in `index` (a code index: ours and other systems'
        codes), or None after reporting why not: unknown, or used by two systems for different records."""
        code = row.values.get(key)
        if code is None:
            return None
        found = index.resolve(code)
        if found is None:
            self.error(row, key, f"{key}_not_found", _l("There is no {what} with code {code}.", what=what, code=code))
            return None
        if found == index.AMBIGUOUS:
            self.error(row, key, "external_id_ambiguous", _l(
                "Several systems use the code {code} for different records; say which system the file comes from.",
                code=code))
            return None
        return int(found)

    def count(self, outcome: str) -> None:
        """Count a row as "created", "updated" or "unchanged"."""
        setattr(self.result, outcome, getattr(self.result, outcome) + 1)

    def _add(self, severity: str, row: Row | None, key: str | None, code: str, message: LazyText, value: Any) -> None:
        shown = value if value is not None else (row.text(key) if row is not None and key else "")
        self.report.add(severity=severity, sheet=self.sheet, row=row.number if row else None,
                        column=self.headers.get(key, key or "") if key else "", value=str(shown),
                        code=code, message=message)


def same_header(ctx: ImportContext, group: list[Row], keys: Iterable[str]) -> bool:
    """A record written on several rows (an order and its lines) must say the same in its header columns on
    every row that fills them in; each row that differs is an error."""
    ok = True
    for key in keys:
        first = next((r for r in group if r.values.get(key) is not None), None)
        if first is None:
            continue
        for r in group:
            if r.values.get(key) is not None and r.values[key] != first.values[key]:
                ctx.error(r, key, "header_differs", _l(
                    "Differs from row {row} of the same record ({value}); write it the same on every row.",
                    row=first.number, value=first.text(key)))
                ok = False
    return ok


def header_value(group: list[Row], key: str, default: Any = None) -> Any:
    """The value of a header column of a multi-row record (the first row that fills it in)."""
    return next((r.values[key] for r in group if r.values.get(key) is not None), default)


def group_rows(rows: list[Row], *keys: str) -> dict[tuple[Any, ...], list[Row]]:
    """Rows of one record together (same values in `keys`), in the file's order; rows missing a key are left out."""
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        key = tuple(row.values.get(k) for k in keys)
        if all(k is not None for k in key):
            groups.setdefault(key, []).append(row)
    return groups


class ImportKind:
    """A kind of record people import and export: plant, materials, sales orders …

    Subclasses set the class attributes and implement `apply` (validate and write all rows, reporting each
    problem with its row and column) and `export_rows` (the same columns, for Excel round trips).
    """

    name: ClassVar[str]
    title: ClassVar[LazyText]
    sheet_names: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[tuple[Column, ...]]
    # Rows with the same values in these columns are duplicates within one file.
    key: ClassVar[tuple[str, ...]] = ("code",)
    depends_on: ClassVar[tuple[str, ...]] = ()
    permission: ClassVar[str]  # to import
    view_permission: ClassVar[str]  # to export
    export_filters: ClassVar[tuple[str, ...]] = ()
    # Some kinds are only exported (the ledger, work orders): their records come from the work itself.
    importable: ClassVar[bool] = True

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        raise NotImplementedError

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        raise NotImplementedError

    @classmethod
    def sheet_title(cls, locale: str | None = None) -> str:
        return cls.title.in_locale(locale or current_locale())

    @classmethod
    def recognises_sheet(cls, sheet_name: str) -> bool:
        names = {cls.name, *cls.sheet_names, *cls.title.both().values()}
        return normalise_header(sheet_name) in {normalise_header(n) for n in names}

    @classmethod
    def column(cls, key: str) -> Column:
        return next(c for c in cls.columns if c.key == key)
