"""Which open web shop orders to offer a hold for delivery after the holiday.

A held order is firm demand delivered later: the shop keeps the parcel in its safekeeping
facility and delivers it on the date the customer picks after coming back. Mooncakes are a
seasonal product: the line's last production day for a festival is the day before it. A held
order's production moves to that day (the freshest box, the fewest days in safekeeping), and the
box must still have ``min_shelf_days`` of shelf life left on its delivery day.

:func:`offer_holds` ranks eligible open orders (delivered in the ``window_days`` before the
festival up to the planned return, risk scored by :class:`~plant.orders.risk.CancellationModel`)
by expected value: ``accept_rate * (p_cancel * margin_at_risk - boxes * hold_days *
cost_per_box_day)``, where ``margin_at_risk`` is what a cancelled box loses (its price less the
salvage value of a box left over). It offers greedily, best value per box first, while every
day's safekeeping stock stays within capacity even if every offered customer accepts (the
stock of holds already accepted counts first).

Orders arrive over weeks, and the facility must not fill up with the first low-risk orders of
the season: :func:`value_threshold` sets the least value per box worth a place, from the last
season's orders scored by the same model, so that the expected accepted boxes above it fit the
capacity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from peakline.errors import DataError

__all__ = ["HoldSettings", "hold_window", "offer_holds", "order_values", "safekeeping_days",
           "stock_exceptions", "value_threshold"]


@dataclass(frozen=True)
class HoldSettings:
    """The safekeeping service's terms and the facility's limits."""

    capacity_boxes: int = 5000      # boxes the facility can keep on any one day
    cost_per_box_day: float = 0.5   # safekeeping cost of one box for one day
    accept_rate: float = 0.5        # expected share of offered customers who accept
    return_days: int = 4            # planned delivery: this many days after the festival
    window_days: int = 14           # offer to orders delivered this many days before it
    min_shelf_days: int = 7         # shelf life a box must still have on its delivery day

    def __post_init__(self) -> None:
        if self.capacity_boxes <= 0:
            raise DataError(f"safekeeping capacity must be at least 1 box, got "
                            f"{self.capacity_boxes}")
        if not 0 < self.accept_rate <= 1:
            raise DataError(f"acceptance rate must be greater than 0 and at most 1, got "
                            f"{self.accept_rate}")
        if self.cost_per_box_day < 0:
            raise DataError(f"safekeeping cost per box-day must not be negative, got "
                            f"{self.cost_per_box_day}")
        if self.return_days < 1 or self.window_days < 1 or self.min_shelf_days < 0:
            raise DataError("return days and window days must be at least 1, minimum shelf "
                            "days at least 0")


def order_values(lines: pd.DataFrame, skus: pd.DataFrame) -> pd.DataFrame:
    """Per order: ``margin`` (price less unit cost), ``margin_at_risk`` (price less salvage
    value: what a cancelled box loses) and the shortest ``shelf_life_days`` of its SKUs."""
    master = skus.set_index("sku")
    unknown = sorted(set(lines["sku"]) - set(master.index))
    if unknown:
        raise DataError(f"shop orders name SKUs missing from the SKU master: "
                        f"{', '.join(unknown[:5])}")
    df = lines[["order_id", "sku", "qty", "unit_price"]].copy()
    df["margin"] = df["qty"] * (df["unit_price"] - df["sku"].map(master["unit_cost"]))
    df["margin_at_risk"] = df["qty"] * (df["unit_price"] - df["sku"].map(master["salvage_value"]))
    df["shelf_life_days"] = df["sku"].map(master["shelf_life_days"])
    return df.groupby("order_id", as_index=False).agg(
        margin=("margin", "sum"), margin_at_risk=("margin_at_risk", "sum"),
        shelf_life_days=("shelf_life_days", "min"))


def hold_window(festival: dt.date, s: HoldSettings) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First original delivery day that can be held, and the planned hold-until date."""
    fest = pd.Timestamp(festival)
    return fest - pd.Timedelta(days=s.window_days), fest + pd.Timedelta(days=s.return_days)


def safekeeping_days(held: pd.DataFrame, festival: dt.date) -> pd.DataFrame:
    """Boxes in safekeeping per day: a held box is made on the last production day (the eve of
    the festival, the latest it can be made; production moves later) and kept until its delivery.

    ``held`` has ``boxes``, ``delivery`` and ``hold_until``; returns ``day, boxes``."""
    if held.empty:
        return pd.DataFrame({"day": pd.to_datetime([]), "boxes": np.zeros(0, dtype=np.int64)})
    last_make = pd.Timestamp(festival) - pd.Timedelta(days=1)
    end = pd.to_datetime(held["hold_until"])
    start = pd.Series(last_make, index=held.index)
    days = pd.date_range(start.min(), end.max() - pd.Timedelta(days=1), freq="D")
    delta = pd.Series(0, index=days.append(pd.DatetimeIndex([end.max()])), dtype=np.int64)
    np.add.at(delta.values, delta.index.get_indexer(start), held["boxes"].to_numpy(np.int64))
    np.add.at(delta.values, delta.index.get_indexer(end), -held["boxes"].to_numpy(np.int64))
    stock = delta.cumsum().iloc[:-1]
    return pd.DataFrame({"day": stock.index, "boxes": stock.to_numpy()})


def _eligible(orders: pd.DataFrame, festival: dt.date, s: HoldSettings) -> pd.DataFrame:
    """Orders delivered in the hold window, fresh enough when made on the eve, valued."""
    first, until = hold_window(festival, s)
    last_make = pd.Timestamp(festival) - pd.Timedelta(days=1)
    delivery = pd.to_datetime(orders["delivery"])
    fresh = last_make + pd.to_timedelta(orders["shelf_life_days"] - s.min_shelf_days, unit="D")
    ok = (delivery >= first) & (delivery < until) & (fresh >= until)
    cand = orders[ok].copy()
    cand["hold_until"] = until
    cand["delivery"] = delivery[ok]
    cand["hold_days"] = (until - last_make).days
    cand["value"] = s.accept_rate * (cand["p_cancel"] * cand["margin_at_risk"]
                                     - cand["boxes"] * cand["hold_days"] * s.cost_per_box_day)
    cand["value_per_box"] = cand["value"] / cand["boxes"]
    return cand


def value_threshold(past: pd.DataFrame, past_festival: dt.date, s: HoldSettings,
                    growth: float = 1.15) -> float:
    """Least value per box worth offering: the best orders of the last season (``past``,
    scored), ``growth`` times as many, fill the capacity with their expected accepted boxes."""
    cand = _eligible(past, past_festival, s)
    cand = cand[cand["value"] > 0].sort_values("value_per_box", ascending=False)
    expected = (cand["boxes"] * s.accept_rate * growth).cumsum()
    over = cand[expected.to_numpy() > s.capacity_boxes]
    return float(over["value_per_box"].iloc[0]) if len(over) else 0.0


def offer_holds(
    orders: pd.DataFrame, festival: dt.date, s: HoldSettings,
    accepted: pd.DataFrame | None = None, min_value_per_box: float = 0.0,
) -> pd.DataFrame:
    """Rank and choose the orders to offer a hold; returns every eligible order with
    ``hold_until, hold_days, value, offer`` (bool), best value first.

    ``orders`` has ``order_id, boxes, delivery, p_cancel, margin_at_risk, shelf_life_days``;
    ``accepted`` (``boxes, delivery, hold_until``) is the safekeeping stock already promised;
    orders worth less than ``min_value_per_box`` (see :func:`value_threshold`) are not offered."""
    _, until = hold_window(festival, s)
    last_make = pd.Timestamp(festival) - pd.Timedelta(days=1)
    cand = _eligible(orders, festival, s)
    cand = cand.sort_values(["value_per_box", "order_id"], ascending=[False, True],
                            ignore_index=True)
    cand["offer"] = False
    if cand.empty:
        return cand
    days = pd.date_range(last_make, until, freq="D")
    load = np.zeros(len(days), dtype=np.int64)
    if accepted is not None and not accepted.empty:
        have = safekeeping_days(accepted, festival).set_index("day")["boxes"]
        load += have.reindex(days, fill_value=0).to_numpy(np.int64)
    begin = np.zeros(len(cand), dtype=np.int64)
    stop = days.get_indexer(cand["hold_until"])
    boxes = cand["boxes"].to_numpy(np.int64)
    positive = (cand["value"].to_numpy() > 0) & (
        cand["value_per_box"].to_numpy() >= min_value_per_box)
    offer = np.zeros(len(cand), dtype=bool)
    for i in np.flatnonzero(positive):
        span = slice(begin[i], stop[i])
        if (load[span] + boxes[i]).max() <= s.capacity_boxes:
            load[span] += boxes[i]
            offer[i] = True
    cand["offer"] = offer
    return cand


def stock_exceptions(stock: pd.DataFrame, s: HoldSettings) -> pd.DataFrame:
    """Critical: a day with more boxes held than capacity; warning: expected above 90%."""
    rows = []
    for r in stock.itertuples(index=False):
        if r.held_boxes > s.capacity_boxes:
            rows.append({"day": r.day, "severity": "critical", "message": (
                f"safekeeping over capacity on {r.day:%Y-%m-%d}: {r.held_boxes} boxes held, "
                f"capacity {s.capacity_boxes}")})
        elif r.expected_boxes > 0.9 * s.capacity_boxes:
            rows.append({"day": r.day, "severity": "warning", "message": (
                f"safekeeping nearly full on {r.day:%Y-%m-%d}: {r.expected_boxes} boxes "
                f"expected, capacity {s.capacity_boxes}")})
    return pd.DataFrame(rows, columns=["day", "severity", "message"])
