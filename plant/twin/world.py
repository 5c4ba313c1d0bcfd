"""The world the twin simulates, built from one plan, its forecast and the store's master data.

:func:`build_world` turns DataFrames (the production and purchase plans, the forecast, the
ERP tables) and the lines' measured behaviour (:mod:`plant.twin.measure`) into plain arrays
and dicts, so one simulated season (:mod:`plant.twin.sim`) touches no pandas. Day ``d`` is
``start + d``; the season runs from the plan's first day to the forecast's last (or to the
last held delivery: recorded holds are firm orders on their held day).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.production import need_dates
from plant.twin.config import TwinConfig
from plant.twin.measure import LineBehaviour

__all__ = ["Arrival", "FirmOrder", "LineSpec", "SkuSpec", "World", "build_world"]


@dataclass
class LineSpec:
    """A line: master-data rate and shifts, measured speed, rejects and breakdowns."""

    name: str
    rate: float  # boxes per hour at full speed
    hours: float  # regular hours on a working day (shifts x hours per shift)
    days_per_week: int
    behaviour: LineBehaviour
    overtime_max: float
    down_days: set[int] = field(default_factory=set)
    extra_hours: dict[int, float] = field(default_factory=dict)  # day -> extra shift hours
    reject_factor: float = 1.0


@dataclass
class SkuSpec:
    """A SKU: what it is, what it costs and sells for, and what a box of it takes."""

    name: str
    channel: str
    flavour: str
    packaging: str
    price: float
    unit_cost: float
    salvage: float
    shelf_days: int
    sell_days: int  # days after making that a customer still takes it
    direct: bool  # shipped to consumers as ordered (a late order is soon cancelled)
    bom: list[tuple[int, float]]  # (material index, quantity per box)


@dataclass
class Arrival:
    """A purchase order: placed on ``order_day``, planned to arrive ``lead`` days later."""

    item: int
    order_day: int
    lead: float
    qty: float
    late_days: int = 0  # a scenario's supplier delay
    cv: float | None = None  # its supplier's lead-time spread (None: the configured one)


@dataclass
class FirmOrder:
    """An open customer order: known, due on ``due_day``."""

    sku: int
    due_day: int
    qty: float


@dataclass
class World:
    """Everything one simulated season needs, as plain Python and NumPy."""

    start: dt.date
    days: int
    festival_day: int
    closed: set[int]
    lines: list[LineSpec]
    skus: list[SkuSpec]
    channels: list[str]
    items: list[str]
    lots: dict[tuple[int, int], list[tuple[int, float]]]  # (line, day) -> [(sku, boxes)]
    p10: np.ndarray  # [sku, day] net demand placed that day
    p50: np.ndarray
    p90: np.ndarray
    due: np.ndarray  # [sku, day] day an order placed that day is due
    in_season: np.ndarray  # [day] festival window: demand correlated across SKUs
    firm: list[FirmOrder]  # open orders and recorded holds
    fg_on_hand: np.ndarray  # [sku]
    material_on_hand: np.ndarray  # [item]
    arrivals: list[Arrival]
    cfg: TwinConfig
    demand_factor: np.ndarray  # [sku] scenario multiplier
    cutoffs: dict[str, int]  # channel -> day its season orders must leave the factory
    suppliers: dict[str, list[int]] = field(default_factory=dict)  # supplier -> item indices

    @property
    def sku_index(self) -> dict[str, int]:
        return {s.name: i for i, s in enumerate(self.skus)}

    @property
    def line_index(self) -> dict[str, int]:
        return {ln.name: i for i, ln in enumerate(self.lines)}

    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)

    def day(self, when: dt.date | pd.Timestamp) -> int:
        return (pd.Timestamp(when).date() - self.start).days

    def working(self, line: int, day: int) -> bool:
        """Whether ``line`` runs its shifts on ``day`` (weekday, closures, scenario)."""
        ln = self.lines[line]
        if day in ln.down_days or day in self.closed:
            return False
        return self.date(day).weekday() < ln.days_per_week or day in ln.extra_hours


def _lots(plan: pd.DataFrame, start: dt.date, lines: dict[str, int], skus: dict[str, int],
          ) -> dict[tuple[int, int], list[tuple[int, float]]]:
    """(line, day) -> [(sku, boxes to start)] in the order the plan runs them."""
    if plan.empty:
        return {}
    df = plan.copy()
    df["day"] = (pd.to_datetime(df["date"]) - pd.Timestamp(start)).dt.days
    unknown = sorted(set(df["line"]) - set(lines))
    if unknown:
        raise DataError(f"plan runs on line(s) the master data does not know: "
                        f"{', '.join(map(str, unknown))}")
    missing = sorted(set(df["sku"]) - set(skus))
    if missing:
        raise DataError(f"plan makes SKU(s) the master data does not know: "
                        f"{', '.join(map(str, missing[:5]))}")
    order = ["line", "day", "seq"] if "seq" in df.columns else ["line", "day", "need_date", "sku"]
    df = df.sort_values(order, kind="stable")
    out: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for r in df.itertuples(index=False):
        key = (lines[str(r.line)], int(r.day))
        todays = out[key]
        sku = skus[str(r.sku)]
        if todays and todays[-1][0] == sku:  # one lot per SKU run, not per need date
            todays[-1] = (sku, todays[-1][1] + float(r.qty_start))
        else:
            todays.append((sku, float(r.qty_start)))
    return dict(out)


def _supplier_spread(table: pd.DataFrame | None, item_ix: dict[str, int],
                     ) -> tuple[dict[int, float], dict[str, list[int]]]:
    """Per item, its suppliers' lead-time spread (sd / lead time, the mean over suppliers);
    per supplier, the items it delivers. Empty without supplier master data."""
    if table is None or table.empty:
        return {}, {}
    known = table[table["item"].astype(str).isin(item_ix)]
    cv = (known["lead_time_sd_days"].astype(float)
          / known["lead_time_days"].astype(float).clip(lower=1.0))
    spread = {item_ix[str(i)]: float(v) for i, v in cv.groupby(known["item"].astype(str)).mean()
              .items()}
    by_supplier = {str(s): sorted({item_ix[str(i)] for i in g["item"]})
                   for s, g in known.groupby("supplier")}
    return spread, by_supplier


def build_world(
    plan: pd.DataFrame, purchases: pd.DataFrame, fc: pd.DataFrame,
    data: dict[str, pd.DataFrame], behaviour: dict[str, LineBehaviour],
    cal: HolidayCalendar, plan_cfg: PlanConfig, cfg: TwinConfig,
) -> World:
    """The season of ``plan`` (a production plan) under the forecast ``fc`` it came from."""
    fc = fc.copy()
    fc["ds"] = pd.to_datetime(fc["ds"])
    start = pd.Timestamp(fc["ds"].min()).date()
    days = int((fc["ds"].max() - fc["ds"].min()).days) + 1
    holds = data.get("holds")
    held = (holds.assign(day=(pd.to_datetime(holds["held_until"]) - pd.Timestamp(start)).dt.days)
            .query("day >= 0") if holds is not None and len(holds) else None)
    if held is not None and len(held):  # the season lasts until the last held delivery
        days = max(days, int(held["day"].max()) + 1)
    skus_df = data["skus"].reset_index(drop=True)
    sku_ix = {str(s): i for i, s in enumerate(skus_df["sku"])}
    mats = data["materials"]
    items = [str(i) for i in mats["item"]]
    item_ix = {it: i for i, it in enumerate(items)}
    bom: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for r in data["bom"].itertuples(index=False):
        if str(r.sku) in sku_ix and str(r.item) in item_ix:
            bom[sku_ix[str(r.sku)]].append((item_ix[str(r.item)], float(r.qty_per_unit)))
    lines = []
    for r in data["lines"].itertuples(index=False):
        b = behaviour.get(str(r.line)) or LineBehaviour.from_config(cfg)
        lines.append(LineSpec(str(r.line), float(r.units_per_hour),
                              float(r.hours_per_shift) * float(r.shifts_per_day),
                              int(r.days_per_week), b, cfg.overtime_max_hours))
    line_ix = {ln.name: i for i, ln in enumerate(lines)}
    skus = []
    for i, s in enumerate(skus_df.itertuples(index=False)):
        shelf = int(s.shelf_life_days) or plan_cfg.default_shelf_life_days
        skus.append(SkuSpec(str(s.sku), str(s.channel), str(s.flavour), str(s.packaging),
                            float(s.price), float(s.unit_cost), float(s.salvage_value), shelf,
                            int(shelf * (1 - plan_cfg.min_remaining_shelf)),
                            plan_cfg.ship_by_days.get(str(s.channel), 0)
                            <= plan_cfg.direct_ship_max_days, bom[i]))
    channels = sorted({s.channel for s in skus})
    n = len(skus)
    p10, p50, p90 = (np.zeros((n, days)) for _ in range(3))
    due = np.tile(np.arange(days), (n, 1))
    known = fc[fc["sku"].isin(sku_ix)]
    si = known["sku"].map(sku_ix).to_numpy()
    di = (known["ds"] - pd.Timestamp(start)).dt.days.to_numpy()
    # held orders are firm demand on their held day: the cancellations they avoid, which the
    # forecast netted back in on the original day, are taken out there (as the planner does)
    moved = (known["cancel_avoided"].fillna(0.0).to_numpy(dtype=float)
             if holds is not None and "cancel_avoided" in known else 0.0)
    for arr, col in ((p10, "net_p10"), (p50, "net_p50"), (p90, "net_p90")):
        arr[si, di] = np.clip(known[col].to_numpy(dtype=float) - moved, 0, None)
    grid = pd.DataFrame({"sku": np.repeat(skus_df["sku"].to_numpy(), days),
                         "ds": np.tile(pd.date_range(start, periods=days), n)})
    need, season = need_dates(grid["ds"], grid["sku"].map(skus_df.set_index("sku")["channel"]),
                              cal, plan_cfg)
    due = ((need - pd.Timestamp(start)).dt.days.to_numpy().reshape(n, days))
    in_season = season.reshape(n, days)[0] if n else np.zeros(days, dtype=bool)
    festival = cal.festival(plan_cfg.peak, start.year)
    if festival < start:
        festival = cal.festival(plan_cfg.peak, start.year + 1)
    firm = [FirmOrder(sku_ix[str(o.sku)],
                      max(0, (pd.Timestamp(o.due_date).date() - start).days), float(o.qty))
            for o in data["open_orders"].itertuples(index=False) if str(o.sku) in sku_ix]
    firm += [FirmOrder(sku_ix[str(h.sku)], int(h.day), float(h.qty))
             for h in (held.itertuples(index=False) if held is not None else [])
             if str(h.sku) in sku_ix]
    inv = data["inventory"]
    fg = np.zeros(n)
    stock = np.zeros(len(items))
    for r in inv.itertuples(index=False):
        if r.kind == "sku" and str(r.item) in sku_ix:
            fg[sku_ix[str(r.item)]] += float(r.on_hand)
        elif str(r.item) in item_ix:
            stock[item_ix[str(r.item)]] += float(r.on_hand)
    spread, suppliers = _supplier_spread(data.get("supplier_items"), item_ix)
    arrivals = []
    for o in purchases.itertuples(index=False) if len(purchases) else []:
        if str(o.item) not in item_ix:
            continue
        placed = max(0, (pd.Timestamp(o.order_by).date() - start).days)
        arrivals.append(Arrival(item_ix[str(o.item)], placed, float(o.lead_time_days),
                                float(o.qty), cv=spread.get(item_ix[str(o.item)])))
    open_po = data.get("purchase_orders")
    for o in open_po.itertuples(index=False) if open_po is not None and len(open_po) else []:
        if str(o.item) in item_ix:  # goods on order: the plan netted them, so they arrive too
            left = max(0, (pd.Timestamp(o.due_date).date() - start).days)
            arrivals.append(Arrival(item_ix[str(o.item)], 0, float(left), float(o.qty),
                                    cv=spread.get(item_ix[str(o.item)])))
    closed = {(d - start).days for d in cal.closures() if 0 <= (d - start).days < days}
    return World(start=start, days=days, festival_day=(festival - start).days, closed=closed,
                 lines=lines, skus=skus, channels=channels, items=items,
                 lots=_lots(plan, start, line_ix, sku_ix), p10=p10, p50=p50, p90=p90,
                 due=due, in_season=in_season, firm=firm, fg_on_hand=fg,
                 material_on_hand=stock, arrivals=arrivals, cfg=cfg,
                 demand_factor=np.ones(n),
                 cutoffs={c: (festival - start).days - plan_cfg.ship_by_days.get(c, 0)
                          for c in channels},
                 suppliers=suppliers)
