"""Price alerts as plan exceptions: a material whose latest price left its forecast band.

A price above its band makes the season's remaining orders of that item dearer than planned;
the exception's value is that excess on those orders (the latest price minus the band's top,
times their quantity). A price below its band is listed too, with no value at risk: it may be
a moment to buy.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["alert_exceptions"]


def alert_exceptions(alerts: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """Exception rows (``kind, what, date, qty, value_at_risk, detail``), one per alert;
    ``orders`` are the season's purchase orders (``item, qty``)."""
    rows = []
    for a in alerts.itertuples(index=False):
        qty = float(orders.loc[orders["item"] == a.item, "qty"].sum()) if len(orders) else 0.0
        excess = max(0.0, float(a.price) - float(a.high)) * qty
        rows.append({
            "kind": "price_alert", "what": a.item, "date": a.date, "qty": qty,
            "value_at_risk": round(excess, 2),
            "detail": f"{a.item} at {a.price:g} on {a.date} is {a.direction} its forecast band "
                      f"{a.low:g}..{a.high:g}; {qty:g} still to buy this season"
                      + (f", {excess:,.0f} dearer than the band" if excess else ""),
        })
    return pd.DataFrame(rows, columns=["kind", "what", "date", "qty", "value_at_risk", "detail"])
