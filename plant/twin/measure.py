"""What the camera nodes measured about each line, as the twin's distributions.

The nodes publish a metrics record per window (items, rejects, window length). Per line:

- **speed spread**: the coefficient of variation of items per hour between hours of running
  (quarters of a record shorter than four hours); a line's rate itself is its master-data
  ``units_per_hour`` (the nodes count cakes, not boxes, so only the relative spread carries
  over), and the measured items per running hour are kept for :mod:`plant.twin.validate`;
- **stoppages**: windows with no items, and gaps with no metrics at all (the node or the line
  was down), joined into stoppages; ``mtbf`` = running hours / stoppages, ``mttr`` = mean
  stoppage length. Fewer than two stoppages: the configured ``mtbf_hours``/``mttr_hours``;
- **reject rate**: a Beta distribution by the method of moments: its mean is all rejects over
  all items, its variance the spread of the windows' reject shares less the binomial noise of
  counting (the configured ``reject_cv`` where that is not positive).

Lines the nodes have not measured fall back to the ``[twin]`` settings, and say so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from plant.twin.config import TwinConfig

__all__ = ["LineBehaviour", "beta_params", "fit_line", "measure_lines"]


@dataclass(frozen=True)
class LineBehaviour:
    """A line's variability: speed spread, reject Beta(a, b), breakdown clock, sources."""

    speed_cv: float
    reject_mean: float
    reject_a: float
    reject_b: float
    mtbf: float
    mttr: float
    source: str
    items_per_hour: float = 0.0  # measured while running (0: not measured)

    @property
    def availability(self) -> float:
        """Share of its hours the line runs: MTBF / (MTBF + MTTR)."""
        return self.mtbf / (self.mtbf + self.mttr)

    @classmethod
    def from_config(cls, cfg: TwinConfig, why: str = "no measurements") -> LineBehaviour:
        a, b = beta_params(cfg.reject_rate, cfg.reject_rate * cfg.reject_cv)
        return cls(cfg.speed_cv, cfg.reject_rate, a, b, cfg.mtbf_hours, cfg.mttr_hours,
                   f"config ({why})")


def beta_params(mean: float, sd: float) -> tuple[float, float]:
    """Beta (a, b) with this mean and standard deviation (a tight one where sd is tiny)."""
    mean = min(max(mean, 1e-6), 1 - 1e-6)
    var = min(max(sd, 1e-9) ** 2, mean * (1 - mean) * 0.99)
    k = mean * (1 - mean) / var - 1
    return mean * k, (1 - mean) * k


def _stoppages(ts: np.ndarray, window: np.ndarray, items: np.ndarray) -> list[float]:
    """Lengths in hours of the stoppages: runs of empty windows and gaps between windows."""
    out: list[float] = []
    current = 0.0
    for i in range(len(ts)):
        gap = ts[i] - window[i] - ts[i - 1] if i else 0.0
        if gap > 2 * window[i]:  # no metrics at all: the node or the line was down
            current += gap
        if items[i] <= 0:
            current += window[i]
        elif current > 0:
            out.append(current / 3600.0)
            current = 0.0
    if current > 0:
        out.append(current / 3600.0)
    return out


def _block_cv(ts: np.ndarray, win: np.ndarray, items: np.ndarray, default: float) -> float:
    """Spread of the rate between hours (or quarters of a shorter record): the minute-to-minute
    noise averages out over a day; what is left from hour to hour is what moves a day."""
    if len(ts) < 8:
        return default
    hours = np.floor((ts - ts[0]) / 3600.0).astype(int)
    blocks = hours if hours.max() >= 3 else np.arange(len(ts)) * 4 // len(ts)
    rates = np.array([items[blocks == b].sum() / win[blocks == b].sum()
                      for b in np.unique(blocks)])
    return float(np.std(rates) / np.mean(rates))


def fit_line(metrics: pd.DataFrame, cfg: TwinConfig) -> LineBehaviour:
    """One line's behaviour from its nodes' metrics (columns ts, window_s, items, rejects)."""
    if metrics.empty or float(metrics["items"].sum()) <= 0:
        return LineBehaviour.from_config(cfg)
    m = metrics.groupby("ts", as_index=False)[["window_s", "items", "rejects"]].agg(
        {"window_s": "max", "items": "sum", "rejects": "sum"}).sort_values("ts")
    ts, win = m["ts"].to_numpy(float), m["window_s"].to_numpy(float)
    items, rej = m["items"].to_numpy(float), m["rejects"].to_numpy(float)
    running = items > 0
    rate = float(items[running].sum() / win[running].sum() * 3600.0)
    speed_cv = _block_cv(ts[running], win[running], items[running], cfg.speed_cv)
    stops = _stoppages(ts, win, items)
    run_h = float(win[running].sum()) / 3600.0
    mean = float(rej.sum() / items.sum())
    share = rej[running] / items[running]
    extra = float(np.var(share)) - mean * (1 - mean) / float(np.mean(items[running]))
    sd = float(np.sqrt(extra)) if extra > 0 and running.sum() > 2 else mean * cfg.reject_cv
    a, b = beta_params(mean, sd)
    if len(stops) >= 2:
        mtbf, mttr = run_h / len(stops), float(np.mean(stops))
        src = f"measured: {int(running.sum())} windows, {len(stops)} stoppages"
    else:
        mtbf, mttr = cfg.mtbf_hours, cfg.mttr_hours
        src = f"measured: {int(running.sum())} windows; breakdowns from config"
    return LineBehaviour(speed_cv, mean, a, b, mtbf, mttr, src, rate)


def measure_lines(store: Any, lines: list[str], cfg: TwinConfig, days: float = 7.0,
                  now: float | None = None) -> dict[str, LineBehaviour]:
    """Each line's behaviour from the last ``days`` of its nodes' metrics in the store."""
    now = time.time() if now is None else now
    hist = store.metrics_history(since=now - days * 86400.0)
    out = {}
    for line in lines:
        part = hist[hist["line"] == line] if len(hist) else hist
        out[line] = fit_line(part, cfg)
    return out
