"""The holiday calendar: lunar festival dates, shifted festivals, events CSV, features."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from peakline.errors import ConfigError, DataError
from plant.calendar import HolidayCalendar, default_events, festival_date, read_events
from plant.forecast.features import calendar_features, festival_distance

D = dt.date


@pytest.mark.parametrize(("name", "year", "expected"), [
    ("mid_autumn", 2024, D(2024, 9, 17)),
    ("mid_autumn", 2025, D(2025, 10, 6)),
    ("mid_autumn", 2026, D(2026, 9, 25)),
    ("mid_autumn", 2023, D(2023, 9, 29)),
    ("dragon_boat", 2024, D(2024, 6, 10)),
    ("dragon_boat", 2025, D(2025, 5, 31)),
    ("spring_festival", 2024, D(2024, 2, 10)),
    ("spring_festival", 2025, D(2025, 1, 29)),
    ("spring_festival", 2026, D(2026, 2, 17)),
])
def test_known_festival_dates(name: str, year: int, expected: dt.date) -> None:
    assert festival_date(name, year) == expected


def test_unknown_festival_and_country_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown festival"):
        festival_date("lantern", 2024)
    with pytest.raises(ConfigError, match=r"calendar\.country"):
        HolidayCalendar(country="XX")


def test_festival_event_shifts_the_date(tmp_path: Path) -> None:
    csv = tmp_path / "events.csv"
    csv.write_text("date,name,kind\n2025-10-04,mid_autumn,festival\n2025-03-08,spring_sale,"
                   "promotion\n")
    cal = HolidayCalendar.default(events_csv=csv)
    assert cal.festival("mid_autumn", 2025) == D(2025, 10, 4)
    assert cal.festival("mid_autumn", 2024) == D(2024, 9, 17)
    assert cal.promotions() == ["spring_sale"]


@pytest.mark.parametrize(("body", "message"), [
    ("date,name\n2025-01-01,x\n", "missing column"),
    ("date,name,kind\n01/02/2025,x,promotion\n", "row 2, column date"),
    ("date,name,kind\n2025-01-01,x,promotion\n2025-01-02,y,party\n", "row 3, column kind"),
    ("date,name,kind\n2025-01-01,Lantern Fest,festival\n", "row 2, column name"),
    ("date,name,kind\n2025-01-01,,festival\n", "row 2, column name"),
    ("date,name,kind,days_before\n2025-01-01,x,promotion,-2\n", "row 2, column days_before"),
])
def test_bad_events_csv_names_row_and_column(tmp_path: Path, body: str, message: str) -> None:
    csv = tmp_path / "events.csv"
    csv.write_text(body)
    with pytest.raises(DataError, match=message):
        read_events(csv)


def test_default_events_have_double_11_every_year() -> None:
    events = default_events()
    assert any(e.name == "double_11" and e.date == D(2026, 11, 11) for e in events)


def test_festival_distance_and_bins_follow_the_lunar_date() -> None:
    cal = HolidayCalendar.default()
    days = pd.date_range("2024-08-01", "2025-10-31", freq="D")
    dist = festival_distance(days, cal, "mid_autumn")
    assert dist[days.get_loc(pd.Timestamp("2024-09-17"))] == 0
    assert dist[days.get_loc(pd.Timestamp("2025-09-26"))] == -10
    feats = calendar_features(days, cal)
    assert feats.loc["2024-09-17", "ma_p0_p0"] == 1.0
    assert feats.loc["2025-10-06", "ma_p0_p0"] == 1.0
    assert feats["ma_p0_p0"].sum() == 2
    # the same pre-festival bin lands on different Gregorian days in the two years
    assert feats.loc["2024-09-07", "ma_m10_m8"] == 1.0
    assert feats.loc["2025-09-26", "ma_m10_m8"] == 1.0
    assert feats.loc["2024-11-11", "promo_double_11"] == 1.0
    assert feats.loc["2024-11-09", "promo_double_11_pre"] == 1.0
    # National Day 2025 is within 14 days of Mid-Autumn, so the festival bins model it
    assert feats.loc["2025-10-01", "holiday"] == 0.0
    assert feats.loc["2025-01-01", "holiday"] == 1.0
    assert feats.notna().all().all()
