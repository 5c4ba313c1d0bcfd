"""Growth from a year and a few weeks of history: a trend the calendar regression can hold.

With less than two years of history :class:`~plant.forecast.model.HolidayForecaster` cannot
estimate a trend (from one year it is mostly the season's own shape), so it forecasts this
season at the size of the seasons it learned from, a year or two smaller in a growing
business. Planners correct that with the year-over-year ratio of recent weeks, and so does
this module, in the model's space (``log1p`` of daily demand, with the regression's weekday,
public-holiday and promotion effects taken out): each of the last ``weeks`` weeks is compared
with the days at the same distance from the peak a year earlier (shifted by the days between
the occurrence of the peak nearest to them and the one before it, so a lunar festival's ramp is
compared with last year's ramp, not with the days it has moved away from). The mean weekly
difference is the year's log growth, its spread over the weeks the standard error. (Residuals
of the calendar regression are no substitute: with two seasons of history a festival bin's
coefficient is the mean of last year's and this year's days, and their difference, the
growth, disappears into it.)

The estimate is shrunk towards no growth by its uncertainty, ``g * tau^2 / (tau^2 + se^2)``
(a normal prior of scale ``tau`` on the yearly log growth), and ``tau`` is chosen on held-out
history: the forecaster is re-fitted, growth included, from earlier cut points (the same
season a year earlier and the last four horizons) and the ``tau`` whose forecasts had the
smallest level error over those horizons wins; ``tau = 0`` (no growth) where none can be
scored and on ties.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.forecast.panel import nan_mean

__all__ = ["LAG_DAYS", "TAUS", "aligned_lag", "choose_tau", "shrink", "yoy_growth"]

#: 52 weeks: the same weekdays a year earlier, where the peak does not move
LAG_DAYS = 364
#: prior scales of the yearly log growth tried on held-out history (0 = no growth)
TAUS = (0.0, 0.03, 0.1, 0.3, np.inf)
#: horizons before the end from which held-out forecasts are scored (and a year before it)
HELD_OUT = 4
#: weeks of recent history compared with a year earlier (at least 2 needed for a spread)
WEEKS = 8


def aligned_lag(last: pd.Timestamp, cal: HolidayCalendar, peak: str,
                weeks: int = WEEKS) -> int:
    """Days back to the same festival distance a year earlier, for the ``weeks`` weeks up to
    ``last``: the days between the occurrence of ``peak`` nearest to them and the one before
    it; 364 (the same weekdays) where the peak has no such pair of dates."""
    middle = pd.Timestamp(last) - pd.Timedelta(days=7 * weeks // 2)
    days = [pd.Timestamp(d) for d in cal.occurrences(peak, middle.year - 2, middle.year + 1)]
    if len(days) < 2:
        return LAG_DAYS
    near = min(range(len(days)), key=lambda i: abs((days[i] - middle).days))
    gap = (days[near] - days[near - 1]).days if near > 0 else 0
    return gap if 300 <= gap <= 430 else LAG_DAYS


def yoy_growth(z: np.ndarray, lag: int = LAG_DAYS,
               weeks: int = WEEKS) -> tuple[np.ndarray, np.ndarray]:
    """Yearly log growth and its standard error per series of ``z`` (``(days, series)``,
    ``log1p`` of demand without the known calendar effects, NaN where unobserved) from the
    last ``weeks`` weeks against the days ``lag`` days earlier.

    Series with fewer than two comparable weeks (a history shorter than ``lag`` plus two
    weeks, or gaps) get growth 0 with an infinite standard error.
    """
    n_days, n_series = z.shape
    usable = min(weeks, (n_days - lag) // 7)
    growth = np.zeros(n_series)
    se = np.full(n_series, np.inf)
    if usable < 2:
        return growth, se
    span = 7 * usable
    recent = z[n_days - span:]
    earlier = z[n_days - span - lag: n_days - lag]
    diff = (recent - earlier).reshape(usable, 7, n_series)
    weekly = nan_mean(diff, axis=1)
    per_year = 365.25 / lag
    for j in range(n_series):
        w = weekly[:, j][np.isfinite(weekly[:, j])]
        if len(w) >= 2:
            growth[j] = per_year * w.mean()
            se[j] = per_year * w.std(ddof=1) / np.sqrt(len(w))
    return growth, se


def shrink(growth: np.ndarray, se: np.ndarray, tau: float) -> np.ndarray:
    """``growth * tau^2 / (tau^2 + se^2)``: none at ``tau = 0``, all of it at ``tau = inf``."""
    if tau == 0.0:
        return np.zeros_like(growth)
    if np.isinf(tau):
        return np.where(np.isfinite(se), growth, 0.0)
    return growth * tau**2 / (tau**2 + se**2)


def choose_tau(
    n_days: int, h: int, min_train: int,
    level_error: Callable[[int, float], float | None],
) -> float:
    """The prior scale in :data:`TAUS` with the smallest summed held-out level error.

    Cut points: a year before the end and one to :data:`HELD_OUT` horizons before it, where at least
    ``min_train`` days and 52 weeks plus two precede them.
    ``level_error(cut, tau)`` fits on the days before ``cut`` and returns the error over
    the ``h`` days from it, or None when it cannot be scored.
    """
    cuts = sorted({n_days - back for back in (LAG_DAYS, *(k * h for k in range(1, HELD_OUT + 1)))
                   if n_days - back >= max(min_train, LAG_DAYS + 14)})
    cuts = [c for c in cuts if c + h <= n_days]
    if not cuts:
        return 0.0
    best, best_err = 0.0, np.inf
    for tau in TAUS:
        errs = [level_error(c, tau) for c in cuts]
        scored = [e for e in errs if e is not None]
        if not scored:
            return 0.0
        total = float(np.sum(scored))
        if total < best_err - 1e-12:
            best, best_err = tau, total
    return best
