"""What machine events set off: the status board and the people of the line see a state change at once."""

from __future__ import annotations

from synfab.core.bus import Event, MessageBus
from synfab.core.db import Database
from synfab.core.i18n import _l
from synfab.core.live import LiveMessage
from synfab.plant.models import PlantNode
from synfab.telemetry.choices import MachineState
from synfab.telemetry.events import MachineStateChanged


def tell_live(db: Database, event: Event) -> None:
    assert isinstance(event, MachineStateChanged)
    with db.session() as s:
        node = s.get(PlantNode, event.equipment_id)
        path = node.path if node is not None else None
    state = MachineState(event.state)
    db.live.publish(LiveMessage(
        topic="machine", object_type="equipment_data", path=path,
        text=_l("{code} is now {state}.", code=event.equipment_code, state=state.label),
        link=f"/machines/{event.equipment_id}", event_id=event.id, causation_id=event.causation_id,
        correlation_id=event.correlation_id))


def register(bus: MessageBus) -> None:
    bus.deliver(MachineStateChanged, tell_live, name=f"{__name__}.live")
