"""Long-format histories as a wide daily panel, with known-in-advance regressors and closures.

A history is ``unique_id, ds, y`` plus any numeric regressor columns whose future values are
known (promotion, open/closed, price, planned marketing); their future values come in a
frame of the same shape without ``y``. :class:`Panel` holds both as ``(days, series)`` arrays
over the history and the horizon, and the **open** mask: a column ``open`` when the history
has one, else closures inferred from the history (:func:`infer_open`). A closed day is not
demand: models leave it out of fitting and forecast it as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from peakline.errors import DataError

__all__ = ["Panel", "infer_open", "regressor_columns"]

_BASE = ("unique_id", "ds", "y")


def regressor_columns(history: pd.DataFrame) -> list[str]:
    """The history's regressor columns: every column but ``unique_id, ds, y``."""
    return [c for c in history.columns if c not in _BASE]


def infer_open(y: np.ndarray, dates: pd.DatetimeIndex, holidays: set, n_all: int) -> np.ndarray:
    """Open days ``(n_all, series)`` from a history ``y`` ``(len(dates), series)`` without an
    ``open`` column: a weekday that was zero on 80% or more of its last 12 occurrences is
    closed (a shop shut on Sundays), and so are public holidays for a series that sold
    nothing on half or more of its past ones. Only a series that sells on most ordinary days
    (zero on under a fifth of the weekdays it keeps open) has closures: in a lumpy series
    (orders twice a season) zeros are demand, not closures. Other zeros are demand."""
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
    hol_days = np.array(sorted(holidays), dtype="datetime64[D]")
    hol_all = np.isin(all_dates.values.astype("datetime64[D]"), hol_days)
    hol_hist = hol_all[:n_hist]
    if hol_hist.sum() >= 2:
        closed = zero[hol_hist].sum(axis=0) >= 0.5 * np.maximum(seen[hol_hist].sum(axis=0), 2)
        is_open[np.ix_(hol_all, closed & regular)] = False
    # a day that sold something was open, whatever the pattern says
    is_open[:n_hist] |= ~zero
    return is_open


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
              holidays: set | None = None) -> Panel:
        """A panel from a checked long history (no gaps) and the regressors' future values."""
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
            is_open = infer_open(y, pd.DatetimeIndex(wide.index), holidays or set(), len(dates))
        return cls(ids, dates, len(wide), y, is_open, regs)
