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
from pathlib import Path
from typing import Any

from peakline.errors import ConfigError, DataError
from peakline.wire import PlanKind

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
    from plant.forecast.demand import rollup
    from plant.forecast.run import forecast_into_store

    cal = _calendar(args)
    with _open(args.db) as store:
        run = forecast_into_store(store, cal, args.horizon, args.level, args.jobs, args.country)
        skus = store.skus()
    weekly = rollup(run.frame, skus)
    cols = ["week", "orders_p50", "cancel_p50", "net_p10", "net_p50", "net_p90"]
    print(weekly[cols].round(0).to_string(index=False))
    if args.out:
        run.frame.to_csv(args.out, index=False)
    print(json.dumps({"forecast_id": run.forecast_id, **run.meta,
                      "net_p50_total": round(float(run.frame["net_p50"].sum()), 1)}))
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
        table, summary = backtest(history, skus, cal, h=args.horizon, level=level,
                                  target=target, ets_sample=args.ets_sample, n_jobs=args.jobs)
    else:
        from plant.forecast.run import backtest_into_store

        with _open(args.db) as store:
            table, summary = backtest_into_store(store, cal, args.horizon, args.level,
                                                 args.target, args.ets_sample, args.jobs)
    print(table.round(3).to_string(index=False))
    print(json.dumps(summary))
    return 0


def _plan_config(args: argparse.Namespace) -> Any:
    """The ``[planning]`` section of ``--config`` (or the defaults), with the flags on top."""
    from pydantic import ValidationError

    from plant.config import load_config
    from plant.planning.config import PlanConfig

    base = load_config(args.config).planning if args.config else PlanConfig()
    flags = {"default_reject_rate": ("--default-reject-rate", args.default_reject_rate),
             "service_level": ("--service-level", args.service_level)}
    update = {k: v for k, (_, v) in flags.items() if v is not None}
    try:
        return PlanConfig.model_validate({**base.model_dump(), **update})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        flag = flags[field][0] if field in flags else f"planning.{field}"
        raise ConfigError(f"{flag}: {err['msg']} (got {err.get('input')!r})") from exc


def _plan(args: argparse.Namespace) -> int:
    from plant.planning.run import plan_from_store

    cal = _calendar(args)
    cfg = _plan_config(args)
    with _open(args.db) as store:
        run = plan_from_store(store, cfg, cal, reject_days=args.reject_days)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for kind, (df, expl) in run.plans.items():
            df.to_csv(out / f"{kind}.csv", index=False)
            (out / f"{kind}.json").write_text(json.dumps(expl, indent=2, default=str))
    exc_df = run.plans[PlanKind.EXCEPTIONS][0]
    print("exceptions, worst first:")
    print(exc_df.head(args.top)[["kind", "what", "date", "value_at_risk", "detail"]]
          .to_string(index=False) if len(exc_df) else "  none")
    print(json.dumps(run.summary(), default=str))
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
    p.add_argument("--config", help="plant service TOML whose [planning] section to use")
    p.add_argument("--service-level", type=float,
                   help="fixed service level in (0, 1) instead of each SKU's newsvendor "
                   "critical ratio")
    p.add_argument("--default-reject-rate", type=float,
                   help="reject rate in [0, 1) used when the lines have measured none "
                   "(default: the config's, 0.03)")
    p.add_argument("--reject-days", type=int, default=7, help="days of line results to measure")
    p.add_argument("--top", type=int, default=10, help="exceptions to print")
    _calendar_args(p)
    p.set_defaults(handler=_plan)
