"""The assembly area's stations as one simulated Modbus TCP device ("AssemblySim"), in-process.

Each station is a unit id (the first station unit 1, the next 2, ...), all with the same register map:

=========  ============  ========================================================================
table      offset        signal
=========  ============  ========================================================================
coil       0             running (a part is being made)
coil       1             alarm active (the station is down until it is repaired)
hr         0             mode: 0 auto, 1 setup, 2 manual
hr         1-2           part count, uint32, big-endian (ABCD), counts up forever
hr         3             scrap count, uint16 (wraps at 65536)
hr         10            sequence: a heartbeat counter, +1 on every tick (wraps at 65536)
ir         0-1           temperature, °C, float32, words swapped (CDAB)
ir         2-3           vibration, mm/s RMS, float32, CDAB
ir         4-5           process value, float32, CDAB: press force in kN, or, on a leak-test station
                         (its code ends in -40), leak rate in ml/min
=========  ============  ========================================================================

`tag_addresses(station)` gives each signal's address string in the connector's syntax, so the demo creates
its tags without knowing the map. The demo drives the stations: `set_working(station, True)` while the
station has work, `tick(dt_s)` about once a second with the simulated seconds that passed. A working station
in auto mode makes a part every cycle time; now and then it has a short stop (not running, no alarm) or
scraps a part; its wear grows, and once wear is high its temperature and vibration (and leak rate) drift up
until it breaks down (alarm, manual mode) and is repaired after a while. Random choices come from a seeded
`random.Random`, so a run is reproducible.

`start()` / `stop()` open and close the port (a restart on the same port works); `pause()` / `resume()` make
the device stop answering while keeping connections open, as a PLC that hangs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from synfab.connect.modbus.address import encode, parse_address
from synfab.connect.modbus.server_wrap import ModbusDeviceServer

ASSEMBLY_STATIONS = ("AS1-10", "AS1-20", "AS1-30", "AS1-40", "AS2-10", "AS2-20", "AS2-30", "AS2-40")

AUTO, SETUP, MANUAL = 0, 1, 2

# Signal name -> address without its unit id ("<unit>/" is put in front).
REGISTER_MAP: dict[str, str] = {
    "running": "coil/0",
    "alarm": "coil/1",
    "mode": "hr/0/uint16",
    "part_count": "hr/1/uint32/ABCD",
    "scrap_count": "hr/3/uint16",
    "sequence": "hr/10/uint16",
    "temperature": "ir/0/float32/CDAB",
    "vibration": "ir/2/float32/CDAB",
    "process_value": "ir/4/float32/CDAB",
}

AMBIENT_C = 24.0
SHORT_STOP_PER_HOUR = 4.0
SCRAP_RATE = 0.02
WEAR_PER_HOUR = (0.05, 0.25)  # drawn per station: how fast it wears towards a breakdown
DRIFT_FROM_WEAR = 0.7  # temperature and vibration start drifting up above this wear


def is_leak_test(station: str) -> bool:
    return station.endswith("-40")


@dataclass
class StationState:
    """What one simulated station is doing; the registers are written from it on every tick."""

    code: str
    unit: int
    cycle_time_s: float
    wear_per_s: float
    working: bool = False
    mode: int = AUTO
    running: bool = False
    alarm: bool = False
    part_count: int = 0
    scrap_count: int = 0
    sequence: int = 0
    temperature: float = AMBIENT_C
    vibration: float = 0.1
    process_value: float = 0.0
    cycle_progress_s: float = 0.0
    stop_left_s: float = 0.0
    repair_left_s: float = 0.0
    wear: float = 0.0


class AssemblySim:
    """The assembly stations and the Modbus TCP server that serves them."""

    def __init__(self, stations: Sequence[str] = ASSEMBLY_STATIONS, port: int | None = None,
                 host: str = "127.0.0.1", seed: int = 7) -> None:
        if not stations:
            raise ValueError("AssemblySim needs at least one station")
        if len(set(stations)) != len(stations) or len(stations) > 247:
            raise ValueError("station codes must be unique, at most 247 (Modbus unit ids 1-247)")
        self._rng = random.Random(seed)
        self.stations: dict[str, StationState] = {}
        for unit, code in enumerate(stations, start=1):
            self.stations[code] = StationState(code, unit, cycle_time_s=round(self._rng.uniform(30, 75), 1),
                                               wear_per_s=self._rng.uniform(*WEAR_PER_HOUR) / 3600)
        units = [s.unit for s in self.stations.values()]
        self.server = ModbusDeviceServer(units, host=host, port=port or 0, size=16)
        for state in self.stations.values():
            self._publish(state)

    # -- the device ----------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        """The port served (chosen at the first start when none was given)."""
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def pause(self) -> None:
        """Stop answering requests (connections stay open): the connector sees a device that hangs."""
        self.server.pause()

    def resume(self) -> None:
        self.server.resume()

    # -- what the demo uses --------------------------------------------------------------------------

    def unit_of(self, station: str) -> int:
        return self._state(station).unit

    def tag_addresses(self, station: str) -> dict[str, str]:
        """Signal name -> tag address string for the connector, e.g. {"part_count": "3/hr/1/uint32/ABCD"}."""
        unit = self._state(station).unit
        names = dict(REGISTER_MAP)
        names["leak_rate" if is_leak_test(station) else "press_force"] = names.pop("process_value")
        return {name: f"{unit}/{where}" for name, where in names.items()}

    def set_working(self, station: str, working: bool) -> None:
        """The station has work (True) or is starved / has nothing to do (False)."""
        self._state(station).working = working

    def set_mode(self, station: str, mode: int) -> None:
        """Put a station in auto, setup (changeover) or manual mode; only auto makes parts."""
        if mode not in (AUTO, SETUP, MANUAL):
            raise ValueError(f"mode must be {AUTO} auto, {SETUP} setup or {MANUAL} manual")
        state = self._state(station)
        state.mode = mode
        self._publish(state)

    def snapshot(self, station: str) -> StationState:
        """A copy of the station's state (for tests and the demo's own checks)."""
        state = self._state(station)
        return StationState(**{k: getattr(state, k) for k in state.__dataclass_fields__})

    def tick(self, dt_s: float) -> None:
        """Let `dt_s` simulated seconds pass on every station, then publish the registers."""
        if dt_s <= 0:
            return
        # Steps of at most a second (at most 600 per tick), so short stops and cycles keep their sense.
        steps = min(600, max(1, int(dt_s + 0.999)))
        step = dt_s / steps
        for state in self.stations.values():
            for _ in range(steps):
                self._step(state, step)
            state.sequence = (state.sequence + 1) & 0xFFFF
            self._publish(state)

    # -- the simulation ------------------------------------------------------------------------------

    def _state(self, station: str) -> StationState:
        try:
            return self.stations[station]
        except KeyError:
            raise KeyError(f"AssemblySim has no station {station!r}") from None

    def _step(self, s: StationState, dt: float) -> None:
        rng = self._rng
        if s.alarm:
            s.repair_left_s -= dt
            if s.repair_left_s <= 0:
                s.alarm, s.wear, s.mode = False, 0.0, AUTO
        elif s.stop_left_s > 0:
            s.stop_left_s -= dt
        elif s.working and s.mode == AUTO:
            if rng.random() < SHORT_STOP_PER_HOUR / 3600 * dt:
                s.stop_left_s = rng.uniform(10, 90)
            s.wear += s.wear_per_s * dt * rng.uniform(0.5, 1.5)
            if s.wear >= 1.0:
                s.alarm, s.mode = True, MANUAL
                s.repair_left_s = rng.uniform(300, 1200)
                s.cycle_progress_s = 0.0
        s.running = s.working and s.mode == AUTO and not s.alarm and s.stop_left_s <= 0
        if s.running:
            s.cycle_progress_s += dt
            while s.cycle_progress_s >= s.cycle_time_s:
                s.cycle_progress_s -= s.cycle_time_s
                s.part_count = (s.part_count + 1) & 0xFFFFFFFF
                if rng.random() < SCRAP_RATE * (1 + 4 * max(0.0, s.wear - DRIFT_FROM_WEAR)):
                    s.scrap_count = (s.scrap_count + 1) & 0xFFFF
        drift = max(0.0, s.wear - DRIFT_FROM_WEAR) / (1 - DRIFT_FROM_WEAR)
        # First-order lag towards where the signal settles, plus a little noise.
        target_t = AMBIENT_C + (14.0 if s.running else 2.0) + 25.0 * drift
        target_v = (1.4 if s.running else 0.1) + 6.0 * drift
        lag = min(1.0, dt / 120)
        s.temperature += (target_t - s.temperature) * lag + rng.gauss(0, 0.05)
        s.vibration += (target_v - s.vibration) * min(1.0, dt / 20) + rng.gauss(0, 0.02)
        s.vibration = max(0.0, s.vibration)
        if is_leak_test(s.code):
            s.process_value = max(0.0, 0.4 + 2.0 * drift + rng.gauss(0, 0.03)) if s.running else 0.0
        else:
            s.process_value = max(0.0, 12.0 - 1.5 * drift + rng.gauss(0, 0.2)) if s.running else 0.0

    def _publish(self, s: StationState) -> None:
        values = {"running": s.running, "alarm": s.alarm, "mode": s.mode, "part_count": s.part_count,
                  "scrap_count": s.scrap_count, "sequence": s.sequence, "temperature": s.temperature,
                  "vibration": s.vibration, "process_value": s.process_value}
        for name, where in REGISTER_MAP.items():
            address = parse_address(f"{s.unit}/{where}")
            self.server.write(s.unit, address.table, address.offset, encode(address, values[name]))
