"""Orders and cancellations of every SKU by the global boosted model (``level="sku"``).

At SKU level there is nothing to split: each SKU's orders are a series of the global
LightGBM forecaster (:func:`plant.forecast.longform.forecast_long`), with the SKU history's
extra columns as known-in-advance regressors (promotion, open, price; their future values in
``future``), closures handled as closures and a per-SKU fallback to the seasonal naive where
that forecast its held-out days better. Cancellations are forecast the same way, without
regressors (none when the history has none).
"""

from __future__ import annotations

import pandas as pd

from plant.calendar import HolidayCalendar
from plant.forecast.longform import forecast_long

__all__ = ["DEMAND_COLUMNS", "boosted_sku_forecast"]

#: the columns of a demand history that are not regressors
DEMAND_COLUMNS = ("sku", "ds", "orders", "cancellations", "group")
_STATS = ("p10", "p50", "p90", "mean")


def _series(hist: pd.DataFrame, value: str, regs: list[str]) -> pd.DataFrame:
    return hist[["sku", "ds", value, *regs]].rename(columns={"sku": "unique_id", value: "y"})


def boosted_sku_forecast(hist: pd.DataFrame, h: int, cal: HolidayCalendar, peak: str,
                         future: pd.DataFrame | None = None) -> pd.DataFrame:
    """``sku, ds, {orders,cancel}_{p10,p50,p90,mean}`` for ``h`` days after ``hist``."""
    regs = [c for c in hist.columns if c not in DEMAND_COLUMNS]
    fut = None if future is None else future.rename(columns={"sku": "unique_id"})
    orders = forecast_long(_series(hist, "orders", regs), h, cal, peak=peak, future=fut)
    out = orders[["unique_id", "ds"]].copy()
    for stat in _STATS:
        out[f"orders_{stat}"] = orders[stat]
    if float(hist["cancellations"].sum()) > 0:
        cancel = forecast_long(_series(hist, "cancellations", []), h, cal, peak=peak)
        out = out.merge(cancel[["unique_id", "ds", *_STATS]].rename(
            columns={s: f"cancel_{s}" for s in _STATS}), on=["unique_id", "ds"])
    else:
        for stat in _STATS:
            out[f"cancel_{stat}"] = 0.0
    return out.rename(columns={"unique_id": "sku"})
