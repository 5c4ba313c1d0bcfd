"""Interval width of the global boosted model, calibrated on held-out days by stratum.

The boosted model's P10..P90 are widened or narrowed around P50 by one factor so that they
cover 80% of held-out days (split conformal calibration). Days around the peak are where the
errors are largest, and the last ``h`` days of history, the usual held-out days, seldom hold
one; so the factor is set apart for each stratum (Mondrian conformal): the peak window (days
:data:`PEAK_WINDOW` around the peak) on the held-out days that lay in it, the same season a
year earlier among them, and the other days on theirs. A stratum with fewer than
:data:`MIN_DAYS` held-out days takes the other days' factor.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_DAYS", "PEAK_WINDOW", "TARGET", "in_peak_window", "width_factor"]

#: days around the peak that make the peak window (inclusive; negative = before): calibrated
#: apart here and scored apart by the peak backtest
PEAK_WINDOW = (-7, 2)
#: share of days P10..P90 should cover
TARGET = 0.8
#: held-out (series, day) points a stratum needs for a factor of its own
MIN_DAYS = 30
_FACTORS = np.linspace(0.6, 3.0, 49)


def in_peak_window(peak_dist: np.ndarray, window: tuple[int, int] = PEAK_WINDOW) -> np.ndarray:
    """Whether each day (signed days to the nearest peak) lies in the peak window."""
    return (peak_dist >= window[0]) & (peak_dist <= window[1])


def width_factor(
    actual: np.ndarray,
    lo: np.ndarray,
    mid: np.ndarray,
    hi: np.ndarray,
    default: float = 1.0,
    min_days: int = MIN_DAYS,
) -> float:
    """The factor ``c`` (0.6 to 3.0) whose band ``mid - c (mid - lo) .. mid + c (hi - mid)``
    covers the share of ``actual`` nearest :data:`TARGET`; ``default`` with fewer than
    ``min_days`` points."""
    if len(actual) < max(1, min_days):
        return default
    below, above = mid - lo, hi - mid
    inside = (
        (actual[None, :] >= mid - _FACTORS[:, None] * below)
        & (actual[None, :] <= mid + _FACTORS[:, None] * above)
    ).mean(axis=1)
    return float(_FACTORS[np.argmin(np.abs(inside - TARGET))])
