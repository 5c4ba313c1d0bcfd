"""Weekly price quotes of the sample factory's materials, with a run-up before every festival.

Every mooncake maker buys lotus seeds, salted duck egg yolks and nut fillings in the same
weeks, so their prices rise each year towards a peak about six weeks before Mid-Autumn, when
the industry's buying and pre-building peak, and fall back after it; flour, sugar and oil move
a little with the season; packaging is bought on contract at a nearly flat price. On top: a
slow trend and AR(1) noise in the log price. :func:`price_history` is the ERP's quote history
(``prices.csv``); :func:`price_paths` continues the same history into possible futures, which
``bench/procurement.py`` uses as the truth its buy-ahead calls are judged against.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.forecast.features import festival_distance

__all__ = ["SPIKES", "price_history", "price_paths"]

#: item -> (run-up height as a share of the price, days before Mid-Autumn it peaks)
SPIKES: dict[str, tuple[float, float]] = {
    "lotus_paste": (0.30, 42), "salted_egg_yolk": (0.40, 42), "five_kernel_filling": (0.22, 42),
    "red_bean_paste": (0.15, 42), "custard_filling": (0.08, 35), "snow_skin_premix": (0.05, 35),
    "flour": (0.04, 42), "sugar_syrup": (0.06, 42), "peanut_oil": (0.06, 42),
}
_WIDTH_DAYS = 16.0
_PHI, _NOISE = 0.85, 0.025


def _log_path(item: str, base: float, dates: pd.DatetimeIndex, cal: HolidayCalendar,
              shocks: np.ndarray) -> np.ndarray:
    dist = festival_distance(dates, cal, "mid_autumn").astype(float)
    height, peak = SPIKES.get(item, (0.0, 30.0))
    bump = np.exp(-0.5 * ((dist + peak) / _WIDTH_DAYS) ** 2)
    years = (dates - dates[0]).days.to_numpy() / 365.25
    noise = np.zeros(len(dates))
    scale = _NOISE if item in SPIKES else _NOISE / 4
    for i in range(1, len(dates)):
        noise[i] = _PHI * noise[i - 1] + scale * shocks[i]
    return np.log(base) + 0.02 * years + np.log1p(height * bump) + noise


def _dates(end: dt.date, years: int) -> pd.DatetimeIndex:
    last = pd.Timestamp(end) - pd.Timedelta(days=pd.Timestamp(end).weekday())
    return pd.date_range(last - pd.DateOffset(weeks=52 * years), last, freq="W-MON")


def price_history(materials: pd.DataFrame, end: dt.date, years: int = 4, seed: int = 7,
                  cal: HolidayCalendar | None = None) -> pd.DataFrame:
    """``item, date, price``: a quote every Monday for ``years`` years up to ``end``."""
    cal = cal or HolidayCalendar.default()
    dates = _dates(end, years)
    rng = np.random.default_rng(seed)
    frames = []
    for m in materials.itertuples(index=False):
        shocks = rng.standard_normal(len(dates))
        price = np.exp(_log_path(str(m.item), float(m.unit_cost), dates, cal, shocks))
        frames.append(pd.DataFrame({"item": m.item, "date": dates.strftime("%Y-%m-%d"),
                                    "price": np.round(price, 4)}))
    return pd.concat(frames, ignore_index=True)


def price_paths(materials: pd.DataFrame, end: dt.date, weeks: int, paths: int,
                years: int = 4, seed: int = 7, cal: HolidayCalendar | None = None,
                ) -> dict[str, pd.DataFrame]:
    """item -> frame (rows: the Mondays after ``end``; columns: ``paths`` possible futures)
    continuing :func:`price_history` with the same arguments."""
    cal = cal or HolidayCalendar.default()
    past = _dates(end, years)
    dates = past.append(pd.date_range(past[-1] + pd.Timedelta(days=7), periods=weeks,
                                      freq="W-MON"))
    rng = np.random.default_rng(seed)
    future_rng = np.random.default_rng([seed, 1])
    out = {}
    for m in materials.itertuples(index=False):
        shocks = rng.standard_normal(len(past))
        cols = []
        for _ in range(paths):
            full = np.concatenate([shocks, future_rng.standard_normal(weeks)])
            cols.append(np.exp(_log_path(str(m.item), float(m.unit_cost), dates, cal, full)))
        out[str(m.item)] = pd.DataFrame(np.array(cols).T[len(past):], index=dates[len(past):])
    return out
