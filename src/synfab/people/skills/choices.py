"""Skill categories, the four levels a person holds a skill at, training results and certification states —
with their zh/en labels and colours."""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l, _lc


class SkillCategory(Choice):
    MACHINING = "machining", _l("Machining"), "blue"
    ASSEMBLY = "assembly", _l("Assembly"), "teal"
    TESTING = "testing", _l("Testing and inspection"), "purple"
    LOGISTICS = "logistics", _l("Logistics"), "brown"
    MAINTENANCE = "maintenance", _l("Maintenance"), "orange"
    SAFETY = "safety", _l("Safety"), "red"
    OTHER = "other", _l("Other"), "grey"


class SkillLevel(Choice):
    """What a level means at the machine; stored as the number 1–4 (0: not held)."""

    TRAINING = "1", _l("Under training"), "red"
    SUPERVISED = "2", _l("Works with supervision"), "orange"
    ALONE = "3", _l("Works alone"), "green"
    TRAINER = "4", _l("Can train others"), "blue"

    @property
    def number(self) -> int:
        return int(self.value)

    @classmethod
    def of(cls, level: int) -> SkillLevel:
        return cls(str(level))


LEVELS = (1, 2, 3, 4)
# The level a person needs to train others in a skill.
TRAINER_LEVEL = 4


class TrainingResult(Choice):
    PASSED = "passed", _l("Passed"), "green"
    FAILED = "failed", _lc("training", "Failed"), "red"


class CertificationState(Choice):
    """A certification on a given day (derived from its dates, not stored)."""

    VALID = "valid", _l("Valid"), "green"
    EXPIRING = "expiring", _l("Expires soon"), "orange"
    EXPIRED = "expired", _l("Expired"), "red"
    NOT_YET = "not_yet", _l("Not yet valid"), "grey"


class TargetState(Choice):
    """Progress of one person towards a training plan's target level (derived)."""

    REACHED = "reached", _l("Reached"), "green"
    OPEN = "open", _l("In progress"), "blue"
    OVERDUE = "overdue", _l("Overdue"), "red"


# Reminders go out when a certification comes within these many days of its expiry.
REMINDER_DAYS = (30, 7)
# A certification "expires soon" within this many days (pages, home card).
EXPIRING_WITHIN_DAYS = 30
