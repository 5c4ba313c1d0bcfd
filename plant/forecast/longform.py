"""Forecast any long-format history: ``unique_id, ds, y`` plus known-in-advance regressors.

``peakline plant forecast --csv HISTORY.csv [--future FUTURE.csv] --horizon H --out FILE``
and the peak backtest call :func:`forecast_long`. The history is checked first
(:func:`check_history`): a gap, a repeated day, a negative or missing value, or a series
shorter than the model needs is refused with a message that names the series and the column.
The forecast is the global boosted model with a per-series fallback to the weekly seasonal
naive (:class:`~plant.forecast.boosted.BoostedForecaster`); columns
``unique_id, ds, p10, p50, p90, mean`` (and ``model``: which one forecast the series).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peakline.errors import ConfigError, DataError
from plant.calendar import HolidayCalendar
from plant.forecast.boosted import BoostedForecaster
from plant.forecast.exog_models import CANDIDATES
from plant.forecast.panel import Panel, regressor_columns
from plant.peaks import DEFAULT_PEAK

__all__ = ["FORECAST_COLUMNS", "check_history", "forecast_long", "min_history_days"]

FORECAST_COLUMNS = ("unique_id", "ds", "p10", "p50", "p90", "mean")


def min_history_days(h: int) -> int:
    """Days of history a series needs for horizon ``h``: two horizons (one held out to
    choose and calibrate), five weeks of lags and a few origins to learn from."""
    return 2 * h + 35 + 8


def check_history(history: pd.DataFrame, h: int) -> pd.DataFrame:
    """The history sorted and typed, or a DataError naming the series and the column."""
    missing = {"unique_id", "ds", "y"} - set(history.columns)
    if missing:
        raise DataError(f"history lacks column(s) {', '.join(sorted(missing))}")
    df = history.copy()
    df["unique_id"] = df["unique_id"].astype(str)
    df["ds"] = pd.to_datetime(df["ds"])
    for col in ["y", *regressor_columns(df)]:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = df.loc[bad].iloc[0]
            raise DataError(f"series {row['unique_id']!r}, column {col!r}: no number on "
                            f"{row['ds'].date()}")
        df[col] = values.astype(float)
    neg = df["y"] < 0
    if neg.any():
        row = df.loc[neg].iloc[0]
        raise DataError(f"series {row['unique_id']!r}, column 'y': negative sales "
                        f"({row['y']:g}) on {row['ds'].date()}")
    dup = df.duplicated(["unique_id", "ds"])
    if dup.any():
        row = df.loc[dup].iloc[0]
        raise DataError(f"series {row['unique_id']!r}, column 'ds': {row['ds'].date()} is "
                        "given twice")
    df = df.sort_values(["unique_id", "ds"], ignore_index=True)
    step = df.groupby("unique_id")["ds"].diff().dt.days
    gap = step > 1
    if gap.any():
        row = df.loc[gap].iloc[0]
        before = row["ds"] - pd.Timedelta(days=int(step[gap].iloc[0]))
        raise DataError(f"series {row['unique_id']!r}, column 'ds': no rows between "
                        f"{before.date()} and {row['ds'].date()} (give every day; a closed "
                        "day is y=0, or open=0 in an 'open' column)")
    need = min_history_days(h)
    length = df.groupby("unique_id")["ds"].agg(["min", "max", "size"])
    short = length[length["size"] < need]
    if len(short):
        sid = str(short.index[0])
        raise DataError(f"series {sid!r}, column 'ds': {int(short['size'].iloc[0])} days of "
                        f"history, fewer than the {need} a {h}-day horizon needs")
    if length["max"].nunique() > 1:
        last = length["max"].max()
        sid = str(length.index[length["max"] < last][0])
        raise DataError(f"series {sid!r}, column 'ds': ends on "
                        f"{length.loc[sid, 'max'].date()}, the others on {last.date()} "
                        "(all series must end on the same day)")
    return df


def forecast_long(
    history: pd.DataFrame, h: int, cal: HolidayCalendar, peak: str = DEFAULT_PEAK,
    future: pd.DataFrame | None = None, candidates: tuple[str, ...] = (),
) -> pd.DataFrame:
    """P10/P50/P90 and mean for ``h`` days after the history, per series. ``candidates``
    (:data:`plant.forecast.exog_models.CANDIDATES`, none by default) may each take a series
    from the boosted model on the held-out origins."""
    if h < 1:
        raise DataError("horizon must be at least one day")
    cal.check_peak(peak)
    unknown = sorted(set(candidates) - set(CANDIDATES))
    if unknown:
        raise ConfigError(f"unknown candidate {unknown[0]!r}; expected one of "
                          f"{', '.join(CANDIDATES)}")
    df = check_history(history, h)
    if future is not None:
        future = future.copy()
        future["unique_id"] = future["unique_id"].astype(str)
        future["ds"] = pd.to_datetime(future["ds"])
    years = range(df["ds"].min().year, df["ds"].max().year + 2)
    hol = cal.public_holiday_names(years[0], years[-1])
    panel = Panel.build(df, h, future, hol)
    model = BoostedForecaster(cal, peak=peak, candidates=tuple(candidates))
    return model.forecast(panel)
