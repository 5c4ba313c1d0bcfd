"""``peakline plant sample-data | forecast | backtest | plan``: demand and supply planning.

    peakline plant sample-data --seed 7 --out sample/            the sample factory's ERP CSVs
    peakline plant forecast --db sqlite:///plant.db --horizon 60
    peakline plant forecast --csv history.csv --future future.csv --horizon 28 --out fc.csv
    peakline plant backtest --db sqlite:///plant.db
    peakline plant backtest --csv history.csv --peak easter --country DE --horizon 28 --lead 21,14
    peakline plant plan --db sqlite:///plant.db --out plans/ [--peak NAME]
    peakline plant forecast --db sqlite:///plant.db --config plant.toml   its [planning] peak

``forecast``, ``backtest`` and ``plan`` take the peak and the events file from ``--config``'s
``[planning]`` section as the plant service does; a flag given wins over the TOML, the TOML
over the defaults (:func:`_plan_config`).
``--db`` follows the one rule of ``plant.commands.db`` (default ``$PEAKLINE_DB``, else
``sqlite:///peakline.db``; the database must exist).

Each prints a table and, as its last line, one JSON object. ``plant/commands/plant.py`` calls
:func:`add_commands` with its sub-parsers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from peakline.cliargs import (
    Country,
    ExistingFile,
    IntList,
    IsoDate,
    LazyChoices,
    Number,
    OutputDir,
    OutputFile,
    Text,
    integer,
)
from peakline.errors import ConfigError, DataError
from peakline.wire import PlanKind
from plant.commands.db import add_db_option, open_store
from plant.csvout import to_csv

__all__ = ["add_commands"]


#: days a forecast reaches ahead (a year at most: the calendar features repeat yearly)
HORIZON = integer(1, 366)
#: statsforecast worker processes
JOBS = integer(1, 64)
#: a peak's name: built in (plant.peaks) or a festival of the events file, checked when run
PEAK = Text(pattern=r"[a-z][a-z0-9_]{0,63}",
            rule="must be a lower-case name such as easter or mid_autumn (letters, digits, _)",
            bad=("Mid Autumn", "1x"))


#: a cluster's address: a Dask scheduler's, or a Ray cluster's Ray Client server
SCHEDULER = Text(pattern=r"(tcp|tls|inproc|ray)://[^\s]+",
                 rule="must be a Dask scheduler address such as tcp://host:8786 or a Ray "
                 "cluster address such as ray://host:10001",
                 bad=("host:8786",))


def _engine_args(p: argparse.ArgumentParser) -> None:
    from plant.forecast.engines import ENGINES

    p.add_argument("--engine", default="local", choices=ENGINES,
                   help="with --csv: where the partitions of series are forecast: here, one "
                   "after the other, or as Dask or Ray tasks (pip install 'peakline[cluster]')")
    p.add_argument("--partition-size", type=integer(1), default=5000,
                   help="with --csv: series per partition (each its own global model)")
    p.add_argument("--scheduler", type=SCHEDULER, default=None,
                   help="with --engine dask: the Dask scheduler's address (tcp://host:8786); "
                   "with --engine ray: the Ray cluster's address (ray://host:10001) "
                   "(default: a local pool, one worker per core)")


def _peak_arg(p: argparse.ArgumentParser) -> None:
    from plant.peaks import PEAKS

    p.add_argument("--peak", type=PEAK, default=None,
                   help=f"the festival the season is built around: {', '.join(PEAKS)}, or a "
                   "festival dated in the events file (default: the --config's [planning] "
                   "peak, else mid_autumn)")


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=ExistingFile("TOML config"),
                   help="plant service TOML whose [planning] section to use: its peak and its "
                   "events file, as `plant serve` plans with them (--peak, --events and the "
                   "other flags given here win)")


def _calendar_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--country", type=Country(), default="CN",
                   help="public holidays of this country")
    p.add_argument("--events", type=ExistingFile("events CSV"),
                   help="extra events CSV (date,name,kind[,days_before,days_after]) "
                   "instead of the --config's [planning] events or the packaged promotion "
                   "days")


def _levels() -> list[str]:
    from plant.forecast.demand import LEVELS

    return list(LEVELS)


def _level_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--level", default="channel", choices=LazyChoices(_levels), metavar="LEVEL",
                   help=f"{what}: %(choices)s")


def _calendar(args: argparse.Namespace, cfg: Any = None) -> Any:
    """The calendar of --country and --events; with ``cfg`` (a PlanConfig), its ``events``
    where --events is not given, as the plant service plans."""
    from plant.calendar import HolidayCalendar

    if cfg is not None:
        return cfg.calendar(args.country, args.events)
    return HolidayCalendar.default(args.country, args.events)


def _holds_calendar(args: argparse.Namespace) -> tuple[Any, str]:
    """(calendar, peak) that holds are planned and checked with (``holds``, ``import``): the
    calendar of --country and --events over the ``--config``'s [planning] events, and --peak
    (where the command has it) over the config's [planning] peak, checked against it."""
    cfg = _plan_config(args)
    cal = _calendar(args, cfg)
    return cal, cal.check_peak(cfg.peak)


def _sample(args: argparse.Namespace) -> int:
    from peakline.demo.sample_erp import generate, write

    out = Path(args.out)
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise DataError(f"{out} exists and is not empty (use --overwrite to replace its files)")
    data = generate(seed=args.seed, years=args.years, n_skus=args.skus, end=args.end)
    paths = write(data, out)
    for p in paths:
        print(f"{p}  {len(data[p.stem])} rows")
    print(json.dumps({"out": str(args.out), "seed": args.seed, "skus": args.skus,
                      "rows": {k: len(v) for k, v in data.items()}}))
    return 0


def _forecast(args: argparse.Namespace) -> int:
    from plant.forecast.demand import rollup
    from plant.forecast.run import forecast_into_store

    cfg = _plan_config(args)
    cal = _calendar(args, cfg)
    cal.check_peak(cfg.peak)
    if args.csv:
        return _forecast_csv(args, cal, cfg.peak)
    if args.future:
        raise ConfigError("--future goes with --csv (the store's history has no regressors)")
    with open_store(args) as store:
        run = forecast_into_store(store, cal, args.horizon, args.level, args.jobs, args.country,
                                  peak=cfg.peak)
        skus = store.skus()
    weekly = rollup(run.frame, skus)
    cols = ["week", "orders_p50", "cancel_p50", "net_p10", "net_p50", "net_p90"]
    print(weekly[cols].round(0).to_string(index=False))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        to_csv(run.frame, args.out)
    print(json.dumps({"forecast_id": run.forecast_id, **run.meta,
                      "net_p50_total": round(float(run.frame["net_p50"].sum()), 1)}))
    return 0


def _forecast_csv(args: argparse.Namespace, cal: Any, peak: str) -> int:
    """``forecast --csv``: any long-format history, the regressors' future from --future."""
    import pandas as pd

    from plant.erp.history import read_future, read_long_history
    from plant.forecast.engines import forecast_partitioned
    from plant.forecast.longform import FORECAST_COLUMNS
    from plant.forecast.panel import regressor_columns

    history = read_long_history(args.csv)
    regs = regressor_columns(history)
    if regs and not args.future:
        raise DataError(f"{Path(args.csv).name} has regressor column(s) {', '.join(regs)}: "
                        f"give their future values with --future FILE (unique_id, ds, "
                        f"{', '.join(regs)})")
    future = read_future(args.future, regs) if args.future else None
    fc = forecast_partitioned(history, args.horizon, cal, peak=peak, future=future,
                              engine=args.engine, partition_size=args.partition_size,
                              scheduler=args.scheduler)
    weekly = fc.assign(week=pd.to_datetime(fc["ds"]).dt.to_period("W-SUN").dt.start_time)
    weekly = weekly.groupby("week", as_index=False)[["p10", "p50", "p90", "mean"]].sum()
    print(weekly.round(0).to_string(index=False))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        out = fc[list(FORECAST_COLUMNS)].assign(ds=pd.to_datetime(fc["ds"]).dt.date)
        to_csv(out, args.out)
    print(json.dumps({
        "csv": str(args.csv), "series": int(fc["unique_id"].nunique()),
        "horizon": args.horizon, "peak": peak, "regressors": regs,
        "start": str(pd.Timestamp(fc["ds"].min()).date()),
        "models": {str(k): int(v) for k, v in
                   fc.drop_duplicates("unique_id")["model"].value_counts().items()},
        "p50_total": round(float(fc["p50"].sum()), 1),
        "mean_total": round(float(fc["mean"].sum()), 1), "out": args.out}))
    return 0


def _backtest(args: argparse.Namespace) -> int:
    cfg = _plan_config(args)
    cal = _calendar(args, cfg)
    cal.check_peak(cfg.peak)
    if args.csv:
        from plant.erp.history import read_long_history
        from plant.forecast.engines import engine_session
        from plant.forecast.peak_backtest import PEAK_WINDOW, backtest_long

        history = read_long_history(args.csv)
        with engine_session(args.engine, args.scheduler):  # one Ray start for all origins
            table, summary = backtest_long(history, cal, cfg.peak, h=args.horizon,
                                           leads=args.lead or (21, 14),
                                           window=args.window or PEAK_WINDOW,
                                           ets_sample=args.ets_sample, n_jobs=args.jobs,
                                           engine=args.engine,
                                           partition_size=args.partition_size,
                                           scheduler=args.scheduler)
    else:
        from plant.forecast.backtest import FESTIVAL_WINDOW
        from plant.forecast.run import backtest_into_store

        with open_store(args) as store:
            table, summary = backtest_into_store(store, cal, args.horizon, args.level,
                                                 args.target, args.ets_sample, args.jobs,
                                                 peak=cfg.peak, leads=args.lead or (50,),
                                                 window=args.window or FESTIVAL_WINDOW)
    print(table.round(3).to_string(index=False))
    print(json.dumps(summary))
    return 0


def _plan_config(args: argparse.Namespace) -> Any:
    """The ``[planning]`` section of ``--config`` (or the defaults), with the flags on top:
    what ``plan``, ``forecast`` and ``backtest`` run with (the latter two have only
    ``--peak`` of those flags)."""
    from pydantic import ValidationError

    from plant.config import load_config
    from plant.planning.config import PlanConfig

    base = load_config(args.config).planning if args.config else PlanConfig()
    flags = {k: (f"--{k.replace('_', '-')}", getattr(args, k, None))
             for k in ("default_reject_rate", "service_level", "peak")}
    update = {k: v for k, (_, v) in flags.items() if v is not None}
    try:
        return PlanConfig.model_validate({**base.model_dump(), **update})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        flag = flags[field][0] if field in flags else f"planning.{field}"
        raise ConfigError(f"{flag}: {err['msg']} (got {err.get('input')!r})") from exc


def _plan(args: argparse.Namespace) -> int:
    from plant.config import load_config
    from plant.planning.run import plan_from_store

    cfg = _plan_config(args)
    cal = _calendar(args, cfg)
    cal.check_peak(cfg.peak)
    if args.optimise:
        from plant.commands.twin import optimise_plan

        twin_cfg = load_config(args.config).twin if args.config else None
        with open_store(args) as store:
            run = optimise_plan(store, cfg, twin_cfg, cal, args)
    else:
        with open_store(args) as store:
            run = plan_from_store(store, cfg, cal, reject_days=args.reject_days)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for kind, (df, expl) in run.plans.items():
            to_csv(df, out / f"{kind}.csv")
            (out / f"{kind}.json").write_text(json.dumps(expl, indent=2, default=str))
    exc_df = run.plans[PlanKind.EXCEPTIONS][0]
    print(_exceptions_table(exc_df, args.top, bool(args.out)))
    print(json.dumps(run.summary(), default=str))
    return 0


def _exceptions_table(exc_df: Any, top: int, written: bool, width: int = 100) -> str:
    """The ``top`` worst exceptions, each a line of figures and its detail wrapped below it
    (never wider than ``width``), and how many there are in all."""
    import textwrap

    if not len(exc_df):
        return "exceptions: none"
    shown = exc_df.head(top)
    more = "" if len(shown) == len(exc_df) else (
        f"; --top {len(exc_df)} shows all" + (", --out has them all" if written else ""))
    lines = [f"exceptions, worst first ({len(shown)} of {len(exc_df)}{more}):"]
    what_w = min(24, max(len(str(w)) for w in shown["what"]))
    kind_w = max(len(str(k)) for k in shown["kind"])
    for i, row in enumerate(shown.itertuples(index=False), start=1):
        risk = float(row.value_at_risk or 0)
        lines.append(f"{i:>3}. {row.kind!s:<{kind_w}}  {str(row.what)[:what_w]:<{what_w}}  "
                     f"{str(row.date)[:10]:<10}  {risk:>14,.0f} at risk")
        lines += textwrap.wrap(str(row.detail), width, initial_indent=" " * 5,
                               subsequent_indent=" " * 5)
    return "\n".join(lines)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``sample-data``, ``forecast``, ``backtest`` and ``plan`` to ``peakline plant``."""
    s = sub.add_parser("sample-data", help="write the seeded sample factory's ERP CSV files")
    s.add_argument("--seed", type=integer(0), default=7,
                   help="random seed (same seed, same files)")
    s.add_argument("--out", required=True, type=OutputDir(), help="output folder")
    s.add_argument("--years", type=integer(1, 30), default=4, help="years of daily history")
    s.add_argument("--skus", type=integer(1, 100_000), default=36,
                   help="number of SKUs (1000 for the bench)")
    s.add_argument("--end", type=IsoDate(), default="2026-07-31", help="last day of history")
    s.add_argument("--overwrite", action="store_true",
                   help="replace the CSV files of an --out folder that is not empty")
    s.set_defaults(handler=_sample)

    f = sub.add_parser("forecast", help="forecast orders, cancellations and net demand "
                       "(or any long-format history with --csv)")
    add_db_option(f, creates=False)
    f.add_argument("--csv", type=ExistingFile("CSV file"),
                   help="forecast this long-format history (unique_id, ds, y and any "
                   "regressor columns) instead of the store")
    f.add_argument("--future", type=ExistingFile("CSV file"),
                   help="with --csv: the regressors' values for the horizon (unique_id, ds "
                   "and the history's regressor columns)")
    f.add_argument("--horizon", type=HORIZON, default=60, help="days to forecast")
    _level_arg(f, "level the models run at")
    f.add_argument("--jobs", type=JOBS, default=1, help="statsforecast worker processes")
    f.add_argument("--out", type=OutputFile("CSV file"),
                   help="also write the forecast to this CSV (with --csv: unique_id, ds, p10, "
                   "p50, p90, mean)")
    _peak_arg(f)
    _config_arg(f)
    _engine_args(f)
    _calendar_args(f)
    f.set_defaults(handler=_forecast)

    b = sub.add_parser("backtest", help="rolling-origin backtest over past peaks")
    add_db_option(b, creates=False)
    b.add_argument("--csv", type=ExistingFile("CSV file"),
                   help="score a long-format CSV (unique_id, ds, y and any regressor columns) "
                   "instead of the store")
    b.add_argument("--lead", type=IntList(integer(1, 366)), default=None,
                   help="days before each past peak that forecasts start from "
                   "(default: 21,14 with --csv; 50 for the store)")
    b.add_argument("--window", type=IntList(integer(-366, 366), count=2, ordered=True),
                   default=None, metavar="FIRST,LAST",
                   help="the peak window scored apart, days from the peak (negative: before "
                   "it; write --window=-7,2); default -7,2 with --csv, -42,0 for the store")
    b.add_argument("--horizon", type=HORIZON, default=60, help="days forecast from each origin")
    _level_arg(b, "level our models run at")
    b.add_argument("--target", default="net", choices=["net", "orders", "cancellations"],
                   help="what is scored: net demand (orders - cancellations), gross orders or "
                   "cancellations (with --csv, y is orders)")
    b.add_argument("--ets-sample", type=integer(1), default=50,
                   help="series the (slow) AutoETS baseline runs on, a fixed seeded sample")
    b.add_argument("--jobs", type=JOBS, default=1, help="statsforecast worker processes")
    _peak_arg(b)
    _config_arg(b)
    _engine_args(b)
    _calendar_args(b)
    b.set_defaults(handler=_backtest)

    p = sub.add_parser("plan", help="production, inventory and packaging plans + exceptions")
    add_db_option(p, creates=False)
    p.add_argument("--out", type=OutputDir(),
                   help="folder for <kind>.csv and <kind>.json (the explanation)")
    _config_arg(p)
    p.add_argument("--service-level", type=Number(0, 1, lo_open=True, hi_open=True,
                                                  hint="a fraction: 0.9 means 90%"),
                   help="fixed service level instead of each SKU's newsvendor critical ratio")
    p.add_argument("--default-reject-rate", type=Number(0, 1, hi_open=True,
                                                        hint="a fraction: 0.03 means 3%"),
                   help="reject rate used when the lines have measured none "
                   "(default: the config's, 0.03)")
    p.add_argument("--reject-days", type=integer(1, 366), default=7,
                   help="days of line results to measure")
    p.add_argument("--top", type=integer(1), default=10,
                   help="exceptions to print (all of them are in --out and the store)")
    _peak_arg(p)
    p.add_argument("--optimise", action="store_true",
                   help="choose lot sizes, lines, sequence and overtime with a solver and "
                   "pick among candidate plans by simulated cost in the twin (docs/twin.md)")
    p.add_argument("--runs", type=integer(1, 10_000), default=60,
                   help="with --optimise: twin replications per candidate plan")
    p.add_argument("--seed", type=integer(0), default=1,
                   help="with --optimise: random seed of the twin (same luck for every plan)")
    _calendar_args(p)
    p.set_defaults(handler=_plan)
