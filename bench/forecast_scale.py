"""Wall time of many series forecast here and as Dask tasks (``--engine local|dask``).

    python bench/forecast_scale.py [--series 10000] [--years 2] [--horizon 28]
                                   [--partition-size 5000] [--engines local,dask]

Synthetic shop sales (``tests/support/sales.py``: closures, promotions, an Easter rush),
``--series`` series of ``--years`` years, forecast ``--horizon`` days with the promotion's
future values, by partitions of ``--partition-size`` series on each engine (``dask``: Dask's
local process pool, one worker process per core). Prints a table; the last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(2, str(REPO / "tests"))  # the suites' own helpers (support)

from support.sales import shop_history  # noqa: E402

from plant.calendar import HolidayCalendar  # noqa: E402
from plant.forecast.engines import forecast_partitioned  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--horizon", type=int, default=28)
    ap.add_argument("--partition-size", type=int, default=5000)
    ap.add_argument("--engines", default="local,dask")
    args = ap.parse_args()
    end = pd.Timestamp("2023-03-19") + pd.Timedelta(days=args.horizon - 1)
    start = pd.Timestamp("2023-03-19") - pd.DateOffset(years=args.years)
    frames = []
    for seed in range((args.series + 99) // 100):
        part = shop_history(n_series=min(100, args.series - 100 * seed), seed=seed,
                            start=str(start.date()), end=str(end.date()))
        frames.append(part.assign(unique_id=part["unique_id"] + f"_{seed}"))
    data = pd.concat(frames, ignore_index=True)
    cut = pd.Timestamp("2023-03-19")
    hist = data[data["ds"] < cut]
    fut = data[data["ds"] >= cut][["unique_id", "ds", "promo"]]
    cal = HolidayCalendar("DE")
    result = {"series": args.series, "years": args.years, "horizon": args.horizon,
              "partition_size": args.partition_size, "cpus": os.cpu_count(), "wall_s": {}}
    print(f"{'engine':<8} {'wall s':>8}")
    for engine in args.engines.split(","):
        t0 = time.perf_counter()
        fc = forecast_partitioned(hist, args.horizon, cal, "easter", fut, engine=engine,
                                  partition_size=args.partition_size)
        wall = time.perf_counter() - t0
        assert fc["unique_id"].nunique() == args.series
        result["wall_s"][engine] = round(wall, 1)
        print(f"{engine:<8} {wall:>8.1f}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
