"""Price models and buy-ahead calls on real commodity prices (IMF, monthly), rolling origins.

    python bench/fetch_commodity_prices.py --mirror /work/.mirror/datasets+commodity-prices/repo
    python bench/real_prices.py [--first 2000-01-01] [--step 6]

For each commodity and each origin (every ``--step`` months from ``--first`` to three months
before the data end) the price model is fitted on the prices up to the origin only; it is
scored on the next three months: mean absolute log error of its median against the random
walk's (the last price), and how often the actual price fell inside its P10..P90. At each
origin a purchase worth 1 at today's price is due three months later: the buy-ahead rule
(holding cost 25% a year) calls buy now or wait, and the realised cost of following the calls
is compared with always buying at the order-by date. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import emit_json, print_table
from bench.fetch_commodity_prices import COMMIT, OUT, REPO
from plant.prices.buyahead import buy_ahead
from plant.prices.model import fit_price_model

RATE = 0.25


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=OUT)
    ap.add_argument("--first", type=pd.Timestamp, default=pd.Timestamp("2000-01-01"))
    ap.add_argument("--step", type=int, default=6, help="months between origins")
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"{args.data}: missing; run bench/fetch_commodity_prices.py first")
    df = pd.read_csv(args.data, parse_dates=["date"])
    t0 = time.perf_counter()
    rows, totals = [], {"base": 0.0, "calls": 0.0, "n": 0, "buy_now": 0}
    abs_err: dict[str, list[float]] = {"model": [], "random_walk": []}
    inside: list[bool] = []
    for item, g in df.groupby("item"):
        s = g.set_index("date")["price"].sort_index()
        origins = pd.date_range(args.first, s.index[-4], freq=f"{args.step}MS")
        chosen: dict[str, int] = {}
        base = calls = 0.0
        for o in origins:
            hist = g[g["date"] <= o]
            model = fit_price_model(str(item), hist, horizon=3)
            chosen[model.method] = chosen.get(model.method, 0) + 1
            for h in (1, 2, 3):
                when = o + pd.DateOffset(months=h)
                actual = float(s.loc[when])
                med = model.quantiles(when, (0.1, 0.5, 0.9))
                abs_err["model"].append(abs(np.log(actual / med[1])))
                abs_err["random_walk"].append(abs(np.log(actual / model.last_price)))
                if h == 3:
                    inside.append(med[0] <= actual <= med[2])
            order_by = (o + pd.DateOffset(months=3)).date()
            order = pd.DataFrame([{"item": item, "kind": "material", "unit": "t",
                                   "qty": 1.0 / model.last_price, "order_by": order_by,
                                   "need_date": order_by}])
            mats = pd.DataFrame([{"item": item, "shelf_life_days": 0}])
            call = buy_ahead(order, mats, {str(item): model}, o.date(), RATE).iloc[0]
            later = float(s.loc[pd.Timestamp(order_by)]) * call["qty"]
            days = (order_by - o.date()).days
            now = call["qty"] * model.last_price * (1 + RATE * days / 365)
            base += later
            calls += now if call["call"] == "buy now" else later
            totals["buy_now"] += int(call["call"] == "buy now")
        totals["base"] += base
        totals["calls"] += calls
        totals["n"] += len(origins)
        rows.append({"commodity": item, "origins": len(origins),
                     "methods": ", ".join(f"{k} {v}" for k, v in sorted(chosen.items())),
                     "saving": f"{100 * (base - calls) / base:+.2f}%"})
    print_table(rows, ["commodity", "origins", "methods", "saving"])
    mae = {k: float(np.mean(v)) for k, v in abs_err.items()}
    saving = 100 * (totals["base"] - totals["calls"]) / totals["base"]
    coverage = float(np.mean(inside))
    print(f"real IMF monthly prices, {df['item'].nunique()} commodities, {totals['n']} origins: "
          f"model MAE(log) {mae['model']:.4f} vs random walk {mae['random_walk']:.4f}; "
          f"P10-P90 holds {coverage:.0%} (target 80%) at 3 months; buy now in "
          f"{totals['buy_now']} of {totals['n']} calls, realised saving {saving:+.2f}% "
          "vs buying at the order-by date")
    emit_json({"source": f"{REPO}@{COMMIT}", "commodities": int(df["item"].nunique()),
               "origins": totals["n"], "mae_log_model": round(mae["model"], 4),
               "mae_log_random_walk": round(mae["random_walk"], 4),
               "p10_p90_coverage_3m": round(coverage, 3), "buy_now_calls": totals["buy_now"],
               "buy_ahead_saving_pct": round(saving, 2),
               "wall_s": round(time.perf_counter() - t0, 1),
               "as_of": dt.date.today().isoformat()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
