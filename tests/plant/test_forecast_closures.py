"""Closures inferred from a history without an ``open`` column: weekdays and each holiday."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.forecast.panel import Panel, infer_open

DAYS = pd.date_range("2021-01-01", "2023-12-10")  # three past Christmases: 2021, 2022 (no 2023)
N_ALL = len(DAYS) + 40  # the horizon runs to 2024-01-19
US = HolidayCalendar("US").public_holiday_names(2021, 2024)


def _row(day: str) -> int:
    return (pd.Timestamp(day) - DAYS[0]).days


def _christmases() -> list[int]:
    return [_row(str(d)) for d, name in US.items() if name == "Christmas Day" and
            d < DAYS[-1].date()]


def test_closures_are_inferred_from_zero_weekdays_and_holidays() -> None:
    days = pd.date_range("2024-01-01", periods=120)
    y = np.where(days.dayofweek == 6, 0.0, 10.0)[:, None].repeat(2, axis=1)
    y[10, 1] = 0.0  # a one-off zero is demand, not a closure
    hol = {days[40].date(): "Holiday A", days[80].date(): "Holiday B"}
    is_open = infer_open(y, days, hol, 127)
    sundays = np.flatnonzero(pd.date_range("2024-01-01", periods=127).dayofweek == 6)
    assert not is_open[sundays].any()
    assert is_open[10, 1]
    # a lumpy series (an order now and then) has zeros, not closures
    lumpy = np.zeros((120, 1))
    lumpy[::9] = 50.0
    assert infer_open(lumpy, days, {days[40].date(): "Holiday A"}, 127).all()


def test_a_shop_shut_every_christmas_is_closed_on_the_next_one_only() -> None:
    y = np.full((len(DAYS), 1), 10.0)
    y[_christmases()] = 0.0  # open on the other ten US holidays, shut every Christmas Day
    is_open = infer_open(y, DAYS, US, N_ALL)[:, 0]
    assert not is_open[_row("2023-12-25")]
    assert is_open[[_row("2024-01-01"), _row("2024-01-15")]].all()  # New Year, MLK Day
    assert is_open[: len(DAYS)][y[:, 0] > 0].all()


def test_a_lumpy_series_zeros_on_christmas_stay_demand() -> None:
    y = np.zeros((len(DAYS), 1))
    y[::9] = 50.0  # orders now and then: most days are zero
    y[_christmases()] = 0.0
    assert infer_open(y, DAYS, US, N_ALL).all()


def test_one_zero_among_a_holidays_sales_does_not_close_it() -> None:
    # a country with one holiday: sold on Christmas 2021, nothing on Christmas 2022 (an
    # accident); pooling both days would count half of them zero and close the holiday
    hol = {dt.date(y, 12, 25): "Christmas Day" for y in (2021, 2022, 2023)}
    y = np.full((len(DAYS), 1), 10.0)
    y[_row("2022-12-25")] = 0.0
    is_open = infer_open(y, DAYS, hol, N_ALL)[:, 0]
    assert is_open[_row("2023-12-25")]
    assert is_open[_row("2022-12-25")]  # and the zero itself is demand
    # a second zero makes it most of them: closed next time
    y[_row("2021-12-25")] = 0.0
    assert not infer_open(y, DAYS, hol, N_ALL)[_row("2023-12-25"), 0]


def test_a_shop_shut_on_every_holiday_is_shut_on_one_never_seen() -> None:
    new = {dt.date(2024, 1, 5): "Founders' Day", dt.date(2024, 1, 8): "Christmas Day; Fair"}
    hol = {**US, **new}
    shut = np.full((len(DAYS), 2), 10.0)
    past = [_row(str(d)) for d in US if d <= DAYS[-1].date()]
    shut[past, 0] = 0.0  # series 0 shut on every holiday, series 1 only at Christmas
    shut[_christmases(), 1] = 0.0
    is_open = infer_open(shut, DAYS, hol, N_ALL)
    assert not is_open[[_row("2023-12-25"), _row("2024-01-01"), _row("2024-01-05")], 0].any()
    assert is_open[_row("2024-01-05"), 1] and is_open[_row("2024-01-01"), 1]
    # a day with two holidays is closed if either is
    assert not is_open[_row("2024-01-08")].any()


def test_a_shop_booking_a_few_units_every_christmas_is_closed_then() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(2000, (len(DAYS), 2)).astype(float)
    y[_christmases(), 0] = 3.0  # shut: a few returns booked, against ~2,000 a day
    y[_christmases()[0], 1] = 3.0  # one such Christmas (a storm) among normal ones
    is_open = infer_open(y, DAYS, US, N_ALL)
    assert not is_open[_row("2023-12-25"), 0] and is_open[_row("2023-12-25"), 1]
    # its past Christmases are closed like an ``open`` = 0 day; a storm's day stays demand
    assert not is_open[_christmases(), 0].any() and is_open[_christmases(), 1].all()
    other = np.ones(len(DAYS), dtype=bool)
    other[_christmases()] = False
    assert is_open[: len(DAYS)][other].all()


def test_a_small_count_series_selling_one_unit_on_a_holiday_stays_open() -> None:
    rng = np.random.default_rng(1)
    y = np.maximum(rng.poisson(2.0, (len(DAYS), 1)), 1).astype(float)  # median 2, never zero
    y[_christmases()] = 1.0  # half its median: a slow day, not a closure
    assert infer_open(y, DAYS, US, N_ALL).all()


def test_a_lumpy_series_with_a_unit_on_each_christmas_is_unchanged() -> None:
    y = np.zeros((len(DAYS), 1))
    y[::9] = 5000.0
    y[_christmases()] = 1.0
    assert infer_open(y, DAYS, US, N_ALL).all()


def test_an_open_column_is_taken_as_it_is() -> None:
    days = pd.date_range("2021-01-01", "2023-12-10")
    y = np.full(len(days), 2000.0)
    y[_christmases()] = 3.0
    history = pd.DataFrame({"unique_id": "s", "ds": days, "y": y, "open": 1.0})
    future = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2023-12-11", periods=40),
                           "open": 1.0})
    panel = Panel.build(history, 40, future, US)
    assert panel.open.all()
