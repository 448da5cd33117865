"""Translations: English message ids, Babel catalogs for zh_CN and en, one `{name}` placeholder style.

Catalogs live in `synfab/locale/<locale>/LC_MESSAGES/<package>.po`, one file per package so that
extraction stays local; they are merged and compiled in memory on first use (no .mo build step).
"""

from __future__ import annotations

import gettext as _gettext
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, negotiate_locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from synfab.core.context import locale_var

LOCALES: tuple[str, ...] = ("zh_CN", "en")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


@lru_cache(maxsize=None)
def translations(locale: str) -> _gettext.NullTranslations:
    """The merged, compiled catalog of a locale."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    merged = Catalog(locale=locale)
    for po in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with po.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string and not message.fuzzy and \
                        merged.get(message.id, context=message.context) is None:
                    merged.add(message.id, message.string, context=message.context)
    buf = io.BytesIO()
    write_mo(buf, merged)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def current_locale() -> str:
    return locale_var.get()


def translate(message: str, locale: str | None = None, *, context: str | None = None, **params: Any) -> str:
    """Translate `message` into `locale` (default: the current one) and fill `{name}` placeholders.

    `context` tells apart one English word with two meanings ("Released" BOM vs work order).
    """
    locale = locale or current_locale()
    catalog = translations(locale)
    text = catalog.pgettext(context, message) if context else catalog.gettext(message)
    if params:  # LazyText parameters (a level's label) are shown in the same language
        text = text.format(**{k: v.in_locale(locale) if isinstance(v, LazyText) else v for k, v in params.items()})
    return text


def _(message: str, **params: Any) -> str:
    """Translate now, in the current language."""
    return translate(message, **params)


class LazyText:
    """Text translated when it is shown: enum labels, error messages defined at import time."""

    __slots__ = ("message", "params", "context")

    def __init__(self, message: str, *, context: str | None = None, **params: Any) -> None:
        self.message = message
        self.params = params
        self.context = context

    def __str__(self) -> str:
        return translate(self.message, context=self.context, **self.params)

    def __repr__(self) -> str:
        return f"LazyText({self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyText) and (self.message, self.params) == (other.message, other.params)

    def __hash__(self) -> int:
        return hash(self.message)

    def in_locale(self, locale: str) -> str:
        return translate(self.message, locale, context=self.context, **self.params)

    def both(self) -> dict[str, str]:
        """{"zh_CN": …, "en": …} — APIs return both so a client can show either."""
        return {loc: self.in_locale(loc) for loc in LOCALES}

    def with_params(self, **params: Any) -> LazyText:
        return LazyText(self.message, context=self.context, **{**self.params, **params})


class Translated(LazyText):
    """Text already in both languages (a message that travelled as {"zh_CN": …, "en": …} in error details)."""

    __slots__ = ("texts",)

    def __init__(self, texts: dict[str, str]) -> None:
        super().__init__(texts.get("en", ""))
        self.texts = texts

    def in_locale(self, locale: str) -> str:
        return self.texts.get(locale) or self.texts.get("en", "")

    def __str__(self) -> str:
        return self.in_locale(current_locale())


def _l(message: str, **params: Any) -> LazyText:
    """Mark text for translation when it is shown (safe at import time)."""
    return LazyText(message, **params)


def _lc(context: str, message: str, **params: Any) -> LazyText:
    """Like `_l`, for a word whose translation depends on what it describes."""
    return LazyText(message, context=context, **params)


def N_(message: str) -> str:  # noqa: N802 — the gettext convention
    """Mark text for extraction only; it is translated where it is shown (navigation labels)."""
    return message


def negotiate(accept_language: str | None, default: str = "zh_CN") -> str:
    """The best supported locale for an Accept-Language header."""
    if not accept_language:
        return default
    preferred = []
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            preferred.append(tag)
    found = negotiate_locale(preferred, list(LOCALES), sep="_", aliases={"zh": "zh_CN", "en": "en"})
    if found:
        return found
    for tag in preferred:  # zh_Hans_CN, zh_TW, en_GB … by language alone
        lang = tag.split("_")[0].lower()
        for loc in LOCALES:
            if loc.split("_")[0].lower() == lang:
                return loc
    return default


def normalise_locale(value: str | None, default: str = "zh_CN") -> str:
    """Map 'zh', 'zh-CN', 'en_US' … onto a supported locale."""
    if not value:
        return default
    return negotiate(value, default=default)


def babel_locale(locale: str | None = None) -> Locale:
    return Locale.parse(locale or current_locale())
