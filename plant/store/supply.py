"""The supplier side of the store: master data readers, feeds sent, replies received, prices.

Suppliers, the items they deliver and material prices are imported like every ERP table
(``plant.store.erp``). Feeds are kept whole, one row per supplier and version, so the next
feed can say what changed. A reply replaces the previous answer for the same supplier, item
and week, in one transaction after every line was checked against the master data.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select

from peakline.errors import DataError
from peakline.wire.suppliers import SupplierFeed, SupplierReply
from plant.store import schema as t
from plant.store.base import StoreBase, frame

__all__ = ["SupplyMixin"]


class SupplyMixin(StoreBase):
    """Suppliers, supplier items, feeds, replies and prices."""

    def _frame(self, stmt: Any, dates: tuple[str, ...] = ()) -> pd.DataFrame:
        with self.engine.connect() as conn:
            df = frame(conn, stmt)
        for col in dates:
            df[col] = pd.to_datetime(df[col])
        return df

    def suppliers(self) -> pd.DataFrame:
        """Supplier master data: supplier, name."""
        return self._frame(select(t.suppliers).order_by(t.suppliers.c.supplier))

    def supplier_items(self) -> pd.DataFrame:
        """What each supplier delivers: lead time and its spread, MOQ, pack multiple, capacity."""
        si = t.supplier_items
        return self._frame(select(si).order_by(si.c.item, si.c.supplier))

    def prices(self, items: list[str] | None = None) -> pd.DataFrame:
        """Price history: item, date, price (sorted by item, date)."""
        p = t.prices
        stmt = select(p).order_by(p.c.item, p.c.date)
        if items is not None:
            stmt = stmt.where(p.c.item.in_(items))
        return self._frame(stmt, ("date",))

    def remove_supplier(self, supplier: str) -> dict[str, int]:
        """Take ``supplier`` out of the master data with its items and answers, in one go.

        DataError, removing nothing, for an unknown supplier or one with open purchase orders.
        Its sent feeds stay (the record, and how the service knows which retained feed to
        clear)."""
        with self.engine.begin() as conn:
            if conn.execute(select(t.suppliers.c.supplier)
                            .where(t.suppliers.c.supplier == supplier)).first() is None:
                raise DataError(f"unknown supplier {supplier!r} (not in the suppliers master "
                                "data)")
            po = t.purchase_orders
            open_pos = sorted(set(conn.execute(select(po.c.po_id)
                                               .where(po.c.supplier == supplier)).scalars()))
            if open_pos:
                raise DataError(f"supplier {supplier!r} has {len(open_pos)} open purchase "
                                f"order(s) ({', '.join(open_pos[:5])}); close them first")
            done = {}
            for name, table in (("items", t.supplier_items), ("replies", t.supplier_replies),
                                ("suppliers", t.suppliers)):
                res = conn.execute(delete(table).where(table.c.supplier == supplier))
                done[name] = int(res.rowcount or 0)
        return done

    def removed_feed_suppliers(self) -> list[str]:
        """Suppliers that were sent a feed but are no longer in the master data."""
        f, s = t.supplier_feeds, t.suppliers
        stmt = (select(f.c.supplier).distinct()
                .where(f.c.supplier.not_in(select(s.c.supplier))).order_by(f.c.supplier))
        with self.engine.connect() as conn:
            return [str(x) for x in conn.execute(stmt).scalars()]

    # --- feeds --------------------------------------------------------------------------
    def next_feed_version(self, supplier: str) -> int:
        """The version the next feed of ``supplier`` gets."""
        f = t.supplier_feeds
        with self.engine.connect() as conn:
            top = conn.execute(select(func.max(f.c.version))
                               .where(f.c.supplier == supplier)).scalar()
        return int(top or 0) + 1

    def save_feed(self, feed: SupplierFeed) -> None:
        """Keep a feed that was (or is about to be) published."""
        row = {"supplier": feed.supplier, "version": feed.version, "plan_id": feed.plan_id,
               "created_at": feed.created_at,
               "payload": feed.model_dump_json(by_alias=True)}
        with self.engine.begin() as conn:
            self.upsert(conn, t.supplier_feeds, [row], ["supplier", "version"])

    def latest_feed(self, supplier: str) -> SupplierFeed | None:
        """The newest feed of ``supplier``, or None."""
        f = t.supplier_feeds
        stmt = (select(f.c.payload).where(f.c.supplier == supplier)
                .order_by(f.c.version.desc()).limit(1))
        with self.engine.connect() as conn:
            raw = conn.execute(stmt).scalar()
        return None if raw is None else SupplierFeed.model_validate(json.loads(raw))

    # --- replies ------------------------------------------------------------------------
    def save_reply(self, reply: SupplierReply, received_at: float | None = None) -> int:
        """Store a reply after checking it against the master data; DataError stores nothing."""
        src = f"reply of supplier {reply.supplier!r}"
        known = set(self.suppliers()["supplier"])
        if reply.supplier not in known:
            raise DataError(f"{src}: unknown supplier (not in the suppliers master data)")
        items = self.supplier_items()
        own = set(items.loc[items["supplier"] == reply.supplier, "item"])
        for n, line in enumerate(reply.lines, start=1):
            if line.item not in own:
                raise DataError(f"{src}, line {n}: {line.item!r} is not an item this supplier "
                                f"delivers (it delivers {', '.join(sorted(own)) or 'nothing'})")
            if line.week.weekday() != 0:
                raise DataError(f"{src}, line {n}: week {line.week} is not a Monday")
        top = self.next_feed_version(reply.supplier) - 1
        if reply.feed_version > top:
            raise DataError(f"{src}: answers feed version {reply.feed_version}, but the latest "
                            f"feed sent is version {top}")
        now = time.time() if received_at is None else received_at
        rows = [{"supplier": reply.supplier, "item": ln.item, "week": ln.week,
                 "feed_version": reply.feed_version, "status": ln.status, "qty": ln.qty,
                 "delivery": reply.delivery(ln), "received_at": now} for ln in reply.lines]
        with self.engine.begin() as conn:
            self.upsert(conn, t.supplier_replies, rows, ["supplier", "item", "week"])
        return len(rows)

    def supplier_replies(self) -> pd.DataFrame:
        """The latest answer per supplier, item and week."""
        r = t.supplier_replies
        return self._frame(select(r).order_by(r.c.item, r.c.week, r.c.supplier),
                           ("week", "delivery"))
