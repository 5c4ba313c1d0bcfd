"""The holiday calendar the forecaster and the planner share.

Lunar festivals (Spring Festival, Dragon Boat, Mid-Autumn) come from the ``holidays`` package,
computed offline; the country's public holidays come from ``holidays.country_holidays`` for a
configurable country (factories export, and their customers sell in other markets); extra dated
events - a customer's promotion days, a festival that a market celebrates on another date - come
from a CSV with the columns ``date, name, kind`` and optionally ``days_before, days_after``.

``kind`` is ``promotion`` (a flag feature per event name, with a pre-sale window of
``days_before`` days), ``festival`` (its date replaces the computed date of a built-in peak of
:mod:`plant.peaks` in that year, or, for any other name, dates a festival of the plant's own
that can then be chosen as the peak) or ``closure`` (a day the plant does
not ship; the planner skips it).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import holidays

from peakline.errors import ConfigError, DataError

__all__ = [
    "FESTIVALS",
    "Event",
    "HolidayCalendar",
    "default_events",
    "festival_date",
    "festival_label",
    "read_events",
]

#: the lunar festivals the forecaster models, by the key used in features and events
FESTIVALS: tuple[str, ...] = ("spring_festival", "dragon_boat", "mid_autumn")

_EVENT_KINDS = ("promotion", "festival", "closure")

#: how people name the festivals on a dashboard
_LABELS = {"spring_festival": "Spring Festival", "dragon_boat": "Dragon Boat",
           "mid_autumn": "Mid-Autumn"}


def festival_label(name: str) -> str:
    """A festival key as people write it (``mid_autumn`` -> ``Mid-Autumn``)."""
    from plant.peaks import peak_label

    return _LABELS.get(name) or peak_label(name)

# the English names holidays.China gives these festivals (fallback when the lunisolar helper
# is unavailable in a future version of the package)
_CHINA_NAMES = {
    "spring_festival": "Chinese New Year (Spring Festival)",
    "dragon_boat": "Dragon Boat Festival",
    "mid_autumn": "Mid-Autumn Festival",
}


@lru_cache(maxsize=512)
def festival_date(name: str, year: int) -> dt.date:
    """The Gregorian date of lunar festival ``name`` (one of :data:`FESTIVALS`) in ``year``."""
    if name not in FESTIVALS:
        raise ConfigError(f"unknown festival {name!r}; expected one of {', '.join(FESTIVALS)}")
    try:
        from holidays.calendars.chinese import _ChineseLunisolar

        cal = _ChineseLunisolar()
        method = {
            "spring_festival": cal.lunar_new_year_date,
            "dragon_boat": cal.dragon_boat_date,
            "mid_autumn": cal.mid_autumn_date,
        }[name]
        day, _exact = method(year)
        if day is not None:
            return day
    except (ImportError, AttributeError):  # pragma: no cover - depends on the package version
        pass
    found = [
        d
        for d, label in holidays.China(years=year, language="en_US").items()
        if label == _CHINA_NAMES[name]
    ]
    if not found:  # pragma: no cover
        raise ConfigError(f"the holidays package has no {name} date for {year}")
    return min(found)


@dataclass(frozen=True)
class Event:
    """One extra dated event from the events CSV."""

    date: dt.date
    name: str
    kind: str = "promotion"
    days_before: int = 0
    days_after: int = 0


def read_events(path: str | Path) -> list[Event]:
    """Read an events CSV; a bad row raises :class:`DataError` naming the row and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read events file: {exc}") from exc
    return _parse_events(text.splitlines(), str(path))


def default_events() -> list[Event]:
    """The packaged default events: China's e-commerce promotion days (618, Double 11, 12)."""
    text = resources.files("plant.data").joinpath("events.csv").read_text(encoding="utf-8")
    return _parse_events(text.splitlines(), "plant/data/events.csv")


def _parse_events(lines: list[str], where: str) -> list[Event]:
    reader = csv.DictReader(lines)
    missing = {"date", "name", "kind"} - set(reader.fieldnames or [])
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(sorted(missing))}")
    events: list[Event] = []
    for row_no, row in enumerate(reader, start=2):
        try:
            day = dt.date.fromisoformat(row["date"].strip())
        except ValueError as exc:
            raise DataError(f"{where}: row {row_no}, column date: not an ISO date") from exc
        kind = row["kind"].strip()
        if kind not in _EVENT_KINDS:
            raise DataError(f"{where}: row {row_no}, column kind: {kind!r} not in {_EVENT_KINDS}")
        name = row["name"].strip()
        if kind == "festival" and not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            raise DataError(f"{where}: row {row_no}, column name: a festival's name is what "
                            f"--peak takes: lower-case letters, digits and _ (got {name!r})")
        windows = []
        for col in ("days_before", "days_after"):
            raw = (row.get(col) or "0").strip() or "0"
            try:
                value = int(raw)
            except ValueError as exc:
                raise DataError(f"{where}: row {row_no}, column {col}: not an integer") from exc
            if value < 0:
                raise DataError(f"{where}: row {row_no}, column {col}: negative")
            windows.append(value)
        events.append(Event(day, name, kind, windows[0], windows[1]))
    return events


@dataclass
class HolidayCalendar:
    """Festival dates, public holidays and extra events for one market."""

    country: str = "CN"
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            holidays.country_holidays(self.country, years=2024)
        except NotImplementedError as exc:
            raise ConfigError(f"calendar.country: unknown country code {self.country!r}") from exc

    @classmethod
    def default(cls, country: str = "CN", events_csv: str | Path | None = None) -> HolidayCalendar:
        """Country holidays plus the packaged promotion days (or ``events_csv`` instead)."""
        events = read_events(events_csv) if events_csv else default_events()
        return cls(country=country, events=events)

    def festival(self, name: str, year: int) -> dt.date:
        """The date of festival or peak ``name`` in ``year``: a ``festival`` event of that
        name and year, else the built-in rule (:mod:`plant.peaks`)."""
        from plant.peaks import PEAKS, builtin_peak_date

        own = [e.date for e in self.events if e.kind == "festival" and e.name == name]
        for day in own:
            if day.year == year:
                return day
        if own and name not in PEAKS:
            raise ConfigError(f"festival {name!r}: the events file gives no date in {year} "
                              f"(it has {', '.join(str(d.year) for d in sorted(own))})")
        return builtin_peak_date(name, year)

    def occurrences(self, name: str, first_year: int, last_year: int) -> list[dt.date]:
        """The festival's dates in the inclusive year range, sorted; a festival known only
        from the events file has dates only in the years the file gives."""
        from plant.peaks import PEAKS

        if name in PEAKS:
            return [self.festival(name, y) for y in range(first_year, last_year + 1)]
        self.check_peak(name)
        return sorted(e.date for e in self.events if e.kind == "festival" and e.name == name
                      and first_year <= e.date.year <= last_year)

    def check_peak(self, name: str) -> str:
        """``name`` if it is a built-in peak or a festival of the events file, else a
        ConfigError that lists the choices."""
        from plant.peaks import PEAKS

        own = {e.name for e in self.events if e.kind == "festival"}
        if name not in PEAKS and name not in own:
            extra = f", or from the events file: {', '.join(sorted(own))}" if own else (
                " (or a festival named in the events file)")
            raise ConfigError(f"unknown peak {name!r}; expected one of {', '.join(PEAKS)}"
                              f"{extra}")
        return name

    def festival_dates(self, name: str, first_year: int, last_year: int) -> list[dt.date]:
        """The festival's dates for every year in the inclusive range."""
        return [self.festival(name, y) for y in range(first_year, last_year + 1)]

    def public_holidays(self, first_year: int, last_year: int) -> set[dt.date]:
        """The country's public holidays (days off) in the inclusive year range."""
        return set(self.public_holiday_names(first_year, last_year))

    def public_holiday_names(self, first_year: int, last_year: int) -> dict[dt.date, str]:
        """The country's public holidays in the inclusive year range, each with its name
        (the same holiday has the same name every year; two on one day are joined by "; ")."""
        years = list(range(first_year, last_year + 1))
        return dict(holidays.country_holidays(self.country, years=years))

    def promotions(self) -> list[str]:
        """Names of the promotion events, sorted (one feature per name)."""
        return sorted({e.name for e in self.events if e.kind == "promotion"})

    def closures(self) -> set[dt.date]:
        """Days the plant does not ship, from ``closure`` events."""
        return {e.date for e in self.events if e.kind == "closure"}
