"""``peakline plant holds``: which open web shop orders to offer a hold, and the safekeeping plan.

    peakline plant holds --db sqlite:///plant.db --capacity 5000 --out holds/
    peakline plant holds --db sqlite:///plant.db --as-of 2025-09-28     (as known that day)
    peakline plant holds --db sqlite:///plant.db --config plant.toml    its [planning] peak

Fits the cancellation model on the store's web shop history, scores the open orders, offers
holds around the coming peak (``--peak``, else the ``--config``'s ``[planning] peak``, else
Mid-Autumn; dated by its calendar) within the safekeeping capacity (:mod:`plant.orders.plan`);
last season's orders (the config's ``[planning] season_days`` before the peak, else 100) set
the value threshold. Prints the best offers, the safekeeping stock against capacity and the
exceptions; the last line is one JSON object. ``--out`` writes ``offers.csv``, ``safekeeping.csv``,
``releases.csv`` (the delivery schedule after the festival, for the ERP) and
``exceptions.csv``. ``--backtest`` also replays last season with the policy. The store
keeps the scored open orders, the offers and the safekeeping stock for the dashboard's orders
page, the release schedule as the ``releases`` plan (which the plant service publishes to the
ERP on ``plans/releases``, retained), and what the recorded holds do to demand (the
cancellations they avoid), which the next ``peakline plant forecast`` nets in.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from peakline.cliargs import ExistingFile, IsoDate, Number, OutputDir, integer
from plant.commands.db import add_db_option, open_store
from plant.csvout import to_csv

__all__ = ["add_commands"]

_OFFER_COLUMNS = ["order_id", "customer", "region", "delivery", "boxes", "p_cancel",
                  "margin_at_risk", "hold_until", "value", "offer"]


def _holds(args: argparse.Namespace) -> int:
    from plant.commands.planning import _holds_calendar, _plan_config
    from plant.orders.holds import HoldSettings
    from plant.orders.run import holds_into_store
    from plant.peaks import peak_label

    settings = HoldSettings(capacity_boxes=args.capacity, cost_per_box_day=args.cost_per_box_day,
                            accept_rate=args.accept_rate, return_days=args.return_days,
                            window_days=args.window_days, min_shelf_days=args.min_shelf_days)
    # the calendar and peak the plans use: --events and --peak over the --config's [planning];
    # the season's length is the config's [planning] season_days
    cal, peak = _holds_calendar(args)
    season_days = _plan_config(args).season_days
    with open_store(args) as store:
        plan = holds_into_store(store, settings, cal, args.as_of, backtest=args.backtest,
                                peak=peak, season_days=season_days)
    offered = plan.offers[plan.offers["offer"]] if len(plan.offers) else plan.offers
    print(f"as of {plan.as_of}, {peak_label(peak)} {plan.festival}: {len(offered)} of "
          f"{len(plan.offers)} eligible open orders to offer a hold")
    if len(offered):
        print(offered[_OFFER_COLUMNS[:-1]].head(args.top).to_string(
            index=False, float_format=lambda v: f"{v:.2f}"))
    if len(plan.stock):
        print("safekeeping, boxes per day:")
        print(plan.stock.to_string(index=False))
    for r in plan.exceptions.itertuples(index=False):
        print(f"{r.severity}: {r.message}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        offers = plan.offers[[c for c in _OFFER_COLUMNS if c in plan.offers.columns]]
        to_csv(offers, out / "offers.csv", date_format="%Y-%m-%d")
        to_csv(plan.stock, out / "safekeeping.csv", date_format="%Y-%m-%d")
        to_csv(plan.releases, out / "releases.csv")
        to_csv(plan.exceptions, out / "exceptions.csv", date_format="%Y-%m-%d")
    print(json.dumps(plan.summary))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``holds`` to ``peakline plant``."""
    from plant.commands.planning import _calendar_args, _peak_arg

    h = sub.add_parser("holds", help="offer holds to open web shop orders; safekeeping plan")
    add_db_option(h, creates=False)
    h.add_argument("--as-of", type=IsoDate(),
                   help="plan as known at the end of this day (default: the last order's day)")
    h.add_argument("--capacity", type=integer(1), default=5000,
                   help="boxes the safekeeping facility can keep on any one day")
    h.add_argument("--cost-per-box-day", type=Number(0), default=0.5,
                   help="safekeeping cost of one box for one day")
    h.add_argument("--accept-rate", type=Number(0, 1, lo_open=True,
                                                hint="a fraction: 0.5 means 50%"),
                   default=0.5, help="expected share of offered customers who accept a hold")
    h.add_argument("--return-days", type=integer(1, 60), default=4,
                   help="planned delivery of a held order: days after the festival")
    h.add_argument("--window-days", type=integer(1, 60), default=14,
                   help="offer to orders delivered this many days before the festival")
    h.add_argument("--min-shelf-days", type=integer(0, 365), default=7,
                   help="shelf life a held box must still have on its delivery day")
    h.add_argument("--top", type=integer(1), default=15, help="offers to print")
    h.add_argument("--backtest", action="store_true",
                   help="also replay last season with the policy (a model fitted before it): "
                   "what holds would have saved, shown on the dashboard")
    h.add_argument("--out", type=OutputDir(),
                   help="folder for offers.csv, safekeeping.csv, releases.csv, exceptions.csv")
    h.add_argument("--config", type=ExistingFile("TOML config"),
                   help="plant service TOML whose [planning] peak, season_days and events file "
                   "to use (the festival's date, its season and closures, as `plant plan "
                   "--config` and the service's re-plans read them), unless --peak or --events "
                   "is given")
    _peak_arg(h)
    _calendar_args(h)
    h.set_defaults(handler=_holds)
