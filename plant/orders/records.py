"""Checks of web shop orders and holds beyond their columns, before anything is stored.

The column rules (types, bounds, formats) come from the row models (``peakline.wire.erp``);
these are the rules between columns and against what the plant knows: an order placed in the
future, cancelled before it was placed or delivered before it was placed, lines of one order
that disagree; a hold for an unknown or cancelled order, before the order's delivery, or beyond
what the product's shelf life allows. Each raises the ERP input error worded as for every table
(source, row, column, what is wrong).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.erp.validate import fail
from plant.orders.holiday import coming_festival
from plant.peaks import DEFAULT_PEAK

__all__ = ["MIN_SHELF_DAYS", "check_holds", "check_shop_orders", "latest_production"]

#: shelf life a held box must still have on its delivery day (days), unless configured
MIN_SHELF_DAYS = 7
_ORDER_FIELDS = ("customer", "placed_at", "region", "delivery_date")


def _first(mask: pd.Series | np.ndarray) -> int | None:
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if len(hits) else None


def check_shop_orders(df: pd.DataFrame, src: str, now: dt.datetime | None = None) -> None:
    """Refuse shop order lines in the future, cancelled or delivered before they were placed,
    or whose lines disagree on the order's customer, time, region or delivery date."""
    now = now or dt.datetime.now()
    placed = pd.to_datetime(df["placed_at"])
    if (i := _first(placed > pd.Timestamp(now))) is not None:
        raise fail(src, i + 1, "placed_at", f"in the future ({placed.iloc[i]:%Y-%m-%dT%H:%M}; "
                   f"now is {now:%Y-%m-%dT%H:%M}): an order history cannot hold future orders")
    cancelled = pd.to_datetime(df["cancelled_at"])
    if (i := _first(cancelled.notna() & (cancelled > pd.Timestamp(now)))) is not None:
        raise fail(src, i + 1, "cancelled_at",
                   f"in the future ({cancelled.iloc[i]:%Y-%m-%dT%H:%M})")
    if (i := _first(cancelled.notna() & (cancelled < placed))) is not None:
        raise fail(src, i + 1, "cancelled_at", "before the order was placed "
                   f"({placed.iloc[i]:%Y-%m-%dT%H:%M})")
    delivery = pd.to_datetime(df["delivery_date"])
    if (i := _first(delivery < placed.dt.normalize())) is not None:
        raise fail(src, i + 1, "delivery_date", "before the order was placed "
                   f"({placed.iloc[i]:%Y-%m-%d})")
    keyed = df.assign(placed_at=placed, delivery_date=delivery)
    for col in _ORDER_FIELDS:
        differs = keyed.groupby("order_id")[col].transform("nunique") > 1
        if (i := _first(differs)) is not None:
            raise fail(src, i + 1, col, f"differs between the lines of order "
                       f"{df['order_id'].iloc[i]!r}")


def latest_production(delivery: pd.Series, held_until: pd.Series, cal: HolidayCalendar,
                      peak: str = DEFAULT_PEAK) -> pd.Series:
    """The last day a held box can be made: the eve of the first ``peak`` on or after its
    original delivery (the goods are made for the festival), or the day before the hold
    ends."""
    eve = [pd.Timestamp(coming_festival(d.date(), cal, peak)) - pd.Timedelta(days=1)
           for d in delivery]
    return pd.Series(np.minimum(pd.DatetimeIndex(eve).to_numpy(),
                                (held_until - pd.Timedelta(days=1)).to_numpy()),
                     index=delivery.index)


def check_holds(df: pd.DataFrame, src: str, orders: pd.DataFrame, cal: HolidayCalendar,
                min_shelf_days: int = MIN_SHELF_DAYS, peak: str = DEFAULT_PEAK) -> None:
    """Refuse holds for unknown or cancelled orders, ending before the order's delivery date,
    or later than a box made on its last production day (the eve of ``peak``, dated by
    ``cal``) keeps ``min_shelf_days`` of shelf life.

    ``orders`` has one row per known order: ``order_id, delivery_date, cancelled_at,
    shelf_life_days`` (the shortest of its SKUs)."""
    known = orders.set_index("order_id")
    if (i := _first(~df["order_id"].isin(known.index))) is not None:
        raise fail(src, i + 1, "order_id", f"unknown web shop order {df['order_id'].iloc[i]!r}")
    o = known.loc[df["order_id"]].reset_index(drop=True)
    cancelled = pd.to_datetime(o["cancelled_at"])
    if (i := _first(cancelled.notna())) is not None:
        raise fail(src, i + 1, "order_id", f"order {df['order_id'].iloc[i]!r} was cancelled on "
                   f"{cancelled.iloc[i]:%Y-%m-%d}: a cancelled order cannot be held")
    until = pd.to_datetime(df["held_until"]).reset_index(drop=True)
    delivery = pd.to_datetime(o["delivery_date"])
    if (i := _first(until < delivery)) is not None:
        raise fail(src, i + 1, "held_until", f"before the order's delivery date "
                   f"({delivery.iloc[i]:%Y-%m-%d}): a hold delivers later, not sooner")
    made = latest_production(delivery, until, cal, peak)
    limit = made + pd.to_timedelta(o["shelf_life_days"] - min_shelf_days, unit="D")
    if (i := _first(until > limit)) is not None:
        raise fail(src, i + 1, "held_until", f"beyond the shelf life: made on "
                   f"{made.iloc[i]:%Y-%m-%d} at the latest, a box with "
                   f"{int(o['shelf_life_days'].iloc[i])} days of shelf life must be delivered by "
                   f"{limit.iloc[i]:%Y-%m-%d} to keep {min_shelf_days} days")
