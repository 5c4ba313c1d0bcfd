"""Suppliers of the sample factory: who delivers which material or packaging, on what terms.

Salted egg yolks come from two farms (the plan splits them); custom-printed gift boxes and tins
from a printer with a long, uncertain lead time. Weekly capacity is a multiple of the item's
average weekly use, so the festival peak is where it binds. The open purchase orders are the
pipeline a running plant has on the day the history ends: per supplier and item, one order
placed before that day for about two weeks of its recent use, due within its lead time.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from peakline.demo.sample_master import bom_table, materials_table

__all__ = ["SUPPLIERS", "purchase_orders_table", "supplier_items_table", "suppliers_table"]

# supplier: (name, {item: (lead time days, lead time sd days, capacity share)})
SUPPLIERS: dict[str, tuple[str, dict[str, tuple[int, float, float]]]] = {
    "lotus-co": ("Guangdong Lotus Paste Co.", {
        "lotus_paste": (14, 2.0, 1.0), "red_bean_paste": (10, 1.5, 1.0),
        "five_kernel_filling": (14, 2.0, 1.0)}),
    "yolk-farm-a": ("Gaoyou Salted Yolk Farm", {"salted_egg_yolk": (21, 3.0, 0.6)}),
    "yolk-farm-b": ("Weishan Lake Duck Egg Co-op", {"salted_egg_yolk": (25, 4.0, 0.5)}),
    "mill-sugar": ("Pearl River Mill & Sugar", {
        "flour": (5, 1.0, 1.0), "sugar_syrup": (7, 1.0, 1.0), "peanut_oil": (5, 1.0, 1.0),
        "custard_filling": (7, 1.0, 1.0), "snow_skin_premix": (7, 1.0, 1.0)}),
    "print-pack": ("Shenzhen Gift Box Printing", {
        "gift_box_4": (42, 5.0, 1.0), "gift_box_8": (42, 5.0, 1.0), "tin_6": (56, 7.0, 1.0)}),
    "tray-works": ("Dongguan Tray Works", {
        "tray_4": (14, 2.0, 1.0), "tray_6": (14, 2.0, 1.0), "tray_8": (14, 2.0, 1.0),
        "tray_2": (14, 2.0, 1.0), "sachet": (10, 1.5, 1.0), "carton": (7, 1.0, 1.0)}),
}

#: weekly capacity as a multiple of the item's average weekly use over the history
PEAK_FACTOR = 6.0


def suppliers_table() -> pd.DataFrame:
    """supplier, name."""
    return pd.DataFrame([{"supplier": s, "name": v[0]} for s, v in SUPPLIERS.items()])


def supplier_items_table(skus: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """Every item the SKUs use, with its supplier(s) and their terms."""
    bom = bom_table(skus)
    mats = materials_table(skus).set_index("item")
    weeks = max(1.0, demand["date"].nunique() / 7.0)
    per_sku = demand.groupby("sku")["orders"].sum() / weeks
    use = (bom["qty_per_unit"] * bom["sku"].map(per_sku).fillna(0)).groupby(bom["item"]).sum()
    rows = []
    for supplier, (_name, items) in SUPPLIERS.items():
        for item, (lead, sd, share) in items.items():
            if item not in mats.index:
                continue
            pack = float(mats.loc[item, "pack_multiple"])
            cap = max(float(mats.loc[item, "moq"]), PEAK_FACTOR * share * float(use.get(item, 0)))
            rows.append({
                "supplier": supplier, "item": item, "lead_time_days": lead,
                "lead_time_sd_days": sd, "moq": float(mats.loc[item, "moq"]),
                "pack_multiple": pack, "capacity_per_week": math.ceil(cap / pack) * pack,
            })
    return pd.DataFrame(rows)


#: days of recent use an open purchase order covers
PO_COVER_DAYS = 14


def purchase_orders_table(skus: pd.DataFrame, demand: pd.DataFrame,
                          supplier_items: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """Open purchase orders on ``end``: po_id, supplier, item, order_date, due_date, qty.

    Each supplier item gets one order for its capacity share of the last 28 days' use over
    ``PO_COVER_DAYS`` (rounded to its MOQ and pack multiple), placed half a lead time before
    ``end`` and so due half a lead time after it."""
    bom = bom_table(skus)
    d = demand.assign(date=pd.to_datetime(demand["date"]))
    recent = d[d["date"] > pd.Timestamp(end) - pd.Timedelta(days=28)]
    per_sku = recent.groupby("sku")["orders"].sum() / 28.0
    use = (bom["qty_per_unit"] * bom["sku"].map(per_sku).fillna(0)).groupby(bom["item"]).sum()
    cap_total = supplier_items.groupby("item")["capacity_per_week"].sum()
    rows = []
    for n, si in enumerate(supplier_items.itertuples(index=False), start=1):
        share = float(si.capacity_per_week) / float(cap_total[si.item])
        want = PO_COVER_DAYS * share * float(use.get(si.item, 0.0))
        if want <= 0:
            continue
        pack = float(si.pack_multiple)
        qty = math.ceil(max(want, float(si.moq)) / pack) * pack
        due = end + dt.timedelta(days=max(1, int(si.lead_time_days) // 2))
        ordered = due - dt.timedelta(days=int(si.lead_time_days))
        rows.append({"po_id": f"PO-{ordered:%y%m%d}-{n:03d}", "supplier": si.supplier,
                     "item": si.item, "order_date": ordered.isoformat(),
                     "due_date": due.isoformat(), "qty": qty})
    return pd.DataFrame(rows, columns=["po_id", "supplier", "item", "order_date", "due_date",
                                       "qty"])
