"""Production plan: net demand plus open orders, grossed up for rejects, within line capacity.

Requirements are firm open orders (due on their due date) and forecast new orders at each
SKU's service level (the newsvendor critical ratio, see :mod:`plant.planning.inventory`,
during the festival season; P50 otherwise). A brand OEM or retail order placed in the
festival season before its channel's ship-by cutoff (``ship_by_days`` before the peak) is
needed at the cutoff, other ones ``late_order_lead_days`` after they are placed; channels that
ship to consumers as orders come (e-commerce) need them the day they are placed.
Finished goods on hand serve the earliest needs first (first expired, first out). The rest is
grossed up by the reject rate measured on the lines and scheduled backwards from the day before
each need, latest need first, into the pooled daily capacity of the lines - but never earlier
than the shelf life allows (a customer wants at least ``min_remaining_shelf`` of it left).
What does not fit is a shortfall for the exceptions list. Each day's production is then split
over the lines (:func:`assign_lines`).

Recorded holds (web shop orders held for delivery after the festival,
:mod:`plant.planning.holds`) are firm demand due on their held delivery day, made within their
own window: no later than the festival's eve or the day before delivery, no earlier than the
shelf life allows on the held day. The avoided cancellations that the forecast netted back in
on their original delivery day (``cancel_avoided``, :mod:`plant.orders.netting`) are taken out
there, so a held order counts once, on the day it is delivered.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.forecast.features import festival_distance
from plant.planning.config import PlanConfig
from plant.planning.holds import SHORT_COLUMNS, hold_requirements, max_age_days
from plant.planning.rules import critical_ratio, daily_capacity, gross_up, quantile_from_p

__all__ = ["assign_lines", "need_dates", "production_plan", "requirements"]

def _season_level(skus: pd.DataFrame, cfg: PlanConfig) -> pd.Series:
    if cfg.service_level is not None:
        return pd.Series(cfg.service_level, index=skus["sku"].to_numpy())
    return pd.Series([critical_ratio(float(r.price), float(r.unit_cost), float(r.salvage_value))
                      for r in skus.itertuples(index=False)], index=skus["sku"].to_numpy())


def need_dates(ds: pd.Series, channel: pd.Series, cal: HolidayCalendar, cfg: PlanConfig,
               ) -> tuple[pd.Series, np.ndarray]:
    """(need date, in festival season) of orders placed on ``ds`` in ``channel``.

    The ship-by rule of the module docstring: stocked channels' season orders placed before
    the cutoff are needed at the cutoff, later ones ``late_order_lead_days`` after they are
    placed; direct-ship channels the day they are placed. The twin draws orders by this rule.
    """
    ds = pd.to_datetime(ds)
    dist = festival_distance(pd.DatetimeIndex(ds), cal, cfg.peak)
    in_season = np.asarray((dist >= -cfg.season_days) & (dist <= 0))
    fest = ds - pd.to_timedelta(dist, unit="D")
    cutoff_days = channel.map(cfg.ship_by_days).fillna(0).astype(int)
    cutoff = fest - pd.to_timedelta(cutoff_days, unit="D")
    stocked = cutoff_days > cfg.direct_ship_max_days  # not shipped to consumers as ordered
    before = in_season & (ds <= cutoff) & stocked
    late = ds + pd.Timedelta(days=cfg.late_order_lead_days)
    need = np.where(before, cutoff, np.where(stocked, late, ds))
    return pd.Series(pd.to_datetime(need), index=ds.index), in_season


def requirements(fc: pd.DataFrame, skus: pd.DataFrame, open_orders: pd.DataFrame,
                 start: dt.date, cal: HolidayCalendar, cfg: PlanConfig,
                 holds: pd.DataFrame | None = None, *, held: pd.DataFrame | None = None,
                 ) -> pd.DataFrame:
    """Units needed per SKU and need date (columns: sku, need_date, qty, source, earliest,
    latest; the production window, NaT but for holds).

    ``holds`` (:data:`plant.planning.holds.HOLD_COLUMNS`) are planned on their held delivery
    day, and the forecast's ``cancel_avoided`` is taken out of its original day. ``held``: the
    holds' requirements when the caller has already made them
    (:func:`plant.planning.holds.hold_requirements`), so they are not made twice."""
    if held is None:
        held, _ = hold_requirements(holds, skus, start, cal, cfg)
    net_holds = holds is not None  # holds given: the forecast's cancel_avoided comes out
    df = fc.copy()
    df["ds"] = pd.to_datetime(df["ds"])
    channel = df["sku"].map(skus.set_index("sku")["channel"])
    need, in_season = need_dates(df["ds"], channel, cal, cfg)
    level = df["sku"].map(_season_level(skus, cfg)).fillna(0.5).to_numpy()
    moved = (df["cancel_avoided"].fillna(0.0).to_numpy()
             if net_holds and "cancel_avoided" in df else 0.0)
    q = quantile_from_p(df["net_p10"].to_numpy() - moved, df["net_p50"].to_numpy() - moved,
                        df["net_p90"].to_numpy() - moved, level)
    df["qty"] = np.clip(np.where(in_season, q, df["net_p50"] - moved), 0, None)
    df["need_date"] = need
    df["source"] = "forecast"
    oo = open_orders.copy()
    oo["need_date"] = pd.to_datetime(oo["due_date"]).clip(lower=pd.Timestamp(start))
    oo["source"] = "open_order"
    cols = ["sku", "need_date", "qty", "source"]
    parts = [p[cols].astype({"qty": float}) for p in (df, oo) if len(p)]
    window = ["earliest", "latest"]
    if not parts and held.empty:
        return pd.DataFrame({"sku": [], "need_date": pd.to_datetime([]), "qty": [],
                             "source": [], "earliest": pd.to_datetime([]),
                             "latest": pd.to_datetime([])})
    both = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    both = both[both["qty"] > 0]
    both = both.groupby(["sku", "need_date", "source"], as_index=False)["qty"].sum()
    both[window] = pd.NaT
    if held.empty:
        return both
    held = held[held["qty"] > 0].astype({"qty": float})
    return pd.concat([p for p in (both, held) if len(p)] or [both], ignore_index=True)


def _fefo_net(req: pd.DataFrame, on_hand: pd.Series) -> pd.DataFrame:
    """Serve the earliest needs of each SKU from finished goods on hand."""
    req = req.sort_values(["sku", "need_date"]).copy()
    stock = req["sku"].map(on_hand).fillna(0.0)
    cum = req.groupby("sku")["qty"].cumsum()
    served = np.clip(stock - (cum - req["qty"]), 0, req["qty"])
    req["from_stock"] = served
    req["to_make"] = req["qty"] - served
    return req


def assign_lines(plan: pd.DataFrame, lines: pd.DataFrame,
                 closed: set[dt.date] | None = None) -> pd.DataFrame:
    """Split each day's pooled production over the lines, filling them in order.

    Within a day, the earliest needs go first; a SKU's quantity stays on one line where it
    fits, so a line changes over as little as the capacities allow.
    """
    if plan.empty:
        return plan.assign(line=pd.Series(dtype=str))
    rows = []
    for day, todays in plan.sort_values(["date", "need_date", "sku"]).groupby("date", sort=True):
        one_day = pd.DatetimeIndex([day])
        left = {str(line.line): float(daily_capacity(pd.DataFrame([line._asdict()]), one_day,
                                                     closed).iloc[0])
                for line in lines.itertuples(index=False)}
        for r in todays.itertuples(index=False):
            want = float(r.qty_start)
            for name in sorted(left, key=lambda n: (left[n] < want, n)):
                take = min(want, left[name])
                if take <= 1e-9:
                    continue
                left[name] -= take
                want -= take
                rows.append({**r._asdict(), "line": name, "qty_start": take})
                if want <= 1e-9:
                    break
            if want > 1e-6:  # the pooled schedule never exceeds the day's capacity
                rows.append({**r._asdict(), "line": "unassigned", "qty_start": want})
    return pd.DataFrame(rows).reset_index(drop=True)


def production_plan(
    fc: pd.DataFrame, skus: pd.DataFrame, open_orders: pd.DataFrame, inventory: pd.DataFrame,
    lines: pd.DataFrame, start: dt.date, cal: HolidayCalendar, reject_rate: float | None,
    cfg: PlanConfig | None = None, holds: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """(plan rows, explanation, shortfalls) - see the module docstring for the rules.

    Shortfalls (:data:`plant.planning.holds.SHORT_COLUMNS`) say which exception they are:
    ``capacity_shortfall``, ``too_late_to_make`` or, for a hold, ``hold_beyond_shelf_life``.

    ``holds``: the recorded holds (:func:`plant.planning.holds.held_orders`)."""
    cfg = cfg or PlanConfig()
    measured = reject_rate is not None
    rate = float(reject_rate) if reject_rate is not None else cfg.default_reject_rate
    held, impossible = hold_requirements(holds, skus, start, cal, cfg)
    req = requirements(fc, skus, open_orders, start, cal, cfg, holds, held=held)
    fg = inventory[inventory["kind"] == "sku"].set_index("item")["on_hand"].astype(float)
    req = _fefo_net(req, fg)
    req["to_start"] = gross_up(req["to_make"].to_numpy(), rate)
    first = pd.Timestamp(start)
    last = max(req["need_date"].max(), first) if len(req) else first
    days = pd.date_range(first, last, freq="D")
    cap = daily_capacity(lines, days, cal.closures())
    left = cap.to_numpy().copy()
    shelf = skus.set_index("sku")["shelf_life_days"].astype(float)
    rows: list[tuple] = []
    short = impossible.to_dict("records")
    for r in req.sort_values("need_date", ascending=False).itertuples(index=False):
        want = float(math.ceil(float(r.to_start) - 1e-9))  # whole boxes
        if want <= 0:
            continue
        if r.source == "hold":  # its own window (plant.planning.holds)
            hi = (r.latest - first).days
            lo = max(0, (r.earliest - first).days)
        else:
            hi = (r.need_date - first).days - 1
            max_age = max_age_days(shelf.get(r.sku, cfg.default_shelf_life_days), cfg)
            # made on day d, the box is need - d days old on the day it is needed: at most max_age
            lo = max(0, hi + 1 - max_age)
        for i in range(hi, lo - 1, -1):
            if want <= 1e-9:
                break
            take = min(left[i], want)
            if take > 0:
                left[i] -= take
                want -= take
                rows.append((r.sku, days[i], r.need_date, r.source, take))
        if want > 1e-6:
            short.append({"sku": r.sku, "need_date": r.need_date, "source": r.source,
                          "short_units": want * (1 - rate),
                          "kind": "too_late_to_make" if hi < 0 else "capacity_shortfall",
                          "reason": "too late to make" if hi < 0 else "line capacity"})
    plan = pd.DataFrame(rows, columns=["sku", "date", "need_date", "source", "qty_start"])
    plan = plan.groupby(["sku", "date", "need_date", "source"], as_index=False)["qty_start"].sum()
    plan = assign_lines(plan, lines, cal.closures())
    plan["qty_good"] = (plan["qty_start"] * (1 - rate)).round(1)
    plan["channel"] = plan["sku"].map(skus.set_index("sku")["channel"])
    used = cap.to_numpy() - left
    weekly = pd.DataFrame({"cap": cap.to_numpy(), "used": used}, index=days).resample("W-SUN").sum()
    explanation = {
        "reject_rate": rate,
        "reject_rate_source": ("measured on the lines (store.reject_rate)" if measured else
                               "DEFAULT: no reject rate measured on the lines; configured "
                               f"default {cfg.default_reject_rate:.1%} used"),
        "service_level": ("configured" if cfg.service_level is not None else
                          "newsvendor critical ratio per SKU in the festival season, P50 after"),
        "ship_by_days": cfg.ship_by_days,
        "required_units": round(float(req["qty"].sum()), 1),
        "from_stock_units": round(float(req["from_stock"].sum()), 1),
        "to_make_good_units": round(float(req["to_make"].sum()), 1),
        "scheduled_start_units": round(float(plan["qty_start"].sum()), 1),
        "shortfall_units": round(float(sum(s["short_units"] for s in short)), 1),
        "capacity_per_week": {k.date().isoformat(): {"capacity": round(float(v.cap)),
                                                     "used": round(float(v.used))}
                              for k, v in weekly.iterrows()},
        "min_remaining_shelf": cfg.min_remaining_shelf,
    }
    is_hold = req["source"] == "hold"
    if is_hold.any() or len(impossible):
        made = plan[plan["source"] == "hold"] if len(plan) else plan
        explanation["holds"] = {
            "rule": "held orders are due on their held delivery day, made no later than the "
                    "festival's eve (or the day before delivery) and no earlier than keeps "
                    f"{cfg.min_remaining_shelf:.0%} of the shelf life on that day",
            "held_boxes": round(float(req.loc[is_hold, "qty"].sum()
                                      + impossible["short_units"].sum()), 1),
            "scheduled_start_units": round(float(made["qty_start"].sum()), 1),
            "impossible_boxes": round(float(impossible["short_units"].sum()), 1),
        }
    return plan, explanation, pd.DataFrame(short, columns=SHORT_COLUMNS)
