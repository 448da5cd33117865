"""Tables of the dispatch schedule.

The schedule tables are written only by the scheduler (derived from work orders, calendars and breakdowns,
not audited row by row); breakdowns are people's records and are audited. Scheduled rows carry the plant node
that scopes them (the work order's line, else its site) so that a person's reads are filtered by one column.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from synfab.core.db import Base, UtcDateTime, Versioned
from synfab.core.scoping import Scoped, ScopeNodes
from synfab.plant.models import PlantNode


class ScheduledOperation(Scoped, Base):
    """The planned start and end of one open operation of a released work order, and its place on its work
    center's dispatch list."""

    __tablename__ = "scheduled_operation"
    __audited__ = False  # rewritten by every rebuild; the run log says when and why

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("work_order_operation.id", ondelete="CASCADE"),
                                              unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    work_center_id: Mapped[int | None] = mapped_column(ForeignKey("plant_node.id"), index=True)
    scope_node_id: Mapped[int] = mapped_column(Integer, index=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # position on the work center, from 1
    planned_start: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    planned_end: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __object_type__ = "work_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A scheduled operation goes with its work order (its line, else its site)."""
        return cls.scope_node_id.in_(nodes.subtree)


class WorkOrderProjection(Scoped, Base):
    """When a released work order is projected to finish, against its due date."""

    __tablename__ = "work_order_projection"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), unique=True)
    scope_node_id: Mapped[int] = mapped_column(Integer, index=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the end of the due date in the site's time zone
    projected_start: Mapped[datetime | None] = mapped_column(UtcDateTime())
    projected_end: Mapped[datetime | None] = mapped_column(UtcDateTime())  # None: cannot be planned in the horizon
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    lateness_minutes: Mapped[int] = mapped_column(Integer, default=0)  # negative: that much early

    __object_type__ = "work_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        return cls.scope_node_id.in_(nodes.subtree)


class WorkCenterOutage(Scoped, Versioned, Base):
    """A breakdown of a work center: no work is planned on it from `started_at` until it is ended (or, while
    open, until `expected_until`)."""

    __tablename__ = "work_center_outage"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_center_id: Mapped[int] = mapped_column(ForeignKey("plant_node.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expected_until: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(80))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    ended_by: Mapped[str | None] = mapped_column(String(80))

    work_center: Mapped[PlantNode] = relationship(viewonly=True)

    __object_type__ = "work_order"

    @classmethod
    def scope_criteria(cls, nodes: ScopeNodes, action: str) -> ColumnElement[bool]:
        """A breakdown belongs to its work center."""
        return cls.work_center_id.in_(nodes.subtree)


class ScheduleRun(Base):
    """One rebuild of the schedule: when, why, how much changed and how long it took (plant-wide bookkeeping,
    no plant data of its own)."""

    __tablename__ = "schedule_run"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    anchor: Mapped[datetime] = mapped_column(UtcDateTime())  # the instant scheduled from
    trigger: Mapped[str] = mapped_column(String(60))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    operations: Mapped[int] = mapped_column(Integer, default=0)
    changed_operations: Mapped[int] = mapped_column(Integer, default=0)
    changed_work_orders: Mapped[int] = mapped_column(Integer, default=0)
    milliseconds: Mapped[int] = mapped_column(Integer, default=0)
    # Tells a process whether the stored schedule is still the one it wrote last (see the service's memory).
    token: Mapped[str] = mapped_column(String(32), unique=True)
