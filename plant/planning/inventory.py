"""Inventory plan: seasonal finished goods as a newsvendor, materials and packaging to order.

Finished goods: festival-season net demand per SKU (the forecast days within ``season_days``
before the peak; quantiles summed, the comonotone case, then a normal fitted to P10/P50/P90) and the
critical ratio (price - cost) / (price - salvage) give the quantity to have made; the expected
leftover is the salvage plan after the festival.

Materials and packaging: the production plan exploded through the bill of materials gives the
daily need of each item; safety stock is z x the daily need's standard deviation (from the
forecast's P10..P90) x sqrt(lead time). Projected stock falls below safety stock on a need
date; an order covering the next ``cover_days`` (at most the item's shelf life), rounded up to
the MOQ and pack multiple, must arrive then, so it is placed lead time earlier (order-by date).
Open purchase orders are scheduled receipts: each adds to the projected stock on its due date
(an overdue one on the first day), so the plan only proposes what they do not cover.
An order-by date before today is late: the exceptions list says what runs out when.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from plant.calendar import HolidayCalendar
from plant.forecast.features import festival_distance
from plant.peaks import DEFAULT_PEAK, DEFAULT_SEASON_DAYS
from plant.planning.rules import (
    Z90,
    critical_ratio,
    expected_leftover,
    explode_bom,
    newsvendor_quantity,
    order_by,
    round_order,
    safety_stock,
)

__all__ = ["finished_goods", "material_orders"]


def finished_goods(fc: pd.DataFrame, skus: pd.DataFrame, cal: HolidayCalendar,
                   open_orders: pd.DataFrame | None = None, *, peak: str = DEFAULT_PEAK,
                   season_days: int = DEFAULT_SEASON_DAYS) -> pd.DataFrame:
    """Newsvendor quantity, expected leftover and salvage per SKU for the coming season.

    Firm open orders due in the season add to every quantile of the forecast new orders.
    """
    df = fc.copy()
    df["ds"] = pd.to_datetime(df["ds"])
    dist = festival_distance(pd.DatetimeIndex(df["ds"]), cal, peak)
    season = df[(dist >= -season_days) & (dist <= 0)]
    cols = ["net_p10", "net_p50", "net_p90", "net_mean"]
    tot = season.groupby("sku")[cols].sum().clip(lower=0)
    if open_orders is not None and len(open_orders) and len(season):
        due = pd.to_datetime(open_orders["due_date"])
        firm = open_orders[due <= season["ds"].max()].groupby("sku")["qty"].sum()
        firm = firm.reindex(tot.index, fill_value=0.0).astype(float)
        tot = tot.add(firm, axis=0)
    rows = []
    for s in skus.itertuples(index=False):
        if s.sku not in tot.index:
            continue
        t = tot.loc[s.sku]
        sd = max(0.0, float(t.net_p90 - t.net_p10) / (2 * Z90))
        mean = float(t.net_p50)
        cr = critical_ratio(float(s.price), float(s.unit_cost), float(s.salvage_value))
        q = newsvendor_quantity(mean, sd, cr)
        left = expected_leftover(q, mean, sd)
        rows.append({
            "sku": s.sku, "season_p10": float(t.net_p10), "season_p50": mean,
            "season_p90": float(t.net_p90), "season_sd": sd, "price": float(s.price),
            "unit_cost": float(s.unit_cost), "salvage_value": float(s.salvage_value),
            "critical_ratio": cr, "newsvendor_qty": round(q),
            "expected_leftover": round(left), "salvage_revenue": round(left * s.salvage_value, 2),
        })
    return pd.DataFrame(rows)


def material_orders(
    plan: pd.DataFrame, fc: pd.DataFrame, bom: pd.DataFrame, materials: pd.DataFrame,
    inventory: pd.DataFrame, start: dt.date, level: float = 0.95, cover_days: int = 28,
    on_order: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders, item summary) for every material and packaging item the plan uses.

    ``plan`` has ``sku, date, qty_start``; ``fc`` gives the SKU forecast spread;
    ``on_order`` (``item, due_date, qty``) the open purchase orders.
    """
    need = explode_bom(plan.rename(columns={"qty_start": "qty"}), bom)
    sd_sku = ((fc["net_p90"] - fc["net_p10"]) / (2 * Z90)).groupby(fc["sku"]).mean()
    sd_item = (bom["qty_per_unit"] * bom["sku"].map(sd_sku).fillna(0)).groupby(bom["item"]).sum()
    stock = inventory[inventory["kind"] != "sku"].set_index("item")["on_hand"].astype(float)
    first = pd.Timestamp(start)
    receipts = _receipts(on_order, first)
    orders, summary = [], []
    for m in materials.itertuples(index=False):
        item_need = need[need["item"] == m.item].set_index("date")["qty"]
        last = max(item_need.index.max(), first) if len(item_need) else first
        days = pd.date_range(first, last, freq="D")
        daily = item_need.reindex(days, fill_value=0.0).to_numpy()
        lead = int(m.lead_time_days)
        ss = safety_stock(level, float(sd_item.get(m.item, 0.0)), lead)
        on_hand = float(stock.get(m.item, 0.0))
        window = int(min(cover_days, m.shelf_life_days)) if m.shelf_life_days else cover_days
        arriving = receipts[receipts["item"] == m.item].groupby("due")["qty"].sum()
        on_po = float(arriving.sum())
        projected = on_hand - np.cumsum(daily) + np.cumsum(
            arriving.reindex(days, fill_value=0.0).to_numpy())
        i = 0
        while len(daily) and i < len(daily):
            below = np.flatnonzero(projected[i:] < ss)
            if not len(below):
                break
            i += int(below[0])
            end = min(i + window - 1, len(daily) - 1)
            qty = round_order(ss - projected[end], float(m.moq), float(m.pack_multiple))
            need_day = days[i].date()
            when = order_by(need_day, lead)
            orders.append({
                "item": m.item, "kind": m.kind, "unit": m.unit, "need_date": need_day,
                "order_by": when, "qty": qty, "lead_time_days": lead, "moq": m.moq,
                "pack_multiple": m.pack_multiple, "safety_stock": round(ss, 1),
                "late_days": max(0, (start - when).days),
                "earliest_arrival": max(need_day, start + dt.timedelta(days=lead)),
            })
            projected[i:] += qty
            i += 1
        avg = float(daily[:30].mean()) if len(daily) else 0.0
        summary.append({
            "item": m.item, "kind": m.kind, "unit": m.unit, "on_hand": on_hand,
            "on_order": on_po,
            "need_total": float(daily.sum()), "avg_daily_need_30d": round(avg, 2),
            "days_of_cover": round(on_hand / avg, 1) if avg > 0 else None,
            "safety_stock": round(ss, 1), "lead_time_days": lead,
        })
    return pd.DataFrame(orders), pd.DataFrame(summary)


def _receipts(on_order: pd.DataFrame | None, first: pd.Timestamp) -> pd.DataFrame:
    """``item, due, qty`` of open purchase orders; an overdue one is expected on ``first``."""
    if on_order is None or not len(on_order):
        return pd.DataFrame({"item": pd.Series(dtype=str), "due": pd.Series(dtype="M8[ns]"),
                             "qty": pd.Series(dtype=float)})
    due = pd.to_datetime(on_order["due_date"]).dt.normalize().clip(lower=first)
    return pd.DataFrame({"item": on_order["item"].astype(str).to_numpy(), "due": due.to_numpy(),
                         "qty": on_order["qty"].astype(float).to_numpy()})
