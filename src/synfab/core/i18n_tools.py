"""Developer tools for the catalogs: extract messages per package and merge them into the .po files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

from synfab.core.i18n import LOCALE_DIR, LOCALES

ROOT = LOCALE_DIR.parent
KEYWORDS = {"_": None, "_l": None, "N_": None, "_lc": ((1, "c"), 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**.html": {"trimmed": "true"}}


# Sub-packages big enough to keep their own catalog (so their text is extracted apart from the parent's).
OWN_CATALOG = {"people/skills": "skills", "orders/shipments": "shipments", "orders/terminal": "terminal",
               "inventory/purchasing": "purchasing",
               "planning/materials": "materials", "planning/schedule": "schedule"}


def _units() -> Iterator[tuple[str, list[Path]]]:
    """(catalog name, sources): one catalog per top-level package (and per OWN_CATALOG sub-package), one for
    the loose modules."""
    loose = [p for p in ROOT.glob("*.py")]
    yield "synfab", loose
    for pkg in sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        yield pkg.name, [pkg]
    for sub, name in OWN_CATALOG.items():
        if (ROOT / sub / "__init__.py").exists():
            yield name, [ROOT / sub]


def extract(sources: list[Path]) -> Catalog:
    template = Catalog(fuzzy=False)
    for src in sources:
        if src.is_dir():
            inner = [f"{sub.split('/', 1)[1]}/**" for sub in OWN_CATALOG
                     if (ROOT / sub).parent == src]  # a sub-package with its own catalog is not the parent's
            found = ((src / f, *rest) for f, *rest in extract_from_dir(
                src, method_map=[(pattern, "ignore") for pattern in inner] + METHODS, options_map=OPTIONS,
                keywords=KEYWORDS))
        else:
            found = ((src, lineno, message, comments, context) for lineno, message, comments, context in
                     extract_from_file("python", src, keywords=KEYWORDS))
        for path, lineno, message, comments, context in found:
            if isinstance(message, tuple):
                message = message[0]
            if message:
                template.add(message, locations=[(str(Path(path).relative_to(ROOT)), lineno)],
                             auto_comments=comments, context=context)
    return template


def update_catalogs(packages: list[str] | None = None) -> Iterator[str]:
    """Re-extract and merge; only the named packages' catalogs when given (others stay untouched)."""
    for name, sources in _units():
        if packages and name not in packages:
            continue
        template = extract(sources)
        for locale in LOCALES:
            po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{name}.po"
            if not len(template) and not po.exists():
                continue
            if po.exists():
                with po.open("rb") as fh:
                    catalog = read_po(fh, locale=locale)
                catalog.update(template, update_header_comment=False, no_fuzzy_matching=True)
            else:
                catalog = Catalog(locale=locale, project="synfab", fuzzy=False)
                catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            po.parent.mkdir(parents=True, exist_ok=True)
            with po.open("wb") as fh:
                write_po(fh, catalog, width=120, omit_header=False, sort_output=True, include_lineno=False)
            missing = sum(1 for m in catalog if m.id and not m.string)
            yield f"{locale}/{name}.po: {len(template)} messages, {missing} untranslated"


def untranslated(locale: str = "zh_CN") -> list[tuple[str, str]]:
    """(catalog, message) pairs the code uses but the locale's catalogs do not translate."""
    known: dict[str, str] = {}
    for po in (LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as fh:
            for m in read_po(fh, locale=locale):
                if m.id and m.string and not m.fuzzy:
                    known[str(m.id)] = str(m.string)
    missing = []
    for name, sources in _units():
        for m in extract(sources):
            if m.id and str(m.id) not in known:
                missing.append((name, str(m.id)))
    return missing
