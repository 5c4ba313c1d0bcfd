"""The hold plan into the store: what ``peakline plant holds`` and the demo's planning job run.

:func:`holds_into_store` plans the holds from the store's web shop history (as known at the end
of ``as_of``) and stores everything that follows from it under one plan id: the hold effect the
next forecast nets in, the scored offers and the safekeeping stock for the dashboard's orders
page, and the release schedule as the ``releases`` plan that the plant service publishes to the
ERP. :func:`remake_hold_plan` makes it again with the settings the latest one used: what the
plant service does when new ERP data arrives (:mod:`plant.planning.replan`). Both plan around
the plant's configured peak (``[planning] peak``, ``--peak``) as its calendar dates it, over its
season of ``[planning] season_days``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict
from typing import Any

from peakline.errors import ConfigError
from peakline.wire import PlanKind
from plant.calendar import HolidayCalendar
from plant.orders.holds import HoldSettings
from plant.orders.holiday import previous_festival
from plant.orders.plan import HoldPlan, plan_holds, replay_last_season
from plant.peaks import DEFAULT_PEAK, DEFAULT_SEASON_DAYS

__all__ = ["holds_into_store", "remake_hold_plan"]

#: what the dashboard's orders page reads of the offers
_SAVED = ["order_id", "region", "delivery", "boxes", "p_cancel", "margin_at_risk", "value",
          "offer"]


def holds_into_store(store: Any, settings: HoldSettings, cal: HolidayCalendar,
                     as_of: dt.date | None = None, backtest: bool = False,
                     last_season: dict[str, Any] | None = None,
                     peak: str = DEFAULT_PEAK, season_days: int = DEFAULT_SEASON_DAYS,
                     ) -> HoldPlan:
    """Plan the holds around the coming ``peak`` (its season the ``season_days`` before it)
    from the store's web shop orders and store the results.

    ``backtest`` also replays last season with the policy (``summary["last_season"]``), unless
    ``last_season`` already holds that replay (of the same festival and season length, with the
    same settings).
    The settings are stored with the plan (``summary["settings"]``)."""
    lines, skus = store.shop_orders(), store.skus()
    plan = plan_holds(lines, skus, settings, cal, as_of, peak, season_days)
    plan_id = f"holds-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    last = previous_festival(plan.festival, cal, peak)
    if last is not None and last_season is not None \
            and last_season.get("festival") == last.isoformat() \
            and last_season.get("season_days", DEFAULT_SEASON_DAYS) == season_days:
        plan.summary["last_season"] = last_season
    elif backtest:
        if last is None:
            raise ConfigError(f"no last season to replay: the calendar gives {peak} no date "
                              f"before {plan.festival} (add last year's festival row to the "
                              "events file)")
        plan.summary["last_season"] = replay_last_season(lines, skus, settings, cal, last,
                                                         peak, season_days)
    plan.summary["settings"] = asdict(settings)
    meta = {**plan.summary, "plan_id": plan_id}
    store.save_hold_effect(plan_id, plan.effect, meta)
    store.save_hold_plan(plan_id, plan.offers[[c for c in _SAVED if c in plan.offers]],
                         plan.stock, meta)
    releases = plan.releases
    store.save_plan(PlanKind.RELEASES, plan_id, None, releases, {
        "as_of": str(plan.as_of), "festival": str(plan.festival),
        "orders": int(releases["orders"].sum()) if len(releases) else 0,
        "boxes": int(releases["boxes"].sum()) if len(releases) else 0})
    return plan


def remake_hold_plan(store: Any, cal: HolidayCalendar, peak: str = DEFAULT_PEAK,
                     season_days: int = DEFAULT_SEASON_DAYS) -> HoldPlan | None:
    """Make the hold plan around ``peak`` (its season the ``season_days`` before it) again
    from the store's current web shop orders, with the settings of the latest one (and its
    replay of last season, kept only while it is of the same festival and season length);
    None while no hold plan was ever made (``peakline plant holds`` makes the first and
    chooses the settings)."""
    found = store.latest_hold_plan()
    if found is None:
        return None
    meta = found[0]
    kept = meta.get("settings") or {"capacity_boxes": int(meta["capacity_boxes"])}
    return holds_into_store(store, HoldSettings(**kept), cal,
                            last_season=meta.get("last_season"), peak=peak,
                            season_days=season_days)
