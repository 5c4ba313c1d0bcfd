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
from plant.forecast.backtest import FESTIVAL_WINDOW, backtest, festival_origins
from plant.forecast.demand import forecast_demand
from plant.peaks import DEFAULT_PEAK, DEFAULT_SEASON_DAYS

__all__ = ["ForecastRun", "backtest_into_store", "forecast_into_store"]


@dataclass(frozen=True)
class ForecastRun:
    """A stored forecast: its id, the SKU frame and what it was made from."""

    forecast_id: str
    frame: pd.DataFrame
    meta: dict[str, Any]


def forecast_into_store(store: Any, cal: HolidayCalendar, horizon: int, level: str = "channel",
                        n_jobs: int = 1, country: str = "CN",
                        peak: str = DEFAULT_PEAK) -> ForecastRun:
    """Forecast every SKU ``horizon`` days past the stored history and store the forecast."""
    history, skus = store.demand_history(), store.skus()
    if history.empty:
        raise DataError("no demand history in the store; run `peakline plant import` first")
    fc = forecast_demand(history, skus, horizon, cal, level=level, n_jobs=n_jobs, peak=peak)
    forecast_id = f"fc-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    meta: dict[str, Any] = {
        "horizon": horizon, "level": level, "country": country, "peak": peak,
        "history_end": str(pd.Timestamp(history["ds"].max()).date()),
        "start": str(pd.Timestamp(fc["ds"].min()).date()), "skus": int(fc["sku"].nunique())}
    effect = store.latest_hold_effect() if hasattr(store, "latest_hold_effect") else None
    if effect is not None:  # recorded holds: the cancellations they avoid are net demand
        from plant.orders.netting import net_with_holds

        hold_meta, hold_df = effect
        festival = dt.date.fromisoformat(hold_meta["festival"])
        fc, from_holds = net_with_holds(fc, hold_df, festival,
                                        int(hold_meta.get("season_days", DEFAULT_SEASON_DAYS)))
        meta["holds"] = {**from_holds, "hold_plan": hold_meta["id"]}
    store.save_forecast(forecast_id, fc, meta)
    return ForecastRun(forecast_id, fc, meta)


def backtest_into_store(store: Any, cal: HolidayCalendar, horizon: int = 60,
                        level: str = "channel", target: str = "net", ets_sample: int = 50,
                        n_jobs: int = 1, peak: str = DEFAULT_PEAK,
                        leads: tuple[int, ...] = (50,),
                        window: tuple[int, int] = FESTIVAL_WINDOW,
                        ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Backtest the forecaster on the stored history around past peaks, ``leads`` days
    before each; store the table."""
    history, skus = store.demand_history(), store.skus()
    if history.empty:
        raise DataError("no demand history in the store; run `peakline plant import` first")
    days = pd.to_datetime(history["ds"])
    origins = sorted({o for lead in leads for o in festival_origins(
        days.min(), days.max(), cal, lead=lead, h=horizon, peak=peak)})
    table, summary = backtest(history, skus, cal, h=horizon, level=level, target=target,
                              ets_sample=ets_sample, n_jobs=n_jobs, peak=peak,
                              origins=origins or None, window=window)
    store.save_backtest(f"bt-{uuid.uuid4().hex[:8]}", table, summary)
    return table, summary
