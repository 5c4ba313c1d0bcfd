"""Features of the global boosted model: one row per series and forecast day, from an origin.

Everything is measured from the **origin** (the first forecast day): the target is the day's
demand over the series' level (the mean of its open days in the 28 days before the origin), so
one model serves series of any size; the lags are taken only from before the origin, so the
same model forecasts every day of the horizon directly (no recursion, no leakage):

- horizon step, weekday, day of month, month, day of year;
- signed days to the nearest occurrence of the peak (clipped to +-60), public holiday, days to
  the next and since the last one (clipped to 15), closed the day before / after and closed
  days in the next three (the rush before a closure);
- each regressor on the day and its difference from its mean over the last 28 days;
- the level (log), the last 7 days over the level, the last same weekday and the mean of the
  last four same weekdays over the level;
- last year: the same weekday 52 weeks back and the day that stood as far from last year's
  peak (for a moving feast such as Easter), each over last year's level at the origin, and the
  growth over the year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.forecast.features import festival_distance
from plant.forecast.panel import Panel, nan_mean

__all__ = ["FeatureMaker"]

_LEVEL_DAYS = 28
_CLIP_PEAK = 60
_CLIP_HOL = 15


def _days_to_next(flags: np.ndarray, clip: int) -> np.ndarray:
    """Days from each row to the next flagged row (0 on one), clipped."""
    out = np.full(len(flags), clip, dtype=float)
    nxt = None
    for i in range(len(flags) - 1, -1, -1):
        if flags[i]:
            nxt = i
        if nxt is not None:
            out[i] = min(clip, nxt - i)
    return out


@dataclass
class FeatureMaker:
    """Builds feature rows for any origin of one :class:`Panel`."""

    panel: Panel
    cal: HolidayCalendar
    peak: str

    def __post_init__(self) -> None:
        p = self.panel
        dates = p.dates
        self.y = np.where(p.open[: p.n_hist], p.y, np.nan)
        dist = festival_distance(dates, self.cal, self.peak).astype(float)
        self.peak_dist = np.clip(dist, -_CLIP_PEAK, _CLIP_PEAK)
        # the day that stood as far from the previous occurrence of the peak
        nearest = (dates - pd.to_timedelta(dist, unit="D")).values.astype("datetime64[D]")
        occ = np.array(self.cal.occurrences(self.peak, dates[0].year - 2, dates[-1].year + 1),
                       dtype="datetime64[D]")
        pos = np.searchsorted(occ, nearest) - 1
        prev = occ[np.clip(pos, 0, None)]
        shift = np.where(pos >= 0, (nearest - prev).astype(np.int64), 364)
        self.peak_shift = np.where(np.abs(dist) <= _CLIP_PEAK, shift, 364)
        hol = self.cal.public_holidays(dates[0].year, dates[-1].year)
        hol_days = np.array(sorted(hol), dtype="datetime64[D]")
        is_hol = np.isin(dates.values.astype("datetime64[D]"), hol_days)
        self.cal_cols = {
            "dow": dates.dayofweek.to_numpy(dtype=float),
            "dom": dates.day.to_numpy(dtype=float),
            "month": dates.month.to_numpy(dtype=float),
            "doy": dates.dayofyear.to_numpy(dtype=float),
            "peak_dist": self.peak_dist,
            "holiday": is_hol.astype(float),
            "to_holiday": _days_to_next(is_hol, _CLIP_HOL),
            "since_holiday": _days_to_next(is_hol[::-1], _CLIP_HOL)[::-1],
        }
        closed = ~p.open
        padded = np.vstack([closed[:1] * False, closed, closed[-1:] * False])
        self.closed_prev = padded[:-2].astype(float)
        self.closed_next = padded[2:].astype(float)
        ahead = np.vstack([closed[1:], np.zeros((3, closed.shape[1]), dtype=bool)])
        self.closed_next3 = (ahead[:-2].astype(int) + ahead[1:-1] + ahead[2:]).astype(float)[
            : len(dates)]

    @staticmethod
    def _take(y: np.ndarray, idx: np.ndarray, origin: int) -> np.ndarray:
        """``y`` at row indices ``idx`` (``(h, series)`` or ``(h,)``), NaN before the start
        or at/after the origin (no look-ahead)."""
        n_series = y.shape[1]
        idx2 = np.broadcast_to(idx.reshape(len(idx), -1), (len(idx), n_series))
        ok = (idx2 >= 0) & (idx2 < origin)
        safe = np.where(ok, idx2, 0)
        vals = y[safe, np.arange(n_series)[None, :]]
        return np.where(ok, vals, np.nan)

    @staticmethod
    def _level(y: np.ndarray, end: int) -> np.ndarray:
        lo = max(0, end - _LEVEL_DAYS)
        if end <= lo:
            return np.full(y.shape[1], np.nan)
        return nan_mean(y[lo:end])

    def level(self, origin: int) -> np.ndarray:
        """Each series' level at ``origin``: the mean of its open days in the 28 before."""
        return self._level(self.y, origin)

    def rows(self, origin: int, h: int,
             series: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """Features for days ``origin .. origin+h-1`` of every series (or of the series at
        the column indices ``series``), and each one's level (the target is demand / level).
        Rows run series-fastest within a day."""
        sel = slice(None) if series is None else series
        y = self.y[:, sel]
        n_series = y.shape[1]
        t = np.arange(origin, origin + h)
        level = self._level(y, origin)
        safe_level = np.where(level > 0, level, np.nan)
        cols: dict[str, np.ndarray] = {"step": np.repeat(np.arange(h, dtype=float), n_series)}
        for name, values in self.cal_cols.items():
            cols[name] = np.repeat(values[t], n_series)
        for name, arr in (("closed_prev", self.closed_prev), ("closed_next", self.closed_next),
                          ("closed_next3", self.closed_next3)):
            cols[name] = arr[t][:, sel].reshape(-1)
        for name, full in self.panel.regressors.items():
            if name == "open":
                continue
            reg = full[:, sel]
            past = reg[max(0, origin - _LEVEL_DAYS):origin].mean(axis=0)
            cols[f"x_{name}"] = reg[t].reshape(-1)
            cols[f"x_{name}_vs_recent"] = (reg[t] - past[None, :]).reshape(-1)
        cols["log_level"] = np.tile(np.log1p(np.nan_to_num(level)), h)
        last7 = nan_mean(y[max(0, origin - 7):origin])
        cols["last7"] = np.tile(last7 / safe_level, h)
        weeks_back = 7 * (np.arange(h) // 7 + 1)
        same = [self._take(y, t - weeks_back - 7 * j, origin) for j in range(4)]
        cols["same_dow"] = (same[0] / safe_level).reshape(-1)
        cols["same_dow4"] = (nan_mean(np.stack(same)) / safe_level).reshape(-1)
        level_ly = self._level(y, origin - 364)
        safe_ly = np.where(level_ly > 0, level_ly, np.nan)
        cols["growth"] = np.tile(level / safe_ly, h)
        ly = self._take(y, t - 364, origin)
        cols["last_year"] = (ly / safe_ly).reshape(-1)
        shift = self.peak_shift[t]
        at_peak = self._take(y, t - shift, origin)
        level_pk = np.stack([self._level(y, origin - s) for s in np.unique(shift)])
        pick = np.searchsorted(np.unique(shift), shift)
        safe_pk = np.where(level_pk[pick] > 0, level_pk[pick], np.nan)
        cols["last_peak"] = (at_peak / safe_pk).reshape(-1)
        near = [self._take(y, t - shift + d, origin) for d in (-1, 1)]
        cols["last_peak3"] = (nan_mean(np.stack([at_peak, *near]))
                              / safe_pk).reshape(-1)
        return pd.DataFrame(cols), level
