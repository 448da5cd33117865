from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l, _lc


class Dimension(Choice):
    COUNT = "count", _l("Count"), "grey"
    MASS = "mass", _l("Mass"), "grey"
    LENGTH = "length", _l("Length"), "grey"
    AREA = "area", _l("Area (surface)"), "grey"
    VOLUME = "volume", _l("Volume"), "grey"
    TIME = "time", _l("Time"), "grey"
    ENERGY = "energy", _l("Energy"), "grey"


class MaterialType(Choice):
    RAW = "raw", _l("Raw material"), "brown"
    SEMI_FINISHED = "semi_finished", _l("Semi-finished"), "orange"
    FINISHED = "finished", _l("Finished good"), "green"
    CONSUMABLE = "consumable", _l("Consumable"), "grey"
    SPARE_PART = "spare_part", _l("Spare part"), "purple"


class Sourcing(Choice):
    MAKE = "make", _l("Make"), "blue"
    BUY = "buy", _l("Buy"), "teal"


class DocumentStatus(Choice):
    """Lifecycle of a BOM or routing revision."""

    DRAFT = "draft", _l("Draft"), "grey"
    RELEASED = "released", _lc("document", "Released"), "green"
    OBSOLETE = "obsolete", _l("Obsolete"), "red"
