"""``peakline plant supplier-feed`` and ``remove-supplier``: a supplier's feed as CSV; one gone.

    peakline plant supplier-feed --db URL --site S --supplier lotus-co --out lotus-co.csv
    peakline plant remove-supplier --db URL --supplier lotus-co

The same feed the plant service publishes on ``peakline/v1/<site>/suppliers/<supplier>/feed``
(built and stored now if the service has not made it yet): a ``section`` column says whether
a row is a weekly requirement (P10/P50/P90 and planned use), an order (firm or planned, with
its order-by date) or a change since the previous feed. ``remove-supplier`` takes a supplier
out of the master data (its items and answers; refused while it has open purchase orders); the
next plan splits its items among the others and the plant service clears its retained feed.
"""

from __future__ import annotations

import argparse
import json

from peakline.cliargs import NAME, OutputFile
from plant.commands.db import add_db_option, open_store

__all__ = ["add_commands"]


def _feed(args: argparse.Namespace) -> int:
    from plant.suppliers.publish import write_feed_csv

    with open_store(args) as store:
        path = write_feed_csv(store, args.site, args.supplier, args.out)
        feed = store.latest_feed(args.supplier)
    print(f"{path}: feed {feed.version} of {args.supplier} ({len(feed.weeks)} weekly "
          f"requirements, {len(feed.orders)} orders, {len(feed.changes)} changes)")
    print(json.dumps({"supplier": args.supplier, "version": feed.version,
                      "plan_id": feed.plan_id, "out": str(path)}))
    return 0


def _remove(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        done = store.remove_supplier(args.supplier)
    print(f"removed supplier {args.supplier} ({done['items']} item(s), {done['replies']} "
          "answer(s)); the plant service clears its retained feed; revoke its broker identity "
          "with `peakline plant provision revoke`")
    print(json.dumps({"supplier": args.supplier, **done}))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``supplier-feed`` and ``remove-supplier`` to ``peakline plant``."""
    f = sub.add_parser("supplier-feed", help="one supplier's feed of the latest plan as CSV")
    add_db_option(f, creates=False)
    f.add_argument("--site", required=True, type=NAME, help="site name (as in the topics)")
    f.add_argument("--supplier", required=True, type=NAME,
                   help="supplier code (as in the suppliers master data)")
    f.add_argument("--out", required=True, type=OutputFile("CSV file"), help="CSV file to write")
    f.set_defaults(handler=_feed)
    r = sub.add_parser("remove-supplier", help="take a supplier out of the master data "
                       "(its retained feed is cleared)")
    add_db_option(r, creates=False)
    r.add_argument("--supplier", required=True, type=NAME,
                   help="supplier code (as in the suppliers master data)")
    r.set_defaults(handler=_remove)
