"""The web shop side of the store: order lines and holds, read back in their CSV form.

Orders and holds are written like every ERP table (``plant.store.erp``: the same column
checks, plus :mod:`plant.orders.records` for the rules between columns and against known
orders). :meth:`ShopMixin.shop_orders` returns the lines as the import took them, with each
order's ``held_until`` joined, so the cancellation model and the hold policy read the store and
a CSV file alike. ``peakline plant holds`` stores what the recorded holds do to demand (an
artifact of kind ``holds``), which the next forecast nets in.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select

from plant.store import schema as t
from plant.store.artifacts import ArtifactsMixin
from plant.store.base import frame

__all__ = ["ShopMixin"]

_COLUMNS = ["order_id", "customer", "placed_at", "sku", "qty", "unit_price", "region",
            "delivery_date", "cancelled_at", "held_until"]


def _text(values: pd.Series, fmt: str) -> pd.Series:
    stamp = pd.to_datetime(values)
    return stamp.dt.strftime(fmt).where(stamp.notna(), "")


class ShopMixin(ArtifactsMixin):
    """Web shop order lines, the holds recorded for them, and the latest hold plan's effect."""

    def save_hold_effect(self, plan_id: str, df: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Store what the recorded holds do to demand (sku, ds, held_boxes, cancel_avoided)."""
        self._save("holds", plan_id, None, df, meta)

    def latest_hold_effect(self) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """The latest stored hold effect, or None."""
        return self._latest("holds")

    def save_hold_plan(self, plan_id: str, offers: pd.DataFrame, stock: pd.DataFrame,
                       meta: dict[str, Any]) -> None:
        """Store a hold plan's scored open orders (with the offers) and safekeeping stock."""
        self._save("hold_offers", plan_id, None, offers, meta)
        self._save("hold_stock", plan_id, None, stock, meta)

    def latest_hold_plan(self) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame] | None:
        """The newest hold plan: (meta, offers, stock), or None."""
        offers = self._latest("hold_offers")
        if offers is None:
            return None
        stock = self._latest("hold_stock", offers[0]["id"])
        return offers[0], offers[1], stock[1] if stock is not None else pd.DataFrame()

    def shop_orders(self) -> pd.DataFrame:
        """Every order line (oldest first), times and dates as text, ``held_until`` or ''."""
        so, h = t.shop_orders, t.holds
        stmt = (select(so, h.c.held_until).outerjoin(h, h.c.order_id == so.c.order_id)
                .order_by(so.c.placed_at, so.c.order_id, so.c.sku))
        with self.engine.connect() as conn:
            df = frame(conn, stmt)
        if df.empty:
            return pd.DataFrame(columns=_COLUMNS)
        df["placed_at"] = _text(df["placed_at"], "%Y-%m-%dT%H:%M")
        df["cancelled_at"] = _text(df["cancelled_at"], "%Y-%m-%dT%H:%M")
        df["delivery_date"] = _text(df["delivery_date"], "%Y-%m-%d")
        df["held_until"] = _text(df["held_until"], "%Y-%m-%d")
        return df[_COLUMNS]

    def holds(self) -> pd.DataFrame:
        """Recorded holds: order_id, held_until (datetime64)."""
        with self.engine.connect() as conn:
            df = frame(conn, select(t.holds).order_by(t.holds.c.held_until, t.holds.c.order_id))
        df["held_until"] = pd.to_datetime(df["held_until"])
        return df
