"""A seeded, realistic sample ERP data set for a mooncake factory.

:func:`generate` returns every CSV of the data contract (``skus``, ``demand``, ``open_orders``,
``inventory``, ``materials``, ``bom``, ``lines``, ``suppliers``, ``supplier_items``, ``prices``,
``purchase_orders`` (open orders to suppliers) and the web shop's order lines ``shop_orders``,
see :mod:`peakline.demo.sample_orders`) as DataFrames; :func:`write` saves them.
The same seed gives the same data, byte for byte. The demand model is documented in
``docs/forecast.md``: three channels (brand OEM orders - lumpy, large, placed weeks before the
festival; retail chains - weekly ordering, Monday-heavy; direct e-commerce - daily, weekend-heavy,
with promotion days), a Mid-Autumn peak that moves with the lunar calendar, smaller Dragon Boat
and Spring Festival effects, yearly growth, gamma-Poisson noise, and a surge of e-commerce
cancellations in the days before the festivals.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from peakline.demo.sample_master import (
    CHANNELS,
    FLAVOURS,
    PACKAGING,
    bom_table,
    inventory_table,
    lines_table,
    materials_table,
    sku_table,
)
from peakline.demo.sample_orders import shop_orders
from peakline.demo.sample_prices import price_history
from peakline.demo.sample_suppliers import (
    purchase_orders_table,
    supplier_items_table,
    suppliers_table,
)
from plant.calendar import HolidayCalendar
from plant.forecast.features import festival_distance

__all__ = ["DEFAULT_END", "SampleData", "generate", "write"]

#: history ends here by default, so a 60-day forecast covers Mid-Autumn 2026 (09-25)
DEFAULT_END = dt.date(2026, 7, 31)

SampleData = dict[str, pd.DataFrame]

_WEEKLY = {
    "ecommerce": np.array([1.0, 0.95, 0.95, 1.0, 1.05, 1.3, 1.25]),
    "retail": np.array([1.7, 1.4, 1.0, 0.9, 0.8, 0.15, 0.05]),
    "oem": np.ones(7),
}


def _bump(dist: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((dist - centre) / width) ** 2))


def _lumpy_orders(
    rng: np.random.Generator, dist: np.ndarray, dow: np.ndarray, window: tuple[int, int],
    n_orders: int, volume: float, growth: np.ndarray,
) -> np.ndarray:
    """Large brand orders on a few weekdays inside a window before each festival."""
    out = np.zeros(len(dist))
    starts = np.flatnonzero(dist == window[0])
    for s in starts:
        days = np.arange(int(s), min(int(s) + window[1] - window[0] + 1, len(dist)))
        days = days[dow[days] < 5]
        if len(days) == 0:
            continue
        k = min(n_orders, len(days))
        pick = rng.choice(days, size=k, replace=False)
        share = rng.dirichlet(np.full(k, 2.0))
        out[pick] += np.round(volume * growth[pick] * share / 10) * 10
    return out


def _channel_rate(ch: str, d: dict[str, np.ndarray], promo: np.ndarray, pre: np.ndarray,
                  amp: float) -> np.ndarray:
    """Expected daily orders relative to the off-season base."""
    ma, db, sf = d["mid_autumn"], d["dragon_boat"], d["spring_festival"]
    if ch == "ecommerce":
        rate = 1 + amp * 32 * _bump(ma, -12, 11) * (ma <= -2)
        rate = rate * np.where((ma > 0) & (ma <= 30), 0.35, 1.0)
        rate = rate * (1 + 1.2 * _bump(db, -6, 5)) * (1 + 2.0 * _bump(sf, -14, 8))
        rate = rate * np.where((sf >= 0) & (sf <= 6), 0.3, 1.0)
        rate = rate * (1 + 3.0 * promo + 0.8 * pre)
    elif ch == "retail":
        rate = 1 + amp * 28 * _bump(ma, -42, 14) * (ma <= -10)
        rate = rate * (1 + 0.8 * _bump(db, -18, 7)) * (1 + 1.5 * _bump(sf, -30, 10))
        rate = rate * np.where((sf >= 0) & (sf <= 6), 0.05, 1.0)
    else:
        rate = np.full(len(ma), 1.0)
    return rate


def generate(
    seed: int = 7, years: int = 4, n_skus: int = 36, end: dt.date = DEFAULT_END,
    cal: HolidayCalendar | None = None, shop: bool = True,
) -> SampleData:
    """The full sample data set; deterministic for a given set of arguments.

    ``shop=False`` leaves out the order-level web shop history (the slowest part)."""
    cal = cal or HolidayCalendar.default()
    rng = np.random.default_rng(seed)
    skus = sku_table(n_skus, rng)
    start = pd.Timestamp(end) - pd.DateOffset(years=years) + pd.Timedelta(days=1)
    dates = pd.date_range(start, pd.Timestamp(end), freq="D")
    n = len(dates)
    dist = {f: festival_distance(dates, cal, f) for f in ("mid_autumn", "dragon_boat",
                                                          "spring_festival")}
    dow = dates.dayofweek.values
    feats_promo = np.zeros(n)
    feats_pre = np.zeros(n)
    days = dates.values.astype("datetime64[D]")
    for ev in cal.events:
        if ev.kind != "promotion":
            continue
        delta = (days - np.datetime64(ev.date, "D")).astype(np.int64)
        feats_promo = np.maximum(feats_promo, (delta == 0).astype(float))
        feats_pre = np.maximum(feats_pre, ((delta < 0) & (delta >= -ev.days_before)).astype(float))
    t_years = (dates - dates[0]).days.values / 365.25
    pre_fest = ((dist["mid_autumn"] >= -6) & (dist["mid_autumn"] <= -1)) * (
        1 + (6 + dist["mid_autumn"]) / 3
    ) + ((dist["spring_festival"] >= -8) & (dist["spring_festival"] <= -1)) * 1.0 + (
        (dist["dragon_boat"] >= -3) & (dist["dragon_boat"] <= -1)
    ) * 0.6
    frames = []
    for row in skus.itertuples(index=False):
        ch = str(row.channel)
        pk = PACKAGING[str(row.packaging)]
        flv = FLAVOURS[str(row.flavour)]
        growth = np.exp(rng.uniform(0.04, 0.14) * t_years + (0.05 if ch == "ecommerce" else 0) *
                        t_years)
        base = CHANNELS[ch]["base"] * pk["mix"] * flv["mix"] * rng.uniform(0.6, 1.4)
        amp = pk["festival_amp"] * rng.uniform(0.8, 1.2)
        if ch == "oem":
            volume = (CHANNELS[ch]["festival_volume"] * pk["mix"] * flv["mix"]
                      * rng.uniform(0.5, 1.5))
            orders = _lumpy_orders(rng, dist["mid_autumn"], dow, (-100, -35),
                                   int(rng.integers(2, 5)), volume, growth)
            orders += _lumpy_orders(rng, dist["spring_festival"], dow, (-60, -30), 1,
                                    0.12 * volume, growth)
            orders += _lumpy_orders(rng, dist["dragon_boat"], dow, (-45, -25), 1,
                                    0.05 * volume, growth)
            small = rng.poisson(base * growth * _WEEKLY["oem"][dow])
            orders = orders + small * (rng.random(n) < 0.08)
            cancel = np.zeros(n)
            big = np.flatnonzero(orders > 50)
            for i in big[rng.random(len(big)) < 0.12]:
                j = min(n - 1, i + int(rng.integers(7, 21)))
                cancel[j] += np.round(orders[i] * rng.uniform(0.1, 0.3))
        else:
            mu = base * growth * _WEEKLY[ch][dow] * _channel_rate(
                ch, dist, feats_promo, feats_pre, amp)
            k = 4.0 if ch == "ecommerce" else 2.5
            orders = rng.poisson(rng.gamma(k, mu / k)).astype(float)
            recent = pd.Series(orders).rolling(7, min_periods=1).mean().to_numpy()
            rate = (0.03 if ch == "ecommerce" else 0.01) + (
                0.07 * pre_fest if ch == "ecommerce" else 0.0)
            cancel = rng.poisson(rate * recent).astype(float)
        frames.append(pd.DataFrame({
            "sku": row.sku, "date": dates.strftime("%Y-%m-%d"),
            "orders": orders.astype(np.int64), "cancellations": cancel.astype(np.int64),
        }))
    demand = pd.concat(frames, ignore_index=True)
    data = {
        "skus": skus,
        "demand": demand,
        "open_orders": _open_orders(demand, skus, end, cal),
        "inventory": inventory_table(skus, demand, end, rng),
        "materials": materials_table(skus),
        "bom": bom_table(skus),
        "lines": lines_table(),
        "suppliers": suppliers_table(),
        "supplier_items": supplier_items_table(skus, demand),
        "prices": price_history(materials_table(skus), end, years, seed, cal),
    }
    data["purchase_orders"] = purchase_orders_table(skus, demand, data["supplier_items"], end)
    if shop:
        data["shop_orders"] = shop_orders(demand, skus, cal, seed)
    return data


def _open_orders(demand: pd.DataFrame, skus: pd.DataFrame, end: dt.date,
                 cal: HolidayCalendar) -> pd.DataFrame:
    """OEM and retail orders of the last 45 days, due at their channel's ship-by cutoff."""
    channel = skus.set_index("sku")["channel"]
    recent = demand[(demand["date"] > (end - dt.timedelta(days=45)).isoformat())
                    & (demand["orders"] > 0)].copy()
    recent["channel"] = recent["sku"].map(channel)
    recent = recent[recent["channel"].isin(["oem", "retail"])]
    ma = cal.festival("mid_autumn", end.year)
    if ma <= end:
        ma = cal.festival("mid_autumn", end.year + 1)
    cutoff = {c: CHANNELS[c]["ship_by_days"] for c in CHANNELS}
    due = recent["channel"].map(lambda c: (ma - dt.timedelta(days=cutoff[c])).isoformat())
    out = pd.DataFrame({
        "order_id": [f"SO{end:%y%m}{i:05d}" for i in range(len(recent))],
        "sku": recent["sku"].to_numpy(), "order_date": recent["date"].to_numpy(),
        "due_date": due.to_numpy(), "qty": recent["orders"].to_numpy(),
        "channel": recent["channel"].to_numpy(),
    })
    return out


def write(data: SampleData, out_dir: str | Path) -> list[Path]:
    """Write every table as ``<name>.csv`` under ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in data.items():
        path = out / f"{name}.csv"
        df.to_csv(path, index=False, lineterminator="\n")
        paths.append(path)
    return paths
