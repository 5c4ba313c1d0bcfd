"""``peakline plant sample-data | forecast | backtest | plan``: demand and supply planning.

    peakline plant sample-data --seed 7 --out sample/            the sample factory's ERP CSVs
    peakline plant forecast --db sqlite:///peakline.db --horizon 60
    peakline plant backtest --db sqlite:///peakline.db           (or --csv long.csv)
    peakline plant plan --db sqlite:///peakline.db --out plans/

Each prints a table and, as its last line, one JSON object. ``plant/commands/plant.py`` calls
:func:`add_commands` with its sub-parsers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from peakline.errors import DataError

__all__ = ["add_commands"]

DEFAULT_DB = "sqlite:///peakline.db"


def _calendar_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--country", default="CN", help="public holidays of this country (ISO code)")
    p.add_argument("--events", help="extra events CSV (date,name,kind[,days_before,days_after]) "
                   "instead of the packaged promotion days")


def _calendar(args: argparse.Namespace) -> Any:
    from plant.calendar import HolidayCalendar

    return HolidayCalendar.default(args.country, args.events)


def _open(url: str) -> Any:
    from plant.store import Store

    return Store.open(url)


def _sample(args: argparse.Namespace) -> int:
    from peakline.demo.sample_erp import generate, write

    end = dt.date.fromisoformat(args.end)
    data = generate(seed=args.seed, years=args.years, n_skus=args.skus, end=end)
    paths = write(data, args.out)
    for p in paths:
        print(f"{p}  {len(data[p.stem])} rows")
    print(json.dumps({"out": str(args.out), "seed": args.seed, "skus": args.skus,
                      "rows": {k: len(v) for k, v in data.items()}}))
    return 0


def _forecast(args: argparse.Namespace) -> int:
    import pandas as pd

    from plant.forecast.demand import forecast_demand, rollup

    cal = _calendar(args)
    with _open(args.db) as store:
        history, skus = store.demand_history(), store.skus()
        if history.empty:
            raise DataError("no demand history in the store; run `peakline plant import` first")
        fc = forecast_demand(history, skus, args.horizon, cal, level=args.level, n_jobs=args.jobs)
        fid = f"fc-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        meta = {"horizon": args.horizon, "level": args.level, "country": args.country,
                "history_end": str(pd.Timestamp(history["ds"].max()).date()),
                "start": str(pd.Timestamp(fc["ds"].min()).date()), "skus": int(fc["sku"].nunique())}
        store.save_forecast(fid, fc, meta)
    weekly = rollup(fc, skus)
    cols = ["week", "orders_p50", "cancel_p50", "net_p10", "net_p50", "net_p90"]
    print(weekly[cols].round(0).to_string(index=False))
    if args.out:
        fc.to_csv(args.out, index=False)
    print(json.dumps({"forecast_id": fid, **meta,
                      "net_p50_total": round(float(fc["net_p50"].sum()), 1)}))
    return 0


def _backtest(args: argparse.Namespace) -> int:
    import pandas as pd

    from plant.forecast.backtest import backtest

    cal = _calendar(args)
    store = None
    if args.csv:
        long = pd.read_csv(args.csv)
        missing = {"unique_id", "ds", "y"} - set(long.columns)
        if missing:
            raise DataError(f"{args.csv}: missing column(s) {', '.join(sorted(missing))}")
        history = pd.DataFrame({"sku": long["unique_id"].astype(str), "ds": long["ds"],
                                "orders": long["y"], "cancellations": 0})
        skus = pd.DataFrame({"sku": sorted(history["sku"].unique())}).assign(
            flavour="all", channel="all", packaging="all")
        level, target = ("sku" if args.level == "channel" else args.level), "orders"
    else:
        store = _open(args.db)
        history, skus = store.demand_history(), store.skus()
        level, target = args.level, args.target
    table, summary = backtest(history, skus, cal, h=args.horizon, level=level, target=target,
                              ets_sample=args.ets_sample, n_jobs=args.jobs)
    print(table.round(3).to_string(index=False))
    if store is not None:
        with store:
            store.save_backtest(f"bt-{uuid.uuid4().hex[:8]}", table, summary)
    print(json.dumps(summary))
    return 0


def _plan(args: argparse.Namespace) -> int:
    import pandas as pd

    from plant.planning.plans import build_plans
    from plant.planning.production import PlanConfig

    cal = _calendar(args)
    cfg = PlanConfig(default_reject_rate=args.default_reject_rate,
                     service_level=args.service_level)
    with _open(args.db) as store:
        found = store.latest_forecast()
        if found is None:
            raise DataError("no forecast in the store; run `peakline plant forecast` first")
        meta, fc = found
        fc["ds"] = pd.to_datetime(fc["ds"])
        data = {"skus": store.skus(), "open_orders": store.open_orders(),
                "inventory": store.inventory(), "materials": store.materials(),
                "bom": store.bom(), "lines": store.lines()}
        start = pd.Timestamp(fc["ds"].min()).date()
        rate = store.reject_rate(days=args.reject_days)
        plans = build_plans(fc, data, start, cal, rate, cfg)
        fid = str(meta.get("id") or meta.get("forecast_id"))
        plan_id = f"plan-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        exc_df, exc_expl = plans["exceptions"]
        from plant.store import PLAN_KINDS

        # the store keeps the published plans; the worst exceptions ride in the production plan
        for kind in PLAN_KINDS:
            df, expl = plans[kind]
            extra = {"exceptions": exc_df.head(20).to_dict("records")} \
                if kind == "production" else {}
            store.save_plan(kind, plan_id, fid, df, {**expl, **extra})
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for kind, (df, expl) in plans.items():
            df.to_csv(out / f"{kind}.csv", index=False)
            (out / f"{kind}.json").write_text(json.dumps(expl, indent=2, default=str))
    print("exceptions, worst first:")
    print(exc_df.head(args.top)[["kind", "what", "date", "value_at_risk", "detail"]]
          .to_string(index=False) if len(exc_df) else "  none")
    prod_expl = plans["production"][1]
    print(json.dumps({
        "plan_id": plan_id, "forecast_id": fid, "start": start.isoformat(),
        "reject_rate": prod_expl["reject_rate"], "reject_rate_source":
        prod_expl["reject_rate_source"], "scheduled_units": prod_expl["scheduled_start_units"],
        "shortfall_units": prod_expl["shortfall_units"], "exceptions": exc_expl["count"],
        "value_at_risk": exc_expl["value_at_risk"]}, default=str))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``sample-data``, ``forecast``, ``backtest`` and ``plan`` to ``peakline plant``."""
    s = sub.add_parser("sample-data", help="write the seeded sample factory's ERP CSV files")
    s.add_argument("--seed", type=int, default=7, help="random seed (same seed, same files)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--years", type=int, default=4, help="years of daily history")
    s.add_argument("--skus", type=int, default=36, help="number of SKUs (1000 for the bench)")
    s.add_argument("--end", default="2026-07-31", help="last day of history (ISO date)")
    s.set_defaults(handler=_sample)

    f = sub.add_parser("forecast", help="forecast orders, cancellations and net demand")
    f.add_argument("--db", default=DEFAULT_DB, help="database URL")
    f.add_argument("--horizon", type=int, default=60, help="days to forecast")
    f.add_argument("--level", default="channel",
                   help="level the models run at: sku, channel, flavour, flavour_channel, total")
    f.add_argument("--jobs", type=int, default=1, help="statsforecast worker processes")
    f.add_argument("--out", help="also write the SKU forecast to this CSV")
    _calendar_args(f)
    f.set_defaults(handler=_forecast)

    b = sub.add_parser("backtest", help="rolling-origin backtest over past festivals")
    b.add_argument("--db", default=DEFAULT_DB, help="database URL")
    b.add_argument("--csv", help="score a long-format CSV (unique_id, ds, y) instead of the store")
    b.add_argument("--horizon", type=int, default=60, help="days forecast from each origin")
    b.add_argument("--level", default="channel", help="level our models run at")
    b.add_argument("--target", default="net", choices=["net", "orders", "cancellations"])
    b.add_argument("--ets-sample", type=int, default=50,
                   help="series the (slow) AutoETS baseline runs on, a fixed seeded sample")
    b.add_argument("--jobs", type=int, default=1, help="statsforecast worker processes")
    _calendar_args(b)
    b.set_defaults(handler=_backtest)

    p = sub.add_parser("plan", help="production, inventory and packaging plans + exceptions")
    p.add_argument("--db", default=DEFAULT_DB, help="database URL")
    p.add_argument("--out", help="folder for <kind>.csv and <kind>.json (the explanation)")
    p.add_argument("--service-level", type=float,
                   help="fixed service level instead of each SKU's newsvendor critical ratio")
    p.add_argument("--default-reject-rate", type=float, default=0.03,
                   help="reject rate used when the lines have measured none")
    p.add_argument("--reject-days", type=int, default=7, help="days of line results to measure")
    p.add_argument("--top", type=int, default=10, help="exceptions to print")
    _calendar_args(p)
    p.set_defaults(handler=_plan)
