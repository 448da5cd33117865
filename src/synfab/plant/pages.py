"""Plant pages: the tree, a node with its children and working time, shift calendars."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synfab.core import clock
from synfab.core.i18n import N_, _
from synfab.people.service import Principal
from synfab.plant import service
from synfab.plant.choices import ALLOWED_PARENTS, Level
from synfab.plant.models import PlantNode
from synfab.plant.schemas import NodeCreate
from synfab.web.deps import SessionDep, UowDep, require
from synfab.web.templating import NavItem, render

router = APIRouter(prefix="/plant")

NAV = [
    NavItem(N_("Master data"), N_("Plant structure"), "/plant/tree", "plant.view", "▦"),
    NavItem(N_("Master data"), N_("Shift calendars"), "/plant/calendars", "plant.view", "◷"),
]

Viewer = Annotated[Principal, require("plant.view")]
Creator = Annotated[Principal, require("plant.create")]


def home_cards(session: Session, user: Principal) -> list[dict[str, Any]]:
    if not user.can("plant.view"):
        return []
    counts = dict(session.execute(select(PlantNode.level, func.count()).group_by(PlantNode.level)).all())
    return [
        {"label": _("Production lines"), "value": counts.get(Level.LINE, 0), "url": "/plant/tree"},
        {"label": _("Work centers and machines"),
         "value": counts.get(Level.WORK_CENTER, 0) + counts.get(Level.EQUIPMENT, 0), "url": "/plant/tree"},
    ]


def child_levels(level: Level) -> list[Level]:
    return [lv for lv, parents in ALLOWED_PARENTS.items() if level in parents]


@router.get("/tree", response_class=HTMLResponse)
def tree_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    nodes = service.list_nodes(session)
    calendars = {c.id: c for c in service.list_calendars(session)}
    return render(request, "plant/tree.html", nodes=nodes, calendars=calendars, levels=Level)


@router.get("/nodes/{node_id}", response_class=HTMLResponse)
def node_page(node_id: int, request: Request, session: SessionDep, user: Viewer) -> Response:
    node = service.get_node(session, node_id)
    children = service.order_as_tree([n for n in service.list_nodes(session, under=node.id) if n.parent_id == node.id])
    tz = service.time_zone_of(session, node)
    calendar = service.calendar_of(session, node)
    wt = service.working_time(calendar, tz)
    today = clock.now().astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = today - timedelta(days=today.weekday())
    days = []
    for i in range(7):
        start = week_start + timedelta(days=i)
        end = start + timedelta(days=1)
        days.append({"day": start.date(), "planned_h": wt.planned_time(start, end).total_seconds() / 3600,
                     "shifts": wt.windows(start, end)})
    return render(
        request, "plant/node.html", node=node, ancestors=service.ancestors(session, node), children=children,
        calendar=calendar, tz=tz, days=days, child_levels=child_levels(node.level),
        week_hours=sum(d["planned_h"] for d in days), equipment_classes=service.list_equipment_classes(session),
    )


@router.post("/nodes/{node_id}/children")
def add_child(
    node_id: int, request: Request, uow: UowDep, user: Creator,
    code: Annotated[str, Form()], name: Annotated[str, Form()], level: Annotated[Level, Form()],
    idempotency_key: Annotated[str, Form()], name_en: Annotated[str | None, Form()] = None,
    time_zone: Annotated[str | None, Form()] = None, equipment_class_id: Annotated[int | None, Form()] = None,
) -> Response:
    """Add a node under this one; a form sent twice creates one node."""
    done = uow.claim_idempotency(idempotency_key, "plant.add_child")
    if done is not None:
        return RedirectResponse(f"/plant/nodes/{done.get('id', node_id)}", status_code=303)
    node = service.create_node(uow, NodeCreate(
        code=code.strip(), name=name.strip(), name_en=(name_en or "").strip() or None, level=level, parent_id=node_id,
        time_zone=(time_zone or "").strip() or None,
        equipment_class_id=equipment_class_id,
    ))
    uow.complete_idempotency(idempotency_key, {"id": node.id})
    uow.commit()
    return RedirectResponse(f"/plant/nodes/{node.id}", status_code=303)


@router.get("/calendars", response_class=HTMLResponse)
def calendars_page(request: Request, session: SessionDep, user: Viewer) -> Response:
    calendars = service.list_calendars(session)
    users = {c.id: [] for c in calendars}  # nodes assigning each calendar directly
    for n in session.scalars(select(PlantNode).where(PlantNode.shift_calendar_id.is_not(None))):
        users.setdefault(n.shift_calendar_id, []).append(n)
    return render(request, "plant/calendars.html", calendars=calendars, users=users,
                  weekday_names=[_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")])
