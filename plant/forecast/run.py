"""The forecasting use case: the store's demand history in, a stored forecast out.

``peakline plant forecast``, the demo's planning job and the plant all call
:func:`forecast_into_store`, so a forecast is made and recorded one way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.backtest import backtest
from plant.forecast.demand import forecast_demand

__all__ = ["ForecastRun", "backtest_into_store", "forecast_into_store"]


@dataclass(frozen=True)
class ForecastRun:
    """A stored forecast: its id, the SKU frame and what it was made from."""

    forecast_id: str
    frame: pd.DataFrame
    meta: dict[str, Any]


def forecast_into_store(store: Any, cal: HolidayCalendar, horizon: int, level: str = "channel",
                        n_jobs: int = 1, country: str = "CN") -> ForecastRun:
    """Forecast every SKU ``horizon`` days past the stored history and store the forecast."""
    history, skus = store.demand_history(), store.skus()
    if history.empty:
        raise DataError("no demand history in the store; run `peakline plant import` first")
    fc = forecast_demand(history, skus, horizon, cal, level=level, n_jobs=n_jobs)
    forecast_id = f"fc-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    meta = {"horizon": horizon, "level": level, "country": country,
            "history_end": str(pd.Timestamp(history["ds"].max()).date()),
            "start": str(pd.Timestamp(fc["ds"].min()).date()), "skus": int(fc["sku"].nunique())}
    store.save_forecast(forecast_id, fc, meta)
    return ForecastRun(forecast_id, fc, meta)


def backtest_into_store(store: Any, cal: HolidayCalendar, horizon: int = 60,
                        level: str = "channel", target: str = "net", ets_sample: int = 50,
                        n_jobs: int = 1) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Backtest the forecaster on the stored history around past festivals; store the table."""
    history, skus = store.demand_history(), store.skus()
    if history.empty:
        raise DataError("no demand history in the store; run `peakline plant import` first")
    table, summary = backtest(history, skus, cal, h=horizon, level=level, target=target,
                              ets_sample=ets_sample, n_jobs=n_jobs)
    store.save_backtest(f"bt-{uuid.uuid4().hex[:8]}", table, summary)
    return table, summary
