"""Feeds of the latest plan: built once per plan and supplier, stored, as MQTT and as CSV.

:func:`refresh_feeds` is what the plant service calls when it sees a new plan and what
``peakline plant supplier-feed`` calls: for each supplier in the master data whose newest feed
is not of the newest plan, it builds the next version (with the changes since the previous
one) and stores it; feeds already made for this plan are returned as they are, so a feed's
version changes only when the plan does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from peakline.errors import DataError
from peakline.wire import Topics, dump_payload
from peakline.wire.suppliers import SupplierFeed
from plant.csvout import to_csv
from plant.suppliers.feed import FeedInputs, build_feed

__all__ = ["feed_frame", "feed_inputs", "feed_message", "refresh_feeds", "write_feed_csv"]


def feed_inputs(store: Any, site: str) -> FeedInputs | None:
    """The inputs of the newest plan's feeds, or None when there is no plan yet."""
    prod = store.latest_plan("production")
    buy = store.latest_plan("purchases")
    inv = store.latest_plan("inventory")
    if prod is None or buy is None or prod[0]["id"] != buy[0]["id"]:
        return None  # no plan yet, or one being stored right now
    meta, production = prod
    found = store.forecast(meta["forecast_id"]) if meta.get("forecast_id") else None
    if found is None:
        found = store.latest_forecast()
    if found is None:
        return None
    fc = found[1]
    fc["ds"] = pd.to_datetime(fc["ds"])
    expl = meta.get("explanation", {})
    festival = inv[0].get("explanation", {}).get("festival") if inv is not None else None
    return FeedInputs(
        site=site, plan_id=str(meta["id"]), forecast_id=meta.get("forecast_id"),
        start=pd.Timestamp(fc["ds"].min()).date(),
        festival=dt.date.fromisoformat(festival) if festival else None, fc=fc,
        production=production, purchases=buy[1], bom=store.bom(), materials=store.materials(),
        supplier_items=store.supplier_items(),
        reject_rate=float(expl.get("reject_rate") or 0.0),
        purchase_orders=store.purchase_orders())


def refresh_feeds(store: Any, site: str) -> list[SupplierFeed]:
    """Every supplier's feed of the newest plan (building and storing those not made yet)."""
    suppliers = list(store.suppliers()["supplier"])
    if not suppliers:
        return []
    inp: FeedInputs | None = None
    feeds = []
    current = store.latest_plan_id("purchases")
    for supplier in suppliers:
        last = store.latest_feed(supplier)
        if last is not None and last.plan_id == current:
            feeds.append(last)
            continue
        inp = inp or feed_inputs(store, site)
        if inp is None or inp.plan_id != current:
            return []
        version = last.version + 1 if last is not None else 1
        feed = build_feed(inp, supplier, version, last)
        store.save_feed(feed)
        feeds.append(feed)
    return feeds


def feed_message(feed: SupplierFeed) -> tuple[str, bytes]:
    """(topic, payload) of a feed, published retained."""
    return Topics(feed.site).supplier_feed(feed.supplier), dump_payload(feed)


def feed_frame(feed: SupplierFeed) -> pd.DataFrame:
    """One table of a feed for a spreadsheet: a ``section`` column says what each row is."""
    rows: list[dict[str, Any]] = []
    rows += [{"section": "requirement", **w.model_dump()} for w in feed.weeks]
    rows += [{"section": "order", **o.model_dump()} for o in feed.orders]
    rows += [{"section": "change", **c.model_dump()} for c in feed.changes]
    cols = ["section", "item", "week", "p10", "p50", "p90", "planned", "qty", "need_date",
            "order_by", "status", "po_id", "what", "before", "after", "note"]
    return pd.DataFrame(rows, columns=cols)


def write_feed_csv(store: Any, site: str, supplier: str, path: str | Path) -> Path:
    """Write ``supplier``'s newest feed as CSV; DataError for an unknown supplier or no plan."""
    known = set(store.suppliers()["supplier"])
    if supplier not in known:
        raise DataError(f"unknown supplier {supplier!r} (suppliers in the master data: "
                        f"{', '.join(sorted(known)) or 'none'})")
    feeds = {f.supplier: f for f in refresh_feeds(store, site)}
    if supplier not in feeds:
        raise DataError("no plan in the database yet; run `peakline plant plan` first")
    feed = feeds[supplier]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_csv(feed_frame(feed), path)
    return path
