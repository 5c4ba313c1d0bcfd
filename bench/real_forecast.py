"""Forecast accuracy on real daily sales around a holiday peak, against the simple baselines.

    python bench/fetch_favorita.py --mirror DIR          # once each: converts the real data
    python bench/fetch_pharma.py --mirror DIR
    python bench/fetch_m5.py --mirror DIR --snap-mirror DIR
    python bench/real_forecast.py [--sets favorita] [--peaks christmas,easter] [--series 40]
                                  [--ets-sample 40] [--drop snap,open]

For each real set (converted by its ``bench/fetch_*.py`` into ``bench/data/<set>/``, never
committed) and each of its peaks, the peak backtest of ``peakline plant backtest --csv``
(origins 21 and 14 days before every past peak with a year of history, 28 days ahead): MASE
over the whole horizon and the peak window (days -7..+2 around the peak), bias and P10-P90
coverage of ours, with statsforecast's seasonal naive (season 7) and AutoETS (season 7, no
calendar) in the same run, and the worst origin: the highest ratio of our MASE to the
seasonal naive's (under 1: better than seasonal naive on every origin).

Sets:
- ``favorita``: Corporacion Favorita's transactions per store a day (Ecuador), 40 stores,
  2013-2017, closed on Christmas and New Year's Day (an ``open`` regressor), Ecuador's public
  holidays; peaks Christmas (fixed) and Easter (moving: Good Friday is a holiday there).
- ``pharma``: a Serbian pharmacy's daily sales of eight drug classes, 2014-2019, closed on
  Orthodox Christmas and Easter Sunday and three other holidays (an ``open`` regressor),
  Serbia's public holidays; peaks Orthodox Easter (moving) and Orthodox Christmas (7 January),
  festivals named in the set's ``events.csv``.
- ``m5``: Walmart's daily unit sales per store (M5), 10 stores in California, Texas and
  Wisconsin, 2011-2016, closed on Christmas Day (``open``), with each state's SNAP days
  (``snap``, a published schedule), US public holidays; peaks Christmas, Thanksgiving and
  Easter.

``--drop`` removes regressor columns before the backtest (``--drop snap``: what the SNAP
days bring; ``--drop snap,open``: no regressors at all).

Prints a table per set and a one-line summary; the last line is one JSON object.
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

from plant.calendar import HolidayCalendar, read_events
from plant.erp.history import read_long_history
from plant.forecast.peak_backtest import backtest_long

DATA = Path(__file__).resolve().parent / "data"
#: set -> (country, its peaks, the script that makes it); a set's own festivals (a peak that
#: is not built in) are in its folder's events.csv
SETS = {"favorita": ("EC", ("christmas", "easter"), "bench/fetch_favorita.py"),
        "pharma": ("RS", ("orthodox_easter", "orthodox_christmas"), "bench/fetch_pharma.py"),
        "m5": ("US", ("christmas", "thanksgiving", "easter"), "bench/fetch_m5.py")}


def worst_origin(summary: dict) -> dict:
    """The origin where our MASE was highest against the seasonal naive's, and the ratio."""
    ratios = {o: v["ours"] / v["seasonal_naive"]
              for o, v in summary["per_origin_mase"].items() if v["seasonal_naive"] > 0}
    origin = max(ratios, key=lambda o: ratios[o])
    return {"origin": origin, "ours_over_seasonal_naive": round(ratios[origin], 3)}


def run_set(name: str, peak: str, series: int, ets_sample: int, jobs: int,
            candidates: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> dict:
    country, _, maker = SETS[name]
    path = DATA / name / "history.csv"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run {maker} first")
    history = read_long_history(path)
    absent = [c for c in drop if c not in history.columns or c in ("unique_id", "ds", "y")]
    if absent:
        raise SystemExit(f"--drop {absent[0]!r}: not a regressor column of {path}")
    history = history.drop(columns=list(drop))
    events = path.parent / "events.csv"
    cal = HolidayCalendar(country, events=read_events(events) if events.is_file() else [])
    ids = sorted(history["unique_id"].unique())[:series]
    history = history[history["unique_id"].isin(ids)]
    t0 = time.perf_counter()
    table, summary = backtest_long(history, cal, peak, h=28,
                                   leads=(21, 14), ets_sample=ets_sample, n_jobs=jobs,
                                   candidates=candidates)
    wall = time.perf_counter() - t0
    print(f"== {name}: {len(ids)} series, peak {peak}, country {country}, "
          f"{len(summary['origins'])} origins"
          + (f", without {','.join(drop)}" if drop else ""))
    print(table.round(3).to_string(index=False))
    m28, mpk = summary["mase_horizon"], summary["mase_peak"]
    worst = worst_origin(summary)
    print(f"{name}/{peak}: MASE 28 d {m28['ours']:.2f} "
          f"(seasonal naive {m28['seasonal_naive']:.2f}, "
          f"AutoETS {m28['autoets']:.2f} on {summary['ets_sample_series']}), "
          f"peak window {mpk['ours']:.2f} "
          f"({mpk['seasonal_naive']:.2f}, {mpk['autoets']:.2f}); bias "
          f"{summary['bias_pct_horizon']['ours']:+.1f}% / {summary['bias_pct_peak']['ours']:+.1f}%"
          f"; P10-P90 coverage {summary['coverage_p10_p90']['horizon']:.0%} / "
          f"{summary['coverage_p10_p90']['peak']:.0%}; origins worse than seasonal naive: "
          f"{summary['origins_worse_than_seasonal_naive']} (worst: {worst['origin']}, "
          f"{worst['ours_over_seasonal_naive']:.2f} of its MASE); {wall:.0f} s")
    return {"set": name, "country": country, "dropped": list(drop), "wall_s": round(wall, 1),
            "worst_origin": worst, **summary}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--peaks", default=None, help="only these peaks (default: each set's)")
    ap.add_argument("--series", type=int, default=1000, help="at most this many series a set")
    ap.add_argument("--ets-sample", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--candidates", default="",
                    help="per-series candidates with regressors for the held-out choice, "
                         "e.g. mfles,arima (none by default: measured, not adopted)")
    ap.add_argument("--drop", default="",
                    help="regressor columns to remove first, e.g. snap or snap,open")
    args = ap.parse_args()
    unknown = [s for s in args.sets.split(",") if s not in SETS]
    if unknown:
        raise SystemExit(f"unknown set {unknown[0]!r}; expected one of {', '.join(SETS)}")
    wanted = None if args.peaks is None else set(args.peaks.split(","))
    cands = tuple(c for c in args.candidates.split(",") if c)
    drop = tuple(c for c in args.drop.split(",") if c)
    results = [run_set(s, peak, args.series, args.ets_sample, args.jobs, cands, drop)
               for s in args.sets.split(",") for peak in SETS[s][1]
               if wanted is None or peak in wanted]
    print(json.dumps({"cpus": os.cpu_count(), "python": platform.python_version(),
                      "candidates": list(cands), "sets": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
