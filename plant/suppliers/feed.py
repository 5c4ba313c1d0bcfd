"""Build each supplier's feed from a plan: its items, weekly requirements, orders, changes.

Requirements per week are the SKU forecast's P10/P50/P90 exploded through the bill of
materials (quantiles summed over SKUs, the comonotone case, as the season plan does), grossed
up by the plan's reject rate, and the production plan's own use of the item that week; each
times the supplier's share of the item (its part of the item's orders in the purchases plan,
else its share of the item's weekly capacity). Orders are the supplier's parts of the purchases
plan (planned: still to be placed); their order-by date uses the supplier's lead time plus
1.28 spreads (90% on time). Firm orders are the supplier's open purchase orders in the ERP
(``purchase_orders``), which the plan has already netted against the requirements. Changes
compare with the supplier's previous feed.
"""

from __future__ import annotations

import datetime as dt
import math
import time

import pandas as pd

from peakline.wire.suppliers import FeedChange, FeedItem, FeedOrder, FeedWeek, SupplierFeed
from plant.planning.rules import Z90

__all__ = ["FeedInputs", "build_feed", "changes", "item_requirements"]

#: quantity changes smaller than this share (and one unit) are not reported as changes
CHANGE_TOLERANCE = 0.02


class FeedInputs:
    """What every supplier's feed of one plan is made from (read once per plan)."""

    def __init__(self, *, site: str, plan_id: str, forecast_id: str | None, start: dt.date,
                 festival: dt.date | None, fc: pd.DataFrame, production: pd.DataFrame,
                 purchases: pd.DataFrame, bom: pd.DataFrame, materials: pd.DataFrame,
                 supplier_items: pd.DataFrame, reject_rate: float,
                 purchase_orders: pd.DataFrame | None = None) -> None:
        self.site, self.plan_id, self.forecast_id = site, plan_id, forecast_id
        self.start, self.festival = start, festival
        self.purchase_orders = purchase_orders if purchase_orders is not None else \
            pd.DataFrame(columns=["po_id", "item", "supplier", "order_date", "due_date", "qty"])
        self.purchases, self.materials = purchases, materials.set_index("item")
        self.supplier_items = supplier_items
        self.requirements = item_requirements(fc, production, bom, reject_rate)


def _monday(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts).dt.to_period("W-SUN").dt.start_time


def item_requirements(fc: pd.DataFrame, production: pd.DataFrame, bom: pd.DataFrame,
                      reject_rate: float) -> pd.DataFrame:
    """``item, week, p10, p50, p90, planned``: every item's weekly need, all suppliers."""
    f = fc[["sku", "ds", "net_p10", "net_p50", "net_p90"]].copy()
    f["week"] = _monday(f["ds"])
    weekly = f.groupby(["sku", "week"], as_index=False)[["net_p10", "net_p50", "net_p90"]].sum()
    m = weekly.merge(bom, on="sku")
    gross = 1.0 / (1.0 - reject_rate)
    for q in ("p10", "p50", "p90"):
        m[q] = m[f"net_{q}"].clip(lower=0) * m["qty_per_unit"] * gross
    req = m.groupby(["item", "week"], as_index=False)[["p10", "p50", "p90"]].sum()
    p = production[["sku", "date", "qty_start"]].merge(bom, on="sku")
    p["week"] = _monday(p["date"])
    p["planned"] = p["qty_start"] * p["qty_per_unit"]
    planned = p.groupby(["item", "week"], as_index=False)["planned"].sum()
    out = req.merge(planned, on=["item", "week"], how="outer").fillna(0.0)
    return out.sort_values(["item", "week"], ignore_index=True)


def _share(inp: FeedInputs, supplier: str, item: str) -> float:
    o = inp.purchases[inp.purchases["item"] == item]
    if "supplier" in o.columns and o["qty"].sum() > 0:
        return float(o.loc[o["supplier"] == supplier, "qty"].sum() / o["qty"].sum())
    si = inp.supplier_items[inp.supplier_items["item"] == item]
    cap = si.set_index("supplier")["capacity_per_week"].astype(float)
    return float(cap.get(supplier, 0.0) / cap.sum()) if cap.sum() > 0 else 0.0


def build_feed(inp: FeedInputs, supplier: str, version: int,
               previous: SupplierFeed | None = None) -> SupplierFeed:
    """The feed of ``supplier`` (master data rows in ``inp.supplier_items``)."""
    own = inp.supplier_items[inp.supplier_items["supplier"] == supplier]
    items, weeks, orders = [], [], []
    for t in own.itertuples(index=False):
        share = _share(inp, supplier, str(t.item))
        unit = str(inp.materials.loc[t.item, "unit"]) if t.item in inp.materials.index else "pcs"
        items.append(FeedItem(item=t.item, unit=unit, lead_time_days=int(t.lead_time_days),
                              moq=float(t.moq), pack_multiple=float(t.pack_multiple),
                              capacity_per_week=float(t.capacity_per_week),
                              share=round(min(1.0, share), 4)))
        req = inp.requirements[inp.requirements["item"] == t.item]
        weeks += [FeedWeek(item=t.item, week=r.week.date(), p10=round(r.p10 * share, 2),
                           p50=round(r.p50 * share, 2), p90=round(r.p90 * share, 2),
                           planned=round(r.planned * share, 2))
                  for r in req.itertuples(index=False)]
        po = inp.purchase_orders
        po = po[(po["supplier"] == supplier) & (po["item"] == t.item)]
        orders += [FeedOrder(item=t.item, qty=float(o.qty),
                             need_date=pd.Timestamp(o.due_date).date(),
                             order_by=pd.Timestamp(o.order_date).date(), status="firm",
                             po_id=str(o.po_id)) for o in po.itertuples(index=False)]
        buy = inp.purchases[inp.purchases["item"] == t.item]
        if "supplier" in buy.columns:
            buy = buy[buy["supplier"] == supplier]
        days = int(t.lead_time_days) + math.ceil(Z90 * float(t.lead_time_sd_days))
        for o in buy.itertuples(index=False):
            need = pd.Timestamp(o.need_date).date()
            orders.append(FeedOrder(item=t.item, qty=float(o.qty), need_date=need,
                                    order_by=need - dt.timedelta(days=days), status="planned"))
    feed = SupplierFeed(site=inp.site, supplier=supplier, version=version,
                        plan_id=inp.plan_id, forecast_id=inp.forecast_id,
                        created_at=time.time(), season_end=inp.festival, items=items,
                        weeks=weeks, orders=orders, changes=[])
    if previous is None:
        return feed
    return feed.model_copy(update={"changes": changes(previous, feed)})


def _moved(before: float, after: float) -> bool:
    return abs(after - before) > max(1.0, CHANGE_TOLERANCE * max(abs(before), abs(after)))


def changes(old: SupplierFeed, new: SupplierFeed) -> list[FeedChange]:
    """What differs between two feeds of one supplier: items, weekly P50s, orders."""
    out: list[FeedChange] = []
    old_items, new_items = {i.item for i in old.items}, {i.item for i in new.items}
    out += [FeedChange(what="item", item=i, note="no longer supplied")
            for i in sorted(old_items - new_items)]
    out += [FeedChange(what="item", item=i, note="newly supplied")
            for i in sorted(new_items - old_items)]
    before = {(w.item, w.week): w.p50 for w in old.weeks}
    after = {(w.item, w.week): w.p50 for w in new.weeks}
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is None or a is None or _moved(b, a):
            out.append(FeedChange(what="requirement", item=key[0], week=key[1], before=b,
                                  after=a, note="P50 of the week"))
    ob: dict[tuple[str, dt.date], float] = {}
    oa: dict[tuple[str, dt.date], float] = {}
    for o in old.orders:
        ob[(o.item, o.need_date)] = ob.get((o.item, o.need_date), 0.0) + o.qty
    for o in new.orders:
        oa[(o.item, o.need_date)] = oa.get((o.item, o.need_date), 0.0) + o.qty
    for key in sorted(set(ob) | set(oa)):
        b, a = ob.get(key), oa.get(key)
        if b is None or a is None or _moved(b, a):
            note = "new order" if b is None else "order cancelled" if a is None else "quantity"
            out.append(FeedChange(what="order", item=key[0], week=key[1], before=b, after=a,
                                  note=note))
    return out
