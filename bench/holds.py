"""Order holds benchmark: cancellation model backtest and the hold policy's last season.

    python bench/holds.py [--seed 7] [--years 4] [--skus 36] [--season 2025]
                          [--capacity 5000] [--cost 0.5] [--accept 0.5]

1. Generates the sample factory (``--skus`` SKUs, a third of them sold in the web shop,
   ``--years`` of history), fits the cancellation model on the web shop's orders resolved
   before the Mid-Autumn season of ``--season`` (100 days before the festival) and scores the
   orders placed in that season. Reports AUROC and Brier score against the base rate and the
   days-to-holiday baseline, and the reliability table. Goals: AUROC >= 0.80, Brier at least
   15% better than the days-to-holiday baseline.
2. Replays that season with the hold policy (``--capacity`` boxes of safekeeping,
   ``--cost`` per box-day, ``--accept`` expected and simulated acceptance rate): cancelled boxes
   in the 14 days before the festival and leftover boxes after it, with and without holds,
   margin saved against safekeeping cost. Goals: cancelled boxes -30%, leftover -10%, within
   capacity. The acceptance rate is an assumption: the table shows the figures for 0.3, 0.5
   and 0.7 too.

With ``--orders FILE`` (a shop_orders CSV, e.g. the real UCI Online Retail log converted by
``bench/convert_online_retail.py``) only the model backtest runs, on that file, training before
``--start`` and scoring the orders placed from ``--start`` to ``--end``.

Prints tables; the last line is one JSON object.
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
from plant.orders.holds import HoldSettings, order_values, value_threshold
from plant.orders.season import replay_season, season_growth, season_orders


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--years", type=int, default=4)
    ap.add_argument("--skus", type=int, default=36)
    ap.add_argument("--season", type=int, default=2025)
    ap.add_argument("--capacity", type=int, default=5000)
    ap.add_argument("--cost", type=float, default=0.5)
    ap.add_argument("--accept", type=float, default=0.5)
    ap.add_argument("--orders", type=Path, help="a shop_orders CSV: backtest the model on it")
    ap.add_argument("--start", default="2011-09-01", help="with --orders: season start")
    ap.add_argument("--end", default="2011-11-10", help="with --orders: season end")
    args = ap.parse_args()
    if args.orders:
        return _real(args.orders, pd.Timestamp(args.start), pd.Timestamp(args.end))
    cal = HolidayCalendar.default()
    t0 = time.perf_counter()
    data = generate(seed=args.seed, years=args.years, n_skus=args.skus)
    orders = order_features(data["shop_orders"], cal)
    ma = pd.Timestamp(cal.festival("mid_autumn", args.season))
    t1 = time.perf_counter()
    bt = backtest_risk(orders, ma - pd.Timedelta(days=100), ma + pd.Timedelta(days=1))
    fit_s = time.perf_counter() - t1
    print(f"sample shop, seed {args.seed}: {len(orders)} orders, season {args.season} "
          f"(Mid-Autumn {ma:%Y-%m-%d}), options chosen: {bt.model.setting}, "
          f"calibration: {bt.model.calibration}")
    print_table(bt.table.to_dict("records"), ["bin", "orders", "predicted", "observed"])
    lines = data["shop_orders"]
    values = order_values(lines, data["skus"])
    scored = bt.scored.rename(columns={"p_model": "p_cancel"}).merge(values, on="order_id")
    # the policy's threshold: last season's orders as the model scores them out of time
    last = cal.festival("mid_autumn", args.season - 1)
    past = season_orders(orders, last).merge(values, on="order_id")
    past["p_cancel"] = bt.model.out_of_time(past)
    growth = season_growth(orders, ma - pd.Timedelta(days=100))
    season_lines = lines[lines["order_id"].isin(scored["order_id"])]
    rows, main_figs = [], {}
    for accept in sorted({0.3, 0.5, 0.7, args.accept}):
        settings = HoldSettings(capacity_boxes=args.capacity, cost_per_box_day=args.cost,
                                accept_rate=accept)
        threshold = value_threshold(past, last, settings, growth)
        figs = replay_season(scored, season_lines, ma.date(), settings, seed=args.seed,
                             min_value_per_box=threshold).figures
        figs["value_threshold_per_box"] = round(threshold, 2)
        rows.append({"accept_rate": accept, **{k: figs[k] for k in (
            "value_threshold_per_box",
            "offered", "accepted", "held_boxes", "cancelled_boxes_14d",
            "cancelled_boxes_14d_with_holds", "cancelled_boxes_cut_pct", "leftover_boxes",
            "leftover_boxes_with_holds", "leftover_cut_pct", "margin_saved",
            "safekeeping_cost", "safekeeping_peak_boxes", "within_capacity")}})
        if accept == args.accept:
            main_figs = figs
    print(f"season growth (boxes, 90 days before the season, year on year): {growth:.2f}")
    print_table(rows, list(rows[0]))
    result = {"data": "sample shop", "seed": args.seed, "season": args.season,
              **bt.summary(), **main_figs, "accept_rate": args.accept,
              "season_growth": round(growth, 3),
              "cost_per_box_day": args.cost, "fit_s": round(fit_s, 1),
              "total_s": round(time.perf_counter() - t0, 1), "cpus": os.cpu_count(),
              "python": platform.python_version()}
    print(f"cancellation model: AUROC {result['auroc']:.3f} (days-to-holiday "
          f"{result['auroc_baseline']:.3f}), Brier {result['brier']:.4f} vs "
          f"{result['brier_baseline']:.4f} ({result['brier_gain_pct']:.1f}% better); holds: "
          f"cancelled boxes -{result['cancelled_boxes_cut_pct']}%, leftover "
          f"-{result['leftover_cut_pct']}%, margin saved {result['margin_saved']:.0f} for "
          f"{result['safekeeping_cost']:.0f} safekeeping, within capacity "
          f"{result['within_capacity']}")
    emit_json(result)
    return 0


def _real(path: Path, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """The model's backtest on a shop_orders CSV of a real shop."""
    t0 = time.perf_counter()
    lines = pd.read_csv(path, dtype={"sku": str, "cancelled_at": str, "held_until": str},
                        keep_default_na=False)
    # days to the coming lunar festival, as the sample factory's model is built around
    bt = backtest_risk(order_features(lines, HolidayCalendar.default()), start, end)
    print(f"{path}: {lines['order_id'].nunique()} orders; trained before {start:%Y-%m-%d}, "
          f"scored {start:%Y-%m-%d} to {end:%Y-%m-%d}; options chosen: {bt.model.setting}, "
          f"calibration: {bt.model.calibration}")
    print_table(bt.table.to_dict("records"), ["bin", "orders", "predicted", "observed"])
    result = {"data": path.name, **bt.summary(), "total_s": round(time.perf_counter() - t0, 1)}
    print(f"cancellation model: AUROC {result['auroc']:.3f} (days-to-holiday "
          f"{result['auroc_baseline']:.3f}), Brier {result['brier']:.4f} vs "
          f"{result['brier_baseline']:.4f} ({result['brier_gain_pct']:.1f}% better)")
    emit_json(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
