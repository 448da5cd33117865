"""Periodic jobs of the orders context: BOM and routing revisions released ahead of time come into effect.

Every few minutes the server looks at each site's date; when one has changed since the last turn (and once after
start, to catch up on days the server was down), the open work orders follow the revisions in effect
(`service.apply_revisions_taking_effect`). `synfab revisions apply` does the same from cron.
"""

from __future__ import annotations

import weakref
from datetime import date, timedelta

from sqlalchemy import select

from synfab.core.db import Database
from synfab.core.jobs import Job
from synfab.orders.service import apply_revisions_taking_effect, site_today
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode

# The sites' dates of the last turn, per database (tests run several in one process).
_last_days: weakref.WeakKeyDictionary[Database, dict[int, date]] = weakref.WeakKeyDictionary()


def apply_revisions_when_the_day_changes(db: Database) -> None:
    with db.session() as s:
        days = {site.id: site_today(s, site) for site in s.scalars(select(PlantNode).where(
            PlantNode.level == Level.SITE).execution_options(unrestricted=True))}
    if _last_days.get(db) == days:
        return
    with db.uow() as uow:
        apply_revisions_taking_effect(uow)
        uow.commit()
    _last_days[db] = days


JOBS = [Job("revisions coming into effect", timedelta(minutes=5), apply_revisions_when_the_day_changes)]
