"""All plans from one forecast, one table per kind (:class:`peakline.wire.PlanKind`).

:func:`build_plans` returns ``{kind: (DataFrame, explanation)}``; each explanation holds the
figures behind the numbers: production (per SKU, day and line), inventory (finished goods for
the season as a newsvendor, with the salvage plan), materials (cover of every material and
packaging item), purchases (the orders to place, with order-by dates), packaging (needs per
SKU and week) and exceptions. Packaging is planned per SKU and week from the production plan, with
the order-by date of each need (need date - supplier lead time): custom-printed gift boxes and
tins take six to eight weeks, so their order date, not the cakes', is often the binding one.
The exceptions list, worst first (value at risk in sales), names what is at risk: demand the
lines cannot make in time, materials or packaging whose order-by date has passed and that run
out before the festival, orders due within a week, held web shop orders that cannot be made
fresh enough for their held day, and days whose safekeeping stock (the boxes made for holds,
waiting for delivery, :mod:`plant.planning.holds`) overflows the facility's capacity.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from peakline.wire import PlanKind
from plant.calendar import HolidayCalendar
from plant.forecast.demand import rollup
from plant.planning.config import PlanConfig
from plant.planning.holds import safekeeping_exceptions, safekeeping_from_plan
from plant.planning.inventory import finished_goods, material_orders
from plant.planning.production import production_plan
from plant.prices.alerts import alert_exceptions
from plant.prices.report import price_plan
from plant.suppliers.shortfall import shortfall_exceptions
from plant.suppliers.split import assign_suppliers

__all__ = ["Plans", "build_plans", "exceptions", "packaging_needs"]

Plans = dict[PlanKind, tuple[pd.DataFrame, dict]]


def packaging_needs(plan: pd.DataFrame, bom: pd.DataFrame, materials: pd.DataFrame) -> pd.DataFrame:
    """Packaging per SKU and week: quantity, first need date, lead time and order-by date."""
    pack = materials[materials["kind"] == "packaging"].set_index("item")
    rows = plan.merge(bom[bom["item"].isin(pack.index)], on="sku")
    rows["qty"] = rows["qty_start"] * rows["qty_per_unit"]
    rows["week"] = pd.to_datetime(rows["date"]).dt.to_period("W-SUN").dt.start_time
    out = rows.groupby(["sku", "week", "item"], as_index=False).agg(
        qty=("qty", "sum"), need_date=("date", "min"))
    out["lead_time_days"] = out["item"].map(pack["lead_time_days"]).astype(int)
    out["order_by"] = out["need_date"] - pd.to_timedelta(out["lead_time_days"], unit="D")
    return out.sort_values(["order_by", "item", "sku"], ignore_index=True)


def exceptions(shortfalls: pd.DataFrame, orders: pd.DataFrame, plan: pd.DataFrame,
               bom: pd.DataFrame, skus: pd.DataFrame, inventory: pd.DataFrame,
               start: dt.date, festival: dt.date, order_due_days: int = 7) -> pd.DataFrame:
    """What is at risk, worst first (``value_at_risk`` = sales that may be lost).

    ``shortfalls`` (:data:`plant.planning.holds.SHORT_COLUMNS`) carry the kind of exception
    each one is, set where it was found; ``reason`` is only its text."""
    price = skus.set_index("sku")["price"].astype(float)
    rows = []
    for s in shortfalls.itertuples(index=False):
        rows.append({
            "kind": s.kind,
            "what": s.sku, "date": pd.Timestamp(s.need_date).date(),
            "qty": round(float(s.short_units)),
            "value_at_risk": round(float(s.short_units) * float(price.get(s.sku, 0.0)), 2),
            "detail": f"{s.short_units:.0f} boxes of {s.sku} ({s.source}) cannot be made by "
                      f"{pd.Timestamp(s.need_date).date()}: {s.reason}",
        })
    stock = inventory.set_index("item")["on_hand"].astype(float)
    per_item = plan.merge(bom, on="sku")
    per_item["use"] = per_item["qty_start"] * per_item["qty_per_unit"]
    for o in orders.itertuples(index=False) if len(orders) else []:
        use = per_item[per_item["item"] == o.item].groupby("date")["use"].sum().sort_index()
        if o.late_days > 0:
            cum = use.cumsum()
            out_day = cum.index[np.argmax(cum.to_numpy() > stock.get(o.item, 0.0))] \
                if (cum > stock.get(o.item, 0.0)).any() else None
            # the boxes planned between the need date and the earliest arrival, at their price
            sub = per_item[per_item["item"] == o.item]
            gap = sub[(sub["date"] >= pd.Timestamp(o.need_date))
                      & (sub["date"] < pd.Timestamp(o.earliest_arrival))]
            boxes = float(gap["qty_start"].sum())
            at_risk = float((gap["qty_start"] * gap["sku"].map(price).fillna(0.0)).sum())
            when = f"runs out {out_day.date()}" if out_day is not None else "falls below safety"
            before = out_day is not None and out_day.date() < festival
            rows.append({
                "kind": "late_order_by", "what": o.item, "date": o.order_by,
                "qty": float(o.qty), "value_at_risk": round(at_risk, 2),
                "detail": f"{o.kind} {o.item}: order-by {o.order_by} passed {o.late_days} days "
                          f"ago (lead {o.lead_time_days} d); {when}"
                          f"{' before the festival' if before else ''}; earliest arrival "
                          f"{o.earliest_arrival}, {boxes:.0f} boxes at risk",
            })
        elif (o.order_by - start).days <= order_due_days:
            rows.append({
                "kind": "order_due_soon", "what": o.item, "date": o.order_by,
                "qty": float(o.qty), "value_at_risk": 0.0,
                "detail": f"order {o.qty:g} {o.unit} of {o.item} by {o.order_by} "
                          f"(lead {o.lead_time_days} d, needed {o.need_date})",
            })
    cols = ["kind", "what", "date", "qty", "value_at_risk", "detail"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["value_at_risk", "date"], ascending=[False, True],
                           ignore_index=True)


def _add_exceptions(exc: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """``exc`` and ``extra`` in one list, worst first; an empty one is left out of the concat
    (pandas warns that empty frames will soon decide the columns' dtypes)."""
    parts = [df for df in (exc, extra) if len(df)] or [exc]
    return pd.concat(parts, ignore_index=True).sort_values(
        ["value_at_risk", "date"], ascending=[False, True], ignore_index=True)


def build_plans(
    fc: pd.DataFrame, data: dict[str, pd.DataFrame], start: dt.date, cal: HolidayCalendar,
    reject_rate: float | None, cfg: PlanConfig | None = None,
    production: tuple[pd.DataFrame, dict, pd.DataFrame] | None = None,
) -> Plans:
    """Every plan from a SKU forecast and the master data (keys as in the CSV contract).

    ``production`` (plan rows, explanation, shortfalls) replaces the backward-scheduling
    heuristic's production plan (the optimiser's, :mod:`plant.twin.choose`); materials,
    purchases, packaging and exceptions then follow from it.
    """
    cfg = cfg or PlanConfig()
    skus, bom, materials = data["skus"], data["bom"], data["materials"]
    inventory = data["inventory"]
    if production is None:
        production = production_plan(fc, skus, data["open_orders"], inventory, data["lines"],
                                     start, cal, reject_rate, cfg, data.get("holds"))
    prod, prod_expl, short = production
    safekeeping = safekeeping_from_plan(prod, data.get("hold_stock"))
    if len(safekeeping):
        prod_expl["safekeeping"] = {
            "capacity": int(safekeeping["capacity"].iloc[0]),
            "peak_held_boxes": int(safekeeping["held_boxes"].max()),
            "peak_expected_boxes": int(safekeeping["expected_boxes"].max()),
            "days_over_capacity": int((safekeeping["held_boxes"]
                                       > safekeeping["capacity"]).sum())}
    weekly = rollup(fc, skus)
    prod_expl["net_demand_per_week"] = {
        str(pd.Timestamp(r.week).date()): {"p10": round(float(r.net_p10)),
                                           "p50": round(float(r.net_p50)),
                                           "p90": round(float(r.net_p90))}
        for r in weekly.itertuples(index=False)
    }
    fg = finished_goods(fc, skus, cal, data["open_orders"], peak=cfg.peak,
                        season_days=cfg.season_days)
    orders, items = material_orders(prod, fc, bom, materials, inventory, start,
                                    level=cfg.material_service_level,
                                    cover_days=cfg.material_cover_days,
                                    on_order=data.get("purchase_orders"))
    festival = cal.festival(cfg.peak, start.year)
    if festival < start:
        festival = cal.festival(cfg.peak, start.year + 1)
    is_mat = orders["kind"] == "material" if len(orders) else pd.Series(dtype=bool)
    inv_expl = {
        "festival": festival.isoformat(),
        "peak": cfg.peak,
        "newsvendor": "Q = season P50 + sd * z(critical ratio), sd = (P90 - P10) / 2.563; "
                      "critical ratio = (price - cost) / (price - salvage)",
        "newsvendor_units": int(fg["newsvendor_qty"].sum()) if len(fg) else 0,
        "expected_leftover_units": int(fg["expected_leftover"].sum()) if len(fg) else 0,
        "salvage_revenue": float(fg["salvage_revenue"].sum()) if len(fg) else 0.0,
    }
    mat_expl = {
        "material_service_level": cfg.material_service_level,
        "safety_stock": "z(service level) * daily need sd * sqrt(lead time days)",
        "items": len(items),
    }
    purchase_expl: dict[str, Any] = {
        "material_orders": int(is_mat.sum()),
        "packaging_orders": int((~is_mat).sum()) if len(orders) else 0,
        "late_orders": int((orders["late_days"] > 0).sum()) if len(orders) else 0,
        "cover_days": cfg.material_cover_days,
    }
    pack = packaging_needs(prod, bom, materials)
    pack_orders = orders[~is_mat] if len(orders) else orders
    binding = pack_orders.sort_values("order_by").head(1) if len(pack_orders) else None
    pack_expl = {
        "items": sorted(pack["item"].unique().tolist()) if len(pack) else [],
        "lead_times_days": materials[materials["kind"] == "packaging"]
        .set_index("item")["lead_time_days"].astype(int).to_dict(),
        "binding_order": None if binding is None or binding.empty else {
            "item": str(binding["item"].iloc[0]),
            "order_by": str(binding["order_by"].iloc[0]),
            "qty": float(binding["qty"].iloc[0])},
    }
    exc = exceptions(short, orders, prod, bom, skus, inventory, start, festival)
    exc = _add_exceptions(exc, safekeeping_exceptions(safekeeping, skus, prod))
    purchases_all = orders
    supplier_items = data.get("supplier_items")
    if supplier_items is not None and len(supplier_items) and len(orders):
        orders, gaps = assign_suppliers(orders, supplier_items, data.get("supplier_replies"))
        purchase_expl["split_items"] = sorted(
            i for i, g in supplier_items.groupby("item") if len(g) > 1)
        purchase_expl["supplier_shortfalls"] = len(gaps)
        if len(gaps):
            exc = _add_exceptions(exc, shortfall_exceptions(gaps, prod, bom, skus))
    prices = data.get("prices")
    calls, price_expl, alerts = price_plan(
        prices if prices is not None else pd.DataFrame(columns=["item", "date", "price"]),
        purchases_all, materials, fc, start, cal, cfg,
        inventory.set_index("item")["on_hand"].astype(float).to_dict())
    if len(alerts):
        exc = _add_exceptions(exc, alert_exceptions(alerts, purchases_all))
    exc_expl = {
        "count": len(exc), "value_at_risk": float(exc["value_at_risk"].sum()),
        "ranking": "value at risk (boxes that may not ship x price), then date",
        "by_kind": exc["kind"].value_counts().to_dict(),
    }
    purchases = orders.sort_values(["order_by", "item"], ignore_index=True, kind="stable") \
        if len(orders) else orders
    return {PlanKind.PRODUCTION: (prod, prod_expl), PlanKind.INVENTORY: (fg, inv_expl),
            PlanKind.MATERIALS: (items, mat_expl), PlanKind.PURCHASES: (purchases, purchase_expl),
            PlanKind.PACKAGING: (pack, pack_expl), PlanKind.EXCEPTIONS: (exc, exc_expl),
            PlanKind.BUY_AHEAD: (calls, price_expl)}
