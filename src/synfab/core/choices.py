"""Choices: string enums with a zh/en label and a colour, shared by columns, schemas and badges."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

from synfab.core.i18n import LazyText


class Choice(StrEnum):
    """`NAME = "value", _l("Label"), "colour"` — the value is stored, the label shown."""

    label: LazyText
    colour: str

    def __new__(cls, value: str, label: LazyText | None = None, colour: str = "grey") -> Any:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label if label is not None else LazyText(value)
        obj.colour = colour
        return obj

    @classmethod
    def options(cls) -> list[tuple[str, str]]:
        """(value, label in the current language) for select boxes."""
        return [(m.value, str(m.label)) for m in cls]

    @classmethod
    def parse(cls, text: str) -> Any:
        """Accept the stored value or the label in either language (imports, filters)."""
        key = text.strip()
        for m in cls:
            if key.lower() == m.value.lower() or key in m.label.both().values():
                return m
        raise ValueError(text)


class ChoiceType(TypeDecorator[Any]):
    """Stores a Choice by its value; reads it back as the enum member."""

    impl = String(20)
    cache_ok = True

    def __init__(self, choice: type[Choice], length: int = 20) -> None:
        super().__init__(length)
        self.choice = choice

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        # A member already is its value (StrEnum); only plain strings need the lookup (bulk writes are hot).
        return value._value_ if isinstance(value, self.choice) else self.choice(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else self.choice(value)
