"""The hold plan as of one day: offers for open orders, safekeeping stock, releases, exceptions.

:func:`plan_holds` is what ``peakline plant holds`` runs on the store's web shop history. It
knows only what was known at the end of ``as_of``: it fits the cancellation model on the orders
delivered before then, scores the open orders (placed, not cancelled, not delivered, not held
yet), sets the policy's threshold from the same festival's season last year (the
``season_days`` before it: ``[planning] season_days``, 100 by default), and offers holds around
the coming peak (the plant's ``[planning] peak``, Mid-Autumn by default, dated by its
calendar: :mod:`plant.orders.holiday`) within the safekeeping capacity left by the holds already
recorded. The safekeeping plan counts per day the boxes held (recorded holds) and those
expected from the offers (times the acceptance rate), against capacity; a day over capacity is
an exception. The release schedule lists the held boxes per delivery day, SKU and region: what
the shop delivers after the festival.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.orders.backtest import backtest_risk
from plant.orders.features import order_features
from plant.orders.holds import (
    HoldSettings,
    offer_holds,
    order_values,
    safekeeping_days,
    stock_exceptions,
    value_threshold,
)
from plant.orders.holiday import coming_festival, previous_festival
from plant.orders.risk import CancellationModel
from plant.orders.season import replay_season, season_growth, season_orders
from plant.peaks import DEFAULT_PEAK, DEFAULT_SEASON_DAYS

__all__ = ["HoldPlan", "hold_effect", "plan_holds", "replay_last_season", "safekeeping_plan"]


@dataclass
class HoldPlan:
    """Everything ``peakline plant holds`` reports and writes."""

    as_of: dt.date
    festival: dt.date
    offers: pd.DataFrame        # eligible open orders, best value first, ``offer`` chosen
    stock: pd.DataFrame         # day, held_boxes, offered_boxes, expected_boxes, capacity
    releases: pd.DataFrame      # held_until, sku, region, orders, boxes
    exceptions: pd.DataFrame    # day, severity, message
    effect: pd.DataFrame        # sku, ds (original delivery day), held_boxes, cancel_avoided
    summary: dict[str, Any]


def _known_at(feats: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Feature rows as known at ``end``: later cancellations are not known yet."""
    out = feats[feats["placed"] < end].copy()
    late = out["cancelled_time"] >= end
    out.loc[late, "cancelled_time"] = pd.NaT
    out.loc[late, "cancelled"] = 0
    return out


def plan_holds(lines: pd.DataFrame, skus: pd.DataFrame, s: HoldSettings,
               cal: HolidayCalendar, as_of: dt.date | None = None,
               peak: str = DEFAULT_PEAK, season_days: int = DEFAULT_SEASON_DAYS) -> HoldPlan:
    """The hold plan for the shop history ``lines`` (the store's ``shop_orders()`` form)
    around the coming ``peak`` as ``cal`` dates it; its season is the ``season_days`` before
    the peak (last season's orders set the threshold)."""
    if lines.empty:
        raise DataError("no web shop orders in the store: import shop_orders.csv or send "
                        "erp/shop_orders messages first")
    placed_last = pd.to_datetime(lines["placed_at"]).max()
    as_of = as_of or placed_last.date()
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    feats = _known_at(order_features(lines, cal, peak), end)
    resolved = feats[feats["delivery"] < pd.Timestamp(as_of)]
    model = CancellationModel().fit(resolved)
    festival = coming_festival(as_of, cal, peak)
    values = order_values(lines, skus)
    held = lines.loc[lines["held_until"] != "", ["order_id", "held_until"]].drop_duplicates()
    open_ = feats[(feats["delivery"] >= pd.Timestamp(as_of)) & (feats["cancelled"] == 0)
                  & ~feats["order_id"].isin(held["order_id"])]
    open_ = open_.merge(values, on="order_id")
    open_["p_cancel"] = model.predict(open_) if len(open_) else np.zeros(0)
    last = previous_festival(festival, cal, peak)
    past = (season_orders(feats, last, season_days).merge(values, on="order_id")
            if last else None)
    threshold = 0.0
    if last is not None and past is not None and len(past):
        past["p_cancel"] = model.out_of_time(past)
        start = min(end, pd.Timestamp(festival) - pd.Timedelta(days=season_days))
        threshold = value_threshold(past, last, s, season_growth(feats, start))
    recorded = _recorded(held, feats, festival)
    held_feats = feats[feats["order_id"].isin(recorded["order_id"])]
    risk = pd.Series(model.predict(held_feats) if len(held_feats) else np.zeros(0),
                     index=held_feats["order_id"].to_numpy(), dtype=float)
    effect = hold_effect(lines, risk)
    offers = offer_holds(open_, festival, s, recorded, threshold)
    stock = safekeeping_plan(recorded, offers, festival, s)
    releases = _releases(lines, held, as_of)
    exceptions = stock_exceptions(stock, s)
    chosen = offers[offers["offer"]] if len(offers) else offers
    summary = {
        "as_of": as_of.isoformat(), "festival": festival.isoformat(), "peak": peak,
        "season_days": season_days,
        "orders_trained_on": len(resolved), "calibration": model.calibration,
        "open_orders": len(open_),
        "open_boxes": int(open_["boxes"].sum()), "eligible": len(offers),
        "offered": len(chosen), "offered_boxes": int(chosen["boxes"].sum()),
        "expected_cancel_boxes_avoided": round(float(
            (chosen["p_cancel"] * chosen["boxes"]).sum() * s.accept_rate), 1),
        "held_orders": len(recorded), "held_boxes": int(recorded["boxes"].sum()),
        "cancel_boxes_avoided_by_holds": round(float(effect["cancel_avoided"].sum()), 1),
        "value_threshold_per_box": round(threshold, 2), "capacity_boxes": s.capacity_boxes,
        "peak_expected_boxes": int(stock["expected_boxes"].max()) if len(stock) else 0,
        "exceptions": len(exceptions),
    }
    return HoldPlan(as_of, festival, offers, stock, releases, exceptions, effect, summary)


def hold_effect(lines: pd.DataFrame, risk: pd.Series) -> pd.DataFrame:
    """Per SKU and original delivery day: boxes held, and the cancellations they avoid (each
    held order's risk when placed, ``risk`` by order id, times its boxes: a held order is firm
    demand)."""
    held = lines[lines["order_id"].isin(risk.index)].copy()
    held["ds"] = pd.to_datetime(held["delivery_date"])
    held["cancel_avoided"] = held["qty"] * held["order_id"].map(risk)
    out = held.groupby(["sku", "ds"], as_index=False).agg(
        held_boxes=("qty", "sum"), cancel_avoided=("cancel_avoided", "sum"))
    return out[["sku", "ds", "held_boxes", "cancel_avoided"]]


def _recorded(held: pd.DataFrame, feats: pd.DataFrame, festival: dt.date) -> pd.DataFrame:
    """Recorded holds of this festival's season: boxes, original delivery, held_until."""
    rec = held.merge(feats[["order_id", "boxes", "delivery"]], on="order_id")
    rec["hold_until"] = pd.to_datetime(rec["held_until"])
    fest = pd.Timestamp(festival)
    return rec[(rec["hold_until"] >= fest - pd.Timedelta(days=30))
               & (rec["delivery"] <= fest + pd.Timedelta(days=30))]


def safekeeping_plan(recorded: pd.DataFrame, offers: pd.DataFrame, festival: dt.date,
                     s: HoldSettings) -> pd.DataFrame:
    """Boxes per day: held (recorded holds), offered, expected (held + acceptance x offered)."""
    held = safekeeping_days(recorded, festival).set_index("day")["boxes"]
    chosen = offers[offers["offer"]] if len(offers) else offers
    offered = safekeeping_days(chosen, festival).set_index("day")["boxes"]
    days = held.index.union(offered.index)
    out = pd.DataFrame({"day": days,
                        "held_boxes": held.reindex(days, fill_value=0).to_numpy(),
                        "offered_boxes": offered.reindex(days, fill_value=0).to_numpy()})
    out["expected_boxes"] = np.round(out["held_boxes"] + s.accept_rate * out["offered_boxes"])
    out["expected_boxes"] = out["expected_boxes"].astype(np.int64)
    out["capacity"] = s.capacity_boxes
    return out


def _releases(lines: pd.DataFrame, held: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Held boxes per delivery day, SKU and region, from ``as_of`` on."""
    rel = lines[lines["order_id"].isin(held["order_id"])]
    rel = rel[pd.to_datetime(rel["held_until"]) >= pd.Timestamp(as_of)]
    return (rel.groupby(["held_until", "sku", "region"], as_index=False)
            .agg(orders=("order_id", "nunique"), boxes=("qty", "sum")))


def replay_last_season(lines: pd.DataFrame, skus: pd.DataFrame, s: HoldSettings,
                       cal: HolidayCalendar, festival: dt.date,
                       peak: str = DEFAULT_PEAK, season_days: int = DEFAULT_SEASON_DAYS,
                       ) -> dict[str, Any]:
    """What the policy would have saved in the season of ``festival`` (a ``peak``, its
    ``season_days`` before it): a model fitted before it scores its orders, the season is
    replayed with holds (:mod:`plant.orders.season`)."""
    feats = order_features(lines, cal, peak)
    fest = pd.Timestamp(festival)
    start = fest - pd.Timedelta(days=season_days)
    bt = backtest_risk(feats, start, fest + pd.Timedelta(days=1))
    values = order_values(lines, skus)
    scored = bt.scored.rename(columns={"p_model": "p_cancel"}).merge(values, on="order_id")
    before = previous_festival(festival, cal, peak)
    past = (season_orders(feats, before, season_days).merge(values, on="order_id")
            if before else None)
    threshold = 0.0
    if before is not None and past is not None and len(past):
        past["p_cancel"] = bt.model.out_of_time(past)
        threshold = value_threshold(past, before, s, season_growth(feats, start))
    season_lines = lines[lines["order_id"].isin(scored["order_id"])]
    figures = replay_season(scored, season_lines, festival, s,
                            min_value_per_box=threshold).figures
    return {"festival": festival.isoformat(), "season_days": season_days, **bt.summary(),
            **figures}
