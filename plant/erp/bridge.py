"""ERP messages in: validate an ``erp/<kind>`` payload and upsert its rows into the store.

sales -> demand.orders, cancellations -> demand.cancellations, orders -> open_orders (a row
with ``status: closed`` removes the order), inventory -> inventory, prices -> prices,
shop_orders -> the web shop's order lines (a line sent again with ``cancelled_at`` records the
cancellation), holds -> holds (checked against the known orders and the shelf life),
purchase_orders -> purchase_orders (a line with ``status: closed``, received or cancelled,
removes it). Rows
carry absolute values keyed by their natural key, so a repeated message changes nothing. An invalid
message raises ``WireError``/``DataError`` (the ingest writer dead-letters it).
"""

from __future__ import annotations

from typing import Any

from peakline.wire.erp import ErpOrders, ErpPurchaseOrders, parse_erp
from plant.calendar import HolidayCalendar
from plant.peaks import DEFAULT_PEAK
from plant.store import Store

__all__ = ["apply_erp_message"]

_TABLE = {"sales": "sales", "cancellations": "cancellations", "inventory": "inventory",
          "prices": "prices", "shop_orders": "shop_orders", "holds": "holds"}


def apply_erp_message(store: Store, kind: str, raw: bytes, cal: HolidayCalendar | None = None,
                      peak: str = DEFAULT_PEAK) -> int:
    """Validate and apply one ERP message of topic leaf ``kind``; returns the rows applied.
    ``cal``, ``peak``: the plant's calendar and peak, which holds are checked with (None: the
    packaged calendar)."""
    msg: Any = parse_erp(kind, raw)
    source = f"erp/{kind} message"
    rows = [row.model_dump() for row in msg.rows]
    if isinstance(msg, ErpOrders):
        open_rows = [{k: v for k, v in r.items() if k != "status"} for r in rows
                     if r["status"] == "open"]
        closed = [r["order_id"] for r in rows if r["status"] == "closed"]
        n = store.upsert_rows("open_orders", open_rows, source) if open_rows else 0
        if closed:
            store.close_orders(closed)
        return n + len(closed)
    if isinstance(msg, ErpPurchaseOrders):
        lines = [{k: v for k, v in r.items() if k != "status"} for r in rows
                 if r["status"] == "open"]
        gone = [(r["po_id"], r["item"]) for r in rows if r["status"] == "closed"]
        n = store.upsert_rows("purchase_orders", lines, source) if lines else 0
        return n + store.close_purchase_orders(gone)
    return store.upsert_rows(_TABLE[kind], rows, source, cal, peak)
