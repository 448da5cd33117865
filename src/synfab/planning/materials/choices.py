"""States of shortages and purchase suggestions, with their zh/en labels and colours."""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l, _lc


class ShortageStatus(Choice):
    OPEN = "open", _lc("shortage", "Open"), "red"
    COVERED = "covered", _l("Covered"), "green"
    # The work order no longer needs it (cancelled, completed, quantity reduced).
    CLOSED = "closed", _l("Closed"), "grey"


class SuggestionStatus(Choice):
    OPEN = "open", _lc("shortage", "Open"), "orange"
    CONVERTED = "converted", _l("Converted"), "green"
    DISMISSED = "dismissed", _l("Dismissed"), "grey"
