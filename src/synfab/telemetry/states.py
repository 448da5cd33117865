"""Machine states and part counts from signals, by a state model per equipment class (rules as data).

A model, stored as JSON on `StateModel` and importable as YAML, reads like this::

    rules:                       # the first that holds gives the state
      - state: down
        when: {signal: alarm, op: ne, value: 0}
      - state: setup
        when: {signal: mode, op: eq, value: 1}
      - state: running
        when: {all: [{signal: running, op: eq, value: 1}, {signal: mode, op: eq, value: 0}]}
    default: idle                # when none holds
    counters: {produced: part_count, scrap: scrap_count}   # cumulative counters; a drop is a reset

`offline` is not a rule: it is what a machine is while its connector has lost the source.
Each change closes the open `StateInterval`, opens the next one (as its ISO 22400 time element, with the
operation running on the machine's work center), and records `MachineStateChanged` (and `MachineDown`).
Only samples the writer really inserted reach the engine, so a replayed batch changes nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.core.uow import UnitOfWork
from synfab.orders.service.operations import running_at
from synfab.plant.models import PlantNode
from synfab.telemetry.choices import TIME_ELEMENT, MachineState
from synfab.telemetry.events import MachineDown, MachineStateChanged
from synfab.telemetry.mapping import TagInfo
from synfab.telemetry.models import MachineCount, MachineStatus, StateInterval, StateModel, Tag

log = logging.getLogger(__name__)
MINUTE_MS = 60_000

# -- the model's schema -------------------------------------------------------------------------------


class Compare(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: str
    op: Literal["eq", "ne", "gt", "ge", "lt", "le"] = "eq"
    value: float

    def holds(self, signals: dict[str, float | None]) -> bool:
        v = signals.get(self.signal)
        if v is None:
            return False
        return {"eq": v == self.value, "ne": v != self.value, "gt": v > self.value, "ge": v >= self.value,
                "lt": v < self.value, "le": v <= self.value}[self.op]

    def signals(self) -> set[str]:
        return {self.signal}


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: list[Condition] = Field(min_length=1)

    def holds(self, signals: dict[str, float | None]) -> bool:
        return all(c.holds(signals) for c in self.all)

    def signals(self) -> set[str]:
        return set().union(*(c.signals() for c in self.all))


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any: list[Condition] = Field(min_length=1)

    def holds(self, signals: dict[str, float | None]) -> bool:
        return any(c.holds(signals) for c in self.any)

    def signals(self) -> set[str]:
        return set().union(*(c.signals() for c in self.any))


Condition = Annotated[Compare | AllOf | AnyOf, Field(union_mode="left_to_right")]
AllOf.model_rebuild()
AnyOf.model_rebuild()


class StateRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["running", "idle", "setup", "down", "planned_stop"]
    when: Condition


class Counters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    produced: str | None = None
    scrap: str | None = None


class StateModelDefinition(BaseModel):
    """A state model as stored and imported; validated before it is used."""

    model_config = ConfigDict(extra="forbid")
    rules: list[StateRule] = Field(default_factory=list)
    default: Literal["running", "idle", "setup", "down", "planned_stop"] = "idle"
    counters: Counters = Field(default_factory=Counters)

    @cached_property
    def used(self) -> frozenset[str]:
        """The signals this model reads."""
        return frozenset(self.signals())

    def signals(self) -> set[str]:
        used = set().union(*(r.when.signals() for r in self.rules)) if self.rules else set()
        return used | {s for s in (self.counters.produced, self.counters.scrap) if s}

    def state_of(self, signals: dict[str, float | None]) -> MachineState:
        for rule in self.rules:
            if rule.when.holds(signals):
                return MachineState(rule.state)
        return MachineState(self.default)


def validate_definition(raw: dict[str, Any]) -> StateModelDefinition:
    return StateModelDefinition.model_validate(raw)


def definition_error(raw: dict[str, Any]) -> str | None:
    """The model's validation error in words, or None when it is valid."""
    try:
        validate_definition(raw)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return None


# -- the engine -----------------------------------------------------------------------------------------


class StateEngine:
    """Derives states and counts for the machines whose class has a valid, enabled state model."""

    def __init__(self) -> None:
        self.models: dict[int, StateModelDefinition] = {}  # equipment id → its class's model
        self.codes: dict[int, str] = {}
        self.work_center: dict[int, int] = {}  # equipment → the work center its operations run on
        self._stamp: tuple[Any, ...] | None = None

    def refresh(self, session: Session, tags: dict[int, TagInfo]) -> None:
        stamp = tuple(session.execute(select(StateModel.id, StateModel.version, StateModel.enabled)
                                      .order_by(StateModel.id)).all()) + (len(tags),)
        if stamp == self._stamp:
            return
        by_class: dict[int, StateModelDefinition] = {}
        for sm in session.scalars(select(StateModel).where(StateModel.enabled.is_(True))):
            try:
                by_class[sm.equipment_class_id] = validate_definition(sm.definition)
            except ValidationError:
                log.warning("state model of equipment class %s is invalid; not used", sm.equipment_class_id)
        equipment_ids = {t.equipment_id for t in tags.values()}
        self.models, self.codes, self.work_center = {}, {}, {}
        if equipment_ids:
            for node in session.scalars(select(PlantNode).where(PlantNode.id.in_(equipment_ids))):
                self.codes[node.id] = node.code
                is_center = node.level.value == "work_center"
                self.work_center[node.id] = node.id if is_center else (node.parent_id or node.id)
                if node.equipment_class_id in by_class:
                    self.models[node.id] = by_class[node.equipment_class_id]
        self._stamp = stamp

    def apply(self, uow: UnitOfWork, inserted: Sequence[tuple[int, int, float | None, int]],
              tags: dict[int, TagInfo]) -> int:
        """Follow the new samples in time order; returns how many state changes they made."""
        if not self.models:
            return 0
        per_machine: dict[int, list[tuple[int, str, float | None]]] = defaultdict(list)
        for tag_id, ts, value, _q in inserted:
            tag = tags.get(tag_id)
            if tag is None:
                continue
            model = self.models.get(tag.equipment_id)
            if model is not None and tag.signal in model.used:
                per_machine[tag.equipment_id].append((ts, tag.signal, value))
        if not per_machine:
            return 0
        session = uow.session
        operations = running_at(session, {self.work_center[e] for e in per_machine})
        statuses = {s.equipment_id: s for s in session.scalars(
            select(MachineStatus).where(MachineStatus.equipment_id.in_(per_machine)))}
        changes = 0
        for equipment_id, points in per_machine.items():
            points.sort(key=lambda p: p[0])
            model = self.models[equipment_id]
            operation_id = operations.get(self.work_center[equipment_id])
            status = statuses.get(equipment_id)
            signals: dict[str, Any] = dict(status.signals) if status else {}
            values = {k: v[1] for k, v in signals.items()}
            counts: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
            for ts, signal, value in points:
                known = signals.get(signal)
                if known is not None and ts <= known[0]:
                    continue  # older than what the machine already showed: history, not the present
                previous_value = known[1] if known is not None else None
                signals[signal] = [ts, value]
                values[signal] = value
                for slot, counter in enumerate((model.counters.produced, model.counters.scrap)):
                    if counter == signal and value is not None and previous_value is not None:
                        delta = value - previous_value if value >= previous_value else value  # a drop is a reset
                        if delta:
                            counts[ts - ts % MINUTE_MS][slot] += delta
                state = model.state_of(values)
                if status is None:
                    status = MachineStatus(equipment_id=equipment_id, state=state, since_ms=ts, signals={})
                    session.add(status)
                    statuses[equipment_id] = status
                    self._open(uow, status, None, state, ts, operation_id)
                    changes += 1
                elif state is not status.state:
                    self._open(uow, status, status.state, state, ts, operation_id)
                    changes += 1
            status.signals = signals
            status.operation_id = operation_id
            for minute, (produced, scrap) in counts.items():
                _add_count(session, equipment_id, minute, operation_id or 0, produced, scrap)
        return changes

    def offline(self, uow: UnitOfWork, connector_id: int, at_ms: int, prefix: str | None = None) -> int:
        """The connector lost its source (or the part of it whose addresses start with `prefix`): every machine
        it reads there is offline from `at_ms`."""
        session = uow.session
        q = select(Tag.equipment_id).where(Tag.connector_id == connector_id)
        if prefix:
            q = q.where(Tag.address.startswith(prefix, autoescape=True))
        equipment = set(session.scalars(q))
        changed = 0
        for status in session.scalars(select(MachineStatus).where(MachineStatus.equipment_id.in_(equipment))):
            if status.state is not MachineState.OFFLINE:
                self._open(uow, status, status.state, MachineState.OFFLINE, max(at_ms, status.since_ms), None)
                # What the machine last showed is no longer known: the next data decides its state afresh.
                status.signals = {}
                changed += 1
        return changed

    def _open(self, uow: UnitOfWork, status: MachineStatus, previous: MachineState | None, state: MachineState,
              at_ms: int, operation_id: int | None) -> None:
        session = uow.session
        if status.interval_id is not None:
            current = session.get(StateInterval, status.interval_id)
            if current is not None and current.end_ms is None:
                current.end_ms = at_ms
        interval = StateInterval(equipment_id=status.equipment_id, state=state, time_element=TIME_ELEMENT[state],
                                 start_ms=at_ms, operation_id=operation_id)
        session.add(interval)
        session.flush()
        status.state, status.since_ms, status.interval_id = state, at_ms, interval.id
        code = self.codes.get(status.equipment_id, str(status.equipment_id))
        uow.record(MachineStateChanged(equipment_id=status.equipment_id, equipment_code=code, state=state.value,
                                       previous=previous.value if previous else None, at_ms=at_ms,
                                       operation_id=operation_id))
        if state is MachineState.DOWN:
            uow.record(MachineDown(equipment_id=status.equipment_id, equipment_code=code, at_ms=at_ms,
                                   work_center_id=self.work_center.get(status.equipment_id)))


def _add_count(session: Session, equipment_id: int, minute_ms: int, operation_key: int, produced: float,
               scrap: float) -> None:
    row = session.scalars(select(MachineCount).where(
        MachineCount.equipment_id == equipment_id, MachineCount.minute_ms == minute_ms,
        MachineCount.operation_key == operation_key)).one_or_none()
    if row is None:
        session.add(MachineCount(equipment_id=equipment_id, minute_ms=minute_ms, operation_key=operation_key,
                                 produced=produced, scrap=scrap))
    else:
        row.produced += produced
        row.scrap += scrap
