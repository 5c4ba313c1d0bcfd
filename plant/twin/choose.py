"""``peakline plant plan --optimise``: candidate plans from the solver, chosen in the twin.

For each candidate service level (the forecast quantile the season's demand is planned at)
the programme of :mod:`plant.twin.optimise` gives lot sizes, lines, sequence and overtime;
each candidate's full set of plans (materials, purchases, packaging follow from its
production) is lived ``runs`` times in the twin with the same random numbers as the
backward-scheduling heuristic's plan. The chosen plan is the candidate with the lowest
simulated expected cost among those that reach the target fill rate in every channel - the
configured ``target_fill_rate``, or the heuristic's own fill rate where that is lower; if
none does, the candidate with the best overall fill rate that costs no more than the
heuristic; if none does, the heuristic's plan is kept. Either way the explanation lists
every candidate and the heuristic side by side.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from peakline.errors import DataError
from peakline.wire import PlanKind
from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.holds import SHORT_COLUMNS, hold_requirements
from plant.planning.plans import Plans, build_plans
from plant.planning.production import requirements
from plant.planning.run import PlanRun
from plant.twin.config import TwinConfig
from plant.twin.lots import hold_lots, lots_from_solution
from plant.twin.measure import LineBehaviour, measure_lines
from plant.twin.montecarlo import Simulation, simulate
from plant.twin.optimise import Problem, solve
from plant.twin.run import master_data
from plant.twin.world import build_world

__all__ = ["CANDIDATES", "Candidate", "build_problem", "choose", "optimise_from_store"]

#: service levels the candidates plan the festival season's forecast at
CANDIDATES = (0.5, 0.65)


@dataclass
class Candidate:
    """One plan and how it lived in the twin."""

    name: str
    level: float | None
    plans: Plans
    sim: Simulation
    solve_s: float = 0.0

    def row(self) -> dict[str, Any]:
        s = self.sim.summary()
        return {"candidate": self.name, "service_level": self.level,
                "fill_rate": s["fill_rate"], "fill_rate_by_channel": s["fill_rate_by_channel"],
                "cost": s["cost"], "cost_p10": s["cost_p10"], "cost_p50": s["cost_p50"],
                "cost_p90": s["cost_p90"], "changeovers": s["changeovers"],
                "overtime_h": s["overtime_h"]["mean"], "solve_s": round(self.solve_s, 2)}


def _working(lines: pd.DataFrame, start: dt.date, days: int, cal: HolidayCalendar) -> np.ndarray:
    closed = cal.closures()
    out = np.zeros((len(lines), days), dtype=bool)
    for d in range(days):
        day = start + dt.timedelta(days=d)
        if day in closed:
            continue
        out[:, d] = day.weekday() < lines["days_per_week"].to_numpy(int)
    return out


def build_problem(fc: pd.DataFrame, data: dict[str, pd.DataFrame], start: dt.date,
                  cal: HolidayCalendar, plan_cfg: PlanConfig, cfg: TwinConfig,
                  behaviour: dict[str, LineBehaviour], level: float, bucket_days: int = 7,
                  ) -> tuple[Problem, pd.DataFrame, np.ndarray]:
    """(programme, needs per SKU and date, working[line, day]) at service ``level``; the
    held orders' lots are made first (:func:`plant.twin.lots.hold_lots`), the programme plans
    the rest in what the lines have left."""
    level_cfg = plan_cfg.model_copy(update={"service_level": level})
    held_req, impossible = hold_requirements(data.get("holds"), data["skus"], start, cal,
                                             plan_cfg)
    req = requirements(fc, data["skus"], data["open_orders"], start, cal, level_cfg,
                       data.get("holds"), held=held_req)
    skus = data["skus"].reset_index(drop=True)
    ix = {str(s): i for i, s in enumerate(skus["sku"])}
    days = max(int((pd.to_datetime(fc["ds"]).max() - pd.Timestamp(start)).days) + 1,
               int((req["need_date"].max() - pd.Timestamp(start)).days) + 1 if len(req) else 1)
    n_b = -(-days // bucket_days)
    need = np.zeros((len(skus), n_b))
    firm = np.zeros((len(skus), n_b))
    req = req[req["source"] != "hold"]  # made ahead, in their own window
    day = (req["need_date"] - pd.Timestamp(start)).dt.days.clip(lower=1) - 1
    for r, d in zip(req.itertuples(index=False), day, strict=True):
        if str(r.sku) in ix:
            need[ix[str(r.sku)], d // bucket_days] += float(r.qty)
            if r.source == "open_order":
                firm[ix[str(r.sku)], d // bucket_days] += float(r.qty)
    lines = data["lines"].reset_index(drop=True)
    working = _working(lines, start, n_b * bucket_days, cal)
    held = hold_lots(held_req, impossible, skus, lines, behaviour, working, start)
    per_day = lines["hours_per_shift"].to_numpy(float) * lines["shifts_per_day"].to_numpy(float)
    workdays = working.reshape(len(lines), n_b, bucket_days).sum(axis=2).astype(float)
    avail = np.array([behaviour[str(n)].availability for n in lines["line"]])
    taken = held.busy.reshape(len(lines), n_b, bucket_days).sum(axis=2) / avail[:, None]
    hours = np.maximum(workdays * per_day[:, None] - taken, 0.0)
    inv = data["inventory"]
    fg = inv[inv["kind"] == "sku"].groupby("item")["on_hand"].sum()
    on_hand = skus["sku"].map(fg).fillna(0.0).to_numpy(float)
    mats = data["materials"].reset_index(drop=True)
    items = [str(i) for i in mats["item"]]
    usage = np.zeros((len(items), len(skus)))
    mix = {it: i for i, it in enumerate(items)}
    for r in data["bom"].itertuples(index=False):
        if str(r.item) in mix and str(r.sku) in ix:
            usage[mix[str(r.item)], ix[str(r.sku)]] = float(r.qty_per_unit)
    stock = inv[inv["kind"] != "sku"].groupby("item")["on_hand"].sum()
    ready = np.floor(mats["lead_time_days"].to_numpy(float) / bucket_days).astype(int)
    problem = Problem(start, bucket_days, skus, lines, need, firm, on_hand, hours, workdays,
                      behaviour, cfg, plan_cfg, items, usage,
                      mats["item"].map(stock).fillna(0.0).to_numpy(float), ready, held=held)
    return problem, req[["sku", "need_date"]], working


def _candidate(fc: pd.DataFrame, data: dict[str, pd.DataFrame], start: dt.date,
               cal: HolidayCalendar, plan_cfg: PlanConfig, cfg: TwinConfig,
               behaviour: dict[str, LineBehaviour], level: float, runs: int, seed: int,
               time_limit_s: float) -> Candidate:
    problem, needs, working = build_problem(fc, data, start, cal, plan_cfg, cfg, behaviour,
                                            level)
    sol = solve(problem, time_limit_s)
    prod = lots_from_solution(problem, sol, needs, working)
    # holds that cannot be made in their window stay exceptions of the optimised plan
    short = problem.held.short if problem.held is not None else pd.DataFrame(
        columns=SHORT_COLUMNS)
    mean_rej = float(np.mean([b.reject_mean for b in behaviour.values()]))
    expl = {"method": "optimised: mixed-integer programme (HiGHS via scipy.optimize.milp), "
                      "chosen by simulated expected cost in the twin",
            "service_level": level, "reject_rate": mean_rej,
            "reject_rate_source": "per line, measured on the lines (plant.twin.measure)",
            "solver": {"status": sol.status, "objective": round(sol.objective),
                       "solve_s": round(sol.solve_s, 2), **sol.stats},
            "scheduled_start_units": round(float(prod["qty_start"].sum()), 1),
            "shortfall_units": round(float(sol.short.sum() + short["short_units"].sum()), 1),
            "overtime_hours_planned": round(float(sol.overtime.sum()), 1)}
    made = prod[prod["source"] == "hold"]
    if len(made) or len(short):
        expl["holds"] = {
            "rule": "held orders' lots are scheduled day by day before the programme, made no "
                    "later than the festival's eve (or the day before delivery) and no earlier "
                    f"than keeps {plan_cfg.min_remaining_shelf:.0%} of the shelf life on the "
                    "held day (plant.twin.lots.hold_lots)",
            "scheduled_start_units": round(float(made["qty_start"].sum()), 1),
            "short_boxes": round(float(short["short_units"].sum()), 1)}
    plans = build_plans(fc, data, start, cal, mean_rej, plan_cfg, production=(prod, expl, short))
    plans[PlanKind.PURCHASES] = _safety_time(plans[PlanKind.PURCHASES], start, plan_cfg, cfg)
    sim = _simulate(plans, fc, data, behaviour, cal, plan_cfg, cfg, runs, seed)
    return Candidate(f"optimised@{level:g}", level, plans, sim, sol.solve_s)


def _safety_time(purchases: tuple[pd.DataFrame, dict], start: dt.date, plan_cfg: PlanConfig,
                 cfg: TwinConfig) -> tuple[pd.DataFrame, dict]:
    """Purchase orders placed earlier by a safety time (z x lead-time spread x lead time),
    so that a supplier's usual lateness does not stop the lines; never before today."""
    df, expl = purchases
    if df.empty or cfg.supplier_lead_cv <= 0:
        return purchases
    z = NormalDist().inv_cdf(plan_cfg.material_service_level)
    df = df.copy()
    safety = np.ceil(z * cfg.supplier_lead_cv * df["lead_time_days"].to_numpy(float))
    order_by = pd.to_datetime(df["order_by"])
    earlier = (order_by - pd.to_timedelta(safety, unit="D")).clip(lower=pd.Timestamp(start))
    df["order_by"] = earlier.dt.date.where(order_by > pd.Timestamp(start), df["order_by"])
    df["safety_days"] = safety.astype(int)
    expl = {**expl, "safety_time": "order-by dates moved earlier by z(material service level) "
            "x supplier lead-time spread x lead time (plant.twin.choose)"}
    return df.sort_values(["order_by", "item"], ignore_index=True), expl


def _simulate(plans: Plans, fc: pd.DataFrame, data: dict[str, pd.DataFrame],
              behaviour: dict[str, LineBehaviour], cal: HolidayCalendar, plan_cfg: PlanConfig,
              cfg: TwinConfig, runs: int, seed: int) -> Simulation:
    world = build_world(plans[PlanKind.PRODUCTION][0], plans[PlanKind.PURCHASES][0], fc, data,
                        behaviour, cal, plan_cfg, cfg)
    return simulate(world, runs, seed)


def choose(candidates: list[Candidate], heuristic: Candidate, target: float) -> Candidate:
    """The candidate to keep by the rule of the module docstring."""
    h = heuristic.sim.summary()
    floors = {c: min(target, v) for c, v in h["fill_rate_by_channel"].items()}

    def reaches(c: Candidate) -> bool:
        by = c.sim.summary()["fill_rate_by_channel"]
        return all(by.get(ch, 1.0) >= f - 1e-9 for ch, f in floors.items())

    reach = [c for c in candidates if reaches(c)]
    if reach:
        return min(reach, key=lambda c: c.sim.summary()["cost"])
    cheaper = [c for c in candidates if c.sim.summary()["cost"] <= h["cost"]]
    if cheaper:
        return max(cheaper, key=lambda c: c.sim.summary()["fill_rate"])
    return heuristic


def optimise_from_store(store: Any, plan_cfg: PlanConfig, cfg: TwinConfig,
                        cal: HolidayCalendar, reject_days: int = 7, runs: int = 60,
                        seed: int = 1,
                        candidates: tuple[float, ...] = CANDIDATES,
                        time_limit_s: float = 25.0, save: bool = True,
                        ) -> tuple[PlanRun, list[Candidate], Candidate]:
    """(the chosen plans as stored, every candidate, the heuristic's)."""
    found = store.latest_forecast()
    if found is None:
        raise DataError("no forecast in the store; run `peakline plant forecast` first")
    meta, fc = found
    fc["ds"] = pd.to_datetime(fc["ds"])
    data = master_data(store)
    if data["lines"].empty or data["skus"].empty:
        raise DataError("the store has no lines or no SKUs; import the master data first")
    start = pd.Timestamp(fc["ds"].min()).date()
    behaviour = measure_lines(store, [str(x) for x in data["lines"]["line"]], cfg, reject_days)
    heur_plans = build_plans(fc, data, start, cal, store.reject_rate(days=reject_days), plan_cfg)
    heuristic = Candidate("heuristic", None, heur_plans,
                          _simulate(heur_plans, fc, data, behaviour, cal, plan_cfg, cfg, runs,
                                    seed))
    found_c = [_candidate(fc, data, start, cal, plan_cfg, cfg, behaviour, lv, runs, seed,
                          time_limit_s) for lv in candidates]
    chosen = choose(found_c, heuristic, cfg.target_fill_rate)
    table = [c.row() for c in [heuristic, *found_c]]
    forecast_id = str(meta.get("id") or meta.get("forecast_id"))
    plan_id = f"plan-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    plans = dict(chosen.plans)
    prod, expl = plans[PlanKind.PRODUCTION]
    expl = {**expl, "optimise": {
        "chosen": chosen.name, "runs": runs, "seed": seed,
        "target_fill_rate": cfg.target_fill_rate,
        "rule": "lowest simulated expected cost among the candidates reaching the target "
                "fill rate (or the heuristic's, where lower) in every channel; else the best "
                "fill rate at no more cost than the heuristic; else the heuristic",
        "solve_s": round(sum(c.solve_s for c in found_c), 2),
        "candidates": table}}
    plans[PlanKind.PRODUCTION] = (prod, expl)
    if save:
        for kind, (df, explanation) in plans.items():
            store.save_plan(kind, plan_id, forecast_id, df, explanation)
    return PlanRun(plan_id, forecast_id, start, plans), found_c, heuristic
