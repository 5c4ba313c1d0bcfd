"""Supplier shortfalls as plan exceptions: what the suppliers' answers leave uncovered.

A shortfall (from :func:`plant.suppliers.split.assign_suppliers`) is a quantity of an item no
supplier committed to deliver by its need date. The boxes it puts at risk are that quantity
divided by the item's use per box, weighted by what the production plan makes with it; the
value at risk is those boxes at the SKUs' weighted price, so it ranks with the other
exceptions.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["shortfall_exceptions"]


def shortfall_exceptions(shorts: pd.DataFrame, production: pd.DataFrame, bom: pd.DataFrame,
                         skus: pd.DataFrame) -> pd.DataFrame:
    """Exception rows (``kind, what, date, qty, value_at_risk, detail``), one per shortfall."""
    price = skus.set_index("sku")["price"].astype(float)
    made = production.groupby("sku")["qty_start"].sum()
    rows = []
    for s in shorts.itertuples(index=False):
        uses = bom[bom["item"] == s.item].copy()
        uses["made"] = uses["sku"].map(made).fillna(0.0)
        if uses["made"].sum() <= 0:
            uses["made"] = 1.0
        w = uses["made"] / uses["made"].sum()
        per_box = float((uses["qty_per_unit"] * w).sum()) or 1.0
        box_price = float((uses["sku"].map(price).fillna(0.0) * w).sum())
        boxes = float(s.short_qty) / per_box
        need = pd.Timestamp(s.need_date).date()
        rows.append({
            "kind": "supplier_shortfall", "what": s.item, "date": need,
            "qty": round(float(s.short_qty), 2), "value_at_risk": round(boxes * box_price, 2),
            "detail": f"suppliers committed less {s.item} than the plan needs by {need}: "
                      f"{s.short_qty:g} of {s.qty:g} uncovered (confirmed on time: "
                      f"{s.suppliers}); {boxes:.0f} boxes at risk",
        })
    return pd.DataFrame(rows, columns=["kind", "what", "date", "qty", "value_at_risk", "detail"])
