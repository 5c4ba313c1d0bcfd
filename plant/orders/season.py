"""Replay a past festival season with the hold policy: what holds would have saved.

:func:`replay_season` takes a season's scored orders (from
:func:`~plant.orders.backtest.backtest_risk`, so every score comes from a model that saw
nothing of the season), walks the days in order, offers holds to each day's new orders with
:func:`~plant.orders.holds.offer_holds` against the stock already accepted, and lets each
offered customer accept with the policy's acceptance rate (a seeded draw). An accepted hold
removes the customer's reason to cancel (the parcel no longer waits at an empty home), so an
order that was cancelled in history is delivered after the festival instead.

Stock after the festival is replayed per SKU the way a make-to-order shop line runs: boxes are
made for the orders placed; a cancelled order's boxes go back to stock and serve the next orders
of that SKU; held orders are made on the last production day and take stock first. What is left
in stock on the festival day is the leftover. Figures: cancelled boxes in the 14 days before the
festival, leftover boxes, margin saved against safekeeping cost, and whether safekeeping stock
stayed within capacity every day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from plant.orders.holds import HoldSettings, offer_holds, safekeeping_days
from plant.peaks import DEFAULT_SEASON_DAYS

__all__ = ["SeasonReplay", "leftover_boxes", "replay_season", "season_growth", "season_orders"]


@dataclass
class SeasonReplay:
    """Outcome of one season with and without holds."""

    orders: pd.DataFrame        # the season's orders with offered / accepted / cancelled_after
    stock: pd.DataFrame         # safekeeping boxes per day
    figures: dict[str, float]


def leftover_boxes(lines: pd.DataFrame, festival: dt.date) -> int:
    """Boxes left on the festival day: per SKU, cancelled boxes return to stock and serve later
    orders (held orders take stock on the last production day).

    ``lines`` has ``sku, qty, placed_day, cancel_day`` (NaT when kept) and ``held`` (bool)."""
    fest = pd.Timestamp(festival)
    total = 0
    for _, g in lines.groupby("sku"):
        returns = g.loc[g["cancel_day"].notna() & (g["cancel_day"] <= fest)]
        inflow = returns.groupby("cancel_day")["qty"].sum()
        needs = g.loc[~g["held"]].groupby("placed_day")["qty"].sum()
        held_need = int(g.loc[g["held"], "qty"].sum())
        days = sorted(set(inflow.index) | set(needs.index))
        stock = 0
        for d in days:
            if d > fest:
                break
            stock = max(0, stock - int(needs.get(d, 0))) if d in needs.index else stock
            stock += int(inflow.get(d, 0))
            if d == fest - pd.Timedelta(days=1):
                stock = max(0, stock - held_need)
                held_need = 0
        total += max(0, stock - held_need)
    return total


def season_orders(orders: pd.DataFrame, festival: dt.date, days: int = DEFAULT_SEASON_DAYS
                  ) -> pd.DataFrame:
    """The orders placed in the ``days`` before ``festival`` up to the festival day."""
    fest = pd.Timestamp(festival)
    placed = orders["placed"]
    return orders[(placed >= fest - pd.Timedelta(days=days))
                  & (placed < fest + pd.Timedelta(days=1))]


def season_growth(orders: pd.DataFrame, before: pd.Timestamp, days: int = 90) -> float:
    """Boxes ordered in the ``days`` before ``before`` against the same days a year earlier
    (at least 1): how much bigger this season will likely be than the last."""
    placed = orders["placed"]
    now = orders.loc[(placed < before) & (placed >= before - pd.Timedelta(days=days)), "boxes"]
    year = before - pd.DateOffset(years=1)
    then = orders.loc[(placed < year) & (placed >= year - pd.Timedelta(days=days)), "boxes"]
    return max(1.0, float(now.sum()) / float(then.sum())) if then.sum() > 0 else 1.0


def replay_season(scored: pd.DataFrame, lines: pd.DataFrame, festival: dt.date,
                  s: HoldSettings, seed: int = 0, min_value_per_box: float = 0.0
                  ) -> SeasonReplay:
    """Replay the season of ``scored`` orders (``order_id, placed, delivery, boxes, p_cancel,
    margin_at_risk, margin, shelf_life_days, cancelled, cancelled_time``) with holds.

    ``lines`` are the season's order lines (``order_id, sku, qty``); ``min_value_per_box`` is
    the policy's threshold (:func:`~plant.orders.holds.value_threshold`)."""
    rng = np.random.default_rng(seed)
    fest = pd.Timestamp(festival)
    orders = scored.sort_values("placed", kind="stable", ignore_index=True).copy()
    orders["day"] = orders["placed"].dt.normalize()
    orders["offered"] = False
    orders["accepted"] = False
    orders["hold_until"] = pd.NaT
    draw = rng.random(len(orders))
    kept: list[pd.DataFrame] = []
    for day, idx in orders.groupby("day").groups.items():
        # an order is offered when placed, unless it was already cancelled that day
        today = orders.loc[idx]
        open_now = today[~(today["cancelled_time"].dt.normalize() <= day)]
        if open_now.empty or day > fest:
            continue
        accepted = pd.concat(kept, ignore_index=True) if kept else None
        offers = offer_holds(open_now, festival, s, accepted, min_value_per_box)
        chosen = offers[offers["offer"]]
        if chosen.empty:
            continue
        pos = orders.index[orders["order_id"].isin(chosen["order_id"])]
        orders.loc[pos, "offered"] = True
        until = chosen.set_index("order_id")["hold_until"]
        orders.loc[pos, "hold_until"] = orders.loc[pos, "order_id"].map(until)
        yes = pos[draw[pos] < s.accept_rate]
        orders.loc[yes, "accepted"] = True
        kept.append(orders.loc[yes, ["boxes", "delivery", "hold_until"]])
    orders["cancelled_after"] = orders["cancelled"].astype(bool) & ~orders["accepted"]
    stock = safekeeping_days(orders[orders["accepted"]], festival)
    return SeasonReplay(orders=orders, stock=stock,
                        figures=_figures(orders, lines, stock, fest, s))


def _figures(orders: pd.DataFrame, lines: pd.DataFrame, stock: pd.DataFrame,
             fest: pd.Timestamp, s: HoldSettings) -> dict[str, float]:
    cday = orders["cancelled_time"].dt.normalize()
    late = (cday >= fest - pd.Timedelta(days=14)) & (cday < fest)
    before = int(orders.loc[late & orders["cancelled"].astype(bool), "boxes"].sum())
    after = int(orders.loc[late & orders["cancelled_after"], "boxes"].sum())
    per_line = lines.merge(orders[["order_id", "placed", "cancelled_time", "accepted"]],
                           on="order_id")
    base = per_line.assign(placed_day=per_line["placed"].dt.normalize(),
                           cancel_day=per_line["cancelled_time"].dt.normalize(), held=False)
    held = base.assign(cancel_day=base["cancel_day"].where(~base["accepted"]),
                       held=base["accepted"])
    left_before, left_after = leftover_boxes(base, fest), leftover_boxes(held, fest)
    acc = orders[orders["accepted"]]
    saved = orders["cancelled"].astype(bool) & orders["accepted"]
    box_days = float((acc["boxes"] * (acc["hold_until"] - (fest - pd.Timedelta(days=1))
                                      ).dt.days).sum())
    peak = int(stock["boxes"].max()) if len(stock) else 0
    return {
        "orders": len(orders), "offered": int(orders["offered"].sum()),
        "accepted": int(orders["accepted"].sum()), "held_boxes": int(acc["boxes"].sum()),
        "cancelled_boxes_14d": before, "cancelled_boxes_14d_with_holds": after,
        "cancelled_boxes_cut_pct": round(100 * (1 - after / before), 1) if before else 0.0,
        "leftover_boxes": left_before, "leftover_boxes_with_holds": left_after,
        "leftover_cut_pct": round(100 * (1 - left_after / left_before), 1) if left_before
        else 0.0,
        "margin_saved": round(float(orders.loc[saved, "margin"].sum()), 2),
        "safekeeping_cost": round(box_days * s.cost_per_box_day, 2),
        "safekeeping_peak_boxes": peak, "capacity_boxes": s.capacity_boxes,
        "within_capacity": bool(peak <= s.capacity_boxes),
    }
