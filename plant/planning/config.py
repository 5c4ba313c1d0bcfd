"""Planning settings: the peak the season is built around, channels' ship-by cutoffs, yields.

A strict section (``[planning]`` in the plant service's TOML, see :mod:`plant.config`), so the
plans that ``peakline plant plan`` makes and the ones ``plant serve`` publishes use the same
settings. Every number that shapes a plan has a name and a description here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from peakline.config import Section
from peakline.errors import PeaklineError
from plant.peaks import DEFAULT_PEAK, DEFAULT_SEASON_DAYS

if TYPE_CHECKING:
    from plant.calendar import HolidayCalendar

__all__ = ["PlanConfig"]


class PlanConfig(Section):
    """How plans are made (defaults fit the sample mooncake factory)."""

    peak: str = Field(
        default=DEFAULT_PEAK,
        description="the festival the season is built around: a built-in peak (mid_autumn, "
        "spring_festival, dragon_boat, easter, christmas, thanksgiving, black_friday, "
        "eid_al_fitr, diwali) or a festival named in the events file",
    )
    events: str | None = Field(
        default=None,
        description="extra events CSV (date, name, kind[, days_before, days_after]) instead of "
        "the packaged promotion days: closures, festivals on another date, the plant's own "
        "festivals; plans, re-plans and hold plans use it (a command's --events overrides "
        "it); a relative path is relative to the TOML file's folder (unset: packaged events)",
    )
    season_days: int = Field(
        default=DEFAULT_SEASON_DAYS, ge=7, le=366,
        description="days before the peak that count as its season (stock is built for them)",
    )
    ship_by_days: dict[str, int] = Field(
        default_factory=lambda: {"oem": 28, "retail": 21, "ecommerce": 2},
        description="per channel: days before the peak its goods must leave the factory",
    )
    direct_ship_max_days: int = Field(
        default=2, ge=0,
        description="a channel whose ship-by is at most this many days ships to consumers as "
        "orders come (e-commerce): needed the day ordered, not stocked ahead of its cutoff",
    )
    late_order_lead_days: int = Field(
        default=7, ge=0,
        description="an order placed after its channel's cutoff is needed this many days later",
    )
    default_reject_rate: float = Field(
        default=0.03, ge=0, lt=1,
        description="reject rate used while the lines have measured none",
    )
    min_remaining_shelf: float = Field(
        default=0.5, ge=0, lt=1,
        description="share of the shelf life a customer must still have on delivery",
    )
    default_shelf_life_days: int = Field(
        default=60, ge=1,
        description="shelf life of a SKU whose master data gives none",
    )
    material_service_level: float = Field(
        default=0.95, gt=0, lt=1,
        description="chance that materials and packaging cover the plan (safety stock)",
    )
    service_level: float | None = Field(
        default=None, gt=0, lt=1,
        description="fixed service level for finished goods instead of each SKU's newsvendor "
        "critical ratio (unset: the critical ratio)",
    )
    material_cover_days: int = Field(
        default=28, ge=1, description="days of need one material order covers at most"
    )
    holding_cost_rate: float = Field(
        default=0.25, ge=0, le=5,
        description="cost of holding stock a year, as a share of its value (capital, storage, "
        "insurance): what buying a material ahead of its order-by date costs",
    )
    storage_limits: dict[str, float] = Field(
        default_factory=dict,
        description="per material: the most the plant's store can hold (in the item's unit); "
        "buying ahead stays within it (an item not named has no limit)",
    )

    @field_validator("events")
    @classmethod
    def _readable_events(cls, path: str | None) -> str | None:
        if path is not None:
            from plant.calendar import read_events

            try:
                read_events(path)
            except PeaklineError as exc:
                raise ValueError(str(exc)) from exc
        return path

    def calendar(self, country: str = "CN", events: str | None = None) -> HolidayCalendar:
        """The holiday calendar plans are made with: the country's holidays and ``events``
        (a command's ``--events``), else this section's ``events``, else the packaged ones."""
        from plant.calendar import HolidayCalendar

        return HolidayCalendar.default(country, events or self.events)
