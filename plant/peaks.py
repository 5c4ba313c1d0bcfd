"""The holiday peaks a season can be built around, by name: their date in any year, offline.

A plant's peak is configuration (``--peak NAME``, ``[planning] peak`` in the TOML), not code:
the lunar festivals (Mid-Autumn, the default, Spring Festival, Dragon Boat) from the
``holidays`` package's Chinese lunisolar calendar; Easter (a moving feast, from dateutil's
Gregorian computus); Christmas; Thanksgiving and Black Friday (the fourth Thursday of November
and the day after); Eid al-Fitr and Diwali from the ``holidays`` package's Islamic and Hindu
calendars. Any other festival comes from the events file as ``festival`` rows, one per year
(see :mod:`plant.calendar`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import holidays

from peakline.errors import ConfigError

__all__ = ["DEFAULT_PEAK", "DEFAULT_SEASON_DAYS", "PEAKS", "Peak", "builtin_peak_date",
           "peak_label"]


@dataclass(frozen=True)
class Peak:
    """A built-in peak: how people write it and how to find its date in a year."""

    label: str
    date: Callable[[int], dt.date]


def _lunar(name: str) -> Callable[[int], dt.date]:
    def date(year: int) -> dt.date:
        from plant.calendar import festival_date

        return festival_date(name, year)

    return date


def _easter(year: int) -> dt.date:
    from dateutil.easter import easter

    return easter(year)


def _thanksgiving(year: int) -> dt.date:
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(weeks=3)


@lru_cache(maxsize=256)
def _named(country: str, label: str, year: int) -> dt.date:
    """The first day in ``year`` whose holiday name in ``country`` starts with ``label``."""
    found = sorted(d for d, name in holidays.country_holidays(country, years=year).items()
                   if any(part.strip().startswith(label) for part in name.split(";")))
    if not found:
        raise ConfigError(f"the holidays package has no {label} date for {year}")
    return found[0]


#: the peak when none is configured: the sample mooncake factory's
DEFAULT_PEAK = "mid_autumn"
#: days before the peak that count as its season (``[planning] season_days``)
DEFAULT_SEASON_DAYS = 100

#: the built-in peaks by the name used on the command line and in the TOML
PEAKS: dict[str, Peak] = {
    "mid_autumn": Peak("Mid-Autumn", _lunar("mid_autumn")),
    "spring_festival": Peak("Spring Festival", _lunar("spring_festival")),
    "dragon_boat": Peak("Dragon Boat", _lunar("dragon_boat")),
    "easter": Peak("Easter", _easter),
    "christmas": Peak("Christmas", lambda year: dt.date(year, 12, 25)),
    "thanksgiving": Peak("Thanksgiving", _thanksgiving),
    "black_friday": Peak("Black Friday",
                         lambda year: _thanksgiving(year) + dt.timedelta(days=1)),
    "eid_al_fitr": Peak("Eid al-Fitr", lambda year: _named("TR", "Eid al-Fitr", year)),
    "diwali": Peak("Diwali", lambda year: _named("IN", "Diwali", year)),
}


def builtin_peak_date(name: str, year: int) -> dt.date:
    """The date of built-in peak ``name`` in ``year``; an unknown name is a ConfigError."""
    if name not in PEAKS:
        raise ConfigError(f"unknown peak {name!r}; expected one of {', '.join(PEAKS)} "
                          "or a festival named in the events file")
    return PEAKS[name].date(year)


def peak_label(name: str) -> str:
    """A peak as people write it (``mid_autumn`` -> ``Mid-Autumn``)."""
    peak = PEAKS.get(name)
    return peak.label if peak else name.replace("_", " ").title()
