"""Per-series statsforecast candidates that take the known-in-advance regressors.

The global boosted model (:mod:`plant.forecast.boosted`) may hand a series to one of these
when it lost to it on every held-out origin. ``mfles``: statsforecast's ``MFLES`` (gradient
boosted decomposition: median, weekly Fourier season, trend, exponential smoothing) fitted on
one series with an exogenous matrix of the series' regressors, its open days, public holidays,
the day before a closure and the days around the peak; a closed day is forecast as zero.
"""

from __future__ import annotations

import warnings

import numpy as np

from plant.forecast.boosted_features import FeatureMaker

__all__ = ["CANDIDATES", "arima_forecast", "candidate_forecast", "exog_matrix",
           "mfles_forecast"]


def exog_matrix(fm: FeatureMaker) -> np.ndarray:
    """Known-in-advance columns ``(days, series, k)`` over the history and the horizon."""
    p = fm.panel
    n_days, n_series = p.open.shape
    dist = fm.peak_dist
    shared = np.stack([
        fm.cal_cols["holiday"],
        ((dist >= -7) & (dist <= -1)).astype(float),
        (dist == 0).astype(float),
        ((dist >= 1) & (dist <= 2)).astype(float),
    ], axis=1)
    cols = [np.broadcast_to(shared[:, None, :], (n_days, n_series, shared.shape[1])),
            p.open.astype(float)[:, :, None], fm.closed_next[:, :, None]]
    cols += [reg[:, :, None] for name, reg in p.regressors.items() if name != "open"]
    return np.concatenate(cols, axis=2)


def _mfles(y: np.ndarray, x_fit: np.ndarray | None, x_new: np.ndarray | None,
           h: int) -> np.ndarray:
    from statsforecast.models import MFLES

    return MFLES(season_length=[7]).fit(y, x_fit).predict(h, x_new)["mean"]


def _arima(y: np.ndarray, x_fit: np.ndarray | None, x_new: np.ndarray | None,
           h: int) -> np.ndarray:
    """A weekly seasonal ARIMA(1,0,1)(0,1,1)7 with the regressors, by conditional sum of
    squares (fast); a fit that fails falls back to the weekly seasonal naive."""
    from statsforecast.models import ARIMA

    try:
        model = ARIMA(order=(1, 0, 1), season_length=7, seasonal_order=(0, 1, 1),
                      method="CSS").fit(y, x_fit)
        return model.predict(h, x_new)["mean"]
    except (ValueError, np.linalg.LinAlgError):
        return np.resize(y[-7:], h)


_FITS = {"mfles": _mfles, "arima": _arima}
#: the per-series candidates by name
CANDIDATES = tuple(_FITS)


def mfles_forecast(fm: FeatureMaker, origin: int, h: int,
                   series: np.ndarray | None = None) -> np.ndarray:
    """MFLES's forecast ``(h, len(series))`` of days ``origin .. origin+h-1`` from the days
    before ``origin`` (every series unless ``series``, column indices, is given)."""
    return candidate_forecast("mfles", fm, origin, h, series)


def arima_forecast(fm: FeatureMaker, origin: int, h: int,
                   series: np.ndarray | None = None) -> np.ndarray:
    """The seasonal ARIMA's forecast, as :func:`mfles_forecast`."""
    return candidate_forecast("arima", fm, origin, h, series)


def candidate_forecast(name: str, fm: FeatureMaker, origin: int, h: int,
                       series: np.ndarray | None = None) -> np.ndarray:
    """Candidate ``name``'s forecast ``(h, len(series))`` of days ``origin .. origin+h-1``
    from the days before ``origin`` (every series unless ``series``, column indices, is
    given); closed days are zero."""
    fit = _FITS[name]
    p = fm.panel
    cols = np.arange(p.y.shape[1]) if series is None else np.asarray(series)
    x_all = exog_matrix(fm)
    out = np.zeros((h, len(cols)))
    for k, j in enumerate(cols):
        y = p.y[:origin, j]
        x_fit, x_new = x_all[:origin, j], x_all[origin:origin + h, j]
        keep = x_fit.std(axis=0) > 0  # a constant column is the median's business
        if y.std() == 0:  # nothing to fit: the constant goes on
            pred = np.full(h, y[-1])
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = fit(y, x_fit[:, keep] if keep.any() else None,
                           x_new[:, keep] if keep.any() else None, h)
        out[:, k] = np.where(p.open[origin:origin + h, j], np.clip(pred, 0, None), 0.0)
    return out
