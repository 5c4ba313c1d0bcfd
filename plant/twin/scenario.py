"""Scenarios: a TOML file that changes the world the twin simulates, not the code.

    name = "L2 down before the OEM cutoff"
    [[line_down]]                  # a line stands still for some days
    line = "L2"
    before_cutoff = "oem"          # the days just before this channel's ship-by cutoff
    days = 3                       # (or: start = "2026-08-20")
    [[reject_rate]]                # a line's reject rate multiplied
    line = "L1"
    factor = 2.0
    [[supplier_late]]              # deliveries arrive later than planned
    item = "gift_box_8"            # a material or packaging item, "*" for all of them, or
                                   # supplier = "S1": everything that supplier delivers
    days = 10
    [[demand]]                     # demand of a channel or a SKU multiplied
    channel = "ecommerce"
    factor = 1.3
    [[extra_shift]]                # a line works one more shift on its days, and Saturdays
    line = "L3"
    hours = 8
    [overtime]
    max_hours = 4                  # overtime a line may work per day

:func:`load_scenario` checks the file's keys and values (a negative factor is refused with the
key); :func:`apply_scenario` checks its names against the world (a line, SKU, item or channel
that does not exist is refused by name) and returns a changed copy.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from peakline.config import Section, format_errors, read_toml
from peakline.errors import ConfigError, DataError
from plant.twin.world import World

__all__ = ["Scenario", "apply_scenario", "load_scenario"]


class LineDown(Section):
    """A line that stands still for ``days`` days."""

    line: str = Field(description="the line (as in the master data)")
    days: int = Field(ge=1, le=366, description="how many days it is down")
    start: dt.date | None = Field(default=None, description="first day down")
    before_cutoff: str | None = Field(
        default=None, description="instead of start: the days just before this channel's "
        "ship-by cutoff")

    @model_validator(mode="after")
    def _one_start(self) -> LineDown:
        if (self.start is None) == (self.before_cutoff is None):
            raise ValueError("give either start or before_cutoff")
        return self


class RejectRate(Section):
    """A line whose reject rate is multiplied."""

    line: str = Field(description="the line")
    factor: float = Field(ge=0, le=50, description="multiplier of its reject rate (2 doubles)")


class SupplierLate(Section):
    """Purchase orders of an item, or of everything a supplier delivers, arriving late."""

    item: str | None = Field(default=None,
                             description="material or packaging item, or '*' for every item")
    supplier: str | None = Field(default=None,
                                 description="or a supplier: every item it delivers")
    days: int = Field(ge=-60, le=366, description="days later than the lead time says")

    @model_validator(mode="after")
    def _one_target(self) -> SupplierLate:
        if (self.item is None) == (self.supplier is None):
            raise ValueError("give either item or supplier")
        return self


class Demand(Section):
    """Demand of a channel or a SKU multiplied."""

    channel: str | None = Field(default=None, description="the channel (oem, retail, ...)")
    sku: str | None = Field(default=None, description="or one SKU")
    factor: float = Field(ge=0, le=20, description="multiplier of its demand (1.3 = +30%)")

    @model_validator(mode="after")
    def _one_target(self) -> Demand:
        if (self.channel is None) == (self.sku is None):
            raise ValueError("give either channel or sku")
        return self


class ExtraShift(Section):
    """A line working more hours on its days and on Saturdays."""

    line: str = Field(description="the line")
    hours: float = Field(default=8.0, gt=0, le=24, description="extra hours a day")
    start: dt.date | None = Field(default=None, description="first day (default: all season)")
    end: dt.date | None = Field(default=None, description="last day (default: all season)")


class Overtime(Section):
    """Overtime allowed per line and day."""

    max_hours: float = Field(ge=0, le=24, description="overtime hours a line may work a day")


class Scenario(Section):
    """A changed world: breakdowns, rejects, suppliers, demand, shifts, overtime."""

    name: str = Field(default="scenario", description="shown in reports and on the dashboard")
    description: str = Field(default="", description="what the scenario asks")
    line_down: list[LineDown] = Field(default_factory=list, description="lines standing still")
    reject_rate: list[RejectRate] = Field(default_factory=list,
                                          description="reject rates multiplied")
    supplier_late: list[SupplierLate] = Field(default_factory=list,
                                              description="deliveries arriving late")
    demand: list[Demand] = Field(default_factory=list, description="demand multiplied")
    extra_shift: list[ExtraShift] = Field(default_factory=list, description="shifts added")
    overtime: Overtime | None = Field(default=None, description="overtime allowed")


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in the TOML file at ``path``; ConfigError naming every bad key."""
    data = read_toml(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, str(path), model=Scenario)) from exc


def _need(name: str, known: dict[str, int] | list[str], what: str, where: str) -> None:
    if name not in known:
        names = ", ".join(sorted(known))
        raise DataError(f"{where}: no {what} {name!r} in the master data (known: {names})")


def apply_scenario(world: World, sc: Scenario, source: str = "scenario") -> World:
    """A copy of ``world`` changed by ``sc``; DataError for a name the world does not have."""
    w = copy.deepcopy(world)
    lines = w.line_index
    for i, d in enumerate(sc.line_down):
        where = f"{source}: line_down[{i}]"
        _need(d.line, lines, "line", where)
        if d.before_cutoff is not None:
            _need(d.before_cutoff, w.channels, "channel", where)
            first = w.cutoffs[d.before_cutoff] - d.days
        else:
            assert d.start is not None
            first = w.day(d.start)
        w.lines[lines[d.line]].down_days.update(range(first, first + d.days))
    for i, r in enumerate(sc.reject_rate):
        _need(r.line, lines, "line", f"{source}: reject_rate[{i}]")
        w.lines[lines[r.line]].reject_factor *= r.factor
    items = {it: i for i, it in enumerate(w.items)}
    for i, s in enumerate(sc.supplier_late):
        where = f"{source}: supplier_late[{i}]"
        if s.supplier is not None:
            _need(s.supplier, {k: 0 for k in w.suppliers}, "supplier", where)
            late = set(w.suppliers[s.supplier])
        elif s.item == "*":
            late = set(range(len(w.items)))
        else:
            assert s.item is not None
            _need(s.item, items, "item", where)
            late = {items[s.item]}
        for a in w.arrivals:
            if a.item in late:
                a.late_days += s.days
    skus = w.sku_index
    for i, m in enumerate(sc.demand):
        where = f"{source}: demand[{i}]"
        if m.sku is not None:
            _need(m.sku, skus, "SKU", where)
            w.demand_factor[skus[m.sku]] *= m.factor
        else:
            assert m.channel is not None
            _need(m.channel, w.channels, "channel", where)
            for j, spec in enumerate(w.skus):
                if spec.channel == m.channel:
                    w.demand_factor[j] *= m.factor
    for i, e in enumerate(sc.extra_shift):
        _need(e.line, lines, "line", f"{source}: extra_shift[{i}]")
        lo = w.day(e.start) if e.start else 0
        hi = w.day(e.end) if e.end else w.days - 1
        ln = w.lines[lines[e.line]]
        for day in range(max(0, lo), min(w.days - 1, hi) + 1):
            if w.date(day).weekday() < max(ln.days_per_week, 6):
                ln.extra_hours[day] = e.hours
    if sc.overtime is not None:
        for ln in w.lines:
            ln.overtime_max = sc.overtime.max_hours
    return w

