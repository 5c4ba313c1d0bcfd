"""Calendar features for the forecaster: holiday distances, windows, promotions, weekdays.

Every feature is a function of the date and the :class:`~plant.calendar.HolidayCalendar` only,
so its future values are known and go to the model as exogenous regressors for the horizon.
Distances to the lunar festivals are cut into bins (``ma_m42_m29`` is 1 on the days 42 to 29
before Mid-Autumn), so a festival's shape is learned in festival time, wherever the lunar
calendar puts it in the Gregorian year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peakline.errors import ConfigError
from plant.calendar import HolidayCalendar
from plant.peaks import DEFAULT_PEAK

__all__ = ["BINS", "PEAK_BINS", "calendar_features", "festival_bins", "festival_distance"]

#: day bins relative to each festival (inclusive ranges; negative = before the festival)
BINS: dict[str, list[tuple[int, int]]] = {
    "mid_autumn": [
        (-98, -85), (-84, -71), (-70, -57), (-56, -43), (-42, -36), (-35, -29), (-28, -22),
        (-21, -15), (-14, -11), (-10, -8), (-7, -5), (-4, -3), (-2, -1), (0, 0), (1, 3),
        (4, 14), (15, 45),
    ],
    "dragon_boat": [(-35, -22), (-21, -15), (-14, -8), (-7, -4), (-3, -1), (0, 0), (1, 3)],
    "spring_festival": [
        (-63, -50), (-49, -36), (-35, -29), (-28, -22), (-21, -15), (-14, -8), (-7, -1),
        (0, 6), (7, 14),
    ],
}
_PREFIX = {"mid_autumn": "ma", "dragon_boat": "db", "spring_festival": "sf"}
#: bins around a peak other than the lunar festivals (Easter, Christmas, a festival of the
#: events file): the six weeks before it, finer close to the day, and two weeks after
PEAK_BINS: list[tuple[int, int]] = [
    (-42, -29), (-28, -15), (-14, -8), (-7, -4), (-3, -2), (-1, -1), (0, 0), (1, 3), (4, 14),
]


def festival_bins(cal: HolidayCalendar,
                  peak: str = DEFAULT_PEAK) -> dict[str, list[tuple[int, int]]]:
    """The festivals whose distance bins are features: the lunar ones where the calendar is
    China's or the peak is one of them, and the peak itself."""
    bins = dict(BINS) if cal.country == "CN" or peak in BINS else {}
    if peak not in bins:
        bins[peak] = PEAK_BINS
    return bins


def _name(code: int) -> str:
    return f"m{-code}" if code < 0 else f"p{code}"


def festival_distance(dates: pd.DatetimeIndex, cal: HolidayCalendar, name: str) -> np.ndarray:
    """Signed days from each date to the nearest occurrence of festival ``name``."""
    if len(dates) == 0:
        return np.zeros(0, dtype=np.int64)
    days_all = cal.occurrences(name, dates.min().year - 1, dates.max().year + 1)
    if not days_all:
        raise ConfigError(f"festival {name!r}: no date near {dates.min().year}-"
                          f"{dates.max().year} in the events file")
    fest = np.array([np.datetime64(d, "D") for d in days_all])
    days = dates.values.astype("datetime64[D]")
    diff = (days[:, None] - fest[None, :]).astype(np.int64)
    pick = np.abs(diff).argmin(axis=1)
    return diff[np.arange(len(days)), pick]


def calendar_features(dates: pd.DatetimeIndex | pd.Series, cal: HolidayCalendar,
                      peak: str = DEFAULT_PEAK) -> pd.DataFrame:
    """One row per date (index = the dates), one float column per feature.

    Columns: weekday dummies ``dow_1..dow_6``, yearly Fourier terms ``year_sin1..cos2``,
    festival bins (see :func:`festival_bins`), ``holiday`` (a public holiday of the calendar's
    country more than 14 days from a lunar festival), ``pre_holiday`` (1 to 3 days before
    one), ``pre_festival`` (1 to 5 days before a lunar festival: the cancellation surge),
    and per promotion ``promo_<name>`` plus
    ``promo_<name>_pre`` for its pre-sale window.
    """
    idx = pd.DatetimeIndex(dates).normalize()
    n = len(idx)
    cols: dict[str, np.ndarray] = {}
    dow = idx.dayofweek.values
    for d in range(1, 7):
        cols[f"dow_{d}"] = (dow == d).astype(float)
    doy = 2 * np.pi * idx.dayofyear.values / 365.25
    for k in (1, 2):
        cols[f"year_sin{k}"] = np.sin(k * doy)
        cols[f"year_cos{k}"] = np.cos(k * doy)
    pre_fest = np.zeros(n)
    near_fest = np.zeros(n, dtype=bool)
    for fest, bins in festival_bins(cal, peak).items():
        dist = festival_distance(idx, cal, fest)
        near_fest |= np.abs(dist) <= 14
        for lo, hi in bins:
            cols[f"{_PREFIX.get(fest, fest)}_{_name(lo)}_{_name(hi)}"] = (
                (dist >= lo) & (dist <= hi)).astype(float)
        pre_fest = np.maximum(pre_fest, ((dist >= -5) & (dist <= -1)).astype(float))
    cols["pre_festival"] = pre_fest
    if n:
        hol = cal.public_holidays(idx.min().year, idx.max().year + 1)
        hol_days = np.array(sorted(hol), dtype="datetime64[D]")
    else:
        hol_days = np.array([], dtype="datetime64[D]")
    days = idx.values.astype("datetime64[D]")
    holiday = np.isin(days, hol_days)
    pre = np.zeros(n, dtype=bool)
    for k in (1, 2, 3):
        pre |= np.isin(days + np.timedelta64(k, "D"), hol_days)
    # public holidays away from the lunar festivals (whose bins already model them), so the
    # two do not compete for the same days, e.g. National Day right after a late Mid-Autumn
    cols["holiday"] = (holiday & ~near_fest).astype(float)
    cols["pre_holiday"] = (pre & ~holiday & ~near_fest).astype(float)
    for promo in cal.promotions():
        on = np.zeros(n)
        before = np.zeros(n)
        for ev in cal.events:
            if ev.kind != "promotion" or ev.name != promo:
                continue
            d0 = np.datetime64(ev.date, "D")
            delta = (days - d0).astype(np.int64)
            on = np.maximum(on, ((delta >= 0) & (delta <= ev.days_after)).astype(float))
            before = np.maximum(before, ((delta < 0) & (delta >= -ev.days_before)).astype(float))
        cols[f"promo_{promo}"] = on
        cols[f"promo_{promo}_pre"] = before
    return pd.DataFrame(cols, index=idx)
