"""Supplier feeds out and supplier replies in: what one supplier sees and what it answers.

After every plan the plant publishes, retained and QoS 1, one :class:`SupplierFeed` per
supplier on ``peakline/v1/<site>/suppliers/<supplier>/feed``: only that supplier's items, their
requirements per week for the season (P10/P50/P90 of the forecast through the bill of
materials, and what the production plan will use), the purchase orders (firm: open in the
ERP; planned: proposed by the plan) with their order-by dates, and what changed since its
previous feed. ``version`` counts that supplier's feeds, so a reply names the feed it answers.

A supplier answers on ``.../suppliers/<supplier>/reply`` with a :class:`SupplierReply`: per item
and week it confirms the requested quantity or counters with the quantity and the delivery
date it can do.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from peakline.wire.codec import Name, Payload
from peakline.wire.erp import IsoDate, Text

__all__ = [
    "FeedChange",
    "FeedItem",
    "FeedOrder",
    "FeedWeek",
    "ReplyLine",
    "SupplierFeed",
    "SupplierReply",
]

class FeedItem(Payload):
    """An item this supplier delivers and its terms as the plant plans with them."""

    item: Text
    unit: Text
    lead_time_days: int = Field(ge=0)
    moq: float = Field(ge=0)
    pack_multiple: float = Field(gt=0)
    capacity_per_week: float = Field(gt=0)
    share: float = Field(ge=0, le=1, description="share of the item's need planned with this "
                         "supplier (the rest goes to other suppliers of the item)")


class FeedWeek(Payload):
    """One item's requirement in one week (Monday), this supplier's share of it."""

    item: Text
    week: IsoDate = Field(description="Monday of the week, YYYY-MM-DD")
    p10: float = Field(ge=0, description="forecast through the BOM, 10% quantile")
    p50: float = Field(ge=0, description="forecast through the BOM, median")
    p90: float = Field(ge=0, description="forecast through the BOM, 90% quantile")
    planned: float = Field(ge=0, description="what the production plan uses that week")


class FeedOrder(Payload):
    """A purchase order to this supplier: firm (placed, open in the ERP) or planned."""

    item: Text
    qty: float = Field(gt=0, description="firm: quantity still to deliver; planned: to order")
    need_date: IsoDate = Field(description="day the goods must be at the plant (firm: the "
                               "order's due date)")
    order_by: IsoDate = Field(description="planned: last day to order for delivery by "
                              "need_date, at this supplier's lead time and its spread; firm: "
                              "the day it was ordered")
    status: Literal["firm", "planned"]
    po_id: str | None = Field(default=None, max_length=64,
                              description="the ERP purchase order number (firm orders)")


class FeedChange(Payload):
    """One difference from this supplier's previous feed."""

    what: Literal["requirement", "order", "item"]
    item: Text
    week: IsoDate | None = Field(default=None, description="week or need date it concerns")
    before: float | None = Field(default=None, description="previous quantity (None: new)")
    after: float | None = Field(default=None, description="new quantity (None: gone)")
    note: str = Field(default="", max_length=200)


class SupplierFeed(Payload):
    """Everything one supplier needs to know after a plan, and nothing about anyone else."""

    schema_: Literal["peakline.supplier.feed/1"] = Field(
        default="peakline.supplier.feed/1", alias="schema")
    site: Name
    supplier: Name
    version: int = Field(ge=1, description="this supplier's feed number, 1, 2, ...")
    plan_id: str = Field(min_length=1, max_length=128)
    forecast_id: str | None = Field(default=None, max_length=128)
    created_at: float = Field(description="Unix seconds")
    season_end: IsoDate | None = Field(default=None, description="the festival the season "
                                       "is built around")
    items: list[FeedItem]
    weeks: list[FeedWeek]
    orders: list[FeedOrder]
    changes: list[FeedChange] = Field(description="differences from feed version - 1 (empty "
                                      "for the first feed)")


class ReplyLine(Payload):
    """The supplier's answer for one item and week."""

    item: Text
    week: IsoDate = Field(description="Monday of the week answered")
    status: Literal["confirm", "counter"]
    qty: float = Field(ge=0, description="quantity it will deliver (confirm: as requested)")
    date: IsoDate | None = Field(default=None, description="delivery day it commits to "
                                 "(default: the week's Monday)")


class SupplierReply(Payload):
    """A supplier's confirmations and counter-offers for the feed ``feed_version``."""

    schema_: Literal["peakline.supplier.reply/1"] = Field(
        default="peakline.supplier.reply/1", alias="schema")
    site: Name
    supplier: Name
    feed_version: int = Field(ge=1, description="the feed this answers")
    sent_at: float = Field(default=0.0, description="Unix seconds when sent")
    lines: list[ReplyLine] = Field(min_length=1, max_length=10_000)

    def delivery(self, line: ReplyLine) -> dt.date:
        """The day ``line`` commits to (its week's Monday when it names no date)."""
        return line.date or line.week
