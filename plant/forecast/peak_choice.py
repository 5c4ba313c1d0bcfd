"""The peak a history was built around, when none is configured: chosen from its own data.

Candidates are the built-in peaks that are public holidays (or a day from one, for Easter
Sunday between Good Friday and Easter Monday) of the calendar's country, plus the festivals of
its events file; the one kept is the one whose fortnight before the day lifted demand the most
over the history's mean. A Chinese calendar keeps Mid-Autumn (the sample mooncake factory's),
as does a history too short to show any candidate's lift.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from peakline.errors import ConfigError
from plant.calendar import HolidayCalendar
from plant.peaks import DEFAULT_PEAK, PEAKS

__all__ = ["candidate_peaks", "choose_peak"]

_WINDOW = 14


def candidate_peaks(cal: HolidayCalendar, first_year: int, last_year: int) -> list[str]:
    """The peaks that are holidays of ``cal`` (built-in ones within a day of a public holiday
    in every year of the range) or festivals of its events file."""
    off = cal.public_holidays(first_year, last_year)
    found = []
    for name, peak in PEAKS.items():
        try:
            days = [peak.date(y) for y in range(first_year, last_year + 1)]
        except ConfigError:  # a feast the holidays package lacks in some year
            continue
        if all(any(d + dt.timedelta(days=k) in off for k in (-1, 0, 1)) for d in days):
            found.append(name)
    found += sorted({e.name for e in cal.events if e.kind == "festival"})
    return found


def choose_peak(history: pd.DataFrame, cal: HolidayCalendar, value: str = "orders") -> str:
    """The peak of ``history`` (columns ``ds`` and ``value``) under calendar ``cal``."""
    if cal.country == "CN" or history.empty:
        return DEFAULT_PEAK
    daily = history.groupby(pd.to_datetime(history["ds"]))[value].sum().sort_index()
    first, last = daily.index[0], daily.index[-1]
    mean = float(daily.mean())
    if mean <= 0:
        return DEFAULT_PEAK
    best, best_lift = DEFAULT_PEAK, 1.0
    for name in candidate_peaks(cal, first.year, last.year):
        lifts = []
        for year in range(first.year, last.year + 1):
            try:
                stamp = pd.Timestamp(cal.festival(name, year))
            except ConfigError:  # an events-file festival without a date that year
                continue
            window = daily[(daily.index > stamp - pd.Timedelta(days=_WINDOW))
                           & (daily.index <= stamp)]
            if len(window) == _WINDOW:
                lifts.append(float(window.mean()) / mean)
        lift = sum(lifts) / len(lifts) if lifts else 0.0
        if lift > best_lift:
            best, best_lift = name, lift
    return best
