"""Plans out to the ERP: the one list of plan kinds and the plan message.

A plan is published retained, QoS 1, on ``peakline/v1/<site>/plans/<kind>``. A plan larger than
one message is split: part 1 (with the explanation) on ``plans/<kind>``, parts 2..n on
``plans/<kind>/<part>``; a consumer reads ``parts`` from part 1 and takes only parts with the
same ``plan_id``. Rows are the plan's table, one JSON object per row, dates as ``YYYY-MM-DD``.

Two commands make plans: ``peakline plant plan`` makes the :data:`FORECAST_PLAN_KINDS` from the
latest forecast under one plan id; ``peakline plant holds`` makes the :data:`HOLD_PLAN_KINDS`
(the release schedule of held web shop orders after the festival, with no forecast id). The plant
service publishes every kind the same way.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from peakline.wire.codec import Name, Payload

__all__ = ["FORECAST_PLAN_KINDS", "HOLD_PLAN_KINDS", "PLAN_KINDS", "PlanKind",
           "PlanMessage"]


class PlanKind(StrEnum):
    """What the plant plans; each kind is stored, published and exported on its own."""

    PRODUCTION = "production"
    INVENTORY = "inventory"
    MATERIALS = "materials"
    PURCHASES = "purchases"
    PACKAGING = "packaging"
    EXCEPTIONS = "exceptions"
    BUY_AHEAD = "buy_ahead"
    RELEASES = "releases"


#: every plan kind, in the order a plant manager reads them
PLAN_KINDS: tuple[str, ...] = tuple(k.value for k in PlanKind)
#: the plans of held orders (``peakline plant holds``)
HOLD_PLAN_KINDS: tuple[str, ...] = (PlanKind.RELEASES.value,)
#: the plans made from a forecast, together (``peakline plant plan``)
FORECAST_PLAN_KINDS: tuple[str, ...] = tuple(k for k in PLAN_KINDS if k not in HOLD_PLAN_KINDS)


class PlanMessage(Payload):
    """One part of a plan: its identity, the forecast it came from and a slice of its rows."""

    schema_: Literal["peakline.plan/1"] = Field(default="peakline.plan/1", alias="schema")
    site: Name
    kind: PlanKind
    plan_id: str = Field(min_length=1, max_length=128)
    forecast_id: str | None = Field(default=None, max_length=128)
    created_at: float | None = Field(default=None, description="Unix seconds")
    part: int = Field(ge=1, description="1-based part number")
    parts: int = Field(ge=1, description="how many parts the plan has")
    columns: list[str] = Field(description="the plan table's columns, in order")
    explanation: dict[str, Any] | None = Field(
        default=None, description="the figures behind the plan (part 1 only)"
    )
    rows: list[dict[str, Any]] = Field(description="rows of this part, column -> value")
