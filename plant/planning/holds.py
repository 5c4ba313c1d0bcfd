"""Held web shop orders in the production plan: firm demand on the held delivery day.

A recorded hold (``peakline plant holds``, ERP ``erp/holds``) turns an order into firm demand
due on its ``held_until`` day instead of its original delivery day, so its production moves
later. Each held order line gets a production window:

- latest: the day before it is delivered, and no later than the eve of the peak (``cfg.peak``)
  its original delivery belonged to (the goods are made for the festival;
  :func:`plant.orders.records.latest_production`, the rule a recorded hold was checked against);
- earliest: the held delivery day less the days a box may age and still keep
  ``min_remaining_shelf`` of its shelf life on delivery (``int(shelf x (1 - min_remaining))``).

A window that is empty (the box cannot be fresh enough on the held day) or closed before the
plan starts (the eve has passed) cannot be planned: :func:`hold_requirements` returns it as a
shortfall, which the exceptions plan lists, never a silent drop.

The boxes made for holds wait in safekeeping from their production day until their delivery:
:func:`safekeeping_from_plan` counts them per day against the safekeeping facility's capacity
(from the latest hold plan, which adds the accepted offers it expects), and
:func:`safekeeping_exceptions` lists the days over capacity (critical) or above 90% (warning).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from plant.calendar import HolidayCalendar
from plant.orders.holds import HoldSettings, stock_exceptions
from plant.orders.records import latest_production
from plant.planning.config import PlanConfig

__all__ = ["HOLD_COLUMNS", "SHORT_COLUMNS", "held_orders", "hold_requirements", "max_age_days",
           "safekeeping_exceptions", "safekeeping_from_plan"]

#: recorded holds as the plans read them: one row per held order line
HOLD_COLUMNS = ["order_id", "sku", "qty", "delivery_date", "held_until"]

#: a production plan's shortfalls: boxes that cannot be made by their need date; ``kind`` is
#: the exception they become (:func:`plant.planning.plans.exceptions`), ``reason`` its text
SHORT_COLUMNS = ["sku", "need_date", "source", "short_units", "kind", "reason"]


def max_age_days(shelf_life_days: float, cfg: PlanConfig) -> int:
    """Days a box may age and still have ``cfg.min_remaining_shelf`` of its shelf life left."""
    return int(shelf_life_days * (1 - cfg.min_remaining_shelf))


def held_orders(shop_orders: pd.DataFrame) -> pd.DataFrame:
    """The held, not cancelled lines of the store's web shop orders (``HOLD_COLUMNS``)."""
    if shop_orders.empty:
        return pd.DataFrame(columns=HOLD_COLUMNS)
    held = shop_orders[(shop_orders["held_until"] != "") & (shop_orders["cancelled_at"] == "")]
    out = held[HOLD_COLUMNS].copy()
    out["qty"] = out["qty"].astype(float)
    return out.reset_index(drop=True)


def hold_requirements(holds: pd.DataFrame, skus: pd.DataFrame, start: dt.date,
                      cal: HolidayCalendar, cfg: PlanConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(requirements, impossible) of the holds delivered from ``start`` on.

    requirements: ``sku, need_date (the held day), qty, source='hold', earliest, latest``
    (production days); impossible: :data:`SHORT_COLUMNS` (the shortfall form of
    :func:`plant.planning.production.production_plan`), ``kind``
    ``hold_beyond_shelf_life`` or ``too_late_to_make``."""
    cols = ["sku", "need_date", "qty", "source", "earliest", "latest"]
    short_cols = SHORT_COLUMNS
    if holds is None or holds.empty:
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=short_cols)
    h = holds.copy()
    h["need_date"] = pd.to_datetime(h["held_until"])
    h = h[h["need_date"] >= pd.Timestamp(start)]
    if h.empty:
        return pd.DataFrame(columns=cols), pd.DataFrame(columns=short_cols)
    shelf = h["sku"].map(skus.set_index("sku")["shelf_life_days"]).fillna(
        cfg.default_shelf_life_days).astype(float)
    age = shelf.map(lambda v: max_age_days(v, cfg))
    h["earliest"] = h["need_date"] - pd.to_timedelta(age, unit="D")
    h["latest"] = latest_production(pd.to_datetime(h["delivery_date"]), h["need_date"], cal,
                                    cfg.peak)
    h["source"] = "hold"
    req = h.groupby(["sku", "need_date", "source", "earliest", "latest"], as_index=False)[
        "qty"].sum()
    first = pd.Timestamp(start)
    stale = req["earliest"] > req["latest"]
    late = ~stale & (req["latest"] < first)
    short = req[stale | late].copy()
    short["short_units"] = short["qty"]
    short["kind"] = ["hold_beyond_shelf_life" if r.earliest > r.latest else "too_late_to_make"
                     for r in short.itertuples(index=False)]
    short["reason"] = [
        (f"beyond shelf life: made by {r.latest:%Y-%m-%d} at the latest, a box must be made on "
         f"{r.earliest:%Y-%m-%d} or later to keep {cfg.min_remaining_shelf:.0%} of its shelf "
         f"life on delivery") if r.earliest > r.latest else
        f"too late to make: its last production day {r.latest:%Y-%m-%d} is before the plan"
        for r in short.itertuples(index=False)]
    return req[~(stale | late)][cols].reset_index(drop=True), short[short_cols].reset_index(
        drop=True)


def safekeeping_from_plan(plan: pd.DataFrame, hold_stock: pd.DataFrame | None,
                          ) -> pd.DataFrame:
    """Boxes in safekeeping per day from the production plan's hold rows.

    A good box made for a hold on day ``date`` waits until its delivery (``need_date``),
    counted on the days ``date .. need_date - 1``. ``hold_stock`` (the latest hold plan's
    ``day, held_boxes, offered_boxes, expected_boxes, capacity``) adds the offers' expected
    acceptances and gives the capacity; without it there is no capacity to plan against and
    the result is empty. Returns ``day, held_boxes, offered_boxes, expected_boxes, capacity``.
    """
    cols = ["day", "held_boxes", "offered_boxes", "expected_boxes", "capacity"]
    if hold_stock is None or hold_stock.empty:
        return pd.DataFrame(columns=cols)
    rows = plan[plan["source"] == "hold"] if len(plan) else plan
    per_day: dict[pd.Timestamp, float] = {}
    for r in rows.itertuples(index=False):
        for day in pd.date_range(pd.Timestamp(r.date), pd.Timestamp(r.need_date)
                                 - pd.Timedelta(days=1), freq="D"):
            per_day[day] = per_day.get(day, 0.0) + float(r.qty_good)
    stock = hold_stock.copy()
    stock["day"] = pd.to_datetime(stock["day"])
    offers = stock.set_index("day")
    extra = (offers["expected_boxes"] - offers["held_boxes"]).clip(lower=0)
    days = pd.DatetimeIndex(sorted(set(per_day) | set(offers.index)))
    held = pd.Series(per_day, dtype=float).reindex(days, fill_value=0.0).round()
    out = pd.DataFrame({
        "day": days, "held_boxes": held.astype("int64").to_numpy(),
        "offered_boxes": offers["offered_boxes"].reindex(days, fill_value=0).astype(
            "int64").to_numpy()})
    out["expected_boxes"] = (out["held_boxes"] + extra.reindex(days, fill_value=0).to_numpy()
                             ).astype("int64")
    out["capacity"] = int(stock["capacity"].iloc[0])
    return out[cols]


def safekeeping_exceptions(stock: pd.DataFrame, skus: pd.DataFrame, plan: pd.DataFrame,
                           ) -> pd.DataFrame:
    """The days of :func:`safekeeping_from_plan` over capacity, in the exceptions plan's form
    (``kind, what, date, qty, value_at_risk, detail``); value at risk: the boxes over capacity
    at the average price of the held boxes."""
    cols = ["kind", "what", "date", "qty", "value_at_risk", "detail"]
    if stock.empty:
        return pd.DataFrame(columns=cols)
    capacity = int(stock["capacity"].iloc[0])
    found = stock_exceptions(stock, HoldSettings(capacity_boxes=capacity))
    if found.empty:
        return pd.DataFrame(columns=cols)
    held = plan[plan["source"] == "hold"]
    price = held["sku"].map(skus.set_index("sku")["price"]).astype(float)
    avg = float((price * held["qty_good"]).sum() / held["qty_good"].sum()) \
        if held["qty_good"].sum() > 0 else 0.0
    boxes = stock.set_index("day")["held_boxes"]
    rows = []
    for r in found.itertuples(index=False):
        over = max(0, int(boxes[r.day]) - capacity)
        rows.append({"kind": "safekeeping_over_capacity" if r.severity == "critical"
                     else "safekeeping_nearly_full", "what": "safekeeping",
                     "date": pd.Timestamp(r.day).date(), "qty": float(over),
                     "value_at_risk": round(over * avg, 2), "detail": r.message})
    return pd.DataFrame(rows, columns=cols)
