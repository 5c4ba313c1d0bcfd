"""A short-horizon price forecast with intervals, chosen per material on its own history.

Prices are modelled in logs on the series' own regular grid (weekly for daily or weekly
quotes, monthly for monthly ones). Three candidates:

- ``random_walk``: the last price (the hard-to-beat baseline of commodity prices);
- ``mean_reversion``: an AR(1) pull of the log price back to its trailing-year mean;
- ``seasonal``: the same, around a seasonal profile - the average deviation from the yearly
  mean at the same moment of the past (up to three) years, where "the same moment" is the
  same distance from the festival when a holiday calendar is given (the pre-festival run-up
  of lotus seeds or eggs moves with the lunar calendar), else the same week of the year.

Each is scored on rolling origins over the last part of the history (the most recent
``holdout`` share, at least a year) at horizons 1..``horizon``; the one with the lowest mean
absolute log error is kept. Its errors at each horizon on those origins are the forecast's
distribution (empirical, conformal-style), so P10/P90 come from how wrong the chosen method
really was on this series, not from an assumed normal; where too few errors exist at a
horizon, a normal with the series' volatility x sqrt(h) is used. Volatility is the standard
deviation of the log changes over the last year, annualised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.peaks import DEFAULT_PEAK

__all__ = ["METHODS", "PriceForecast", "fit_price_model", "regular_series", "year_lags"]

METHODS = ("random_walk", "mean_reversion", "seasonal")
#: fewest held-out errors at a horizon for an empirical distribution
MIN_ERRORS = 8


def regular_series(prices: pd.DataFrame) -> tuple[pd.Series, str]:
    """One item's ``date, price`` rows as a regular series of mean prices: (series, freq).

    Weekly (``W-MON``, weeks starting Monday) when quotes come at most 10 days apart, else
    monthly (``MS``); a period without a quote carries the last price forward.
    """
    d = pd.to_datetime(prices["date"])
    spacing = float(np.median(np.diff(np.sort(d.unique())).astype("timedelta64[D]").astype(float))
                    ) if len(d) > 1 else 7.0
    if spacing <= 10:
        freq, key = "W-MON", d.dt.to_period("W-SUN").dt.start_time
    else:
        freq, key = "MS", d.dt.to_period("M").dt.start_time
    s = prices["price"].astype(float).groupby(key.to_numpy()).mean().sort_index()
    s = s.reindex(pd.date_range(s.index.min(), s.index.max(), freq=freq)).ffill()
    return s, freq


def _steps_per_year(freq: str) -> int:
    return 52 if freq.startswith("W") else 12


def year_lags(dates: pd.DatetimeIndex, freq: str, cal: HolidayCalendar | None = None,
              peak: str = DEFAULT_PEAK) -> np.ndarray:
    """Steps back from each date to the same moment one year earlier (festival-aligned with a
    calendar: the same distance from the nearest ``peak``)."""
    season = _steps_per_year(freq)
    if cal is None:
        return np.full(len(dates), season)
    step = 7.0 if freq.startswith("W") else 30.44
    years = range(dates[0].year - 4, dates[-1].year + 2)
    fest = np.array([np.datetime64(cal.festival(peak, y), "D") for y in years])
    days = dates.to_numpy().astype("datetime64[D]")
    j = np.abs(days[:, None] - fest[None, :]).astype("timedelta64[D]").astype(int).argmin(axis=1)
    gap = (fest[j] - fest[np.maximum(j - 1, 0)]).astype("timedelta64[D]").astype(float)
    return np.clip(np.round(gap / step), season - 6, season + 6).astype(int)


def _profile(y: np.ndarray, origin: int, targets: np.ndarray, lags: np.ndarray,
             season: int) -> np.ndarray:
    """Seasonal deviation at ``targets`` from up to three past years seen by ``origin``."""
    half = season // 2
    out = np.zeros(len(targets))
    for t_i, t in enumerate(targets):
        devs, back = [], int(t)
        for _ in range(3):
            back -= int(lags[back]) if back < len(lags) else season
            if back < 0:
                break
            lo, hi = max(0, back - half), min(origin + 1, back + half + 1)
            if hi - lo < season // 2 or back > origin:
                continue
            devs.append(y[back] - float(np.mean(y[lo:hi])))
        out[t_i] = float(np.mean(devs)) if devs else 0.0
    return out


def _ar1(x: np.ndarray) -> float:
    dev = x - x.mean()
    denom = float(np.dot(dev[:-1], dev[:-1]))
    return float(np.clip(np.dot(dev[1:], dev[:-1]) / denom, 0.0, 1.0)) if denom > 0 else 1.0


def _predict(y: np.ndarray, origin: int, horizon: int, method: str, season: int,
             lags: np.ndarray) -> np.ndarray:
    """Log forecasts for origin+1..origin+horizon from y[:origin+1]."""
    h = np.arange(1, horizon + 1)
    if method == "random_walk":
        return np.full(horizon, y[origin])
    past = np.arange(max(0, origin - 3 * season), origin + 1)
    prof = (_profile(y, origin, past, lags, season) if method == "seasonal"
            else np.zeros(len(past)))
    x = y[past] - prof
    mean = float(np.mean(x[-season:]))
    phi = _ar1(x)
    ahead = (_profile(y, origin, origin + h, lags, season) if method == "seasonal"
             else np.zeros(horizon))
    return mean + ahead + phi**h * (x[-1] - mean)


@dataclass
class PriceForecast:
    """One item's fitted price model: where it stands and where it may go."""

    item: str
    method: str
    freq: str
    last_date: pd.Timestamp
    last_price: float
    volatility: float  # annualised sd of log changes
    scores: dict[str, float]  # mean absolute log error of every candidate on held-out origins
    point: np.ndarray  # log forecasts at steps 1..horizon
    errors: list[np.ndarray] = field(repr=False)  # held-out log errors per step
    history: pd.Series = field(repr=False)  # the regular price series it was fitted on
    lags: np.ndarray = field(repr=False)  # steps back to the same moment a year earlier

    @property
    def horizon(self) -> int:
        return len(self.point)

    def step_of(self, date: pd.Timestamp | str) -> int:
        """Steps from the last price to ``date`` (at least 1, at most the horizon)."""
        days = (pd.Timestamp(date) - self.last_date).days
        step_days = 7.0 if self.freq.startswith("W") else 30.44
        return int(min(self.horizon, max(1, round(days / step_days))))

    def samples(self, date: pd.Timestamp | str, u: np.ndarray | None = None) -> np.ndarray:
        """Prices at ``date``: the held-out errors of its step added to the forecast (or, with
        ``u`` in (0, 1), those quantiles of them: the same ``u`` gives comonotone paths)."""
        i = self.step_of(date) - 1
        errs = self.errors[i]
        if u is None:
            return np.exp(self.point[i] + errs)
        return np.exp(self.point[i] + np.quantile(errs, np.clip(u, 0.0, 1.0)))

    def quantiles(self, date: pd.Timestamp | str,
                  levels: tuple[float, ...] = (0.1, 0.5, 0.9)) -> list[float]:
        """Price quantiles at ``date``."""
        return [float(v) for v in self.samples(date, np.array(levels))]

    def mean(self, date: pd.Timestamp | str) -> float:
        """Expected price at ``date``."""
        return float(self.samples(date).mean())

    def band(self, level: float = 0.9) -> tuple[float, float]:
        """The central ``level`` interval the latest price was forecast in, one step before."""
        y = np.log(self.history.to_numpy())
        if len(y) < 3:
            return self.last_price, self.last_price
        season = _steps_per_year(self.freq)
        point = _predict(y, len(y) - 2, 1, self.method, season, self.lags)[0]
        tail = (1 - level) / 2
        lo, hi = np.quantile(self.errors[0], [tail, 1 - tail])
        return float(np.exp(point + lo)), float(np.exp(point + hi))


def fit_price_model(item: str, prices: pd.DataFrame, horizon: int | None = None,
                    holdout: float = 0.4, cal: HolidayCalendar | None = None,
                    peak: str = DEFAULT_PEAK) -> PriceForecast:
    """Choose and fit the price model of one item from its ``date, price`` history."""
    s, freq = regular_series(prices)
    season = _steps_per_year(freq)
    horizon = horizon or (26 if season == 52 else 6)
    step = pd.tseries.frequencies.to_offset(freq)
    grid = pd.date_range(s.index[0], periods=len(s) + horizon, freq=step)
    lags = year_lags(grid, freq, cal, peak)
    y = np.log(s.to_numpy())
    n = len(y)
    changes = np.diff(y)
    vol = float(np.std(changes[-season:], ddof=1) * np.sqrt(season)) if len(changes) > 2 else 0.0
    first = max(season // 4, n - max(season, int(holdout * n)))
    origins = list(range(first, n - 1))
    errs: dict[str, list[list[float]]] = {m: [[] for _ in range(horizon)] for m in METHODS}
    for o in origins:
        steps = min(horizon, n - 1 - o)
        actual = y[o + 1 : o + 1 + steps]
        for m in METHODS:
            pred = _predict(y, o, horizon, m, season, lags)[:steps]
            for i, e in enumerate(actual - pred):
                errs[m][i].append(float(e))
    scores = {m: float(np.mean(np.abs(np.concatenate([np.asarray(e) for e in errs[m]]))))
              if any(errs[m]) else float("inf") for m in METHODS}
    method = min(METHODS, key=lambda m: (scores[m], METHODS.index(m)))
    step_sd = vol / np.sqrt(season) if vol > 0 else 0.01
    rng = np.random.default_rng(0)  # a fixed normal fallback where the history is short
    errors = []
    for i in range(horizon):
        got = np.asarray(errs[method][i])
        if len(got) < MIN_ERRORS:
            got = rng.normal(0.0, step_sd * np.sqrt(i + 1), 200)
        errors.append(got)
    return PriceForecast(item, method, freq, s.index[-1], float(s.iloc[-1]), vol, scores,
                         _predict(y, n - 1, horizon, method, season, lags), errors, s, lags)
