"""Many seasons of one world: replications with common random numbers, and their spread.

:func:`simulate` runs replications ``0..runs-1`` of ``seed``; replication ``r`` draws the same
demand, line luck and supplier delays whatever the plan or scenario, so two of them compared
with the same seed differ only by what they change. :class:`Simulation` reports means and
percentiles across runs, per channel and overall.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from plant.twin.sim import RunResult, simulate_run
from plant.twin.world import World

__all__ = ["Simulation", "simulate"]

_PCTS = (10, 50, 90)


def _spread(values: list[float] | np.ndarray, digits: int = 4) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    out = {"mean": round(float(a.mean()), digits)}
    out.update({f"p{p}": round(float(np.percentile(a, p)), digits) for p in _PCTS})
    return out


@dataclass
class Simulation:
    """The replications of one world and what they add up to."""

    world: World
    runs: list[RunResult]
    seed: int
    wall_s: float

    def per_run(self) -> pd.DataFrame:
        """One row per replication: fill rates, boxes late and short, waste, hours, costs."""
        rows = []
        for i, r in enumerate(self.runs):
            row: dict[str, Any] = {"run": i, "fill_rate": r.fill_rate}
            row.update({f"fill_rate_{c}": v for c, v in r.fill_rate_by_channel().items()})
            row.update({"demand": sum(r.demand.values()), "late": sum(r.late.values()),
                        "short": sum(r.short.values()), "orders": r.orders,
                        "orders_late": r.orders_late, "orders_short": r.orders_short,
                        "rejects": r.rejects, "scrap": r.scrap, "expired": r.expired,
                        "leftover": r.leftover, "changeovers": r.changeovers,
                        "overtime_h": r.overtime_h, "downtime_h": r.downtime_h,
                        "material_wait": r.material_wait})
            row.update({f"cost_{k}": v for k, v in r.cost.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def by_channel(self) -> dict[str, dict[str, Any]]:
        """Per channel: fill rate (mean and percentiles), boxes demanded, late and short."""
        out = {}
        for c in self.world.channels:
            out[c] = {
                "fill_rate": _spread([r.fill_rate_by_channel()[c] for r in self.runs]),
                "demand": round(float(np.mean([r.demand[c] for r in self.runs]))),
                "late_boxes": round(float(np.mean([r.late[c] for r in self.runs]))),
                "short_boxes": round(float(np.mean([r.short[c] for r in self.runs]))),
            }
        return out

    def stock_over_time(self) -> pd.DataFrame:
        """Finished goods and safekeeping at each day's end: P10/P50/P90 across runs."""
        stock = np.vstack([r.stock for r in self.runs])
        keep = np.vstack([r.safekeeping for r in self.runs])
        out = pd.DataFrame({"date": [self.world.date(d) for d in range(self.world.days)]})
        for p in _PCTS:
            out[f"stock_p{p}"] = np.percentile(stock, p, axis=0).round(0)
        out["safekeeping_p50"] = np.percentile(keep, 50, axis=0).round(0)
        return out

    def gantt(self) -> pd.DataFrame:
        """What the first replication ran: hours per line, day, kind and SKU."""
        bars = self.runs[0].gantt if self.runs else []
        df = pd.DataFrame(bars, columns=["line", "t0", "t1", "kind", "sku"])
        if df.empty:
            return pd.DataFrame(columns=["line", "date", "kind", "sku", "start_h", "hours"])
        df["day"] = (df["t0"] // 24).astype(int)
        df["hours"] = df["t1"] - df["t0"]
        g = df.groupby(["line", "day", "kind", "sku"], as_index=False).agg(
            start_h=("t0", "min"), hours=("hours", "sum"))
        g["start_h"] = (g["start_h"] - 24 * g["day"]).round(2)
        g["hours"] = g["hours"].round(2)
        g["date"] = [self.world.date(int(d)).isoformat() for d in g["day"]]
        return g.drop(columns="day").sort_values(["line", "date", "start_h"], ignore_index=True)

    def summary(self) -> dict[str, Any]:
        """The figures a manager reads first; JSON-ready (fill rates are fractions)."""
        df = self.per_run()
        cost = df["cost_total"].to_numpy()
        chans = self.by_channel()
        parts = {k[5:]: round(float(df[k].mean())) for k in df.columns
                 if k.startswith("cost_") and k != "cost_total"}
        return {
            "runs": len(self.runs), "seed": self.seed,
            "fill_rate": round(float(df["fill_rate"].mean()), 4),
            "fill_rate_p10": round(float(np.percentile(df["fill_rate"], 10)), 4),
            "fill_rate_p90": round(float(np.percentile(df["fill_rate"], 90)), 4),
            "fill_rate_by_channel": {c: v["fill_rate"]["mean"] for c, v in chans.items()},
            "cost": round(float(cost.mean())),
            "cost_p10": round(float(np.percentile(cost, 10))),
            "cost_p50": round(float(np.percentile(cost, 50))),
            "cost_p90": round(float(np.percentile(cost, 90))),
            "cost_parts": parts,
            "channels": chans,
            "orders": round(float(df["orders"].mean())),
            "orders_late": _spread(df["orders_late"], 1),
            "orders_short": _spread(df["orders_short"], 1),
            "boxes_late": _spread(df["late"], 0),
            "boxes_short": _spread(df["short"], 0),
            "waste_boxes": {k: _spread(df[k], 0) for k in ("rejects", "scrap", "expired",
                                                            "leftover")},
            "changeovers": round(float(df["changeovers"].mean()), 1),
            "overtime_h": _spread(df["overtime_h"], 1),
            "downtime_h": _spread(df["downtime_h"], 1),
            "wall_s": round(self.wall_s, 2),
        }


def _runs(world: World, seed: int, which: range) -> list[RunResult]:
    return [simulate_run(world, seed, r, gantt=(r == 0)) for r in which]


def simulate(world: World, runs: int, seed: int, jobs: int = 1) -> Simulation:
    """``runs`` replications of ``world`` (replication 0 also records the Gantt bars).

    ``jobs`` > 1 shares the replications out over that many worker processes; each
    replication draws from its own streams, so the figures are the same as with one.
    """
    t0 = time.perf_counter()
    jobs = max(1, min(jobs, runs))
    if jobs == 1:
        results = _runs(world, seed, range(runs))
    else:
        step = -(-runs // jobs)
        parts = [range(i, min(runs, i + step)) for i in range(0, runs, step)]
        with ProcessPoolExecutor(len(parts), mp_context=mp.get_context("spawn")) as pool:
            results = [r for part in pool.map(_runs, [world] * len(parts), [seed] * len(parts),
                                              parts) for r in part]
    return Simulation(world, results, seed, time.perf_counter() - t0)
