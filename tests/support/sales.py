"""Synthetic daily shop sales with closures, promotions and an Easter rush, for forecast tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar

__all__ = ["shop_history"]


def shop_history(n_series: int = 5, seed: int = 3, start: str = "2020-03-02",
                 end: str = "2023-06-30") -> pd.DataFrame:
    """Shops closed on Sundays and German public holidays, a weekly rhythm, promotions
    (known in advance) and a rush in the week before Easter; three years of days."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end)
    cal = HolidayCalendar("DE")
    hol = cal.public_holidays(days[0].year, days[-1].year)
    closed = (days.dayofweek == 6) | days.isin(pd.DatetimeIndex(sorted(hol)))
    easter = {y: pd.Timestamp(cal.festival("easter", y))
              for y in range(days[0].year, days[-1].year + 1)}
    to_easter = np.array([(easter[d.year] - d).days for d in days])
    rush = np.where((to_easter >= 1) & (to_easter <= 6), 1.8, 1.0)
    frames = []
    for i in range(n_series):
        base = rng.uniform(50, 400)
        week = np.array([1.0, 0.9, 0.9, 1.0, 1.3, 1.5, 0.0])[days.dayofweek]
        promo = (rng.random(len(days)) < 0.12).astype(float)
        mu = base * week * rush * (1 + 0.6 * promo) * (1 + 0.1 * (days.year - 2020))
        y = np.where(closed, 0.0, rng.poisson(mu))
        frames.append(pd.DataFrame({"unique_id": f"shop{i}", "ds": days, "y": y,
                                    "promo": promo}))
    return pd.concat(frames, ignore_index=True)
