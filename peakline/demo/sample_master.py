"""Master data of the sample factory: SKUs, materials, bill of materials, inventory, lines.

Plausible figures for a mid-size mooncake plant (prices in CNY, quantities in boxes, kg,
litres or pieces). Used by :mod:`peakline.demo.sample_erp`; the planner itself reads whatever master
data the ERP provides.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = [
    "CHANNELS",
    "FLAVOURS",
    "PACKAGING",
    "bom_table",
    "inventory_table",
    "lines_table",
    "materials_table",
    "sku_table",
]

CHANNELS: dict[str, dict[str, float]] = {
    # base: off-season boxes/day per SKU; ship_by_days: days before Mid-Autumn the customer
    # wants the goods (a retailer's warehouse wants them weeks ahead)
    "oem": {"base": 3.0, "festival_volume": 9000.0, "ship_by_days": 28, "price": 0.55},
    "retail": {"base": 6.0, "ship_by_days": 21, "price": 0.75},
    "ecommerce": {"base": 5.0, "ship_by_days": 2, "price": 1.0},
}

FLAVOURS: dict[str, dict] = {
    "lotus": {"code": "LOT", "mix": 1.0, "shelf": 60, "price": 1.0,
              "filling": {"lotus_paste": 0.075}},
    "red_bean": {"code": "RBN", "mix": 0.8, "shelf": 60, "price": 0.9,
                 "filling": {"red_bean_paste": 0.075}},
    "yolk_lotus": {"code": "YLK", "mix": 1.3, "shelf": 45, "price": 1.25,
                   "filling": {"lotus_paste": 0.06, "salted_egg_yolk": 1.0}},
    "five_kernel": {"code": "FKN", "mix": 0.6, "shelf": 60, "price": 1.0,
                    "filling": {"five_kernel_filling": 0.075}},
    "custard": {"code": "CUS", "mix": 0.7, "shelf": 30, "price": 1.1,
                "filling": {"custard_filling": 0.07}},
    "snow_skin": {"code": "SNW", "mix": 0.5, "shelf": 21, "price": 1.2,
                  "filling": {"custard_filling": 0.04, "snow_skin_premix": 0.03}},
}

PACKAGING: dict[str, dict] = {
    "gift_box_4": {"code": "GB4", "cakes": 4, "price": 98.0, "cost": 36.0, "mix": 1.0,
                   "festival_amp": 1.0, "case": 12, "box": "gift_box_4", "tray": "tray_4"},
    "gift_box_8": {"code": "GB8", "cakes": 8, "price": 188.0, "cost": 66.0, "mix": 0.6,
                   "festival_amp": 1.3, "case": 6, "box": "gift_box_8", "tray": "tray_8"},
    "tin_6": {"code": "TN6", "cakes": 6, "price": 228.0, "cost": 82.0, "mix": 0.4,
              "festival_amp": 1.2, "case": 8, "box": "tin_6", "tray": "tray_6"},
    "tray_2": {"code": "TR2", "cakes": 2, "price": 29.0, "cost": 11.0, "mix": 1.2,
               "festival_amp": 0.5, "case": 40, "box": None, "tray": "tray_2"},
}

# item: (kind, unit, lead_time_days, moq, pack_multiple, unit_cost, shelf_life_days)
_MATERIALS: dict[str, tuple[str, str, int, float, float, float, int]] = {
    "lotus_paste": ("material", "kg", 14, 500, 25, 38.0, 180),
    "red_bean_paste": ("material", "kg", 10, 500, 25, 18.0, 180),
    "salted_egg_yolk": ("material", "pcs", 21, 10000, 1000, 0.9, 90),
    "five_kernel_filling": ("material", "kg", 14, 300, 20, 52.0, 120),
    "custard_filling": ("material", "kg", 7, 200, 10, 30.0, 30),
    "snow_skin_premix": ("material", "kg", 7, 100, 25, 24.0, 180),
    "flour": ("material", "kg", 5, 1000, 25, 4.5, 365),
    "sugar_syrup": ("material", "kg", 7, 500, 25, 6.0, 365),
    "peanut_oil": ("material", "L", 5, 400, 20, 14.0, 365),
    "gift_box_4": ("packaging", "pcs", 42, 5000, 500, 6.5, 0),
    "gift_box_8": ("packaging", "pcs", 42, 3000, 250, 9.0, 0),
    "tin_6": ("packaging", "pcs", 56, 3000, 200, 14.0, 0),
    "tray_4": ("packaging", "pcs", 14, 5000, 1000, 0.4, 0),
    "tray_6": ("packaging", "pcs", 14, 5000, 1000, 0.5, 0),
    "tray_8": ("packaging", "pcs", 14, 5000, 1000, 0.6, 0),
    "tray_2": ("packaging", "pcs", 14, 10000, 1000, 0.2, 0),
    "sachet": ("packaging", "pcs", 10, 50000, 5000, 0.05, 0),
    "carton": ("packaging", "pcs", 7, 1000, 100, 2.2, 0),
}
_CRUST = {"flour": 0.022, "sugar_syrup": 0.014, "peanut_oil": 0.006}


def sku_table(n_skus: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_skus`` SKUs spread over flavour x packaging x channel (more customers past 72)."""
    flavours, packs, chans = list(FLAVOURS), list(PACKAGING), list(CHANNELS)
    combos = [(f, p, c) for f in flavours for p in packs for c in chans]
    rows = []
    for i in range(n_skus):
        f, p, c = combos[(i * 5) % len(combos)]
        customer = i // len(combos) + 1
        fl, pk, ch = FLAVOURS[f], PACKAGING[p], CHANNELS[c]
        cost = round(pk["cost"] * (0.9 + 0.1 * fl["price"]) * rng.uniform(0.95, 1.05), 2)
        rows.append({
            "sku": f"{fl['code']}-{pk['code']}-{c.upper()[:3]}{customer:02d}",
            "flavour": f, "packaging": p, "channel": c,
            "price": round(pk["price"] * fl["price"] * ch["price"], 2),
            "unit_cost": cost, "salvage_value": round(0.3 * cost, 2),
            "shelf_life_days": fl["shelf"], "units_per_case": pk["case"],
        })
    return pd.DataFrame(rows)


def bom_table(skus: pd.DataFrame) -> pd.DataFrame:
    """Materials and packaging per box, for every SKU."""
    rows = []
    for s in skus.itertuples(index=False):
        pk, fl = PACKAGING[str(s.packaging)], FLAVOURS[str(s.flavour)]
        cakes = pk["cakes"]
        per_cake = dict(fl["filling"])
        if s.flavour != "snow_skin":
            per_cake.update(_CRUST)
        for item, qty in per_cake.items():
            rows.append((s.sku, item, round(qty * cakes, 4)))
        if pk["box"]:
            rows.append((s.sku, pk["box"], 1.0))
        rows.append((s.sku, pk["tray"], 1.0))
        rows.append((s.sku, "sachet", float(cakes)))
        rows.append((s.sku, "carton", round(1.0 / float(s.units_per_case), 4)))
    return pd.DataFrame(rows, columns=["sku", "item", "qty_per_unit"])


def materials_table(skus: pd.DataFrame) -> pd.DataFrame:
    """The materials and packaging the SKUs' bill of materials uses."""
    used = set(bom_table(skus)["item"])
    rows = [
        {"item": item, "kind": m[0], "unit": m[1], "lead_time_days": m[2], "moq": m[3],
         "pack_multiple": m[4], "unit_cost": m[5], "shelf_life_days": m[6]}
        for item, m in _MATERIALS.items() if item in used
    ]
    return pd.DataFrame(rows)


def inventory_table(skus: pd.DataFrame, demand: pd.DataFrame, as_of: dt.date,
                    rng: np.random.Generator) -> pd.DataFrame:
    """On-hand stock: a little finished goods, packaging bought ahead, some materials."""
    rows = [{"item": s, "kind": "sku", "on_hand": int(rng.integers(0, 300)),
             "as_of": as_of.isoformat()} for s in skus["sku"]]
    yearly = demand.groupby("sku")["orders"].sum() / max(1.0, demand["date"].nunique() / 365.25)
    bom = bom_table(skus)
    use = (bom["qty_per_unit"] * bom["sku"].map(yearly).fillna(0)).groupby(bom["item"]).sum()
    mats = materials_table(skus).set_index("item")
    for item, per_year in use.items():
        # packaging is bought ahead for the season; fresh materials a few weeks at a time
        share = rng.uniform(0.3, 0.7) if mats.loc[item, "kind"] == "packaging" else rng.uniform(
            0.05, 0.12)
        rows.append({"item": item, "kind": mats.loc[item, "kind"],
                     "on_hand": round(float(per_year) * share, 1),
                     "as_of": as_of.isoformat()})
    return pd.DataFrame(rows)


def lines_table() -> pd.DataFrame:
    """Three production lines (boxes per hour, shifts)."""
    return pd.DataFrame([
        {"line": "L1", "units_per_hour": 160, "hours_per_shift": 8, "shifts_per_day": 2,
         "days_per_week": 6},
        {"line": "L2", "units_per_hour": 150, "hours_per_shift": 8, "shifts_per_day": 2,
         "days_per_week": 6},
        {"line": "L3", "units_per_hour": 220, "hours_per_shift": 8, "shifts_per_day": 1,
         "days_per_week": 5},
    ])
