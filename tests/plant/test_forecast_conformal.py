"""Interval widths of the boosted model calibrated apart for the peak window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plant.calendar import HolidayCalendar
from plant.forecast.conformal import MIN_DAYS, in_peak_window, width_factor
from plant.forecast.longform import forecast_long

H = 28


def test_width_factor_covers_the_target_share() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(0.0, 2.0, 4000)
    mid, lo, hi = np.zeros(4000), np.full(4000, -1.0), np.ones(4000)
    # P10..P90 of N(0, 2) is +-2.56: a band of +-1 must be widened about 2.56 times
    assert width_factor(actual, lo, mid, hi) == pytest.approx(2.55, abs=0.1)
    assert width_factor(actual / 4, lo, mid, hi) == pytest.approx(0.65, abs=0.1)
    few = slice(0, MIN_DAYS - 1)
    assert width_factor(actual[few], lo[few], mid[few], hi[few], default=1.3) == 1.3
    assert width_factor(actual[few], lo[few], mid[few], hi[few], min_days=1) != 1.3


def test_peak_window_is_days_minus_7_to_2() -> None:
    days = np.arange(-10, 6)
    assert days[in_peak_window(days)].tolist() == list(range(-7, 3))


def _rush_history(n: int = 12, seed: int = 5) -> pd.DataFrame:
    """Steady daily sales with a weekly rhythm and a Christmas rush (the nine days up to
    Christmas Eve and Christmas Day) whose size varies by series, year and day: the errors of
    the peak window are much larger than those of the ordinary days before it."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-06", "2023-01-31")
    to_xmas = np.array([(pd.Timestamp(d.year, 12, 24) - d).days for d in days])
    week = np.array([1.0, 0.9, 0.95, 1.1, 1.4, 1.6, 0.6])[days.dayofweek]
    frames = []
    for i in range(n):
        base = rng.uniform(80, 300)
        size = {y: rng.lognormal(np.log(2.0), 0.25) for y in range(days[0].year, 2024)}
        noise = rng.lognormal(0.0, 0.35, len(days))
        rush = np.where((to_xmas >= 0) & (to_xmas <= 9), days.year.map(size) * noise, 1.0)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"s{i}",
                    "ds": days,
                    "y": rng.poisson(base * week * rush).astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_the_peak_window_interval_is_calibrated_on_last_seasons_peak() -> None:
    """The last 28 days before the origin are quiet: a width calibrated on them alone covered
    68% of the peak window (71% of the other days); calibrated on last Christmas's window it
    covers 79% there, and the other days keep their width."""
    history = _rush_history()
    cut = pd.Timestamp("2022-12-10")
    fc = forecast_long(history[history["ds"] < cut], H, HolidayCalendar("DE"), peak="christmas")
    joined = fc.merge(history, on=["unique_id", "ds"])
    window = in_peak_window((joined["ds"] - pd.Timestamp("2022-12-25")).dt.days.to_numpy())
    inside = ((joined["y"] >= joined["p10"]) & (joined["y"] <= joined["p90"])).to_numpy()
    assert inside[window].mean() >= 0.75
    assert 0.6 <= inside[~window].mean() <= 0.9
    rel = ((joined["p90"] - joined["p10"]) / joined["p50"]).to_numpy()
    quiet = (joined["ds"] < "2022-12-15").to_numpy()
    assert np.median(rel[window]) > 1.5 * np.median(rel[quiet])
