"""Jinja2 environment shared by all pages: each context's `templates/` under its name, i18n, formatting."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import Response

from synfab import __version__
from synfab.core.choices import Choice
from synfab.core.i18n import LANGUAGE_NAMES, LOCALES, LazyText, current_locale, translate
from synfab.core.ids import new_id

WEB = Path(__file__).resolve().parent
# Template prefix → package whose `templates/` it names (sub-contexts get a short prefix of their own).
CONTEXTS_WITH_PAGES = {name: f"synfab.{name}" for name in
                       ("plant", "catalog", "orders", "inventory", "people", "connect", "telemetry")} | {
    "skills": "synfab.people.skills", "shipments": "synfab.orders.shipments",
    "terminal": "synfab.orders.terminal",
    "purchasing": "synfab.inventory.purchasing", "materials": "synfab.planning.materials",
    "schedule": "synfab.planning.schedule"}


@dataclass(frozen=True)
class NavItem:
    section: str  # a message id, translated when shown
    label: str
    url: str
    permission: str | None
    icon: str = "•"


def _context_loaders() -> dict[str, FileSystemLoader]:
    loaders = {}
    for name, package in CONTEXTS_WITH_PAGES.items():
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            folder = Path(spec.origin).parent / "templates"
            if folder.is_dir():
                loaders[name] = FileSystemLoader(folder)
    return loaders


def _gettext(message: str, **params: Any) -> str:
    return translate(message, **params)


def fmt_qty(value: Decimal | float | int | None, places: int = 3) -> str:
    """Quantities without trailing zeros: 12, 12.5, 0.125."""
    if value is None:
        return ""
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-places)).normalize()
    return format_decimal(d, format="#,##0.######", locale=current_locale())


def fmt_dt(value: datetime | None, tz: str | ZoneInfo | None = None, fmt: str = "short") -> str:
    if value is None:
        return ""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz or "Asia/Shanghai")
    return format_datetime(value.astimezone(zone), format="yyyy-MM-dd HH:mm" if fmt == "short" else fmt,
                           locale=current_locale())


def fmt_ms(value: int | None, tz: str | ZoneInfo | None = None, fmt: str = "short") -> str:
    """A machine-data time (milliseconds since 1970, UTC) in the site's time zone."""
    if value is None:
        return ""
    return fmt_dt(datetime.fromtimestamp(value / 1000, UTC), tz, fmt)


def fmt_date(value: date | None) -> str:
    return "" if value is None else format_date(value, format="yyyy-MM-dd", locale=current_locale())


def badge(choice: Choice | None) -> Markup:
    if choice is None:
        return Markup("")
    return Markup('<span class="badge badge-{}">{}</span>').format(choice.colour, str(choice.label))


def label(value: Any) -> str:
    """Show a Choice, LazyText or plain value in the current language."""
    if isinstance(value, Choice):
        return str(value.label)
    if isinstance(value, LazyText):
        return str(value)
    return "" if value is None else str(value)


def display_name(obj: Any) -> str:
    if obj is None:
        return ""
    if hasattr(obj, "display_name"):
        return obj.display_name(current_locale())
    return str(obj)


@lru_cache(maxsize=1)
def environment() -> Environment:
    loader = ChoiceLoader([FileSystemLoader(WEB / "templates"), PrefixLoader(_context_loaders())])
    env = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(
        _=_gettext, locale=current_locale, LOCALES=LOCALES, LANGUAGE_NAMES=LANGUAGE_NAMES, version=__version__,
        badge=badge, label=label, name=display_name, new_key=new_id,
    )
    env.filters.update(qty=fmt_qty, dt=fmt_dt, ms=fmt_ms, d=fmt_date, label=label, name=display_name, e=escape)
    return env


templates = Jinja2Templates(env=environment())


def nav_for(items: list[NavItem], principal: Any) -> list[tuple[str, list[NavItem]]]:
    """The navigation a user sees: items they have the permission for, grouped by section."""
    sections: dict[str, list[NavItem]] = {}
    for item in items:
        if principal is not None and (item.permission is None or principal.can(item.permission)):
            sections.setdefault(item.section, []).append(item)
    return list(sections.items())


def render(request: Request, name: str, *, status_code: int = 200, **context: Any) -> Response:
    principal = getattr(request.state, "principal", None)
    context.setdefault("principal", principal)
    context.setdefault("nav", nav_for(getattr(request.app.state, "nav", []), principal))
    context.setdefault("csrf_token", principal.csrf_token if principal else "")
    context.setdefault("request_path", request.url.path)
    return templates.TemplateResponse(request, name, context, status_code=status_code)
