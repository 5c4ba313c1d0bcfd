"""The planning use case: the latest forecast and the store's master data in, every plan stored.

``peakline plant plan``, the plant service and the demo all call :func:`plan_from_store`, so
the plans a manager reads were made one way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from peakline.errors import DataError
from peakline.wire import PlanKind
from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.holds import held_orders
from plant.planning.plans import Plans, build_plans

__all__ = ["PlanRun", "plan_from_store", "planning_data"]


@dataclass(frozen=True)
class PlanRun:
    """The plans of one run and where they came from."""

    plan_id: str
    forecast_id: str
    start: dt.date
    plans: Plans

    def summary(self) -> dict[str, Any]:
        """The figures a manager reads first, as one JSON-ready dict."""
        prod = self.plans[PlanKind.PRODUCTION][1]
        exc = self.plans[PlanKind.EXCEPTIONS][1]
        return {
            "plan_id": self.plan_id, "forecast_id": self.forecast_id,
            "start": self.start.isoformat(), "reject_rate": prod["reject_rate"],
            "reject_rate_source": prod["reject_rate_source"],
            "scheduled_units": prod["scheduled_start_units"],
            "shortfall_units": prod["shortfall_units"], "exceptions": exc["count"],
            "value_at_risk": exc["value_at_risk"],
        }


def planning_data(store: Any) -> dict[str, pd.DataFrame]:
    """The store's tables every plan is made from (the twin's optimiser reads the same):
    the master data, ERP tables, the recorded holds and the latest hold plan's safekeeping
    stock (empty without one)."""
    hold_plan = store.latest_hold_plan()
    return {"skus": store.skus(), "open_orders": store.open_orders(),
            "inventory": store.inventory(), "materials": store.materials(),
            "bom": store.bom(), "lines": store.lines(),
            "supplier_items": store.supplier_items(),
            "purchase_orders": store.purchase_orders(),
            "supplier_replies": store.supplier_replies(), "prices": store.prices(),
            "holds": held_orders(store.shop_orders()),
            "hold_stock": hold_plan[2] if hold_plan is not None else pd.DataFrame()}


def plan_from_store(store: Any, cfg: PlanConfig, cal: HolidayCalendar,
                    reject_days: int = 7) -> PlanRun:
    """Make every plan from the store's latest forecast and store them under one plan id.

    The yield comes from the reject rate the lines measured over the last ``reject_days``
    (``cfg.default_reject_rate`` while they have measured none).
    """
    found = store.latest_forecast()
    if found is None:
        raise DataError("no forecast in the store; run `peakline plant forecast` first")
    meta, fc = found
    fc["ds"] = pd.to_datetime(fc["ds"])
    data = planning_data(store)
    start = pd.Timestamp(fc["ds"].min()).date()
    plans = build_plans(fc, data, start, cal, store.reject_rate(days=reject_days), cfg)
    forecast_id = str(meta.get("id") or meta.get("forecast_id"))
    plan_id = f"plan-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    for kind, (df, explanation) in plans.items():
        store.save_plan(kind, plan_id, forecast_id, df, explanation)
    return PlanRun(plan_id, forecast_id, start, plans)
