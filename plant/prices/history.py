"""Price histories: the regular-spacing rule a series must keep, and series on a weekly grid.

A price series may be daily (trading days), weekly or monthly; its usual spacing is the median
distance between its dates. A *gap* is a distance more than 1.5 times the usual one and at
least 7 days longer than it (a weekend or a month of 31 days is not a gap; a missing week in a
weekly series or a missing month in a monthly one is). Such a history is refused on import,
because a volatility or a forecast over a hole would be made up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["find_gap", "weekly"]


def find_gap(dates: Sequence[pd.Timestamp]) -> tuple[pd.Timestamp, pd.Timestamp, float] | None:
    """(last date before, first date after, usual spacing in days) of the first gap, or None."""
    if len(dates) < 3:
        return None
    days = np.diff(np.array([d.toordinal() for d in dates], dtype=float))
    usual = float(np.median(days))
    bad = np.flatnonzero((days > 1.5 * usual) & (days >= usual + 7))
    if not len(bad):
        return None
    i = int(bad[0])
    return dates[i], dates[i + 1], usual


def weekly(prices: pd.DataFrame) -> pd.DataFrame:
    """Weekly prices per item (``item, week, price``): the week's mean, weeks starting Monday;
    a week without a quote (a monthly series) carries the last price forward."""
    if prices.empty:
        return pd.DataFrame(columns=["item", "week", "price"])
    df = prices.assign(week=pd.to_datetime(prices["date"]).dt.to_period("W-SUN").dt.start_time)
    out = []
    for item, g in df.groupby("item"):
        s = g.groupby("week")["price"].mean()
        s = s.reindex(pd.date_range(s.index.min(), s.index.max(), freq="W-MON")).ffill()
        out.append(pd.DataFrame({"item": item, "week": s.index, "price": s.to_numpy()}))
    return pd.concat(out, ignore_index=True)
