"""The ERP side of the store: CSV import, idempotent upserts and readers for planning.

``import_csv`` reads a whole file as text, checks every cell (``plant.erp.validate``) and
every reference (SKUs and items must be known), and only then writes it in ONE transaction,
so a bad file imports nothing. A hold is checked against the eve of the peak ``peak`` as the
calendar ``cal`` dates it (the plant's configured ones, ``[planning] peak`` and ``events``:
``plant import --config``, the service's ERP bridge); the default peak and the packaged
calendar only where none is given. Upserts overwrite by key,
so loading the same rows twice changes nothing. Readers return pandas frames with dates as
``datetime64``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Table, delete, func, select, tuple_

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.erp.validate import check_frame, fail
from plant.orders.records import check_holds, check_shop_orders
from plant.peaks import DEFAULT_PEAK
from plant.prices.history import find_gap
from plant.store import schema as t
from plant.store.base import StoreBase, frame

__all__ = ["CSV_KINDS", "ErpMixin"]

#: the standard CSV tables in the order a folder is loaded (references first)
CSV_KINDS = ("skus", "materials", "lines", "bom", "inventory", "demand", "open_orders",
             "suppliers", "supplier_items", "purchase_orders", "prices", "shop_orders",
             "holds")

#: kind -> (table, key columns, columns the upsert overwrites)
_TARGETS: dict[str, tuple[Table, tuple[str, ...], tuple[str, ...] | None]] = {
    "skus": (t.skus, ("sku",), None),
    "materials": (t.materials, ("item",), None),
    "lines": (t.lines, ("line",), None),
    "bom": (t.bom, ("sku", "item"), None),
    "inventory": (t.inventory, ("item", "as_of"), None),
    "demand": (t.demand, ("sku", "date"), None),
    "open_orders": (t.open_orders, ("order_id",), None),
    "sales": (t.demand, ("sku", "date"), ("orders",)),
    "cancellations": (t.demand, ("sku", "date"), ("cancellations",)),
    "suppliers": (t.suppliers, ("supplier",), None),
    "supplier_items": (t.supplier_items, ("supplier", "item"), None),
    "prices": (t.prices, ("item", "date"), None),
    "purchase_orders": (t.purchase_orders, ("po_id", "item"), None),
    "shop_orders": (t.shop_orders, ("order_id", "sku"), None),
    "holds": (t.holds, ("order_id",), None),
}
_CHUNK = 20_000


#: kind -> columns that hold a time of day (stored as timestamps, not dates)
_TIME_COLUMNS: dict[str, tuple[str, ...]] = {"shop_orders": ("placed_at", "cancelled_at")}


def _holds_in(kind: str, raw: pd.DataFrame) -> pd.DataFrame | None:
    """The holds a shop_orders table carries in its optional ``held_until`` column."""
    if kind != "shop_orders" or "held_until" not in raw.columns:
        return None
    until = raw["held_until"].astype("string").str.strip()
    rows = raw.loc[until.notna() & (until != ""), ["order_id", "held_until"]]
    return rows.drop_duplicates() if len(rows) else None


def _hold_orders(conn: Connection, ids: pd.Series) -> pd.DataFrame:
    """Known shop orders among ``ids``: delivery date, cancellation, shortest shelf life."""
    so, sk = t.shop_orders, t.skus
    stmt = (select(so.c.order_id, func.min(so.c.delivery_date).label("delivery_date"),
                   func.max(so.c.cancelled_at).label("cancelled_at"),
                   func.min(sk.c.shelf_life_days).label("shelf_life_days"))
            .join(sk, sk.c.sku == so.c.sku)
            .where(so.c.order_id.in_(sorted(set(ids))))
            .group_by(so.c.order_id))
    return frame(conn, stmt)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            head = fh.readline()
        if not head.strip():
            raise DataError(f"{path.name}: empty file (no header row)")
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[],
                           skipinitialspace=True, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, csv.Error) as exc:
        raise DataError(f"{path.name}: not a readable CSV file: {exc}") from exc


class ErpMixin(StoreBase):
    """Import, upsert and read SKUs, demand, orders, inventory, materials, BOM and lines."""

    def import_csv(self, kind: str, path: str | Path, cal: HolidayCalendar | None = None,
                   peak: str = DEFAULT_PEAK) -> int:
        """Import one CSV file of ``kind``; DataError (file, row, column) imports nothing.
        ``cal``, ``peak``: the calendar and the peak holds are checked with (None: the packaged
        calendar)."""
        path = Path(path)
        if kind not in CSV_KINDS:
            raise DataError(f"{path.name}: unknown kind {kind!r}; expected one of "
                            f"{', '.join(CSV_KINDS)}")
        return self._write_frame(kind, _read_csv(path), path.name, cal, peak)

    def import_dir(self, folder: str | Path, cal: HolidayCalendar | None = None,
                   peak: str = DEFAULT_PEAK) -> dict[str, int]:
        """Import every standard ``<kind>.csv`` present in ``folder``, references first
        (``cal`` and ``peak`` as for :meth:`import_csv`)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(f"{folder}: not a folder")
        found = {k: folder / f"{k}.csv" for k in CSV_KINDS if (folder / f"{k}.csv").is_file()}
        if not found:
            raise DataError(f"{folder}: none of {', '.join(k + '.csv' for k in CSV_KINDS)}")
        return {kind: self.import_csv(kind, path, cal, peak) for kind, path in found.items()}

    def upsert_rows(
        self, kind: str, rows: Iterable[Mapping[str, Any]] | pd.DataFrame, source: str = "",
        cal: HolidayCalendar | None = None, peak: str = DEFAULT_PEAK,
    ) -> int:
        """Insert or overwrite rows by key (idempotent); same checks as ``import_csv``."""
        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        if df.empty:
            return 0
        df = df.copy()
        for col in df.columns:  # dates given as date objects: back to ISO text for the checks
            if df[col].map(lambda v: isinstance(v, dt.date)).any():
                df[col] = df[col].map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
        return self._write_frame(kind, df, source or f"{kind} rows", cal, peak)

    def close_purchase_orders(self, lines: Iterable[tuple[str, str]]) -> int:
        """Remove received or cancelled purchase order lines, given as (po_id, item)."""
        keys = list(lines)
        if not keys:
            return 0
        po = t.purchase_orders
        with self.engine.begin() as conn:
            res = conn.execute(delete(po).where(tuple_(po.c.po_id, po.c.item).in_(keys)))
            return int(res.rowcount or 0)

    def close_orders(self, order_ids: Iterable[str]) -> int:
        """Remove shipped or cancelled orders from the open orders."""
        ids = list(order_ids)
        if not ids:
            return 0
        with self.engine.begin() as conn:
            res = conn.execute(delete(t.open_orders).where(t.open_orders.c.order_id.in_(ids)))
            return int(res.rowcount or 0)

    def _write_frame(self, kind: str, raw: pd.DataFrame, source: str,
                     cal: HolidayCalendar | None, peak: str) -> int:
        if kind not in _TARGETS:
            raise DataError(f"{source}: unknown kind {kind!r}")
        df = check_frame(kind, raw, source)
        table, keys, update = _TARGETS[kind]
        held = _holds_in(kind, raw)
        if kind == "shop_orders":
            check_shop_orders(df, source)
        times = _TIME_COLUMNS.get(kind, ())
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]) and col not in times:
                df[col] = df[col].dt.date
        records = df.to_dict("records")
        for r in records:  # times of day stay timestamps; an empty optional one is NULL
            for col in times:
                r[col] = None if pd.isna(r[col]) else r[col].to_pydatetime()
        with self.engine.begin() as conn:
            self._check_references(conn, kind, df, source, cal, peak)
            for i in range(0, len(records), _CHUNK):
                chunk = records[i : i + _CHUNK]
                if update is not None:  # partial demand rows: fill the other measure with 0
                    other = "cancellations" if update == ("orders",) else "orders"
                    chunk = [{**r, other: 0.0} for r in chunk]
                self.upsert(conn, table, chunk, keys, update)
            if held is not None:  # holds given with the orders: same checks, same transaction
                hdf = check_frame("holds", held, f"{source} (held_until)")
                self._check_references(conn, "holds", hdf, f"{source} (held_until)", cal,
                                       peak)
                hdf["held_until"] = hdf["held_until"].dt.date
                self.upsert(conn, t.holds, hdf.to_dict("records"), ("order_id",), None)
        return len(records)

    def _check_references(self, conn: Connection, kind: str, df: pd.DataFrame, src: str,
                          cal: HolidayCalendar | None = None, peak: str = DEFAULT_PEAK
                          ) -> None:
        known_skus: set[str] | None = None

        def skus() -> set[str]:
            nonlocal known_skus
            if known_skus is None:
                known_skus = set(conn.execute(select(t.skus.c.sku)).scalars())
            return known_skus

        def unknown(col: str, known: set[str], mask: pd.Series | None = None,
                    what: str = "SKU") -> None:
            values = df[col] if mask is None else df[col].where(mask)
            bad = values.notna() & ~values.isin(known)
            if bad.any():
                idx = int(bad.to_numpy().nonzero()[0][0])
                raise fail(src, idx + 1, col, f"unknown {what} {df[col].iloc[idx]!r}")

        if kind in ("demand", "open_orders", "sales", "cancellations", "bom", "shop_orders"):
            unknown("sku", skus())
        if kind == "holds":
            check_holds(df, src, _hold_orders(conn, df["order_id"]),
                        cal or HolidayCalendar.default(), peak=peak)
        if kind == "bom":
            items = set(conn.execute(select(t.materials.c.item)).scalars())
            unknown("item", items, what="material or packaging item")
        if kind in ("supplier_items", "prices"):
            items = set(conn.execute(select(t.materials.c.item)).scalars())
            unknown("item", items, what="material or packaging item")
        if kind == "supplier_items":
            known = set(conn.execute(select(t.suppliers.c.supplier)).scalars())
            unknown("supplier", known, what="supplier")
        if kind == "prices":
            self._check_price_gaps(conn, df, src)
        if kind == "purchase_orders":
            self._check_purchase_orders(conn, df, src)
        if kind == "inventory":
            unknown("item", skus(), df["kind"] == "sku")
            items = set(conn.execute(select(t.materials.c.item)).scalars())
            unknown("item", items, df["kind"] != "sku", "material or packaging item")

    def _check_purchase_orders(self, conn: Connection, df: pd.DataFrame, src: str) -> None:
        """A purchase order line names a supplier that delivers its item, due after ordered."""
        early = (df["due_date"] < df["order_date"]).to_numpy()
        if early.any():
            i = int(early.nonzero()[0][0])
            raise fail(src, i + 1, "due_date", f"due {df['due_date'].iloc[i]:%Y-%m-%d} before "
                       f"the order date {df['order_date'].iloc[i]:%Y-%m-%d}")
        known = set(conn.execute(select(t.suppliers.c.supplier)).scalars())
        terms = {(str(s), str(i)) for s, i in conn.execute(
            select(t.supplier_items.c.supplier, t.supplier_items.c.item))}
        for i, (supplier, item) in enumerate(zip(df["supplier"], df["item"], strict=True)):
            if supplier not in known:
                raise fail(src, i + 1, "supplier", f"unknown supplier {supplier!r}")
            if (supplier, item) not in terms:
                raise fail(src, i + 1, "item", f"supplier {supplier!r} does not supply "
                           f"{item!r} (supplier_items)")

    def _check_price_gaps(self, conn: Connection, df: pd.DataFrame, src: str) -> None:
        """Refuse prices that leave (or would leave, with the stored ones) a gap in a series."""
        p = t.prices
        items = sorted(set(df["item"]))
        stored = frame(conn, select(p.c.item, p.c.date).where(p.c.item.in_(items)))
        for item in items:
            dates = set(pd.to_datetime(df.loc[df["item"] == item, "date"]))
            dates |= set(pd.to_datetime(stored.loc[stored["item"] == item, "date"]))
            gap = find_gap(sorted(dates))
            if gap is not None:
                before, after, usual = gap
                raise DataError(f"{src}: price history of {item!r} has a gap from "
                                f"{before:%Y-%m-%d} to {after:%Y-%m-%d} ({(after - before).days}"
                                f" days; its prices are usually {usual:g} days apart): add the "
                                "missing prices")

    # --- readers -------------------------------------------------------------------------
    def _read(self, stmt: Any, dates: Iterable[str] = (), rename: dict[str, str] | None = None,
              ) -> pd.DataFrame:
        with self.engine.connect() as conn:
            df = frame(conn, stmt)
        for col in dates:
            df[col] = pd.to_datetime(df[col])
        return df.rename(columns=rename or {})

    def skus(self) -> pd.DataFrame:
        """SKU master data, one row per SKU."""
        return self._read(select(t.skus).order_by(t.skus.c.sku))

    def demand_history(self) -> pd.DataFrame:
        """Daily history: sku, ds, orders, cancellations (sorted by sku, ds)."""
        d = t.demand
        stmt = select(d.c.sku, d.c.date, d.c.orders, d.c.cancellations).order_by(d.c.sku, d.c.date)
        return self._read(stmt, ["date"], {"date": "ds"})

    def open_orders(self) -> pd.DataFrame:
        """Orders not shipped yet."""
        o = t.open_orders
        return self._read(select(o).order_by(o.c.due_date, o.c.order_id),
                          ["order_date", "due_date"])

    def purchase_orders(self) -> pd.DataFrame:
        """Open purchase order lines: po_id, item, supplier, order_date, due_date, qty."""
        po = t.purchase_orders
        return self._read(select(po).order_by(po.c.due_date, po.c.po_id, po.c.item),
                          ["order_date", "due_date"])

    def inventory(self) -> pd.DataFrame:
        """The latest on-hand count per item: item, kind, on_hand, as_of."""
        i = t.inventory
        latest = select(i.c.item, func.max(i.c.as_of).label("as_of")).group_by(i.c.item)
        stmt = (select(i).where(tuple_(i.c.item, i.c.as_of).in_(latest)).order_by(i.c.item))
        return self._read(stmt, ["as_of"])

    def materials(self) -> pd.DataFrame:
        """Raw materials and packaging: lead times, MOQ, pack multiples, cost, shelf life."""
        return self._read(select(t.materials).order_by(t.materials.c.item))

    def bom(self) -> pd.DataFrame:
        """Bill of materials: sku, item, qty_per_unit."""
        return self._read(select(t.bom).order_by(t.bom.c.sku, t.bom.c.item))

    def lines(self) -> pd.DataFrame:
        """Production lines and their capacity."""
        return self._read(select(t.lines).order_by(t.lines.c.line))
