"""Twin settings: what the master data does not say about the plant (changeovers, breakdowns,
overtime, storage, costs), with defaults that fit the sample mooncake factory.

A strict section (``[twin]`` in the plant service's TOML). The lines' rates, shifts and
working days come from the store's master data, their speed spread, stoppages and reject
rates from what the camera nodes measured; these settings fill in the rest and are the
fallback where the nodes have measured nothing.
"""

from __future__ import annotations

from pydantic import Field

from peakline.config import Section

__all__ = ["TwinConfig"]


class TwinConfig(Section):
    """How the twin simulates the plant (defaults fit the sample mooncake factory)."""

    changeover_flavour_min: float = Field(
        default=45.0, ge=0, description="minutes to change a line to another flavour "
        "(cleaning the depositor and moulds)")
    changeover_pack_min: float = Field(
        default=20.0, ge=0, description="minutes to change a line to another pack format "
        "(tray, box or tin) when the flavour stays")
    changeover_scrap_boxes: float = Field(
        default=15.0, ge=0, description="boxes scrapped at each changeover (start-up waste)")
    changeover_cost: float = Field(
        default=300.0, ge=0, description="fixed cost of one changeover (cleaning, labour)")
    mtbf_hours: float = Field(
        default=40.0, gt=0, description="mean running hours between breakdowns of a line, "
        "used where the nodes have recorded no stoppages")
    mttr_hours: float = Field(
        default=1.5, gt=0, description="mean hours to repair a breakdown, used where the "
        "nodes have recorded no stoppages")
    speed_cv: float = Field(
        default=0.05, ge=0, lt=1, description="day-to-day spread of a line's speed "
        "(coefficient of variation), used where the nodes have measured none")
    reject_rate: float = Field(
        default=0.03, ge=0, lt=1, description="mean reject rate of a line the nodes have not "
        "measured")
    reject_cv: float = Field(
        default=0.3, ge=0, lt=3, description="day-to-day spread of the reject rate "
        "(coefficient of variation) where the nodes measured too little to fit it")
    overtime_max_hours: float = Field(
        default=2.0, ge=0, le=24, description="overtime a line may work after its shifts on "
        "a working day to finish the day's lots")
    overtime_cost_per_hour: float = Field(
        default=900.0, ge=0, description="cost of one overtime hour of one line (crew premium)")
    holding_cost_per_box_day: float = Field(
        default=0.05, ge=0, description="cost of keeping one box in finished goods for a day")
    fg_capacity_boxes: float = Field(
        default=60_000.0, gt=0, description="finished-goods store, boxes; beyond it goods go "
        "to rented space at overflow_cost_per_box_day")
    safekeeping_capacity_boxes: float = Field(
        default=30_000.0, gt=0, description="boxes the plant can keep for customers whose "
        "orders wait for their ship-by date (part of the finished-goods store)")
    overflow_cost_per_box_day: float = Field(
        default=0.5, ge=0, description="cost of a box-day in rented storage")
    late_penalty_share: float = Field(
        default=0.1, ge=0, le=1, description="penalty for a box shipped after its due date, "
        "as a share of its price")
    firm_short_penalty_share: float = Field(
        default=0.5, ge=0, le=10, description="penalty for a box of an open (confirmed) "
        "customer order never shipped, as a share of its price, on top of the lost sale "
        "(a brand customer's contract penalty)")
    ecommerce_max_late_days: int = Field(
        default=2, ge=0, description="days a consumer order of a direct-ship channel waits "
        "before it is cancelled (short)")
    supplier_lead_cv: float = Field(
        default=0.2, ge=0, lt=2, description="spread of supplier lead times (coefficient of "
        "variation); arrivals come at the planned lead time times a gamma draw of mean 1")
    festival_correlation: float = Field(
        default=0.5, ge=0, le=1, description="share of the demand variance the SKUs have in "
        "common in the festival window (a good or a bad season lifts or sinks all)")
    firm_orders_must_ship: bool = Field(
        default=False, description="the optimiser must plan every open customer order in full "
        "(refusing, with what binds, when it cannot); otherwise a short open order costs the "
        "late penalty on top of the lost sale")
    target_fill_rate: float = Field(
        default=0.95, gt=0, le=1, description="fill rate a plan must reach; the optimiser picks "
        "the cheapest candidate that reaches it (or the best fill rate if none does)")
