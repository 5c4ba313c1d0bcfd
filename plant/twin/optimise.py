"""Lot sizes, line assignment, changeovers and overtime from a mixed-integer programme.

The season is cut into buckets of ``bucket_days`` (a week). Per SKU, line and bucket the
programme chooses the boxes to start ``x``; per flavour and pack format (the SKUs of the
channels), line and bucket whether it runs there at all ``y`` (binary); per flavour, line
and bucket whether the flavour runs ``z`` (binary); per line and bucket the overtime hours.
Within a bucket a line runs its SKUs grouped by flavour, so its changeover time is ``z x
flavour minutes + (y - z) x pack minutes`` and its scrap ``y x scrap``. Good boxes (less the
line's measured reject rate) flow from their bucket to the needs of the same or a later
bucket, never further than the shelf life a customer accepts (``min_remaining_shelf``); what
cannot be served is short, at its price (the sale lost; the boxes not made cost nothing).
Capacity is the line's working hours times its availability (MTBF / (MTBF + MTTR)) plus
overtime up to ``overtime_max_hours`` a working day. With ``material_limits``, in the buckets
that end before a purchase order placed today can arrive (its lead time), production can use
only the material and packaging on hand (off by default: the twin lets a lot wait for its
material, and candidates planned with the limit did worse there). An open customer order
short also costs the late and the contract penalty (``firm_short_penalty_share``); with
``firm_orders_must_ship`` it must be served in full, and when that cannot be, the refusal
says what binds: an item whose stock on hand does not cover the open orders due before a new
order can arrive, or the first bucket whose open orders need more line hours than the lines
have by then.

Held web shop orders are not in the programme: a week is too coarse for their window (made
by the festival's eve, which may fall mid-week, and still fresh enough on the held day), so
their lots are scheduled day by day first (:func:`plant.twin.lots.hold_lots`) and the hours
they take are out of the lines' ``hours`` (``Problem.held``).

Minimised: production cost of started boxes, changeovers (scrap and fixed cost), overtime,
holding (box-days between bucket middles) and lost sales. Solved with HiGHS through
``scipy.optimize.milp``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from peakline.errors import DataError
from plant.planning.config import PlanConfig
from plant.twin.config import TwinConfig
from plant.twin.measure import LineBehaviour

__all__ = ["HeldLots", "Problem", "Solution", "solve"]


@dataclass
class HeldLots:
    """Held web shop orders' lots, scheduled day by day within each hold's own window before
    the programme is solved (:func:`plant.twin.lots.hold_lots`)."""

    rows: pd.DataFrame  # production plan rows, source 'hold', need_date the held day
    short: pd.DataFrame  # plant.planning.holds.SHORT_COLUMNS: what cannot be made in its window
    busy: np.ndarray  # [line, day] line hours the lots take


@dataclass
class Problem:
    """The data of one programme: needs per SKU and bucket, lines' hours, costs."""

    start: dt.date
    bucket_days: int
    skus: pd.DataFrame  # sku, flavour, packaging, unit_cost, price, shelf_life_days
    lines: pd.DataFrame  # line, units_per_hour, hours_per_shift, shifts_per_day, days_per_week
    need: np.ndarray  # [sku, bucket] boxes wanted (firm + forecast at the chosen level)
    firm: np.ndarray  # [sku, bucket] of which firm: open orders (holds: ``held``)
    on_hand: np.ndarray  # [sku] finished goods now
    hours: np.ndarray  # [line, bucket] regular working hours (less the held orders' lots)
    workdays: np.ndarray  # [line, bucket] working days
    behaviour: dict[str, LineBehaviour]
    cfg: TwinConfig
    plan_cfg: PlanConfig
    items: list[str] = field(default_factory=list)  # materials and packaging
    usage: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [item, sku] per box
    item_on_hand: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [item]
    item_ready: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    # [item] first bucket a purchase order placed today can be counted on to have arrived
    utilisation: float = 1.0  # share of the available hours the plan may fill (slack for luck)
    material_limits: bool = False  # before an order can arrive, only the stock on hand
    held: HeldLots | None = None  # held orders' lots, made ahead of the programme (their
    # hours are already out of ``hours``; plant.twin.lots.hold_lots)


@dataclass
class Solution:
    """Boxes to start per SKU, line and bucket, overtime per line and bucket, and figures."""

    start_boxes: np.ndarray  # [sku, line, bucket]
    overtime: np.ndarray  # [line, bucket]
    short: np.ndarray  # [sku, bucket]
    objective: float
    solve_s: float
    status: str
    gap: float | None
    stats: dict[str, float] = field(default_factory=dict)


class _Vars:
    """Column indices of the programme's variables."""

    def __init__(self) -> None:
        self.n = 0
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.cost: list[float] = []
        self.integral: list[int] = []

    def add(self, count: int, cost: float | np.ndarray, hi: float | np.ndarray = np.inf,
            integral: bool = False) -> np.ndarray:
        idx = np.arange(self.n, self.n + count)
        self.n += count
        self.lo += [0.0] * count
        self.hi += list(np.broadcast_to(np.asarray(hi, dtype=float), (count,)))
        self.cost += list(np.broadcast_to(np.asarray(cost, dtype=float), (count,)))
        self.integral += [int(integral)] * count
        return idx


class _Rows:
    """Sparse constraint rows: lo <= A x <= hi."""

    def __init__(self) -> None:
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.names: list[str] = []

    def add(self, cols: list[int] | np.ndarray, vals: list[float] | np.ndarray, lo: float,
            hi: float, name: str = "") -> None:
        i = len(self.lo)
        self.r += [i] * len(cols)
        self.c += [int(c) for c in cols]
        self.v += [float(v) for v in vals]
        self.lo.append(lo)
        self.hi.append(hi)
        self.names.append(name)


def solve(p: Problem, time_limit_s: float = 30.0, gap: float = 0.01) -> Solution:
    """Solve the programme; DataError naming what binds when firm orders cannot be served."""
    t0 = time.perf_counter()
    cfg = p.cfg
    n_s, n_b = p.need.shape
    n_l = len(p.lines)
    skus = p.skus.reset_index(drop=True)
    flavours = sorted(skus["flavour"].unique())
    # SKUs of one flavour and pack format (one per channel) run without a changeover between
    fam_key = list(zip(skus["flavour"], skus["packaging"], strict=True))
    families = sorted(set(fam_key))
    fam_of = np.array([families.index(k) for k in fam_key])
    fam_flavour = np.array([flavours.index(f) for f, _ in families])
    cost = skus["unit_cost"].to_numpy(float)
    shelf = skus["shelf_life_days"].to_numpy(float)
    # buckets between making and shipping within the shelf life a customer accepts
    reach = np.floor(shelf * (1 - p.plan_cfg.min_remaining_shelf) / p.bucket_days).astype(int)
    names = [str(x) for x in p.lines["line"]]
    rate = p.lines["units_per_hour"].to_numpy(float)
    rej = np.array([p.behaviour[n].reject_mean for n in names])
    avail = np.array([p.behaviour[n].availability for n in names])
    cap_h = p.hours * avail[:, None] * p.utilisation
    big = rate[:, None] * (cap_h + cfg.overtime_max_hours * p.workdays)  # boxes at most
    scrap_cost = cfg.changeover_scrap_boxes * cost.mean() + cfg.changeover_cost

    v = _Vars()
    x = v.add(n_s * n_l * n_b, np.repeat(cost, n_l * n_b)).reshape(n_s, n_l, n_b)
    n_f = len(families)
    y = v.add(n_f * n_l * n_b, scrap_cost, 1.0, True).reshape(n_f, n_l, n_b)
    z = v.add(len(flavours) * n_l * n_b, 0.0, 1.0, True).reshape(len(flavours), n_l, n_b)
    ot = v.add(n_l * n_b, cfg.overtime_cost_per_hour,
               (cfg.overtime_max_hours * p.workdays).reshape(-1)).reshape(n_l, n_b)
    price = skus["price"].to_numpy(float)
    firm_short = v.add(n_s * n_b, np.repeat(
        price * (1 + cfg.late_penalty_share + cfg.firm_short_penalty_share), n_b),
                       0.0 if cfg.firm_orders_must_ship else p.firm.reshape(-1)
                       ).reshape(n_s, n_b)
    short = v.add(n_s * n_b, np.repeat(price, n_b),
                  np.maximum(p.need - p.firm, 0).reshape(-1)).reshape(n_s, n_b)
    hold = cfg.holding_cost_per_box_day * p.bucket_days
    out: dict[tuple[int, int], list[int]] = {}  # (sku, bucket made) -> flow columns
    into: dict[tuple[int, int], list[int]] = {}  # (sku, bucket needed) -> flow columns
    for s in range(n_s):
        for b in range(-1, n_b):  # -1: the finished goods on hand now
            for b2 in range(max(b, 0), min(n_b, b + 1 + reach[s] + (b < 0))):
                if p.need[s, b2] > 0:
                    col = int(v.add(1, hold * (b2 - max(b, 0)))[0])
                    out.setdefault((s, b), []).append(col)
                    into.setdefault((s, b2), []).append(col)
    rows = _Rows()
    for s in range(n_s):
        for b in range(n_b):
            made = [int(x[s, ln, b]) for ln in range(n_l)]
            used = out.get((s, b), [])
            rows.add(used + made, [1.0] * len(used) + list(-(1 - rej)), -np.inf, 0.0)
        if out.get((s, -1)):
            rows.add(out[(s, -1)], [1.0] * len(out[(s, -1)]), -np.inf, float(p.on_hand[s]))
        for b2 in range(n_b):
            if p.need[s, b2] <= 0:
                continue
            served = into.get((s, b2), [])
            rows.add([*served, int(short[s, b2]), int(firm_short[s, b2])],
                     [1.0] * (len(served) + 2),
                     float(p.need[s, b2]), float(p.need[s, b2]), f"need {s} {b2}")
        for ln in range(n_l):
            for b in range(n_b):
                rows.add([int(x[s, ln, b]), int(y[fam_of[s], ln, b])], [1.0, -big[ln, b]],
                         -np.inf, 0.0)
    for k in range(n_f):
        for ln in range(n_l):
            for b in range(n_b):
                rows.add([int(y[k, ln, b]), int(z[fam_flavour[k], ln, b])], [1.0, -1.0],
                         -np.inf, 0.0)
    if p.material_limits:
        _material_rows(p, rows, x, n_l, n_b)
    fmin, pmin = cfg.changeover_flavour_min / 60.0, cfg.changeover_pack_min / 60.0
    for ln in range(n_l):
        for b in range(n_b):
            cols = [int(x[s, ln, b]) for s in range(n_s)] + [int(y[k, ln, b]) for k in range(n_f)]
            vals = [1.0 / rate[ln]] * n_s + [pmin] * n_f
            cols += [int(z[f, ln, b]) for f in range(len(flavours))] + [int(ot[ln, b])]
            vals += [fmin - pmin] * len(flavours) + [-1.0]
            rows.add(cols, vals, -np.inf, float(cap_h[ln, b]), f"capacity {names[ln]} {b}")
    a = coo_matrix((rows.v, (rows.r, rows.c)), shape=(len(rows.lo), v.n)).tocsr()
    cons = LinearConstraint(a, rows.lo, rows.hi)
    cost_v, lo, hi = np.array(v.cost), np.array(v.lo), np.array(v.hi)
    integral = np.array(v.integral)
    rounded = _relax_and_fix(cost_v, cons, lo, hi, integral, x, y, z, fam_of, fam_flavour,
                             big)
    res = milp(cost_v, constraints=cons, integrality=integral, bounds=Bounds(lo, hi),
               options={"time_limit": max(1.0, time_limit_s - (time.perf_counter() - t0)),
                        "mip_rel_gap": gap, "disp": False})
    took = time.perf_counter() - t0
    if res.x is None and rounded is None:
        if res.status == 2:  # infeasible
            raise DataError(f"the plan cannot be optimised: {_binding(p, rate, cap_h)}")
        raise DataError(f"the solver found no plan in {time_limit_s:.0f} s ({res.message}); "
                        "give it more time")
    status = str(res.message)
    if res.x is None or (rounded is not None and rounded.fun < res.fun):
        assert rounded is not None
        res, status = rounded, f"{status}; the rounded relaxation was better"
    sol = np.asarray(res.x)
    return Solution(start_boxes=np.maximum(sol[x], 0.0), overtime=np.maximum(sol[ot], 0.0),
                    short=sol[short] + sol[firm_short], objective=float(res.fun), solve_s=took,
                    status=status, gap=getattr(res, "mip_gap", None),
                    stats={"variables": v.n, "binaries": int(sum(v.integral)),
                           "constraints": len(rows.lo)})


def _relax_and_fix(cost: np.ndarray, cons: LinearConstraint, lo: np.ndarray, hi: np.ndarray,
                   integral: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray,
                   fam_of: np.ndarray, fam_flavour: np.ndarray, big: np.ndarray) -> Any:
    """A good plan fast: the LP relaxation, its setups rounded (a family runs where the LP
    makes at least 2% of the line's bucket on it), the lots re-solved as an LP. The solver's
    own search then has to beat it; under a time limit it often cannot."""
    relaxed = milp(cost, constraints=cons, integrality=np.zeros_like(integral),
                   bounds=Bounds(lo, hi), options={"disp": False})
    if relaxed.x is None:
        return None
    made = relaxed.x[x]  # [sku, line, bucket]
    fam_made = np.zeros(y.shape)
    np.add.at(fam_made, fam_of, made)
    on = fam_made >= 0.02 * big[None, :, :]
    flav_on = np.zeros(z.shape, dtype=bool)
    for k in range(y.shape[0]):
        flav_on[fam_flavour[k]] |= on[k]
    lo2, hi2 = lo.copy(), hi.copy()
    lo2[y], hi2[y] = on, on
    lo2[z], hi2[z] = flav_on, flav_on
    fixed = milp(cost, constraints=cons, integrality=np.zeros_like(integral),
                 bounds=Bounds(lo2, hi2), options={"disp": False})
    return fixed if fixed.x is not None else None


def _material_rows(p: Problem, rows: _Rows, x: np.ndarray, n_l: int, n_b: int) -> None:
    """Before a purchase order placed today can arrive, production uses the stock on hand."""
    for m, item in enumerate(p.items):
        last = min(int(p.item_ready[m]), n_b) - 1
        uses = np.flatnonzero(p.usage[m] > 0)
        if last < 0 or not len(uses):
            continue
        cols = [int(x[s, ln, b]) for s in uses for ln in range(n_l) for b in range(last + 1)]
        vals = [float(p.usage[m, s]) for s in uses for ln in range(n_l) for b in range(last + 1)]
        rows.add(cols, vals, -np.inf, float(p.item_on_hand[m]), f"material {item}")


def _binding(p: Problem, rate: np.ndarray, cap_h: np.ndarray) -> str:
    """What keeps the firm orders from being served: an item's stock, or line hours."""
    rej = np.array([p.behaviour[str(n)].reject_mean for n in p.lines["line"]]).mean()
    firm_net = np.maximum(p.firm - np.where(np.arange(p.firm.shape[1]) == 0,
                                            p.on_hand[:, None], 0), 0) / (1 - rej)
    for m, item in enumerate(p.items if p.material_limits else []):
        last = min(int(p.item_ready[m]), p.firm.shape[1])
        need = float(p.usage[m] @ firm_net[:, :last].sum(axis=1)) if last > 0 else 0.0
        if need > p.item_on_hand[m] + 1e-6:
            day = p.start + dt.timedelta(days=p.bucket_days * last)
            return (f"{item} binds: open orders due before {day} need {need:,.0f}, "
                    f"{p.item_on_hand[m]:,.0f} on hand, and an order placed today is not sure "
                    f"to arrive before then")
    avg_rate = float(np.average(rate, weights=cap_h.sum(axis=1) + 1e-9))
    firm_cum = np.cumsum(np.maximum(p.firm.sum(axis=0) - p.on_hand.sum() * (
        np.arange(p.firm.shape[1]) == 0), 0))
    have = np.cumsum((cap_h + p.cfg.overtime_max_hours * p.workdays).sum(axis=0))
    need_h = firm_cum / avg_rate
    over = np.flatnonzero(need_h > have + 1e-6)
    if len(over):
        b = int(over[0])
        day = p.start + dt.timedelta(days=p.bucket_days * (b + 1) - 1)
        return (f"line capacity binds: open orders due by {day} need {need_h[b]:,.0f} line "
                f"hours, the lines have {have[b]:,.0f} (overtime included)")
    return ("open orders cannot be served in full within the lines' hours and the shelf "
            "life the customers accept; shifts, overtime or due dates must change")
