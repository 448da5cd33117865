"""Every message the code shows has a zh-CN translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from synfab.core.i18n import LOCALE_DIR, LazyText, negotiate, translate
from synfab.core.i18n_tools import untranslated

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_message_is_translated_to_chinese() -> None:
    missing = untranslated("zh_CN")
    assert missing == [], "run `make i18n` and translate:\n" + "\n".join(f"{c}: {m}" for c, m in missing)


@pytest.mark.parametrize("po", sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")), ids=lambda p: p.name)
def test_translations_keep_their_placeholders(po: Path) -> None:
    with po.open("rb") as fh:
        for m in read_po(fh, locale="zh_CN"):
            if m.id and m.string:
                assert set(PLACEHOLDER.findall(str(m.id))) == set(PLACEHOLDER.findall(str(m.string))), m.id


def test_language_is_negotiated_from_accept_language() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert negotiate("en-US,en;q=0.9") == "en"
    assert negotiate("zh-TW") == "zh_CN"
    assert negotiate("fr-FR", default="en") == "en"
    assert negotiate(None) == "zh_CN"


def test_words_with_two_meanings_are_told_apart() -> None:
    from synfab.catalog.choices import DocumentStatus
    from synfab.orders.choices import WorkOrderStatus

    assert DocumentStatus.RELEASED.label.in_locale("zh_CN") == "已发布"
    assert WorkOrderStatus.RELEASED.label.in_locale("zh_CN") == "已下达"
    assert WorkOrderStatus.RELEASED.label.in_locale("en") == "Released"


def test_lazy_parameters_follow_the_language() -> None:
    from synfab.plant.choices import Level

    text = LazyText("A {level} cannot be placed under {parent}; allowed parents: {allowed}.",
                    level=Level.LINE.label, parent="X", allowed="-")
    assert "产线" in text.in_locale("zh_CN")
    assert "Production line" in text.in_locale("en")
    assert translate("Home", "zh_CN") == "首页"


def test_one_message_has_one_translation_in_every_catalog() -> None:
    """The catalogs are merged into one per language (first one wins): the same text without a context must read
    the same in all of them, or a page shows another context's meaning. Give different meanings a context (_lc)."""
    seen: dict[tuple[str | None, str], tuple[str, str]] = {}
    conflicts = []
    for po in sorted((LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh, locale="zh_CN"):
                if not m.id or not m.string or m.fuzzy:
                    continue
                key = (m.context, m.id if isinstance(m.id, str) else m.id[0])
                text = m.string if isinstance(m.string, str) else m.string[0]
                first = seen.setdefault(key, (po.name, text))
                if first[1] != text:
                    conflicts.append(f"{key[1]!r}: {first[0]} {first[1]!r} ≠ {po.name} {text!r}")
    assert conflicts == []
