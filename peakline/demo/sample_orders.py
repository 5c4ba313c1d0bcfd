"""The sample shop's order-level e-commerce history, consistent with the daily series.

:func:`shop_orders` splits each e-commerce SKU's daily ``orders`` of the sample demand into
customer orders (one row per order line: ``order_id, customer, placed_at, sku, qty,
unit_price, region, delivery_date, days_to_holiday, cancelled_at, held_until``) and marks as
cancelled, on each day, as many boxes of that SKU as the daily ``cancellations`` series says.
Which open orders are cancelled follows what drives pre-holiday cancellations in the shop this
comes from: customers who travel for the festival (some customers more than others, some
regions more than others) cancel orders delivered around the festival, more often for
higher-priced and best-selling boxes, larger baskets and longer lead times. Box totals per SKU
and day match the daily series exactly for orders; cancellations match wherever an open order
of that SKU can carry them (:func:`consistency` reports the difference). The sample history
has no holds yet: the safekeeping service is new, ``held_until`` is empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.orders.holiday import days_to_holiday

__all__ = ["REGIONS", "consistency", "shop_orders"]

#: delivery region -> how strongly its customers travel for the festival (a weight factor)
REGIONS: dict[str, float] = {
    "shenzhen": 2.6, "shanghai": 2.0, "beijing": 1.6, "guangzhou": 1.3,
    "chengdu": 0.7, "wuhan": 0.6, "hangzhou": 1.0, "xian": 0.5,
}
_WINDOW = 8  # an order can be cancelled up to this many days after it was placed


def _lines(rng: np.random.Generator, demand: pd.DataFrame) -> pd.DataFrame:
    """Order lines that add up to each SKU's daily boxes (1-3 boxes a line, mostly 1)."""
    rows = []
    sizes = rng.choice([1, 1, 1, 1, 1, 2, 2, 3], size=int(demand["orders"].sum()) + 1)
    k = 0
    for s, d, n in demand[demand["orders"] > 0][["sku", "date", "orders"]].itertuples(
            index=False):
        left = int(n)
        while left > 0:
            q = min(int(sizes[k]), left)
            k += 1
            rows.append((s, d, q))
            left -= q
    out = pd.DataFrame(rows, columns=["sku", "day", "qty"])
    # shuffle within each day so that neighbouring lines of a day are of different SKUs
    out["r"] = rng.random(len(out))
    return out.sort_values(["day", "r"], ignore_index=True).drop(columns="r")


def shop_orders(
    demand: pd.DataFrame, skus: pd.DataFrame, cal: HolidayCalendar, seed: int = 7,
) -> pd.DataFrame:
    """The order-level history of the e-commerce SKUs in ``demand`` (see module docstring)."""
    rng = np.random.default_rng([seed, 16])
    shop = skus[skus["channel"] == "ecommerce"].set_index("sku")
    dem = demand[demand["sku"].isin(shop.index)].copy()
    if dem.empty:
        return _empty()
    lines = _lines(rng, dem)
    n = len(lines)
    # customers: a few regulars and many occasional buyers; some travel for every festival
    n_cust = max(50, n // 4)
    cust_pop = rng.pareto(2.5, n_cust) + 1.0
    customer = rng.choice(n_cust, size=n, p=cust_pop / cust_pop.sum())
    traveller = rng.random(n_cust) < 0.22
    home = rng.choice(list(REGIONS), size=n_cust, p=_region_mix())
    # a second SKU joins about a fifth of the lines into two-line baskets on the same day
    lines["customer"] = customer
    lines["order"] = np.arange(n)
    same_day = lines.groupby("day").cumcount().to_numpy()
    join = (rng.random(n) < 0.2) & (same_day > 0)
    prev = np.arange(n) - 1
    join &= lines["sku"].to_numpy() != lines["sku"].to_numpy()[np.maximum(prev, 0)]
    order = np.arange(n)
    for i in np.flatnonzero(join):
        if order[i - 1] == i - 1:      # join only singles, so baskets have at most two lines
            order[i] = i - 1
    lines["order"] = order
    lines["customer"] = lines["customer"].to_numpy()[order]
    day = pd.to_datetime(lines["day"]).to_numpy().astype("datetime64[D]")
    dth = days_to_holiday(day, cal)
    lead = 1 + rng.geometric(0.35, size=n)
    lead = np.where(dth > 2, np.minimum(lead, np.maximum(dth - 1, 1)) * (rng.random(n) < 0.6)
                    + lead * (rng.random(n) >= 0.6), lead).astype(np.int64)
    lead = np.maximum(lead[order], 1)
    delivery = day + lead
    price = shop["price"].reindex(lines["sku"]).to_numpy()
    share = dem.groupby("sku")["orders"].sum()
    popular = (share / share.sum()).reindex(lines["sku"]).to_numpy() * len(share)
    boxes = lines.groupby("order")["qty"].transform("sum").to_numpy()
    region = home[lines["customer"].to_numpy()]
    del_dth = days_to_holiday(delivery, cal)
    around = (del_dth <= 2) | (days_to_holiday(delivery - 4, cal) <= 3)
    weight = np.exp(
        1.6 * traveller[lines["customer"].to_numpy()] + np.log(_region_factor(region))
        + 0.9 * np.log(price / np.median(price)) + 0.45 * np.log(popular)
        + 0.25 * (boxes - 1) + 0.12 * np.minimum(lead, 8) + 1.8 * around)
    cancelled = _cancel(rng, lines, dem, day, delivery, weight)
    hour = rng.choice(np.arange(7, 24), size=n)
    placed = day.astype("datetime64[m]") + (hour * 60 + rng.integers(0, 60, size=n))
    placed = placed[order]
    out = pd.DataFrame({
        "order_id": [f"WEB{i:07d}" for i in order],
        "customer": [f"C{c:06d}" for c in lines["customer"]],
        "placed_at": pd.DatetimeIndex(placed).strftime("%Y-%m-%dT%H:%M"),
        "sku": lines["sku"].to_numpy(), "qty": lines["qty"].to_numpy(),
        "unit_price": price, "region": region,
        "delivery_date": pd.DatetimeIndex(delivery.astype("datetime64[ns]")).strftime("%Y-%m-%d"),
        "days_to_holiday": days_to_holiday(placed.astype("datetime64[D]"), cal),
        "cancelled_at": _cancel_times(rng, cancelled, placed), "held_until": "",
    })
    return out


def _region_mix() -> np.ndarray:
    mix = np.array([1.4, 1.6, 1.3, 1.2, 0.9, 0.8, 1.0, 0.6])
    return mix / mix.sum()


def _region_factor(region: np.ndarray) -> np.ndarray:
    return pd.Series(region).map(REGIONS).to_numpy(dtype=float)


def _cancel(rng: np.random.Generator, lines: pd.DataFrame, dem: pd.DataFrame,
            day: np.ndarray, delivery: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Cancel day per line (NaT when kept): each day, each SKU's count of cancelled boxes is
    drawn from its open orders of the last days, with probability proportional to weight."""
    n = len(lines)
    cancel_day = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    order = lines["order"].to_numpy()
    members: dict[int, list[int]] = {}
    for i, o in enumerate(order):
        members.setdefault(int(o), []).append(i)
    sku = lines["sku"].to_numpy()
    qty = lines["qty"].to_numpy()
    need = dem[dem["cancellations"] > 0][["sku", "date", "cancellations"]]
    by_day: dict[np.datetime64, dict[str, int]] = {}
    for s, d, c in need.itertuples(index=False):
        by_day.setdefault(np.datetime64(d, "D"), {})[s] = int(c)
    sku_idx = {s: np.flatnonzero(sku == s) for s in np.unique(sku)}
    for t in sorted(by_day):
        left = by_day[t]
        for s in list(left):
            idx = sku_idx.get(s, np.zeros(0, dtype=np.int64))
            while left.get(s, 0) > 0:
                open_ = idx[(day[idx] < t) & (day[idx] >= t - _WINDOW) & (delivery[idx] > t)
                            & np.isnat(cancel_day[idx])]
                ok = [i for i in open_ if all(
                    left.get(sku[j], 0) >= qty[j] for j in members[int(order[i])])]
                if not ok:
                    break
                w = weight[ok]
                pick = int(ok[int(rng.choice(len(ok), p=w / w.sum()))])
                for j in members[int(order[pick])]:
                    cancel_day[j] = t
                    left[sku[j]] = left.get(sku[j], 0) - int(qty[j])
    return cancel_day


def _cancel_times(rng: np.random.Generator, cancel_day: np.ndarray,
                  placed: np.ndarray) -> list[str]:
    minutes = rng.integers(8 * 60, 23 * 60, size=len(cancel_day))
    at = cancel_day.astype("datetime64[m]") + minutes
    at = np.where(at <= placed, placed + 30, at)
    return ["" if np.isnat(c) else str(a).replace(" ", "T")[:16]
            for c, a in zip(cancel_day, at, strict=True)]


def consistency(orders: pd.DataFrame, demand: pd.DataFrame) -> dict[str, int]:
    """Boxes ordered and cancelled in ``orders`` against the daily series: the differences."""
    shop = demand[demand["sku"].isin(set(orders["sku"]))]
    placed = orders.assign(date=orders["placed_at"].str[:10]).groupby(["sku", "date"])["qty"].sum()
    daily = shop.set_index(["sku", "date"])["orders"]
    c = orders[orders["cancelled_at"] != ""]
    cancelled = c.assign(date=c["cancelled_at"].str[:10]).groupby(["sku", "date"])["qty"].sum()
    cdaily = shop.set_index(["sku", "date"])["cancellations"]
    return {
        "orders_diff": int((placed.reindex(daily.index, fill_value=0) - daily).abs().sum()),
        "cancelled_boxes": int(cancelled.sum()), "cancellations_daily": int(cdaily.sum()),
        "cancel_over": int((cancelled - cdaily.reindex(cancelled.index, fill_value=0))
                           .clip(lower=0).sum()),
    }


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["order_id", "customer", "placed_at", "sku", "qty", "unit_price",
                                 "region", "delivery_date", "days_to_holiday", "cancelled_at",
                                 "held_until"])
