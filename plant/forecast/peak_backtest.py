"""Backtest any long-format history around its peak, against seasonal naive and AutoETS.

``peakline plant backtest --csv FILE --peak NAME --lead 21,14 --horizon H``: for every past
occurrence of the peak with at least a year of history before it, origins ``lead`` days
before the peak; from each, our forecaster (:func:`plant.forecast.longform.forecast_long`,
regressors' future values taken from the history itself, as they were known in advance) and the
baselines forecast ``H`` days from the history before the origin. Scored per series and origin:
MASE (over the in-sample MAE of the weekly seasonal naive), bias (sum of errors over sum of
actuals, %) for the whole horizon and the peak window (days ``window`` around the peak), and
the share of actual days inside P10..P90 (80% when calibrated). Baselines in the same run:
``seasonal_naive`` (statsforecast ``SeasonalNaive(7)``) on every series, ``autoets``
(``AutoETS(season_length=7)``, no calendar) on a fixed seeded sample of series (its model
search is slow; ``ours@sample`` is ours on the same sample).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.backtest import baseline_forecasts, score
from plant.forecast.conformal import PEAK_WINDOW, in_peak_window
from plant.forecast.engines import forecast_partitioned
from plant.forecast.features import festival_distance
from plant.forecast.panel import regressor_columns

__all__ = ["PEAK_WINDOW", "backtest_long", "peak_origins"]


def peak_origins(
    first: pd.Timestamp,
    last: pd.Timestamp,
    cal: HolidayCalendar,
    peak: str,
    leads: tuple[int, ...],
    h: int,
    min_train: int = 365,
) -> list[pd.Timestamp]:
    """Origins ``lead`` days before each occurrence of ``peak`` with ``min_train`` days of
    history before it and ``h`` days after it inside the history."""
    out = []
    for occurrence in cal.occurrences(peak, first.year, last.year + 1):
        day = pd.Timestamp(occurrence)
        for lead in leads:
            origin = day - pd.Timedelta(days=lead)
            if (origin - first).days >= min_train and origin + pd.Timedelta(days=h - 1) <= last:
                out.append(origin)
    return sorted(set(out))


def backtest_long(
    history: pd.DataFrame,
    cal: HolidayCalendar,
    peak: str,
    h: int = 28,
    leads: tuple[int, ...] = (21, 14),
    window: tuple[int, int] = PEAK_WINDOW,
    ets_sample: int = 50,
    seed: int = 0,
    n_jobs: int = 1,
    engine: str = "local",
    partition_size: int = 5000,
    scheduler: str | None = None,
    candidates: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, dict]:
    """Score ours and both baselines around every past ``peak``; returns (table, summary).
    ``engine``, ``partition_size``, ``scheduler`` and ``candidates`` are those of
    :func:`plant.forecast.engines.forecast_partitioned`."""
    cal.check_peak(peak)
    hist = history.sort_values(["unique_id", "ds"], ignore_index=True)
    origins = peak_origins(hist["ds"].min(), hist["ds"].max(), cal, peak, leads, h)
    if not origins:
        raise DataError(
            f"the history ({hist['ds'].min().date()} to {hist['ds'].max().date()})"
            f" covers no past {peak} with a year of data before it and {h} days "
            "after the origin"
        )
    ids = sorted(hist["unique_id"].unique())
    rng = np.random.default_rng(seed)
    ets_ids = sorted(rng.choice(ids, size=min(ets_sample, len(ids)), replace=False).tolist())
    regs = regressor_columns(hist)
    frames = []
    for origin in origins:
        train = hist[hist["ds"] < origin]
        test = hist[(hist["ds"] >= origin) & (hist["ds"] < origin + pd.Timedelta(days=h))]
        future = test[["unique_id", "ds", *regs]] if regs else None
        ours = forecast_partitioned(
            train,
            h,
            cal,
            peak=peak,
            future=future,
            engine=engine,
            partition_size=partition_size,
            scheduler=scheduler,
            candidates=candidates,
        )
        ours = ours.rename(
            columns={"p50": "ours", "p10": "ours_p10", "p90": "ours_p90", "mean": "ours_mean"}
        )
        base = baseline_forecasts(train[["unique_id", "ds", "y"]], h, ets_ids, n_jobs)
        merged = (
            test[["unique_id", "ds", "y"]]
            .merge(
                ours[["unique_id", "ds", "ours", "ours_p10", "ours_p90", "ours_mean"]],
                on=["unique_id", "ds"],
            )
            .merge(base, on=["unique_id", "ds"])
        )
        lag = train.pivot(index="ds", columns="unique_id", values="y")
        scale = (lag - lag.shift(7)).abs().mean()
        merged["origin"] = origin
        merged["scale"] = merged["unique_id"].map(scale)
        dist = festival_distance(pd.DatetimeIndex(merged["ds"]), cal, peak)
        merged["peak"] = in_peak_window(dist, window)
        frames.append(merged)
    table, summary = _summarise(
        pd.concat(frames, ignore_index=True), ets_ids, origins, peak, h, leads
    )
    return table, {**summary, "window": list(window)}


def _summarise(
    errors: pd.DataFrame,
    ets_ids: list[str],
    origins: list[pd.Timestamp],
    peak: str,
    h: int,
    leads: tuple[int, ...],
) -> tuple[pd.DataFrame, dict]:
    errors = errors.assign(series=errors["unique_id"])
    errors["unique_id"] = errors["unique_id"] + "@" + errors["origin"].astype(str)
    scale = errors.groupby("unique_id")["scale"].first()
    on_sample = errors["series"].isin(ets_ids)
    rows = []
    for window, mask in (("peak", errors["peak"]), ("horizon", errors["peak"] | True)):
        part = errors[mask]
        rows.append(score(part, "ours", window, scale))
        rows.append(score(part, "ours_mean", window, scale) | {"method": "ours_mean"})
        rows.append(score(part, "SeasonalNaive", window, scale) | {"method": "seasonal_naive"})
        sample = part[on_sample[mask]]
        rows.append(score(sample, "ours", window, scale) | {"method": "ours@sample"})
        rows.append(score(sample, "AutoETS", window, scale) | {"method": "autoets"})
    table = pd.DataFrame(rows)
    per_origin = {}
    for origin, part in errors.groupby("origin"):
        o = score(part, "ours", "horizon", scale)["mase"]
        n = score(part, "SeasonalNaive", "horizon", scale)["mase"]
        per_origin[pd.Timestamp(origin).date().isoformat()] = {
            "ours": round(o, 4),
            "seasonal_naive": round(n, 4),
        }

    def pick(window: str, what: str) -> dict:
        sub = table[table["window"] == window].set_index("method")[what]
        return {k: round(float(v), 4) for k, v in sub.items()}

    summary = {
        "peak": peak,
        "horizon": h,
        "leads": list(leads),
        "origins": [o.date().isoformat() for o in origins],
        "series": int(errors["series"].nunique()),
        "ets_sample_series": len(ets_ids),
        "mase_horizon": pick("horizon", "mase"),
        "mase_peak": pick("peak", "mase"),
        "bias_pct_horizon": pick("horizon", "bias_pct"),
        "bias_pct_peak": pick("peak", "bias_pct"),
        "coverage_p10_p90": {
            "horizon": pick("horizon", "coverage_p10_p90")["ours"],
            "peak": pick("peak", "coverage_p10_p90")["ours"],
        },
        "per_origin_mase": per_origin,
        "origins_worse_than_seasonal_naive": sum(
            v["ours"] > v["seasonal_naive"] for v in per_origin.values()
        ),
    }
    return table, summary
