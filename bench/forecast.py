"""Forecast benchmark: wall time for 1,000 SKU series and festival-window accuracy.

    python bench/forecast.py [--skus 1000] [--years 3] [--horizon 60] [--jobs 2]
                             [--ets-sample 40] [--levels channel,sku] [--no-backtest]

1. Wall time of the full SKU forecast (gross orders and cancellations, P10/P50/P90, net demand)
   for ``--skus`` series of ``--years`` years of daily sample history, at each level in
   ``--levels`` (``channel``: models on the 3 channel totals, split to SKUs; ``flavour_channel``:
   18 groups; ``sku``: every SKU a series of the global boosted model, about 26 s here).
   Goal: under 60 s on 2 cores.
2. Rolling-origin backtest over the past festivals of a 4-year sample history of the same SKUs:
   festival-window MASE of net demand against seasonal naive (every SKU) and AutoETS without
   holiday features (a fixed seeded sample of ``--ets-sample`` SKUs: its model search takes about
   0.4 s a series). Goal: at least 20% lower than AutoETS.

Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peakline.demo.sample_erp import generate
from plant.calendar import HolidayCalendar
from plant.forecast.backtest import backtest
from plant.forecast.demand import forecast_demand


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skus", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--horizon", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--ets-sample", type=int, default=40)
    ap.add_argument("--levels", default="channel,flavour_channel")
    ap.add_argument("--no-backtest", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    cal = HolidayCalendar.default()
    result: dict = {"skus": args.skus, "years": args.years, "horizon": args.horizon,
                    "jobs": args.jobs, "cpus": os.cpu_count(), "python": platform.python_version()}
    data = generate(seed=args.seed, years=args.years, n_skus=args.skus, shop=False)
    hist = data["demand"].rename(columns={"date": "ds"})
    print(f"{'what':<44}{'value':>12}")
    timings = {}
    for level in args.levels.split(","):
        t0 = time.perf_counter()
        fc = forecast_demand(hist, data["skus"], args.horizon, cal, level=level, n_jobs=args.jobs)
        wall = time.perf_counter() - t0
        timings[level] = round(wall, 2)
        print(f"{f'forecast wall s, level={level} ({len(fc)} rows)':<44}{wall:>12.2f}")
    result["forecast_wall_s"] = timings
    result["goal_wall_s"] = 60
    if not args.no_backtest:
        full = generate(seed=args.seed, years=4, n_skus=args.skus, shop=False)
        t0 = time.perf_counter()
        table, summary = backtest(full["demand"].rename(columns={"date": "ds"}), full["skus"],
                                  cal, h=args.horizon, ets_sample=args.ets_sample,
                                  n_jobs=args.jobs)
        wall = time.perf_counter() - t0
        for row in table.itertuples(index=False):
            label = f"MASE {row.window} {row.method} ({row.series} series)"
            print(f"{label:<44}{row.mase:>12.3f}")
        print(f"{'backtest wall s':<44}{wall:>12.1f}")
        result.update(backtest_wall_s=round(wall, 1), **summary,
                      festival_bias_pct=table[table["window"] == "festival"]
                      .set_index("method")["bias_pct"].round(1).to_dict(),
                      festival_coverage_p10_p90=round(float(table[
                          (table["window"] == "festival") & (table["method"] == "holiday")
                      ]["coverage_p10_p90"].iloc[0]), 3),
                      goal_vs_autoets_pct=20)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
