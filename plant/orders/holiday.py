"""Days from a date to the coming lunar festival, and the festival an order's season belongs to."""

from __future__ import annotations

import datetime as dt

import numpy as np

from plant.calendar import HolidayCalendar

__all__ = ["FESTIVALS", "coming_festival", "days_to_holiday"]

#: the festivals whose eve web shop customers travel for
FESTIVALS = ("mid_autumn", "spring_festival", "dragon_boat")


def _dates(cal: HolidayCalendar, first_year: int, last_year: int) -> np.ndarray:
    return np.sort(np.array([np.datetime64(cal.festival(f, y), "D") for f in FESTIVALS
                             for y in range(first_year, last_year + 1)]))


def days_to_holiday(days: np.ndarray, cal: HolidayCalendar) -> np.ndarray:
    """Days from each ``datetime64[D]`` to the coming lunar festival (0 on the day)."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    fest = _dates(cal, int(str(days.min())[:4]) - 1, int(str(days.max())[:4]) + 1)
    idx = np.searchsorted(fest, days, side="left")
    return (fest[np.minimum(idx, len(fest) - 1)] - days).astype(np.int64)


def coming_festival(day: dt.date, cal: HolidayCalendar, name: str = "mid_autumn") -> dt.date:
    """The first ``name`` festival on or after ``day``."""
    fest = cal.festival(name, day.year)
    return fest if fest >= day else cal.festival(name, day.year + 1)
