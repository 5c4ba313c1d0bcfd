"""Long-format histories as a wide daily panel, with known-in-advance regressors and closures.

A history is ``unique_id, ds, y`` plus any numeric regressor columns whose future values are
known (promotion, open/closed, price, planned marketing); their future values come in a
frame of the same shape without ``y``. :class:`Panel` holds both as ``(days, series)`` arrays
over the history and the horizon, and the **open** mask: a column ``open`` when the history
has one, else closures inferred from the history (:func:`infer_open`). A closed day is not
demand: models leave it out of fitting and forecast it as zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from peakline.errors import DataError

__all__ = ["Panel", "infer_open", "nan_mean", "regressor_columns"]

_BASE = ("unique_id", "ds", "y")


def regressor_columns(history: pd.DataFrame) -> list[str]:
    """The history's regressor columns: every column but ``unique_id, ds, y``."""
    return [c for c in history.columns if c not in _BASE]


def nan_mean(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """Mean over ``axis`` of the values that are not NaN (a panel's unobserved days), NaN
    where there are none - without numpy's warning (whose suppression with
    ``warnings.catch_warnings`` is not thread-safe)."""
    seen = ~np.isnan(a)
    count = seen.sum(axis=axis)
    total = np.where(seen, a, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def infer_open(y: np.ndarray, dates: pd.DatetimeIndex, holidays: Mapping[dt.date, str],
               n_all: int) -> np.ndarray:
    """Open days ``(n_all, series)`` from a history ``y`` ``(len(dates), series)`` without an
    ``open`` column: a weekday that was zero on 80% or more of its last 12 occurrences is
    closed (a shop shut on Sundays), and so is a public holiday (``holidays``: day -> name,
    :meth:`plant.calendar.HolidayCalendar.public_holiday_names`) that the series closes
    (:func:`_closed_holidays`; a holiday counts as shut on a past occurrence that sold
    nothing or near nothing, :func:`_near_zero_holidays`). Only a series that sells on most
    ordinary days (zero on under a fifth of the weekdays it keeps open) has closures: in a
    lumpy series (orders twice a season) zeros are demand, not closures. Other zeros are
    demand. A past day was open if it sold something, except a holiday occurrence that sold
    near nothing on a holiday the series closes: it is closed like an ``open`` = 0 day (its
    few units, returns or adjustments booked while shut, are left out of fitting and lags)."""
    n_hist, n_series = y.shape
    all_dates = pd.date_range(dates[0], periods=n_all, freq="D")
    seen = ~np.isnan(y)
    zero = seen & (np.nan_to_num(y, nan=1.0) <= 0)
    is_open = np.ones((n_all, n_series), dtype=bool)
    dow_hist = dates.dayofweek.to_numpy()
    dow_all = all_dates.dayofweek.to_numpy()
    recent = np.arange(n_hist) >= n_hist - 84
    closed_dow = np.zeros((7, n_series), dtype=bool)
    for d in range(7):
        rows = (dow_hist == d) & recent
        if rows.sum() >= 4:
            closed_dow[d] = zero[rows].sum(axis=0) >= 0.8 * np.maximum(seen[rows].sum(axis=0), 4)
    kept = ~closed_dow[dow_hist]  # (n_hist, series): the weekdays a series keeps open
    observed = (seen & kept).sum(axis=0)
    zero_rate = np.where(observed > 0, (zero & kept).sum(axis=0) / np.maximum(observed, 1), 1.0)
    regular = (zero_rate < 0.2) & ((~closed_dow).sum(axis=0) >= 3)
    closed_dow &= regular[None, :]
    for d in range(7):
        is_open[np.ix_(dow_all == d, closed_dow[d])] = False
    shut = zero | _near_zero_holidays(y, all_dates, holidays)
    is_open &= ~(_closed_holidays(shut, seen, all_dates, holidays) & regular[None, :])
    # a day that sold more than near nothing was open, whatever the pattern says
    is_open[:n_hist] |= ~shut
    return is_open


NEAR_ZERO = 1 / 200
"""A holiday occurrence that sold under this fraction of the series' level (the median of
the days that sold something in the four weeks either side) counts as shut: M5's stores book
1-11 units (at most 0.3% of their level) on the Christmas Days they are closed, while no
holiday that M5, Favorita or the pharmacy set marks open sold under 1% of its level. Below a
level of 200 a day the threshold is under one unit, so a series of whole units needs an exact
zero."""


def _near_zero_holidays(y: np.ndarray, all_dates: pd.DatetimeIndex,
                        holidays: Mapping[dt.date, str]) -> np.ndarray:
    """Past public holidays ``(len(y), series)`` on which the series sold something, but under
    :data:`NEAR_ZERO` of its level; a level needs 7 days that sold something around it."""
    n_hist = y.shape[0]
    first = all_dates[0].date()
    rows = sorted({i for day in holidays if 0 <= (i := (day - first).days) < n_hist})
    sold = np.where(y > 0, y, np.nan)  # NaN (not seen) compares False
    near = np.zeros(y.shape, dtype=bool)
    for i in rows:
        window = sold[max(0, i - 28):i + 29]
        enough = (~np.isnan(window)).sum(axis=0) >= 7
        if enough.any():
            level = np.nanmedian(window[:, enough], axis=0)
            near[i, enough] = sold[i, enough] < NEAR_ZERO * level
    return near


def _closed_holidays(zero: np.ndarray, seen: np.ndarray, all_dates: pd.DatetimeIndex,
                     holidays: Mapping[dt.date, str]) -> np.ndarray:
    """Closed public holidays ``(len(all_dates), series)``, decided per holiday (by name, so
    the same holiday across years; a day with two is closed if either is): closed if the
    series was shut (``zero``: sold nothing or near nothing) on most (over half) of that
    holiday's past occurrences - one is enough, as a regular series rarely sells nothing on
    a day it opens. A holiday with no past occurrence follows the series' holidays
    together: closed if it was shut on half or more of them (at least two seen)."""
    n_hist = zero.shape[0]
    first = all_dates[0].date()
    days: dict[str, list[int]] = {}
    for day, names in holidays.items():
        i = (day - first).days
        if 0 <= i < len(all_dates):
            for name in names.split("; "):
                days.setdefault(name, []).append(i)
    past = sorted({i for rows in days.values() for i in rows if i < n_hist})
    pooled = np.zeros(zero.shape[1], dtype=bool)
    if len(past) >= 2:
        pooled = zero[past].sum(axis=0) >= 0.5 * np.maximum(seen[past].sum(axis=0), 2)
    closed = np.zeros((len(all_dates), zero.shape[1]), dtype=bool)
    for rows in days.values():
        hist = [i for i in rows if i < n_hist]
        n_seen = seen[hist].sum(axis=0)
        shut = np.where(n_seen >= 1, 2 * zero[hist].sum(axis=0) > n_seen, pooled)
        closed[rows] |= shut[None, :]
    return closed


@dataclass
class Panel:
    """``y`` is ``(n_hist, series)``; ``open`` and each regressor ``(n_hist + h, series)``."""

    ids: pd.Index
    dates: pd.DatetimeIndex  # history and horizon
    n_hist: int
    y: np.ndarray
    open: np.ndarray
    regressors: dict[str, np.ndarray]

    @property
    def future(self) -> pd.DatetimeIndex:
        return self.dates[self.n_hist:]

    @classmethod
    def build(cls, history: pd.DataFrame, h: int, future: pd.DataFrame | None = None,
              holidays: Mapping[dt.date, str] | None = None) -> Panel:
        """A panel from a checked long history (no gaps), the regressors' future values and the
        public holidays by name (for closures inferred without an ``open`` column)."""
        wide = history.pivot(index="ds", columns="unique_id", values="y")
        wide.index = pd.DatetimeIndex(wide.index)
        wide = wide.asfreq("D")
        ids = wide.columns
        dates = wide.index.append(pd.date_range(wide.index[-1] + pd.Timedelta(days=1),
                                                periods=h, freq="D"))
        names = regressor_columns(history)
        regs: dict[str, np.ndarray] = {}
        for name in names:
            past = history.pivot(index="ds", columns="unique_id", values=name)
            past = past.reindex(index=wide.index, columns=ids)
            if future is None or name not in future.columns:
                raise DataError(f"regressor {name!r} is in the history but its future values "
                                "are missing (give them with --future: unique_id, ds, "
                                f"{name})")
            fut = future.pivot(index="ds", columns="unique_id", values=name)
            fut.index = pd.DatetimeIndex(fut.index)
            fut = fut.reindex(index=dates[len(wide):], columns=ids)
            if fut.isna().to_numpy().any():
                col = fut.isna().any(axis=0)
                sid = str(col[col].index[0])
                day = fut.index[fut[sid].isna().to_numpy()][0].date()
                raise DataError(f"future values: series {sid!r}, column {name!r}: no value "
                                f"for {day} (the horizon needs every day)")
            regs[name] = np.vstack([past.to_numpy(dtype=float), fut.to_numpy(dtype=float)])
        y = wide.to_numpy(dtype=float)
        if "open" in regs:
            is_open = regs["open"] > 0
        else:
            is_open = infer_open(y, pd.DatetimeIndex(wide.index), holidays or {}, len(dates))
        return cls(ids, dates, len(wide), y, is_open, regs)
