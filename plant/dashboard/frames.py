"""Turning the store's pandas frames into JSON the page can draw, and dates it can judge.

Small, pure helpers shared by the views: NaN becomes null, timestamps become ISO strings or
Unix seconds, and plan columns that hold order-by dates are recognised by name and type.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

import pandas as pd

from peakline.errors import ConfigError
from plant.calendar import FESTIVALS, HolidayCalendar, festival_label
from plant.peaks import DEFAULT_PEAK

__all__ = [
    "as_date",
    "as_unix",
    "festival_dates",
    "frame_records",
    "is_order_by_column",
    "json_safe",
]

_MIDNIGHT = re.compile(r"^\d{4}-\d\d-\d\dT00:00:00(\.0+)?(Z|[+-]00:?00)?$")
_ORDER_BY_HINTS = ("order_by", "order_date", "release", "reorder", "place_by", "order_on")


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy of ``value`` (NaN/inf -> None, timestamps -> ISO strings)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return frame_records(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def frame_records(df: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows of ``df`` as JSON-safe dicts (dates as ISO strings, NaN as null)."""
    if df is None or df.empty:
        return []
    df = df.copy()
    for col in df.columns:
        series = df[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            if series.dropna().empty or (series.dropna() == series.dropna().dt.normalize()).all():
                df[col] = series.dt.strftime("%Y-%m-%d").where(series.notna(), None)
        elif series.dtype == object:
            df[col] = series.map(_date_text)
    records: list[dict[str, Any]] = json.loads(df.to_json(orient="records", date_format="iso"))
    return records


def _date_text(value: Any) -> Any:
    """Dates as ``YYYY-MM-DD`` (also ISO strings at midnight, as a JSON round trip leaves them)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and _MIDNIGHT.match(value):
        return value[:10]
    return value


def as_unix(value: Any) -> float | None:
    """Unix seconds from a float, a datetime, a pandas Timestamp or an ISO string."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(ts):
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return float(ts.timestamp())


def as_date(value: Any) -> dt.date | None:
    """A calendar date from a date, datetime, Timestamp or ISO string; None if not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        return value.date()
    return None


def is_order_by_column(name: str, series: pd.Series) -> bool:
    """Whether a plan column holds dates by which something must be ordered or released."""
    lowered = name.lower()
    if not any(hint in lowered for hint in _ORDER_BY_HINTS):
        return False
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    sample = series.dropna().head(5).tolist()
    return bool(sample) and all(as_date(v) is not None for v in sample)


def festival_dates(start: dt.date, end: dt.date, cal: HolidayCalendar | None = None,
                   peak: str = DEFAULT_PEAK) -> list[dict[str, str]]:
    """The lunar festivals (Spring Festival, Dragon Boat, Mid-Autumn) and ``peak`` between
    start and end (inclusive), by date, as the plant's calendar ``cal`` dates them (None: the
    packaged one); only the first day of each festival, which is what the demand peaks
    before. A peak the calendar does not know is left out (it marks a chart, nothing more)."""
    cal = cal or HolidayCalendar.default()
    names = list(FESTIVALS) if peak in FESTIVALS else [*FESTIVALS, peak]
    out: list[dict[str, str]] = []
    for name in names:
        try:
            days = cal.occurrences(name, start.year, end.year)
        except ConfigError:
            continue
        out += [{"date": d.isoformat(), "name": festival_label(name)} for d in days
                if start <= d <= end]
    return sorted(out, key=lambda f: f["date"])
