"""The small planning rules, each a pure function with a hand-checkable answer."""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

import numpy as np
import pandas as pd

__all__ = [
    "Z90",
    "critical_ratio",
    "daily_capacity",
    "expected_leftover",
    "explode_bom",
    "gross_up",
    "newsvendor_quantity",
    "order_by",
    "quantile_from_p",
    "round_order",
    "safety_stock",
]

#: the standard normal quantile at 0.9 (P10..P90 spans 2 x Z90 standard deviations)
Z90 = NormalDist().inv_cdf(0.9)


def critical_ratio(price: float, unit_cost: float, salvage_value: float) -> float:
    """Newsvendor service level: underage / (underage + overage) = (p - c) / (p - s)."""
    if price <= salvage_value:
        raise ValueError("price must exceed salvage value")
    return min(1.0, max(0.0, (price - unit_cost) / (price - salvage_value)))


def newsvendor_quantity(mean: float, sd: float, ratio: float) -> float:
    """Order quantity at the ``ratio`` quantile of a normal demand (never negative)."""
    if sd <= 0:
        return max(0.0, mean)
    ratio = min(max(ratio, 1e-6), 1 - 1e-6)
    return max(0.0, mean + sd * NormalDist().inv_cdf(ratio))


def expected_leftover(q: float, mean: float, sd: float) -> float:
    """E[(Q - D)+] for normal demand: the units left for salvage after the season."""
    if sd <= 0:
        return max(0.0, q - mean)
    z = (q - mean) / sd
    nd = NormalDist()
    return sd * (z * nd.cdf(z) + nd.pdf(z))


def quantile_from_p(
    p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, level: float | np.ndarray
) -> np.ndarray:
    """The ``level`` quantile from P10/P50/P90, normal on each side of the median."""
    levels = np.clip(np.broadcast_to(np.asarray(level, dtype=float), np.shape(p50)), 1e-6,
                     1 - 1e-6)
    z = np.array([NormalDist().inv_cdf(float(v)) for v in levels.reshape(-1)]).reshape(
        levels.shape)
    spread = np.where(z >= 0, p90 - p50, p50 - p10)
    return np.asarray(p50 + spread * z / Z90)


def gross_up(good_units: float | np.ndarray, reject_rate: float) -> float | np.ndarray:
    """Units to start so that ``good_units`` pass inspection at ``reject_rate``."""
    if not 0 <= reject_rate < 1:
        raise ValueError("reject rate must be in [0, 1)")
    return good_units / (1.0 - reject_rate)


def round_order(qty: float, moq: float, pack_multiple: float) -> float:
    """Smallest orderable quantity >= ``qty``: at least the MOQ, in whole pack multiples."""
    if qty <= 0:
        return 0.0
    qty = max(qty, moq)
    if pack_multiple > 0:
        qty = math.ceil(round(qty / pack_multiple, 9)) * pack_multiple
    return float(qty)


def order_by(need_date: dt.date, lead_time_days: int) -> dt.date:
    """The last day an order can be placed and still arrive by ``need_date``."""
    return need_date - dt.timedelta(days=int(lead_time_days))


def safety_stock(level: float, sd_daily: float, lead_time_days: float) -> float:
    """z x daily demand sd x sqrt(lead time): cover for forecast error over the lead time."""
    z = NormalDist().inv_cdf(min(max(level, 0.5), 1 - 1e-6))
    return z * sd_daily * math.sqrt(max(lead_time_days, 0.0))


def explode_bom(plan: pd.DataFrame, bom: pd.DataFrame, qty: str = "qty") -> pd.DataFrame:
    """Material needs from a plan with ``sku, date, <qty>``: columns ``item, date, qty``."""
    merged = plan[["sku", "date", qty]].merge(bom, on="sku", how="inner")
    merged["need"] = merged[qty] * merged["qty_per_unit"]
    out = merged.groupby(["item", "date"], as_index=False)["need"].sum()
    return out.rename(columns={"need": "qty"})


def daily_capacity(lines: pd.DataFrame, days: pd.DatetimeIndex,
                   closed: set[dt.date] | None = None) -> pd.Series:
    """Pooled units per day over all lines; a line with ``days_per_week`` d runs Mon..d-th day."""
    closed = closed or set()
    cap = np.zeros(len(days))
    dow = days.dayofweek.to_numpy()
    for line in lines.itertuples(index=False):
        per_day = float(line.units_per_hour) * float(line.hours_per_shift) * float(
            line.shifts_per_day)
        cap += np.where(dow < int(line.days_per_week), per_day, 0.0)
    shut = np.array([d.date() in closed for d in days], dtype=bool)
    cap[shut] = 0.0
    return pd.Series(cap, index=days)
