"""Growth from a year and a few weeks of history (plant/forecast/growth.py) in the forecaster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plant.calendar import HolidayCalendar
from plant.forecast.features import festival_distance
from plant.forecast.growth import aligned_lag, choose_tau, shrink, yoy_growth
from plant.forecast.model import HolidayForecaster

H = 60
END = pd.Timestamp("2025-08-16")  # 51 days before Mid-Autumn 2025-10-06


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return HolidayCalendar.default()


def _expected(dates: pd.DatetimeIndex, cal: HolidayCalendar, growth: float) -> np.ndarray:
    """Daily demand without noise: a festival rush 12 days before Mid-Autumn, weekends
    higher, ``growth`` a year in log terms."""
    dist = festival_distance(dates, cal, "mid_autumn")
    rush = np.exp(1.5 * np.exp(-(((dist + 12) / 8.0) ** 2)))
    weekday = np.where(dates.dayofweek >= 5, 1.3, 1.0)
    years = (dates - END).days.to_numpy() / 365.25
    return 200.0 * rush * weekday * np.exp(growth * years)


def _history(cal: HolidayCalendar, growths: dict[str, float], days: int = 700) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    dates = pd.date_range(END - pd.Timedelta(days=days - 1), END, freq="D")
    frames = []
    for uid, g in growths.items():
        noise = np.exp(rng.normal(-0.005, 0.1, len(dates)))
        frames.append(pd.DataFrame({"unique_id": uid, "ds": dates,
                                    "y": np.round(_expected(dates, cal, g) * noise)}))
    return pd.concat(frames, ignore_index=True)


def _window_bias(fc: pd.DataFrame, cal: HolidayCalendar, uid: str, growth: float) -> float:
    part = fc[fc["unique_id"] == uid]
    dates = pd.DatetimeIndex(part["ds"])
    dist = festival_distance(dates, cal, "mid_autumn")
    window = (dist >= -42) & (dist <= 0)
    truth = _expected(dates, cal, growth)[window].sum()
    return float(part["mean"].to_numpy()[window].sum() / truth - 1)


def test_a_growing_festival_window_is_forecast_at_this_years_size(
    cal: HolidayCalendar,
) -> None:
    """Two seasons of history, 15% a year: without growth the window came out about 20%
    short (the seasons learned from are one and two years old)."""
    hist = _history(cal, {"growing": 0.15, "steady": 0.0})
    fc = HolidayForecaster(cal).forecast(hist, H)
    assert abs(_window_bias(fc, cal, "growing", 0.15)) < 0.05
    assert abs(_window_bias(fc, cal, "steady", 0.0)) < 0.03


def test_a_steady_history_is_left_alone(cal: HolidayCalendar) -> None:
    hist = _history(cal, {"a": 0.0, "b": 0.0})
    fc = HolidayForecaster(cal).forecast(hist, H)
    for uid in ("a", "b"):
        assert abs(_window_bias(fc, cal, uid, 0.0)) < 0.03


def test_yoy_growth_reads_a_known_growth_and_its_uncertainty() -> None:
    rng = np.random.default_rng(0)
    days = np.arange(500)
    z = np.column_stack([0.2 * days / 365.25 + rng.normal(0, 0.05, 500),
                         rng.normal(0, 0.05, 500)])
    growth, se = yoy_growth(z, lag=364, weeks=8)
    assert growth[0] == pytest.approx(0.2, abs=0.03)
    assert abs(growth[1]) < 0.03
    assert (se > 0).all() and (se < 0.03).all()
    gappy = z.copy()
    gappy[-14:-7, 1] = np.nan  # a week without data: left out, not a warning
    assert yoy_growth(gappy, lag=364, weeks=8)[0][1] == pytest.approx(growth[1], abs=0.03)
    short, short_se = yoy_growth(z[:370], lag=364)
    assert (short == 0).all() and np.isinf(short_se).all()


def test_shrink_goes_from_none_to_all() -> None:
    g, se = np.array([0.2, 0.2, 0.5]), np.array([0.01, 0.2, np.inf])
    assert (shrink(g, se, 0.0) == 0).all()
    assert shrink(g, se, np.inf).tolist() == [0.2, 0.2, 0.0]
    mid = shrink(g, se, 0.1)
    assert mid[0] == pytest.approx(0.2 * 0.01 / 0.0101) and mid[1] == pytest.approx(0.04)


def test_lag_follows_the_moving_festival(cal: HolidayCalendar) -> None:
    # Mid-Autumn 2024-09-17 and 2023-09-29: 12 days earlier in the year
    assert aligned_lag(pd.Timestamp("2024-07-28"), cal, "mid_autumn") == 354
    assert aligned_lag(pd.Timestamp("2025-08-16"), cal, "christmas") == 365


def test_no_growth_without_held_out_evidence() -> None:
    calls: list[tuple[int, float]] = []

    def error(cut: int, tau: float) -> float:
        calls.append((cut, tau))
        return 1.0

    assert choose_tau(400, 60, 150, error) == 0.0 and not calls  # no cut with a year before it
    assert choose_tau(700, 60, 150, error) == 0.0  # all equal: the tie goes to no growth
    assert {c for c, _ in calls} == {460, 520, 580, 640}
