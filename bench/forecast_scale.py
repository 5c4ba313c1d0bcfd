"""Wall time and peak memory of many series forecast here, as Dask tasks and as Ray tasks.

    python bench/forecast_scale.py [--series 10000[,40000...]] [--years 2] [--horizon 28]
                                   [--partition-size 5000] [--engines local,dask,ray]

Synthetic shop sales (``tests/support/sales.py``: closures, promotions, an Easter rush),
``--series`` series of ``--years`` years (several sizes: comma-separated), forecast
``--horizon`` days with the promotion's future values, by partitions of ``--partition-size``
series on each engine (``dask``: Dask's local process pool, ``ray``: a local Ray instance;
both one worker per core). Peak memory is the largest sum of the resident memory of this
process and all its descendants (Dask's and Ray's workers included), sampled every 0.2 s.
Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(2, str(REPO / "tests"))  # the suites' own helpers (support)

from support.sales import shop_history  # noqa: E402

from plant.calendar import HolidayCalendar  # noqa: E402
from plant.forecast.engines import forecast_partitioned  # noqa: E402

CUT = pd.Timestamp("2023-03-19")


def shops(n: int, years: int, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history before CUT, the promotion's future for ``horizon`` days) of ``n`` shops."""
    end = CUT + pd.Timedelta(days=horizon - 1)
    start = CUT - pd.DateOffset(years=years)
    frames = []
    for seed in range((n + 99) // 100):
        part = shop_history(n_series=min(100, n - 100 * seed), seed=seed,
                            start=str(start.date()), end=str(end.date()))
        frames.append(part.assign(unique_id=part["unique_id"] + f"_{seed}"))
    data = pd.concat(frames, ignore_index=True)
    return data[data["ds"] < CUT], data[data["ds"] >= CUT][["unique_id", "ds", "promo"]]


class PeakMemory:
    """Largest summed RSS (MB) of this process and its descendants while in ``with``."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker that just ended
                    total += proc.memory_info().rss
            self.peak_mb = max(self.peak_mb, total / 2**20)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", default="10000")
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--horizon", type=int, default=28)
    ap.add_argument("--partition-size", type=int, default=5000)
    ap.add_argument("--engines", default="local,dask,ray")
    args = ap.parse_args()
    sizes = [int(n) for n in args.series.split(",")]
    engines = args.engines.split(",")
    cal = HolidayCalendar("DE")
    result: dict = {"series": sizes, "years": args.years, "horizon": args.horizon,
                    "partition_size": args.partition_size, "cpus": os.cpu_count(),
                    "wall_s": {e: {} for e in engines}, "ms_per_series": {e: {} for e in engines},
                    "peak_mb": {e: {} for e in engines}, "load_1min": {e: {} for e in engines}}
    print(f"{'series':>8} {'engine':<6} {'wall s':>8} {'ms/series':>9} {'peak MB':>8} {'load':>5}",
          flush=True)
    for n in sizes:
        hist, fut = shops(n, args.years, args.horizon)
        for engine in engines:
            t0 = time.perf_counter()
            with PeakMemory() as mem:
                fc = forecast_partitioned(hist, args.horizon, cal, "easter", fut, engine=engine,
                                          partition_size=args.partition_size)
            wall = time.perf_counter() - t0
            assert fc["unique_id"].nunique() == n
            load = os.getloadavg()[0]
            for key, value in (("wall_s", round(wall, 1)),
                               ("ms_per_series", round(1e3 * wall / n, 2)),
                               ("peak_mb", round(mem.peak_mb)), ("load_1min", round(load, 1))):
                result[key][engine][str(n)] = value
            print(f"{n:>8} {engine:<6} {wall:>8.1f} {1e3 * wall / n:>9.2f} {mem.peak_mb:>8.0f} "
                  f"{load:>5.1f}", flush=True)
        del hist, fut
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
