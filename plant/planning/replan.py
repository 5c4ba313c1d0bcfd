"""Re-planning after new ERP data: the hold plan first, then every plan from the latest forecast.

The plant service runs :func:`replan` once ERP data has arrived and the bridge has been quiet for
``erp.replan_after_s`` seconds; the demo's planning job runs it every few minutes. The hold plan
(offers, safekeeping stock, the ``releases`` plan) is made again with the settings of the latest
one (:func:`plant.orders.run.remake_hold_plan`), and it goes first because the production plan
reads it: recorded holds are firm demand on their held day, and the hold plan's expected
accepted offers count in the safekeeping stock. The service then publishes every new plan, the
``releases`` plan with them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.orders.plan import HoldPlan
from plant.orders.run import remake_hold_plan
from plant.planning.config import PlanConfig
from plant.planning.run import PlanRun, plan_from_store

__all__ = ["Replan", "replan"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replan:
    """What one re-plan made, and why a part was not made."""

    holds: HoldPlan | None
    plans: PlanRun | None
    skipped: list[str] = field(default_factory=list)


def replan(store: Any, cfg: PlanConfig, cal: HolidayCalendar, reject_days: int = 7) -> Replan:
    """Make the hold plan again (if one was ever made), then every plan; a part that cannot be
    made (no web shop orders, no forecast yet) is skipped and said why, the rest still made."""
    skipped: list[str] = []
    holds = None
    try:
        holds = remake_hold_plan(store, cal, cfg.peak, cfg.season_days)
        if holds is None:
            skipped.append("hold plan: none made yet (`peakline plant holds` makes the first)")
    except DataError as exc:
        skipped.append(f"hold plan: {exc}")
    plans = None
    try:
        plans = plan_from_store(store, cfg, cal, reject_days=reject_days)
    except DataError as exc:
        skipped.append(f"plans: {exc}")
    for why in skipped:
        log.info("re-plan: %s", why)
    return Replan(holds, plans, skipped)
