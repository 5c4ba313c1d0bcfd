"""Any holiday peak by name: built-in dates, festivals of the events file, unknown names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from peakline.errors import ConfigError
from plant.calendar import HolidayCalendar, read_events
from plant.forecast.backtest import festival_origins
from plant.forecast.features import calendar_features
from plant.forecast.peak_backtest import peak_origins
from plant.peaks import PEAKS, builtin_peak_date


@pytest.mark.parametrize(("name", "year", "day"), [
    ("mid_autumn", 2024, "2024-09-17"), ("spring_festival", 2025, "2025-01-29"),
    ("dragon_boat", 2024, "2024-06-10"), ("easter", 2024, "2024-03-31"),
    ("easter", 2025, "2025-04-20"), ("christmas", 2023, "2023-12-25"),
    ("thanksgiving", 2024, "2024-11-28"), ("black_friday", 2025, "2025-11-28"),
    ("eid_al_fitr", 2024, "2024-04-10"), ("diwali", 2025, "2025-10-20"),
])
def test_builtin_peak_dates(name: str, year: int, day: str) -> None:
    assert builtin_peak_date(name, year) == dt.date.fromisoformat(day)
    assert HolidayCalendar("DE").festival(name, year) == dt.date.fromisoformat(day)


def test_every_builtin_peak_has_a_date_in_a_range_of_years() -> None:
    for name in PEAKS:
        days = [builtin_peak_date(name, y) for y in range(2015, 2031)]
        assert [d.year for d in days] == list(range(2015, 2031)), name


def test_unknown_peak_is_refused_with_the_choices() -> None:
    cal = HolidayCalendar("DE")
    with pytest.raises(ConfigError, match=r"unknown peak 'eastr'.*easter"):
        cal.check_peak("eastr")
    with pytest.raises(ConfigError, match="unknown peak"):
        cal.festival("eastr", 2024)


def test_a_festival_of_the_events_file_is_a_peak(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("date,name,kind\n2023-05-20,harvest_fair,festival\n"
                    "2024-05-25,harvest_fair,festival\n2024-03-30,easter,festival\n")
    cal = HolidayCalendar("DE", read_events(path))
    assert cal.check_peak("harvest_fair") == "harvest_fair"
    assert cal.festival("harvest_fair", 2024) == dt.date(2024, 5, 25)
    # a built-in peak shifted by the file in one year only
    assert cal.festival("easter", 2024) == dt.date(2024, 3, 30)
    assert cal.festival("easter", 2025) == dt.date(2025, 4, 20)
    with pytest.raises(ConfigError, match=r"harvest_fair.*no date in 2026"):
        cal.festival("harvest_fair", 2026)
    origins = peak_origins(pd.Timestamp("2022-01-01"), pd.Timestamp("2024-12-31"), cal,
                           "harvest_fair", (21, 14), 28)
    assert origins == [pd.Timestamp("2023-04-29"), pd.Timestamp("2023-05-06"),
                       pd.Timestamp("2024-05-04"), pd.Timestamp("2024-05-11")]


def test_origins_before_every_scorable_easter() -> None:
    cal = HolidayCalendar("DE")
    got = peak_origins(pd.Timestamp("2013-01-07"), pd.Timestamp("2015-07-31"), cal, "easter",
                       (21, 14), 28)
    # Easter 2014-04-20 and 2015-04-05; 2013's has no year of history before it
    assert got == [pd.Timestamp("2014-03-30"), pd.Timestamp("2014-04-06"),
                   pd.Timestamp("2015-03-15"), pd.Timestamp("2015-03-22")]
    store = festival_origins(pd.Timestamp("2013-01-07"), pd.Timestamp("2015-07-31"), cal,
                             lead=21, h=28, peak="easter")
    assert store == [pd.Timestamp("2014-03-30"), pd.Timestamp("2015-03-15")]


def test_calendar_features_follow_the_peak_not_the_lunar_festivals() -> None:
    days = pd.date_range("2024-01-01", "2024-12-31")
    de = calendar_features(days, HolidayCalendar("DE"), peak="easter")
    assert not any(c.startswith(("ma_", "sf_", "db_")) for c in de.columns)
    assert de.loc["2024-03-31", "easter_p0_p0"] == 1.0
    assert de.loc["2024-03-29", "easter_m3_m2"] == 1.0
    cn = calendar_features(days, HolidayCalendar("CN"))
    assert "ma_m10_m8" in cn.columns and not any(c.startswith("easter") for c in cn.columns)
