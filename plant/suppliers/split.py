"""Who delivers each purchase order: split across an item's suppliers, bounded by their answers.

Each order of the purchases plan (one delivery on its need date) is shared among the item's
suppliers in proportion to their weekly capacity (master data). A supplier that answered for
that item and week is held to what it confirmed or countered (a counter whose delivery date is
after the need date counts as nothing on time), less what earlier orders of the same week
already took; what it cannot take moves to the item's other suppliers that have not said no.
What no supplier can deliver on time is a *shortfall*: the plans list it as an exception with
the boxes it puts at risk. Each supplier's part is rounded up to its MOQ and pack multiple
(down, when rounding up would exceed what it confirmed: its own answer waives its MOQ).
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["assign_suppliers", "confirmed_capacity"]


def confirmed_capacity(replies: pd.DataFrame, item: str, week: pd.Timestamp,
                       need_date: pd.Timestamp) -> dict[str, float]:
    """supplier -> quantity it committed to deliver by ``need_date`` for ``item`` in ``week``."""
    if replies is None or replies.empty:
        return {}
    r = replies[(replies["item"] == item) & (pd.to_datetime(replies["week"]) == week)]
    return {str(x.supplier): (float(x.qty) if pd.Timestamp(x.delivery) <= need_date else 0.0)
            for x in r.itertuples(index=False)}


def _has_room(room: float | None, taken: float) -> bool:
    return room is None or room - taken > 1e-6


def _round(qty: float, moq: float, pack: float, cap: float | None) -> float:
    if qty <= 1e-9:
        return 0.0
    up = math.ceil(round(max(qty, moq) / pack, 9)) * pack
    if cap is None or up <= cap + 1e-9:
        return float(up)
    return float(math.floor(round(cap / pack, 9)) * pack)  # what it committed to, MOQ or not


def assign_suppliers(orders: pd.DataFrame, supplier_items: pd.DataFrame,
                     replies: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders with a ``supplier`` column, one row per supplier part; shortfalls).

    Shortfalls have ``item, week, need_date, qty, short_qty, suppliers``. Orders of items no
    supplier delivers keep ``supplier`` empty.
    """
    short_cols = ["item", "week", "need_date", "qty", "short_qty", "suppliers"]
    if orders.empty:
        return orders.assign(supplier=pd.Series(dtype=object)), pd.DataFrame(columns=short_cols)
    replies = replies if replies is not None else pd.DataFrame()
    terms = {item: g.set_index("supplier") for item, g in supplier_items.groupby("item")}
    used: dict[tuple[str, str, pd.Timestamp], float] = {}
    out, shorts = [], []
    for o in orders.sort_values(["need_date", "item"]).to_dict("records"):
        sup = terms.get(o["item"])
        if sup is None or sup.empty:
            out.append({**o, "supplier": ""})
            continue
        need = pd.Timestamp(o["need_date"])
        week = need - pd.Timedelta(days=need.weekday())
        said = confirmed_capacity(replies, o["item"], week, need)
        room: dict[str, float | None] = {
            s: (said[s] - used.get((s, o["item"], week), 0.0)) if s in said else None
            for s in sup.index}
        weights = sup["capacity_per_week"].astype(float)
        left, parts = float(o["qty"]), dict.fromkeys(sup.index, 0.0)
        open_ = [s for s in sup.index if _has_room(room[s], 0.0)]
        while left > 1e-6 and open_:
            total = float(weights[open_].sum())
            for s in list(open_):
                want = left * float(weights[s]) / total
                r = room[s]
                take = want if r is None else min(want, r - parts[s])
                parts[s] += take
            left = float(o["qty"]) - sum(parts.values())
            open_ = [s for s in open_ if _has_room(room[s], parts[s])]
        for s, qty in parts.items():
            q = _round(qty, float(sup.loc[s, "moq"]), float(sup.loc[s, "pack_multiple"]), room[s])
            if q > 0:
                used[(s, o["item"], week)] = used.get((s, o["item"], week), 0.0) + q
                out.append({**o, "qty": q, "supplier": s})
        got = sum(r["qty"] for r in out if r is not None and r.get("supplier") in parts
                  and r["item"] == o["item"] and r["need_date"] == o["need_date"])
        if got + 1e-6 < float(o["qty"]):
            shorts.append({"item": o["item"], "week": week, "need_date": need,
                           "qty": float(o["qty"]), "short_qty": float(o["qty"]) - got,
                           "suppliers": ", ".join(f"{s} {said.get(s, 0):g}" for s in sup.index)})
    cols = [*orders.columns, "supplier"]
    return pd.DataFrame(out, columns=cols), pd.DataFrame(shorts, columns=short_cols)
