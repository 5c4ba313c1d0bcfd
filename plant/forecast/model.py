"""The holiday-aware forecaster: ridge regression on calendar features + a statsforecast residual.

For each series, ``log1p(y)`` is regressed on a trend and the calendar features of
:func:`~plant.forecast.features.calendar_features` (weekdays, festival-distance bins,
pre-holiday windows, promotions) with a small ridge penalty, all series in one linear solve.
The trend is estimated with two years of history or more; with less it is held at the
year-over-year growth of recent weeks, shrunk by its uncertainty with a strength chosen on
held-out history (:mod:`plant.forecast.growth`). What the regression leaves is
modelled by statsforecast's ``ARIMA`` (AR(1), conditional sum of squares: about 25 ms a
series) with conformal prediction intervals, so the P10/P90 come from the model's own
out-of-sample errors on the last windows of history.
AutoETS takes no regressors and its model search is slow (376 s for 1,000 daily series here),
which is why it is only a baseline.

Quantiles map through ``expm1`` unchanged, so P50 is the median of daily demand; ``mean``
multiplies by a smearing factor for volume totals: Duan's (the mean of ``exp(residual)``),
but conditional on the calendar (``exp(residual)`` regressed on the same features), because the
spread in log space is not the same all year. A lumpy series - a brand OEM channel, a few large
orders a season - has most days near zero and its volume on a few, all in the season: one
factor for the whole history, mostly quiet days, left its mean 90% short in the festival
window of the sample factory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.features import calendar_features
from plant.forecast.growth import aligned_lag, choose_tau, shrink, yoy_growth
from plant.forecast.panel import nan_mean
from plant.peaks import DEFAULT_PEAK

__all__ = ["QUANTILE_COLUMNS", "HolidayForecaster"]

QUANTILE_COLUMNS = ("p10", "p50", "p90")
#: days of history before a trend is estimated; with less it is held at the shrunk
#: year-over-year growth (zero where a year and two weeks are not there to estimate it)
TREND_DAYS = 730
#: feature columns whose effects are taken out before this year is compared with the last
_KNOWN = ("dow_", "holiday", "pre_holiday", "promo_")


@dataclass
class HolidayForecaster:
    """Fit and forecast many daily series at once (long format ``unique_id, ds, y``)."""

    cal: HolidayCalendar
    peak: str = DEFAULT_PEAK
    ridge: float = 0.1
    n_windows: int = 2
    n_jobs: int = 1

    def forecast(self, history: pd.DataFrame, h: int) -> pd.DataFrame:
        """P10/P50/P90 and mean for ``h`` days after the last date in ``history``.

        Returns columns ``unique_id, ds, p10, p50, p90, mean`` (non-negative floats).
        """
        missing = {"unique_id", "ds", "y"} - set(history.columns)
        if missing:
            raise DataError(f"history lacks column(s) {', '.join(sorted(missing))}")
        if h < 1:
            raise DataError("horizon must be at least one day")
        wide = history.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum")
        wide.index = pd.DatetimeIndex(wide.index)
        wide = wide.asfreq("D")
        if len(wide) < 2 * h + 30:
            raise DataError(f"history of {len(wide)} days is too short for a {h}-day horizon")
        last = wide.index[-1]
        future = pd.date_range(last + pd.Timedelta(days=1), periods=h, freq="D")
        design, known = self._design(wide.index.append(future), last)
        x_fit, x_new = design[: len(wide)], design[len(wide):]
        z = np.log1p(np.clip(wide.to_numpy(dtype=float), 0, None))
        coef = self._fit(x_fit, z, wide.index, h, known)
        resid = z - x_fit @ coef
        res_fc = self._residual_forecast(resid, wide.columns, wide.index, h)
        base = x_new @ coef  # (h, n_series)
        # E[exp(residual) | calendar]: the smearing factor of each future day; at least one,
        # as the mean of right-skewed demand is not below its median
        smear = np.clip(x_new @ self._solve(x_fit, np.exp(resid), trend=False), 1.0, None)
        out = {}
        for name, col in (("p10", "lo"), ("p50", "mid"), ("p90", "hi")):
            out[name] = np.clip(np.expm1(base + res_fc[col]), 0, None)
        out["mean"] = np.clip(np.exp(base + res_fc["mid"]) * smear - 1, 0, None)
        n_series = len(wide.columns)
        frame = pd.DataFrame({
            "unique_id": np.tile(wide.columns.to_numpy(), h),
            "ds": np.repeat(future.to_numpy(), n_series),
            **{k: v.reshape(-1) for k, v in out.items()},
        })
        return frame.sort_values(["unique_id", "ds"], ignore_index=True)

    def _design(self, dates: pd.DatetimeIndex,
                last: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        """Intercept, trend (years from ``last``) and calendar features; and which columns
        are weekday, public-holiday and promotion effects (taken out to compare years)."""
        feats = calendar_features(dates, self.cal, self.peak)
        trend = ((dates - last).days.to_numpy() / 365.25)[:, None]
        known = np.array([False, False, *(c.startswith(_KNOWN) for c in feats.columns)])
        return np.hstack([np.ones((len(dates), 1)), trend, feats.to_numpy()]), known

    def _fit(self, x: np.ndarray, z: np.ndarray, dates: pd.DatetimeIndex, h: int,
             known: np.ndarray) -> np.ndarray:
        """Regression coefficients: a free trend from two years of history; with less, the
        trend held at the shrunk year-over-year growth, its strength chosen on held-out days."""
        if len(z) >= TREND_DAYS:
            return self._solve(x, z, trend=True)
        tau = choose_tau(len(z), h, 2 * h + 30,
                         lambda cut, tau: self._level_error(x, z, dates, known, cut, h, tau))
        return self._grown(x, z, dates, known, tau)

    def _grown(self, x: np.ndarray, z: np.ndarray, dates: pd.DatetimeIndex, known: np.ndarray,
               tau: float) -> np.ndarray:
        """Coefficients with the trend (column 1) held at the growth shrunk with prior ``tau``."""
        coef = self._solve(x, z, trend=False)
        if tau == 0.0:
            return coef
        lag = aligned_lag(dates[-1], self.cal, self.peak)
        slope = shrink(*yoy_growth(z - x[:, known] @ coef[known], lag), tau)
        coef = self._solve(x, z - x[:, 1:2] * slope[None, :], trend=False)
        coef[1] += slope
        return coef

    def _level_error(self, x: np.ndarray, z: np.ndarray, dates: pd.DatetimeIndex,
                     known: np.ndarray, cut: int, h: int, tau: float) -> float | None:
        """Summed |mean log error| per series over ``h`` days from ``cut``, fitted before it."""
        coef = self._grown(x[:cut], z[:cut], dates[:cut], known, tau)
        err = z[cut: cut + h] - x[cut: cut + h] @ coef
        per_series = nan_mean(err, axis=0)
        if np.isnan(per_series).all():
            return None
        return float(np.nansum(np.abs(per_series)))

    def _solve(self, x: np.ndarray, z: np.ndarray, trend: bool = True) -> np.ndarray:
        """Ridge coefficients per series; rows where a series has no data are left out.
        ``trend=False`` holds the trend (column 1) at zero: from a year or so of history a
        trend is mostly the season's own shape, and extrapolated it put forecasts at twice
        the level."""
        penalty = np.full(x.shape[1], self.ridge)
        penalty[0] = 0.0
        if not trend:
            penalty[1] = 1e9
        observed = ~np.isnan(z)
        coef = np.zeros((x.shape[1], z.shape[1]))
        if observed.all():
            return np.linalg.solve(x.T @ x + np.diag(penalty), x.T @ z)
        for j in range(z.shape[1]):
            rows = observed[:, j]
            xs = x[rows]
            coef[:, j] = np.linalg.solve(xs.T @ xs + np.diag(penalty), xs.T @ z[rows, j])
        return coef

    def _residual_forecast(
        self, resid: np.ndarray, ids: pd.Index, dates: pd.DatetimeIndex, h: int
    ) -> dict[str, np.ndarray]:
        """AR(1) on the regression residuals with conformal 80% intervals (P10..P90)."""
        from statsforecast import StatsForecast
        from statsforecast.models import ARIMA
        from statsforecast.utils import ConformalIntervals

        n_series = resid.shape[1]
        long = pd.DataFrame({
            "unique_id": np.tile(np.arange(n_series), len(dates)),
            "ds": np.repeat(dates.to_numpy(), n_series),
            "y": resid.reshape(-1),
        }).dropna()
        sf = StatsForecast(models=[ARIMA(order=(1, 0, 0), method="CSS", alias="ar")],
                           freq="D", n_jobs=self.n_jobs)
        with warnings.catch_warnings():
            # CSS on near-white residuals sometimes reports a soft convergence warning
            warnings.simplefilter("ignore", UserWarning)
            fc = sf.forecast(df=long, h=h, level=[80],
                             prediction_intervals=ConformalIntervals(h=h, n_windows=self.n_windows))
        fc = fc.sort_values(["unique_id", "ds"])
        shape = (n_series, h)
        res = {
            "mid": fc["ar"].to_numpy().reshape(shape).T,
            "lo": fc["ar-lo-80"].to_numpy().reshape(shape).T,
            "hi": fc["ar-hi-80"].to_numpy().reshape(shape).T,
        }
        del ids
        return res
