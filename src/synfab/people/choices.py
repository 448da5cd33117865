from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l


class SignatureMeaning(Choice):
    """What a person declares by signing (21 CFR Part 11 §11.50 asks that the meaning be shown)."""

    APPROVED = "approved", _l("Approved"), "green"
    REVIEWED = "reviewed", _l("Reviewed"), "blue"
    PERFORMED = "performed", _l("Performed"), "purple"
