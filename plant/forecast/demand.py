"""Net demand per SKU: forecast where the signal is, split to SKUs, net of cancellations.

Gross orders and cancellations are forecast separately by :class:`HolidayForecaster` at an
aggregate level (``channel`` by default: brand OEM, retail and e-commerce follow different
festival curves, and single SKUs of lumpy OEM orders carry little signal), then split to SKUs
by their shares: the share a SKU had in the last two festival seasons (100 days up to the peak,
Mid-Autumn by default, the later season weighted double) for days in the coming season, and its
share of the last ``share_days`` days otherwise. Shares sum to one within a group, so the SKU
forecasts add up exactly to the group, flavour and total forecasts (:func:`rollup`): the
hierarchy is coherent by construction for P50 and mean. Quantiles of a sum are not sums of
quantiles; :func:`rollup` adds them, the comonotone (conservative) case, which is close to the
truth in a festival season when one error - the size of the festival - moves every SKU
together.

Net demand: every net quantile subtracts the same ``cancel_p50`` from the order quantile
(``net_p10 = orders_p10 - cancel_p50`` and so on; cancellations' own spread is small next to the
orders'), and ``net_mean = orders_mean - cancel_mean``. One rule for all keeps
``net_p10 <= net_p50 <= net_p90`` wherever the order quantiles are ordered, and keeps the sums
additive: a day's net may be below zero when it cancels more than it orders (cancellations are
of orders placed earlier), and the season's net is orders less cancellations. Whoever needs a
quantity to make clips at zero (production does). SKU-level P10/P90 are widened to conformal
bounds from the last seasons (:mod:`plant.forecast.intervals`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.features import festival_distance
from plant.forecast.intervals import apply_bounds, calibration_origins, log_error_bounds
from plant.forecast.model import HolidayForecaster
from plant.forecast.peak_choice import choose_peak
from plant.forecast.per_sku import boosted_sku_forecast
from plant.peaks import DEFAULT_PEAK

__all__ = ["LEVELS", "forecast_demand", "rollup", "sku_shares"]

#: aggregation level -> the SKU master columns that define a group
LEVELS: dict[str, tuple[str, ...]] = {
    "sku": ("sku",),
    "channel": ("channel",),
    "flavour": ("flavour",),
    "flavour_channel": ("flavour", "channel"),
    "total": (),
}
_STATS = ("p10", "p50", "p90", "mean")
_SEASON = (-100, 0)


def _groups(skus: pd.DataFrame, level: str) -> pd.Series:
    if level not in LEVELS:
        raise DataError(f"unknown forecast level {level!r}; expected one of {', '.join(LEVELS)}")
    cols = LEVELS[level]
    if not cols:
        return pd.Series("total", index=skus["sku"].to_numpy())
    key = skus[list(cols)].astype(str).agg("|".join, axis=1)
    return pd.Series(key.to_numpy(), index=skus["sku"].to_numpy())


def sku_shares(
    history: pd.DataFrame, group: pd.Series, value: str, future: pd.DatetimeIndex,
    cal: HolidayCalendar, share_days: int = 56, peak: str = DEFAULT_PEAK,
) -> pd.DataFrame:
    """Share of each SKU in its group for each future day (columns: sku, ds, share)."""
    hist = history[["sku", "ds", value]].copy()
    hist["group"] = hist["sku"].map(group)
    last = hist["ds"].max()
    dist = pd.Series(festival_distance(pd.DatetimeIndex(hist["ds"]), cal, peak),
                     index=hist.index)
    in_season = (dist >= _SEASON[0]) & (dist <= _SEASON[1])
    season_year = hist["ds"].dt.year
    weights = pd.Series(0.0, index=hist.index)
    years = sorted(season_year[in_season & (hist["ds"] <= last)].unique())[-2:]
    for rank, year in enumerate(years, start=1):
        weights[in_season & (season_year == year)] = float(rank)
    recent = hist["ds"] > last - pd.Timedelta(days=share_days)

    def share(mask: pd.Series, w: pd.Series | None = None) -> pd.Series:
        v = hist.loc[mask, value] * (1.0 if w is None else w[mask])
        per_sku = v.groupby(hist.loc[mask, "sku"]).sum().reindex(group.index, fill_value=0.0)
        per_group = per_sku.groupby(group).transform("sum")
        even = 1.0 / group.groupby(group).transform("size")
        return (per_sku / per_group.replace(0, np.nan)).fillna(even)

    recent_share = share(recent)
    season_share = share(weights > 0, weights) if years else recent_share
    fut_dist = festival_distance(future, cal, peak)
    fut_season = (fut_dist >= _SEASON[0]) & (fut_dist <= _SEASON[1])
    skus = group.index.to_numpy()
    rows = np.where(fut_season[:, None], season_share.to_numpy()[None, :],
                    recent_share.to_numpy()[None, :])
    return pd.DataFrame({
        "sku": np.tile(skus, len(future)),
        "ds": np.repeat(future.to_numpy(), len(skus)),
        "share": rows.reshape(-1),
    })


def forecast_demand(
    history: pd.DataFrame, skus: pd.DataFrame, h: int, cal: HolidayCalendar,
    level: str = "channel", n_jobs: int = 1, calibrate: bool = True, peak: str | None = None,
    future: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Daily SKU forecast of orders, cancellations and net demand with P10/P50/P90 and mean.

    ``calibrate`` widens each SKU's P10/P90 to conformal bounds from the same season in the
    last one or two years (:mod:`plant.forecast.intervals`); it costs a fit per year.

    ``history`` has columns ``sku, ds, orders, cancellations``; the result has ``sku, ds`` and
    ``{orders,cancel,net}_{p10,p50,p90,mean}``. At ``level="sku"`` each SKU is a series of
    the global boosted model (:mod:`plant.forecast.per_sku`): further numeric columns of the
    history are known-in-advance regressors of its orders, their values for the horizon in
    ``future`` (``sku, ds`` and the same columns). Without ``peak`` the peak-distance
    features follow the data: the calendar's holiday that lifted the history most
    (:func:`plant.forecast.peak_choice.choose_peak`; Mid-Autumn for a Chinese calendar).
    """
    missing = {"sku", "ds", "orders", "cancellations"} - set(history.columns)
    if missing:
        raise DataError(f"demand history lacks column(s) {', '.join(sorted(missing))}")
    unknown = set(history["sku"]) - set(skus["sku"])
    if unknown:
        raise DataError(f"demand history has SKUs missing from the SKU master: "
                        f"{', '.join(sorted(unknown)[:5])}")
    hist = history.copy()
    hist["ds"] = pd.to_datetime(hist["ds"])
    known = skus[skus["sku"].isin(set(hist["sku"]))]
    group = _groups(known, level)
    hist["group"] = hist["sku"].map(group)
    peak = cal.check_peak(peak) if peak is not None else choose_peak(hist, cal)
    if level == "sku":
        out = boosted_sku_forecast(hist, h, cal, peak, future)
    else:
        model = HolidayForecaster(cal, peak=peak, n_jobs=n_jobs)
        out = _gross_forecast(hist, group, h, cal, model)
        if calibrate:
            out = _calibrate(out, hist, group, h, cal, model)
    for q in ("p10", "p50", "p90"):
        out[f"net_{q}"] = out[f"orders_{q}"] - out["cancel_p50"]
    out["net_mean"] = out["orders_mean"] - out["cancel_mean"]
    return out.sort_values(["sku", "ds"], ignore_index=True)


def _gross_forecast(hist: pd.DataFrame, group: pd.Series, h: int, cal: HolidayCalendar,
                    model: HolidayForecaster) -> pd.DataFrame:
    """Orders and cancellations per SKU: model the groups, split by shares."""
    parts = {}
    for value, prefix in (("orders", "orders"), ("cancellations", "cancel")):
        agg = hist.groupby(["group", "ds"], as_index=False)[value].sum()
        agg = agg.rename(columns={"group": "unique_id", value: "y"})
        fc = model.forecast(agg, h)
        future = pd.DatetimeIndex(sorted(fc["ds"].unique()))
        value_for_share = value if hist[value].sum() > 0 else "orders"
        shares = sku_shares(hist, group, value_for_share, future, cal, peak=model.peak)
        shares["unique_id"] = shares["sku"].map(group)
        merged = shares.merge(fc, on=["unique_id", "ds"], how="left")
        for stat in _STATS:
            merged[f"{prefix}_{stat}"] = merged[stat] * merged["share"]
        parts[prefix] = merged[["sku", "ds", *(f"{prefix}_{s}" for s in _STATS)]]
    return parts["orders"].merge(parts["cancel"], on=["sku", "ds"])


def _calibrate(out: pd.DataFrame, hist: pd.DataFrame, group: pd.Series, h: int,
               cal: HolidayCalendar, model: HolidayForecaster) -> pd.DataFrame:
    """SKU-level conformal P10/P90 from the same season in past years (see intervals)."""
    origin = hist["ds"].max() + pd.Timedelta(days=1)
    preds, actuals = [], []
    for back in calibration_origins(hist["ds"].min(), origin, h, 2 * h + 30):
        preds.append(_gross_forecast(hist[hist["ds"] < back], group, h, cal, model))
        actuals.append(hist[(hist["ds"] >= back) & (hist["ds"] < back + pd.Timedelta(days=h))])
    if not preds:
        return out
    past, actual = pd.concat(preds, ignore_index=True), pd.concat(actuals, ignore_index=True)
    for value, prefix in (("orders", "orders"), ("cancellations", "cancel")):
        bounds = log_error_bounds(past, actual, f"{prefix}_p50", value)
        out = apply_bounds(out, bounds, prefix)
    return out


def rollup(
    fc: pd.DataFrame, skus: pd.DataFrame, by: tuple[str, ...] = (), freq: str | None = "W-SUN"
) -> pd.DataFrame:
    """Sum a SKU forecast to ``by`` (e.g. ``("flavour",)``; ``()`` = total), weekly by default."""
    df = fc.merge(skus[["sku", *[c for c in by if c != "sku"]]], on="sku", how="left")
    keys: list = list(by)
    if freq:
        df["week"] = pd.to_datetime(df["ds"]).dt.to_period(freq).dt.start_time
        keys.append("week")
    else:
        keys.append("ds")
    num = [c for c in fc.columns if c not in ("sku", "ds")]
    return df.groupby(keys, as_index=False)[num].sum()
