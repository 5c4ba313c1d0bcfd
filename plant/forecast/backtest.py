"""Rolling-origin backtest of the store's demand over past peaks, against baselines.

For each past occurrence of the peak (Mid-Autumn by default) with at least a year of history
before it, the forecast origin is ``lead`` days before the festival; every method is trained on
the days before the origin and forecasts ``h`` days. Errors are scored per SKU with MASE (mean
absolute error over the in-sample mean absolute error of the weekly seasonal naive forecast)
and bias (sum of errors over sum of actuals, in per cent), for the festival window (the six
weeks up to the festival) and for the whole horizon; for our forecast also the share of actual
days inside its P10..P90 interval (80% if the intervals are calibrated). Baselines in the same
run: ``seasonal_naive`` (season 7) on every SKU, and ``autoets`` (AutoETS, season 7, no holiday
features) on a fixed, seeded sample of SKUs because its model search is slow;
``holiday@sample`` scores our forecast on that same sample. ``holiday`` is our P50,
``holiday_mean`` our mean (what the plans use for volumes)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar, festival_label
from plant.forecast.conformal import in_peak_window
from plant.forecast.demand import forecast_demand
from plant.forecast.features import festival_distance
from plant.peaks import DEFAULT_PEAK

__all__ = ["FESTIVAL_WINDOW", "backtest", "festival_origins", "score"]

#: days relative to the peak that make up the festival window (default; ``window=`` sets it)
FESTIVAL_WINDOW = (-42, 0)
_TARGETS = {"net": "net", "orders": "orders", "cancellations": "cancel"}


def festival_origins(
    first: pd.Timestamp, last: pd.Timestamp, cal: HolidayCalendar, lead: int = 50,
    h: int = 60, min_train: int = 365, peak: str = DEFAULT_PEAK,
) -> list[pd.Timestamp]:
    """First forecast days: ``lead`` days before each peak the history can score."""
    out = []
    for day in cal.occurrences(peak, first.year, last.year):
        origin = pd.Timestamp(day) - pd.Timedelta(days=lead)
        if origin - pd.Timedelta(days=min_train) >= first and origin + pd.Timedelta(
            days=h - 1
        ) <= last:
            out.append(origin)
    return out


def _actual(df: pd.DataFrame, target: str) -> pd.Series:
    if target == "net":
        return df["orders"] - df["cancellations"]
    return df[target]


def baseline_forecasts(
    train: pd.DataFrame, h: int, ets_ids: list[str], n_jobs: int
) -> pd.DataFrame:
    """Seasonal naive (lag 7) for every series and AutoETS for ``ets_ids``, ``h`` days ahead."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    naive = StatsForecast(models=[SeasonalNaive(season_length=7)], freq="D", n_jobs=n_jobs)
    out = naive.forecast(df=train, h=h)
    ets = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ets_fc = ets.forecast(df=train[train["unique_id"].isin(ets_ids)], h=h)
    return out.merge(ets_fc, on=["unique_id", "ds"], how="left")


def score(errors: pd.DataFrame, method: str, window: str, scale: pd.Series) -> dict:
    """MASE (mean over series with a non-zero scale), bias % and, where the method has
    ``<method>_p10``/``_p90`` columns, the share of actuals inside P10..P90 (ideal 0.8)."""
    covered = float("nan")
    if f"{method}_p10" in errors.columns:
        inside = (errors["y"] >= errors[f"{method}_p10"] - 1e-9) & (
            errors["y"] <= errors[f"{method}_p90"] + 1e-9)
        covered = float(inside.mean()) if len(errors) else float("nan")
    e = errors.assign(abs_err=(errors[method] - errors["y"]).abs(),
                      err=errors[method] - errors["y"])
    per = e.groupby("unique_id").agg(mae=("abs_err", "mean"), err=("err", "sum"),
                                     y=("y", lambda s: s.abs().sum()))
    per["scale"] = scale.reindex(per.index)
    valid = per[per["scale"] > 0]
    return {
        "method": method, "window": window, "series": len(valid),
        "mase": float((valid["mae"] / valid["scale"]).mean()) if len(valid) else float("nan"),
        "bias_pct": float(100 * per["err"].sum() / per["y"].sum()) if per["y"].sum() else 0.0,
        "coverage_p10_p90": covered,
    }


def backtest(
    history: pd.DataFrame, skus: pd.DataFrame, cal: HolidayCalendar, h: int = 60,
    origins: list[pd.Timestamp] | None = None, level: str = "channel", target: str = "net",
    ets_sample: int = 50, seed: int = 0, n_jobs: int = 1, peak: str = DEFAULT_PEAK,
    window: tuple[int, int] = FESTIVAL_WINDOW,
) -> tuple[pd.DataFrame, dict]:
    """Score the holiday forecaster and both baselines; returns (table, summary)."""
    cal.check_peak(peak)
    if target not in _TARGETS:
        raise DataError(f"unknown backtest target {target!r}; expected one of {list(_TARGETS)}")
    hist = history.copy()
    hist["ds"] = pd.to_datetime(hist["ds"])
    if origins is None:
        origins = festival_origins(hist["ds"].min(), hist["ds"].max(), cal, h=h, peak=peak)
    if not origins:
        raise DataError(f"history covers no past {festival_label(peak)} with a year of data "
                        "before it")
    ids = sorted(hist["sku"].unique())
    rng = np.random.default_rng(seed)
    ets_ids = sorted(rng.choice(ids, size=min(ets_sample, len(ids)), replace=False).tolist())
    frames = []
    for origin in origins:
        train = hist[hist["ds"] < origin]
        test = hist[(hist["ds"] >= origin) & (hist["ds"] < origin + pd.Timedelta(days=h))]
        ours = forecast_demand(train, skus, h, cal, level=level, n_jobs=n_jobs, peak=peak)
        pre = _TARGETS[target]
        ours = ours.rename(columns={f"{pre}_p10": "holiday_p10", f"{pre}_p90": "holiday_p90"})
        long = pd.DataFrame({"unique_id": train["sku"], "ds": train["ds"],
                             "y": _actual(train, target).astype(float)})
        base = baseline_forecasts(long, h, ets_ids, n_jobs)
        actual = pd.DataFrame({"unique_id": test["sku"], "ds": test["ds"],
                               "y": _actual(test, target).astype(float)})
        merged = actual.merge(
            ours[["sku", "ds", f"{pre}_p50", f"{pre}_mean", "holiday_p10", "holiday_p90"]]
            .rename(columns={"sku": "unique_id", f"{pre}_p50": "holiday",
                             f"{pre}_mean": "holiday_mean"}),
            on=["unique_id", "ds"],
        ).merge(base, on=["unique_id", "ds"])
        lag = long.pivot(index="ds", columns="unique_id", values="y")
        scale = (lag - lag.shift(7)).abs().mean()
        merged["origin"] = origin
        merged["scale"] = merged["unique_id"].map(scale)
        dist = festival_distance(pd.DatetimeIndex(merged["ds"]), cal, peak)
        merged["festival"] = in_peak_window(dist, window)
        frames.append(merged)
    errors = pd.concat(frames, ignore_index=True)
    table, summary = _summarise(errors, ets_ids, origins, target, level)
    return table, {"peak": peak, "window": list(window), **summary}


def _summarise(errors: pd.DataFrame, ets_ids: list[str], origins: list[pd.Timestamp],
               target: str, level: str) -> tuple[pd.DataFrame, dict]:
    # one scale per series and origin: score each origin's windows as separate "series"
    errors = errors.assign(unique_id=errors["unique_id"] + "@" + errors["origin"].astype(str))
    scale = errors.groupby("unique_id")["scale"].first()
    on_sample = errors["unique_id"].str.split("@").str[0].isin(ets_ids)
    rows = []
    for window, mask in (("festival", errors["festival"]), ("overall", errors["festival"] | True)):
        part = errors[mask]
        rows.append(score(part, "holiday", window, scale))
        rows.append(score(part, "holiday_mean", window, scale))
        rows.append(score(part, "SeasonalNaive", window, scale) | {"method": "seasonal_naive"})
        sample = part[on_sample[mask]]
        rows.append(score(sample, "holiday", window, scale) | {"method": "holiday@sample"})
        rows.append(score(sample, "AutoETS", window, scale) | {"method": "autoets"})
    table = pd.DataFrame(rows)
    fest = table[table["window"] == "festival"].set_index("method")["mase"]
    summary = {
        "target": target, "level": level,
        "origins": [o.date().isoformat() for o in origins],
        "ets_sample_series": len(ets_ids),
        "festival_mase": {k: round(float(v), 4) for k, v in fest.items()},
        "festival_mase_vs_autoets_pct": round(
            float(100 * (1 - fest["holiday@sample"] / fest["autoets"])), 1),
        "festival_mase_vs_seasonal_naive_pct": round(
            float(100 * (1 - fest["holiday"] / fest["seasonal_naive"])), 1),
    }
    return table, summary
