"""``peakline plant ...``: the plant service and its data.

    peakline plant serve --config configs/plant.toml     ingest + ERP bridge + plans (+ dashboard)
    peakline plant check-config configs/plant.toml       validate a config, print it
    peakline plant import --db URL --kind demand FILE    load one ERP CSV (all or nothing)
    peakline plant import --db URL --dir FOLDER          load every standard CSV of a folder
    peakline plant import --db URL --dir FOLDER --config plant.toml   holds checked with its
                                                         [planning] peak and events (its eve)
    peakline plant export-plan --db URL --kind production --out plan.csv
    peakline plant status --db URL                       lines, gaps and dead letters

The forecasting and planning commands (``sample-data``, ``forecast``, ``backtest``, ``plan``)
are added from ``plant.commands.planning`` when that module is present.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
from typing import Any

from peakline.cliargs import (
    DB_ENV,
    DEFAULT_DB,
    DbUrl,
    ExistingDir,
    ExistingFile,
    LazyChoices,
    Number,
    OutputFile,
    db_default,
    prog,
)
from peakline.errors import ConfigError, redact_url
from peakline.wire import PLAN_KINDS
from plant.commands.db import add_db_option, describe_db, new_store, open_store

__all__ = ["register"]

#: other engineers' modules that add actions to ``peakline plant``: (module, function)
_EXTENSIONS = [
    ("plant.commands.planning", "add_commands"),
    ("plant.commands.provision", "add_provision_commands"),
    ("plant.commands.twin", "add_twin_commands"),
    ("plant.commands.suppliers", "add_commands"),
    ("plant.commands.holds", "add_commands"),
]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``plant`` sub-commands."""
    sub = parser.add_subparsers(dest="plant_command", metavar="ACTION", required=True)

    serve = sub.add_parser("serve", help="run the plant service until SIGTERM / Ctrl-C")
    serve.add_argument("--config", type=ExistingFile("TOML config"),
                       help="TOML config (default: built-in defaults)")
    serve.add_argument("--db", type=DbUrl(), metavar="URL",
                       help="database, created if missing (default: the config's [plant] db, "
                       f"else ${DB_ENV}, else {DEFAULT_DB})")
    serve.add_argument("--check-config", action="store_true",
                       help="validate the config, print it and exit")
    serve.set_defaults(handler=_serve)

    check = sub.add_parser("check-config", help="validate a config file and print it")
    check.add_argument("config", type=ExistingFile("TOML config"), help="TOML config file")
    check.set_defaults(handler=_check_config)

    imp = sub.add_parser("import", help="import ERP CSV files (a bad file imports nothing)")
    add_db_option(imp, creates=True)
    imp.add_argument("--kind", choices=LazyChoices(_csv_kinds), metavar="KIND",
                     help="table kind of FILE: %(choices)s")
    imp.add_argument("--dir", type=ExistingDir(), help="import every <kind>.csv found in this "
                     "folder")
    imp.add_argument("file", nargs="?", type=ExistingFile("CSV file"),
                     help="CSV file (with --kind)")
    imp.add_argument("--config", type=ExistingFile("TOML config"),
                     help="plant service TOML whose [planning] peak and events file to check "
                     "holds with (a held box is made by the peak's eve), unless --peak or "
                     "--events is given")
    from plant.commands.planning import _calendar_args, _peak_arg

    _peak_arg(imp)
    _calendar_args(imp)
    imp.set_defaults(handler=_import)

    exp = sub.add_parser("export-plan", help="write the latest plan of a kind as CSV")
    add_db_option(exp, creates=False)
    exp.add_argument("--kind", required=True, choices=PLAN_KINDS, metavar="KIND",
                     help="which plan: %(choices)s")
    exp.add_argument("--out", required=True, type=OutputFile("CSV file"),
                     help="CSV file to write (and <name>.explanation.json beside it)")
    exp.set_defaults(handler=_export_plan)

    st = sub.add_parser("status", help="print line summary, gaps and recent dead letters")
    add_db_option(st, creates=False)
    st.add_argument("--window", type=Number(lo=0, lo_open=True), default=60.0,
                    help="summary window in seconds")
    st.set_defaults(handler=_status)

    for module, hook in _EXTENSIONS:
        if importlib.util.find_spec(module) is not None:
            getattr(importlib.import_module(module), hook)(sub)


def _csv_kinds() -> tuple[str, ...]:
    from plant.store import CSV_KINDS

    return CSV_KINDS


def _check_config(args: argparse.Namespace) -> int:
    from plant.config import load_config

    cfg = load_config(args.config)
    print(_shown(cfg))
    return 0


def _shown(cfg: Any) -> str:
    """The config as JSON for a person, with any password in a URL replaced by ``***``."""
    return redact_url(json.dumps(cfg.model_dump(mode="json"), indent=2))


def _serve(args: argparse.Namespace) -> int:
    from peakline.logs import setup_logging
    from plant.config import load_config
    from plant.service import PlantService

    cfg = load_config(args.config)
    # the database: --db, else the config's [plant] db, else $PEAKLINE_DB, else the default
    if args.db or "db" not in cfg.plant.model_fields_set:
        db = args.db or db_default()
        cfg = cfg.model_copy(update={"plant": cfg.plant.model_copy(update={"db": db})})
    if args.check_config:
        print(_shown(cfg))
        return 0
    setup_logging(fmt=cfg.plant.log_format)
    print(f"{prog(args)}: database {describe_db(cfg.plant.db)}", file=sys.stderr)
    return PlantService(cfg).run()


def _import(args: argparse.Namespace) -> int:
    if bool(args.dir) == bool(args.file):
        raise ConfigError("give either --kind KIND FILE or --dir FOLDER")
    if args.file and not args.kind:
        raise ConfigError("--kind is required with a FILE")
    if args.kind and not args.file:
        raise ConfigError("--kind goes with a FILE; --dir finds the kinds by file name")
    from plant.commands.planning import _holds_calendar

    cal, peak = _holds_calendar(args)
    with new_store(args) as store:  # a database this import created goes if it fails
        t0 = time.perf_counter()
        if args.dir:
            counts = store.import_dir(args.dir, cal, peak)
        else:
            counts = {args.kind: store.import_csv(args.kind, args.file, cal, peak)}
    for kind, n in counts.items():
        print(f"{kind:12s} {n:>10,d} rows")
    print(f"imported in {time.perf_counter() - t0:.1f} s")
    return 0


def _export_plan(args: argparse.Namespace) -> int:
    from plant.erp.plans import export_plan_csv

    store = open_store(args)
    try:
        path = export_plan_csv(store, args.kind, args.out)
    finally:
        store.close()
    print(f"wrote {path}")
    return 0


def _status(args: argparse.Namespace) -> int:
    import pandas as pd

    store = open_store(args)
    try:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            summary = store.line_summary(args.window)
            print(summary.to_string(index=False) if len(summary) else "no nodes seen yet")
            gaps = store.gaps()
            print(f"\ngaps: {len(gaps)}")
            if len(gaps):
                print(gaps.to_string(index=False))
            dead = store.dead_letters(10)
            print(f"\nrecent dead letters: {len(dead)}")
            if len(dead):
                print(dead[["topic", "reason", "size"]].to_string(index=False))
    finally:
        store.close()
    return 0
