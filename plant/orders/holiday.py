"""Days from a date to the coming festival, and the peak an order's season belongs to.

The hold plans are built around the plant's configured peak (``[planning] peak``, ``--peak``;
:mod:`plant.peaks`), dated by the calendar the plans use (:meth:`plant.calendar.HolidayCalendar.
occurrences`: a built-in rule, or the events file's ``festival`` rows). The web shop's
cancellation feature counts days to the coming lunar festival or the peak, whichever is first:
the festivals whose eve customers travel for.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from peakline.errors import ConfigError
from plant.calendar import FESTIVALS, HolidayCalendar
from plant.peaks import DEFAULT_PEAK

__all__ = ["coming_festival", "days_to_holiday", "previous_festival"]


def _dates(cal: HolidayCalendar, first_year: int, last_year: int, peak: str) -> np.ndarray:
    # the lunar festivals, whose eve web shop customers travel for, and the plant's peak
    names = FESTIVALS if peak in FESTIVALS else (*FESTIVALS, peak)
    return np.sort(np.array([np.datetime64(d, "D") for f in names
                             for d in cal.occurrences(f, first_year, last_year)]))


def days_to_holiday(days: np.ndarray, cal: HolidayCalendar,
                    peak: str = DEFAULT_PEAK) -> np.ndarray:
    """Days from each ``datetime64[D]`` to the coming lunar festival or ``peak`` (0 on the
    day)."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    fest = _dates(cal, int(str(days.min())[:4]) - 1, int(str(days.max())[:4]) + 1, peak)
    idx = np.searchsorted(fest, days, side="left")
    return (fest[np.minimum(idx, len(fest) - 1)] - days).astype(np.int64)


def coming_festival(day: dt.date, cal: HolidayCalendar, peak: str = DEFAULT_PEAK) -> dt.date:
    """The first ``peak`` on or after ``day``; a ConfigError when the calendar has none within
    a year (a festival of the events file with no later date)."""
    upcoming = [d for d in cal.occurrences(peak, day.year, day.year + 1) if d >= day]
    if not upcoming:
        raise ConfigError(f"peak {peak!r}: the events file gives no date on or after {day} "
                          f"(add a festival row for {day.year} or {day.year + 1})")
    return upcoming[0]


def previous_festival(festival: dt.date, cal: HolidayCalendar,
                      peak: str = DEFAULT_PEAK) -> dt.date | None:
    """The ``peak`` before ``festival`` (last season's), None when the calendar gives none in
    the year before (a festival of the events file dated only from this year on)."""
    earlier = [d for d in cal.occurrences(peak, festival.year - 1, festival.year)
               if d < festival]
    return earlier[-1] if earlier else None
