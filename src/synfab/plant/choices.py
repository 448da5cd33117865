"""Levels of the plant tree and which level may sit under which — the one place this rule lives."""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l


class Level(Choice):
    ENTERPRISE = "enterprise", _l("Enterprise"), "purple"
    SITE = "site", _l("Site"), "blue"
    AREA = "area", _l("Area"), "teal"
    LINE = "line", _l("Production line"), "green"
    WORK_CENTER = "work_center", _l("Work center"), "orange"
    EQUIPMENT = "equipment", _l("Equipment"), "grey"
    STORAGE_ZONE = "storage_zone", _l("Storage zone"), "brown"
    STORAGE_UNIT = "storage_unit", _l("Storage unit"), "brown"


# ISA-95: work centers sit in an area or a line; storage zones in a site, area or line (WIP at the line).
ALLOWED_PARENTS: dict[Level, frozenset[Level | None]] = {
    Level.ENTERPRISE: frozenset({None}),
    Level.SITE: frozenset({Level.ENTERPRISE}),
    Level.AREA: frozenset({Level.SITE}),
    Level.LINE: frozenset({Level.AREA}),
    Level.WORK_CENTER: frozenset({Level.AREA, Level.LINE}),
    Level.EQUIPMENT: frozenset({Level.WORK_CENTER, Level.LINE}),
    Level.STORAGE_ZONE: frozenset({Level.SITE, Level.AREA, Level.LINE}),
    Level.STORAGE_UNIT: frozenset({Level.STORAGE_ZONE}),
}

class StorageRole(Choice):
    """What a storage location is for: where production takes and puts stock by itself."""

    RAW_MATERIAL = "raw_material", _l("Raw materials"), "brown"
    WIP = "wip", _l("Line-side WIP"), "orange"
    FINISHED_GOODS = "finished_goods", _l("Finished goods"), "green"
    QUARANTINE = "quarantine", _l("Quarantine"), "red"


STORAGE_LEVELS = frozenset({Level.STORAGE_ZONE, Level.STORAGE_UNIT})
# Levels whose nodes run operations (a routing step names one of them).
PRODUCTIVE_LEVELS = frozenset({Level.WORK_CENTER, Level.EQUIPMENT})
