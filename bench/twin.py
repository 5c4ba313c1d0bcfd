"""Twin benchmark: the heuristic plan against the optimised one on the sample factory.

    python bench/twin.py [--seed 1] [--runs 200] [--cand-runs 60] [--horizon 100] [--jobs 2]
                         [--workdir DIR]

1. The sample factory (3 lines, 36 SKUs, ``peakline plant sample-data --seed``), a
   ``--horizon``-day forecast and the backward-scheduling heuristic's plans, in a scratch
   SQLite store.
2. ``plant plan --optimise``: each candidate solved (HiGHS through scipy) and lived
   ``--cand-runs`` times in the twin; ``solve_s`` adds up the solver's time.
3. Both plans simulated ``--runs`` times with the same seed (common random numbers), over
   ``--jobs`` worker processes (runs/s reported).
   Goals: the optimised plan reaches the heuristic's fill rate in every channel for 15% less
   expected cost, or 2 points more fill rate for no more cost; solving under 60 s; a
   200-run season under 60 s on 2 cores.

Prints both plans side by side (fill rate P10/P50/P90 per channel, cost P10/P50/P90 and its
parts); the last line is one JSON object with ``heuristic`` and ``optimised`` (the simulate
figures of each) and ``solve_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peakline.demo.sample_erp import generate, write
from plant.calendar import HolidayCalendar
from plant.forecast.run import forecast_into_store
from plant.planning.config import PlanConfig
from plant.planning.run import plan_from_store
from plant.store import Store
from plant.twin.choose import optimise_from_store
from plant.twin.config import TwinConfig
from plant.twin.run import simulate_plan


def _line(name: str, s: dict) -> str:
    by = s["channels"]
    chans = "  ".join(f"{c} {v['fill_rate']['p10']:.1%}/{v['fill_rate']['p50']:.1%}/"
                      f"{v['fill_rate']['p90']:.1%}" for c, v in by.items())
    return (f"{name:<10} fill {s['fill_rate']:.1%} (P10 {s['fill_rate_p10']:.1%}, P90 "
            f"{s['fill_rate_p90']:.1%})  {chans}\n{'':<10} cost mean {s['cost']:,} P10 "
            f"{s['cost_p10']:,} P50 {s['cost_p50']:,} P90 {s['cost_p90']:,}; changeovers "
            f"{s['changeovers']:,.0f}, overtime {s['overtime_h']['mean']:,.0f} h, waste "
            + ", ".join(f"{k} {v['mean']:,.0f}" for k, v in s["waste_boxes"].items())
            + f"; {s['runs']} runs in {s['wall_s']:.1f} s ({s['runs_per_s']} runs/s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--cand-runs", type=int, default=60)
    ap.add_argument("--horizon", type=int, default=100)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the 200-run seasons")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-twin-"))
    work.mkdir(parents=True, exist_ok=True)
    cal = HolidayCalendar.default()
    db = work / "plant.db"
    if db.exists():
        db.unlink()
    write(generate(seed=args.seed), work / "erp")
    store = Store.open(f"sqlite:///{db}")
    store.import_dir(work / "erp")
    forecast_into_store(store, cal, args.horizon, "channel", 1, "CN")
    plan_cfg, cfg = PlanConfig(), TwinConfig()
    heur = plan_from_store(store, plan_cfg, cal)
    t0 = time.perf_counter()
    run, candidates, _ = optimise_from_store(store, plan_cfg, cfg, cal, runs=args.cand_runs,
                                             seed=args.seed)
    optimise_s = time.perf_counter() - t0
    solve_s = sum(c.solve_s for c in candidates)
    out = {}
    for name, plan_id in (("heuristic", heur.plan_id), ("optimised", run.plan_id)):
        sim = simulate_plan(store, plan_id, args.runs, args.seed, cal, plan_cfg, cfg,
                            save=False, jobs=args.jobs).simulation.summary()
        sim["runs_per_s"] = round(sim["runs"] / sim["wall_s"], 1)
        out[name] = sim
        print(_line(name, sim))
    h, o = out["heuristic"], out["optimised"]
    chosen = run.plans["production"][1]["optimise"]["chosen"]
    every = all(o["fill_rate_by_channel"][c] >= h["fill_rate_by_channel"][c] - 1e-9
                for c in h["fill_rate_by_channel"])
    cheaper = 1 - o["cost"] / h["cost"]
    goal = (every and cheaper >= 0.15) or (o["fill_rate"] - h["fill_rate"] >= 0.02
                                           and o["cost"] <= h["cost"])
    print(f"chosen {chosen}; cost {cheaper:+.1%} lower, fill {o['fill_rate'] - h['fill_rate']:+.3f}"
          f"; every channel at least the heuristic's: {every}; goal met: {goal}; "
          f"solve {solve_s:.1f} s (optimise in all {optimise_s:.1f} s)")
    print(json.dumps({"heuristic": h, "optimised": o, "solve_s": round(solve_s, 2),
                      "optimise_s": round(optimise_s, 2), "chosen": chosen,
                      "cost_reduction": round(cheaper, 4), "goal_met": goal,
                      "cpus": os.cpu_count()}))
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
