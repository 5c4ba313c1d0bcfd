"""What is known about a shop order when it is placed: one feature row per order.

:func:`order_features` turns shop order lines (``order_id, customer, placed_at, sku, qty,
unit_price, region, delivery_date, days_to_holiday, cancelled_at``) into one row per order with
the features of :data:`FEATURES` and the label ``cancelled`` (cancelled before delivery). Every
feature uses only what was known at ``placed_at``: a SKU's popularity is its share of the boxes
ordered in the 28 days before the order's day, a customer's history counts only earlier
orders and cancellations that had happened by then, and so does a SKU's cancellation rate (its
earlier order lines and the cancellations of them that had happened, shrunk towards the overall
rate while a SKU has few lines).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.orders.holiday import days_to_holiday
from plant.peaks import DEFAULT_PEAK

__all__ = ["FEATURES", "order_features"]

#: model inputs, in order; ``region`` is categorical, the others are numbers
FEATURES = (
    "days_to_holiday", "lead_days", "delivery_vs_holiday", "boxes", "lines", "value",
    "max_price", "popularity", "prior_orders", "prior_cancelled", "prior_cancel_rate",
    "days_since_last_order", "value_vs_usual", "sku_cancel_rate_max", "sku_cancel_rate_mean",
    "hour", "weekday", "region",
)
_POP_DAYS = 28
_SKU_PRIOR_LINES = 20.0   # a SKU's rate counts as this many lines at the overall rate
_NO_EARLIER_ORDER = 999.0  # days since the last order of a first-time customer


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


def _prior_counts(key: np.ndarray, placed: np.ndarray, cancelled: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per row: earlier rows of the same ``key`` (placed before it), and cancellations of the
    same key that had happened by its ``placed`` time (times in minutes, NaN: not cancelled)."""
    base = np.int64(1) << 40
    pkey = key * base + placed
    psort = np.sort(pkey)
    prior = np.searchsorted(psort, pkey, side="left") - np.searchsorted(psort, key * base)
    has = ~np.isnan(cancelled)
    ckey = np.sort(key[has] * base + cancelled[has].astype(np.int64))
    prior_c = np.searchsorted(ckey, pkey, side="left") - np.searchsorted(ckey, key * base)
    return prior, prior_c


def _minutes(times: pd.Series) -> np.ndarray:
    """Minutes since the epoch as float (NaN for NaT)."""
    out = times.astype("int64").to_numpy() // 60_000_000_000
    return np.where(times.isna().to_numpy(), np.nan, out.astype(float))


def _sku_cancel_rate(lines: pd.DataFrame) -> pd.Series:
    """Per line: its SKU's cancellation rate over the earlier lines known at its time, shrunk
    towards the rate over all SKUs known then."""
    code = pd.factorize(lines["sku"])[0].astype(np.int64)
    cancelled = _minutes(lines["cancelled_time"])
    placed = _minutes(lines["placed"]).astype(np.int64)
    prior, prior_c = _prior_counts(code, placed, cancelled)
    every, every_c = _prior_counts(np.zeros_like(code), placed, cancelled)
    overall = (every_c + 0.05) / (every + 1.0)  # over all SKUs, as known at the time
    return pd.Series((prior_c + _SKU_PRIOR_LINES * overall) / (prior + _SKU_PRIOR_LINES),
                     index=lines.index)


def _customer_history(orders: pd.DataFrame) -> pd.DataFrame:
    """Earlier orders and cancellations of the same customer known at each order's time."""
    code = pd.factorize(orders["customer"])[0].astype(np.int64)
    prior, prior_c = _prior_counts(code, _minutes(orders["placed"]).astype(np.int64),
                                   _minutes(orders["cancelled_time"]))
    by_customer = orders.groupby(code, sort=False)  # orders are sorted by time
    since = (orders["placed"] - by_customer["placed"].shift(1)).dt.total_seconds() / 86400
    earlier = by_customer.cumcount().to_numpy()
    earlier_value = (by_customer["value"].cumsum() - orders["value"]).to_numpy()
    usual = np.where(earlier > 0, earlier_value / np.maximum(earlier, 1), np.nan)
    return pd.DataFrame({
        "prior_orders": prior, "prior_cancelled": prior_c,
        "prior_cancel_rate": (prior_c + 0.05) / (prior + 1.0),
        "days_since_last_order": since.fillna(_NO_EARLIER_ORDER).to_numpy(),
        "value_vs_usual": np.where(earlier > 0, orders["value"].to_numpy()
                                   / np.maximum(usual, 1e-9), 1.0),
    }, index=orders.index)


def order_features(lines: pd.DataFrame, cal: HolidayCalendar,
                   peak: str = DEFAULT_PEAK) -> pd.DataFrame:
    """One row per order: ``order_id``, ``placed``, ``delivery``, ``cancelled`` and FEATURES.

    ``days_to_holiday`` is taken from the lines when they have it, else counted with ``cal``
    to the coming lunar festival or ``peak`` (the plant's calendar and peak: a festival its
    events file moves moves the feature too)."""
    df = lines.copy()
    df["placed"] = pd.to_datetime(df["placed_at"])
    if "days_to_holiday" not in df.columns:
        days = df["placed"].dt.normalize().to_numpy().astype("datetime64[D]")
        df["days_to_holiday"] = days_to_holiday(days, cal, peak)
    df["day"] = df["placed"].dt.normalize()
    df["line_value"] = df["qty"] * df["unit_price"]
    df["popularity"] = _popularity(df)
    cancelled_at = df["cancelled_at"].fillna("").astype(str)
    df["cancelled_time"] = pd.to_datetime(cancelled_at.where(cancelled_at != ""))
    df["sku_cancel_rate"] = _sku_cancel_rate(df)
    g = df.groupby("order_id", sort=False)
    orders = g.agg(
        customer=("customer", "first"), placed=("placed", "first"),
        delivery=("delivery_date", "first"), region=("region", "first"),
        days_to_holiday=("days_to_holiday", "first"), boxes=("qty", "sum"),
        lines=("sku", "size"), value=("line_value", "sum"), max_price=("unit_price", "max"),
        popularity=("popularity", "max"), cancelled_time=("cancelled_time", "min"),
        sku_cancel_rate_max=("sku_cancel_rate", "max"),
        sku_cancel_rate_mean=("sku_cancel_rate", "mean"),
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
