"""Order holds benchmark: the cancellation model's time-split backtest on the sample shop.

    python bench/holds.py [--seed 7] [--years 4] [--skus 36] [--season 2025]

Generates the sample factory (``--skus`` SKUs, a third of them sold in the web shop, ``--years``
of history), fits the cancellation model on the web shop's orders resolved before the
Mid-Autumn season of ``--season`` (100 days before the festival) and scores the orders placed
in that season. Reports AUROC and Brier score against the base rate and the days-to-holiday
baseline, and the reliability table. Goals: AUROC >= 0.80, Brier at least 15% better than the
days-to-holiday baseline. Prints tables; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import emit_json, print_table
from peakline.demo.sample_erp import generate
from plant.calendar import HolidayCalendar
from plant.orders.backtest import backtest_risk
from plant.orders.features import order_features


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--skus", type=int, default=36)
    ap.add_argument("--season", type=int, default=2025)
    args = ap.parse_args()
    cal = HolidayCalendar.default()
    t0 = time.perf_counter()
    data = generate(seed=args.seed, years=args.years, n_skus=args.skus)
    orders = order_features(data["shop_orders"])
    ma = pd.Timestamp(cal.festival("mid_autumn", args.season))
    t1 = time.perf_counter()
    bt = backtest_risk(orders, ma - pd.Timedelta(days=100), ma + pd.Timedelta(days=1))
    fit_s = time.perf_counter() - t1
    print(f"sample shop, seed {args.seed}: {len(orders)} orders, season {args.season} "
          f"(Mid-Autumn {ma:%Y-%m-%d}), options chosen: {bt.model.setting}")
    print_table(bt.table.to_dict("records"), ["bin", "orders", "predicted", "observed"])
    result = {"data": "sample shop", "seed": args.seed, "season": args.season,
              **bt.summary(), "fit_s": round(fit_s, 1),
              "total_s": round(time.perf_counter() - t0, 1), "cpus": os.cpu_count(),
              "python": platform.python_version()}
    print(f"cancellation model: AUROC {result['auroc']:.3f} (days-to-holiday "
          f"{result['auroc_baseline']:.3f}), Brier {result['brier']:.4f} vs "
          f"{result['brier_baseline']:.4f} ({result['brier_gain_pct']:.1f}% better)")
    emit_json(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
