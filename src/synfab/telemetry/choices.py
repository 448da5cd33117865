"""Machine states, their ISO 22400 time elements, and tag data types."""

from __future__ import annotations

from synfab.core.choices import Choice
from synfab.core.i18n import _l


class MachineState(Choice):
    RUNNING = "running", _l("Running"), "green"
    IDLE = "idle", _l("Idle"), "yellow"
    SETUP = "setup", _l("Setup"), "blue"
    DOWN = "down", _l("Down (unplanned)"), "red"
    PLANNED_STOP = "planned_stop", _l("Planned stop"), "grey"
    OFFLINE = "offline", _l("Offline"), "black"


class TimeElement(Choice):
    """ISO 22400-2 time elements a state interval counts towards (planned stops and offline count towards none)."""

    APT = "APT", _l("Actual production time"), "green"
    AUST = "AUST", _l("Actual unit setup time"), "blue"
    ADET = "ADET", _l("Actual unit delay time"), "yellow"
    ADOT = "ADOT", _l("Actual unit down time"), "red"


# running is production, setup is setup, idle within busy time is delay, an unplanned stop is down time.
TIME_ELEMENT: dict[MachineState, TimeElement | None] = {
    MachineState.RUNNING: TimeElement.APT,
    MachineState.SETUP: TimeElement.AUST,
    MachineState.IDLE: TimeElement.ADET,
    MachineState.DOWN: TimeElement.ADOT,
    MachineState.PLANNED_STOP: None,
    MachineState.OFFLINE: None,
}


class DataType(Choice):
    FLOAT = "float", _l("Number"), "blue"
    INT = "int", _l("Integer"), "blue"
    BOOL = "bool", _l("On/off"), "green"
