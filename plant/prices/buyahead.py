"""Buy now or at the order-by date: each material order of the season, priced both ways.

Buying an order now instead of at its order-by date pays today's price and keeps the goods
longer: they arrive a lead time after today instead of on the need date, so they are held
``order_by - today`` days more, at ``holding_cost_rate`` a year of their value (capital and
storage). Buying at the order-by date pays the price then, which is uncertain: its forecast
distribution (:mod:`plant.prices.model`) gives the expected saving of buying now, its P10 and
P90, and the chance that buying now turns out dearer. Buying ahead is ruled out when the goods
would not keep (the extra days plus the order's days of use exceed the shelf life) or do not
fit the store (``storage_limits``: the most of an item the plant can hold; the biggest
savings per unit go first). The call is "buy now" when the expected saving is positive.

:func:`season_cost` gives the material cost of the season's orders as a distribution: each
item's price path drawn from its forecast errors (one draw per item and run, the same across
the item's dates), the quantities scaled by one lognormal demand draw per run (mean 1, the
season forecast's coefficient of variation); P10/P50/P90 and the mean, for buying everything
at the order-by dates and for following the calls.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plant.prices.model import PriceForecast

__all__ = ["buy_ahead", "season_cost"]

_COLS = ["item", "kind", "need_date", "order_by", "qty", "unit", "price_now",
         "expected_price", "price_p10", "price_p90", "holding_cost", "expected_saving",
         "saving_p10", "saving_p90", "p_dearer", "call", "reason"]


def buy_ahead(orders: pd.DataFrame, materials: pd.DataFrame, models: dict[str, PriceForecast],
              today: dt.date, holding_cost_rate: float = 0.25, cover_days: int = 28,
              storage_limits: dict[str, float] | None = None,
              on_hand: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per order of an item with a price history: the call and its figures."""
    if orders.empty:
        return pd.DataFrame(columns=_COLS)
    mats = materials.set_index("item")
    per_order = orders.groupby(["item", "need_date", "order_by"], as_index=False).agg(
        qty=("qty", "sum"), kind=("kind", "first"), unit=("unit", "first"))
    rows = []
    for o in per_order.itertuples(index=False):
        model = models.get(str(o.item))
        if model is None:
            continue
        order_by = pd.Timestamp(o.order_by).date()
        days = (order_by - today).days
        qty = float(o.qty)
        now = model.last_price
        row = {"item": o.item, "kind": o.kind, "need_date": pd.Timestamp(o.need_date).date(),
               "order_by": order_by, "qty": qty, "unit": o.unit, "price_now": round(now, 4)}
        if days <= 0:
            rows.append({**row, "expected_price": round(now, 4), "call": "buy now",
                         "reason": "order-by date is today or past", "expected_saving": 0.0})
            continue
        at = model.samples(pd.Timestamp(order_by))
        holding = qty * now * holding_cost_rate * days / 365.0
        saving = qty * (at - now) - holding
        shelf = int(mats.loc[o.item, "shelf_life_days"]) if o.item in mats.index else 0
        keeps = shelf <= 0 or days + cover_days <= shelf
        row.update({
            "expected_price": round(float(at.mean()), 4),
            "price_p10": round(float(np.quantile(at, 0.1)), 4),
            "price_p90": round(float(np.quantile(at, 0.9)), 4),
            "holding_cost": round(holding, 2), "expected_saving": round(float(saving.mean()), 2),
            "saving_p10": round(float(np.quantile(saving, 0.1)), 2),
            "saving_p90": round(float(np.quantile(saving, 0.9)), 2),
            "p_dearer": round(float((saving < 0).mean()), 3),
        })
        if not keeps:
            row.update(call="order-by date", reason=f"would not keep: {days} more days + "
                       f"{cover_days} days of use > shelf life {shelf} d")
        elif row["expected_saving"] <= 0:
            row.update(call="order-by date", reason="no expected saving after holding cost")
        else:
            row.update(call="buy now", reason=f"price expected to rise {at.mean() / now - 1:+.1%}"
                       f" by {order_by}")
        rows.append(row)
    out = _fit_storage(pd.DataFrame(rows, columns=_COLS), storage_limits or {}, on_hand or {})
    for col in ("need_date", "order_by"):  # days, stored and exported as YYYY-MM-DD
        out[col] = pd.to_datetime(out[col])
    return out


def _fit_storage(calls: pd.DataFrame, limits: dict[str, float],
                 on_hand: dict[str, float]) -> pd.DataFrame:
    """Turn "buy now" calls that overfill an item's store into "order-by date" calls."""
    for item, limit in limits.items():
        ahead = calls[(calls["item"] == item) & (calls["call"] == "buy now")
                      & (calls["reason"] != "order-by date is today or past")]
        room = float(limit) - float(on_hand.get(item, 0.0))
        for i in (ahead["expected_saving"] / ahead["qty"]).sort_values(ascending=False).index:
            if calls.at[i, "qty"] <= room:
                room -= float(calls.at[i, "qty"])
            else:
                calls.loc[i, ["call", "reason"]] = ["order-by date", f"store full: {item} holds "
                                                    f"at most {limit:g}"]
    return calls


def season_cost(calls: pd.DataFrame, models: dict[str, PriceForecast], demand_cv: float,
                holding_cost_rate: float, today: dt.date, runs: int = 2000,
                seed: int = 0) -> dict[str, dict[str, float]]:
    """Season material cost, {policy: {p10, p50, p90, mean}} for ``order_by`` and ``calls``."""
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(np.log1p(demand_cv**2))  # a lognormal demand factor with mean 1
    scale = np.exp(sigma * rng.standard_normal(runs) - sigma**2 / 2)
    at_order_by = np.zeros(runs)
    following = np.zeros(runs)
    for item, rows in calls.groupby("item"):
        model = models[str(item)]
        u = rng.random(runs)
        for r in rows.itertuples(index=False):
            days = (pd.Timestamp(r.order_by).date() - today).days
            later = (model.samples(pd.Timestamp(r.order_by), u) if days > 0
                     else np.full(runs, model.last_price))
            cost_later = r.qty * scale * later
            now = r.qty * scale * model.last_price * (1 + holding_cost_rate * max(days, 0) / 365)
            at_order_by += cost_later
            following += now if r.call == "buy now" else cost_later
    return {name: {"p10": round(float(np.quantile(v, 0.1)), 2),
                   "p50": round(float(np.quantile(v, 0.5)), 2),
                   "p90": round(float(np.quantile(v, 0.9)), 2),
                   "mean": round(float(v.mean()), 2)}
            for name, v in (("order_by", at_order_by), ("calls", following))}
