"""Suppliers of the sample factory: who delivers which material or packaging, on what terms.

Salted egg yolks come from two farms (the plan splits them); custom-printed gift boxes and tins
from a printer with a long, uncertain lead time. Weekly capacity is a multiple of the item's
average weekly use, so the festival peak is where it binds.
"""

from __future__ import annotations

import math

import pandas as pd

from peakline.demo.sample_master import bom_table, materials_table

__all__ = ["SUPPLIERS", "supplier_items_table", "suppliers_table"]

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
