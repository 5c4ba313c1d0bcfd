"""What is known about a shop order when it is placed: one feature row per order.

:func:`order_features` turns shop order lines (``order_id, customer, placed_at, sku, qty,
unit_price, region, delivery_date, days_to_holiday, cancelled_at``) into one row per order with
the features of :data:`FEATURES` and the label ``cancelled`` (cancelled before delivery). Every
feature uses only what was known at ``placed_at``: a SKU's popularity is its share of the boxes
ordered in the 28 days before the order's day, and a customer's history counts only earlier
orders and cancellations that had happened by then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.orders.holiday import days_to_holiday

__all__ = ["FEATURES", "order_features"]

#: model inputs, in order; ``region`` is categorical, the others are numbers
FEATURES = (
    "days_to_holiday", "lead_days", "delivery_vs_holiday", "boxes", "lines", "value",
    "max_price", "popularity", "prior_orders", "prior_cancelled", "prior_cancel_rate",
    "hour", "weekday", "region",
)
_POP_DAYS = 28


def _popularity(lines: pd.DataFrame) -> pd.Series:
    """Per line: the SKU's share of all boxes ordered in the 28 days before its day, x SKUs."""
    daily = lines.groupby(["day", "sku"])["qty"].sum().unstack(fill_value=0)
    full = pd.date_range(daily.index.min(), daily.index.max(), freq="D")
    daily = daily.reindex(full, fill_value=0)
    past = daily.rolling(_POP_DAYS, min_periods=1).sum().shift(1).fillna(0.0)
    total = past.sum(axis=1).replace(0, np.nan)
    share = past.div(total, axis=0).fillna(1.0 / daily.shape[1]) * daily.shape[1]
    stacked = share.stack()
    key = pd.MultiIndex.from_arrays([lines["day"], lines["sku"]])
    return pd.Series(stacked.reindex(key).to_numpy(), index=lines.index)


def _customer_history(orders: pd.DataFrame) -> pd.DataFrame:
    """Earlier orders and cancellations of the same customer known at each order's time."""
    code = pd.factorize(orders["customer"])[0].astype(np.int64)
    base = 1 << 40
    placed = orders["placed"].astype("int64").to_numpy() // 60_000_000_000   # minutes
    pkey = code * base + placed
    psort = np.sort(pkey)
    prior = np.searchsorted(psort, pkey, side="left") - np.searchsorted(psort, code * base)
    canc = orders["cancelled_time"]
    has = canc.notna().to_numpy()
    ckey = np.sort(code[has] * base + canc[has].astype("int64").to_numpy() // 60_000_000_000)
    prior_c = np.searchsorted(ckey, pkey, side="left") - np.searchsorted(ckey, code * base)
    return pd.DataFrame({
        "prior_orders": prior, "prior_cancelled": prior_c,
        "prior_cancel_rate": (prior_c + 0.05) / (prior + 1.0),
    }, index=orders.index)


def order_features(lines: pd.DataFrame, cal: HolidayCalendar | None = None) -> pd.DataFrame:
    """One row per order: ``order_id``, ``placed``, ``delivery``, ``cancelled`` and FEATURES.

    ``days_to_holiday`` is taken from the lines when they have it, else counted with ``cal``
    (the default calendar when None)."""
    df = lines.copy()
    df["placed"] = pd.to_datetime(df["placed_at"])
    if "days_to_holiday" not in df.columns:
        days = df["placed"].dt.normalize().to_numpy().astype("datetime64[D]")
        df["days_to_holiday"] = days_to_holiday(days, cal or HolidayCalendar.default())
    df["day"] = df["placed"].dt.normalize()
    df["line_value"] = df["qty"] * df["unit_price"]
    df["popularity"] = _popularity(df)
    cancelled_at = df["cancelled_at"].fillna("").astype(str)
    df["cancelled_time"] = pd.to_datetime(cancelled_at.where(cancelled_at != ""))
    g = df.groupby("order_id", sort=False)
    orders = g.agg(
        customer=("customer", "first"), placed=("placed", "first"),
        delivery=("delivery_date", "first"), region=("region", "first"),
        days_to_holiday=("days_to_holiday", "first"), boxes=("qty", "sum"),
        lines=("sku", "size"), value=("line_value", "sum"), max_price=("unit_price", "max"),
        popularity=("popularity", "max"), cancelled_time=("cancelled_time", "min"),
    ).reset_index()
    orders["delivery"] = pd.to_datetime(orders["delivery"])
    orders["lead_days"] = (orders["delivery"] - orders["placed"].dt.normalize()).dt.days
    orders["delivery_vs_holiday"] = orders["lead_days"] - orders["days_to_holiday"]
    orders["hour"] = orders["placed"].dt.hour
    orders["weekday"] = orders["placed"].dt.dayofweek
    orders = orders.sort_values("placed", kind="stable", ignore_index=True)
    orders = pd.concat([orders, _customer_history(orders)], axis=1)
    orders["cancelled"] = orders["cancelled_time"].notna().astype(np.int8)
    return orders
