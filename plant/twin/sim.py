"""One simulated season of the plant (SimPy): lines, changeovers, breakdowns, rejects,
material arrivals, demand, first-expired-first-out shipping, storage.

Time is in hours from the plan's first day at 00:00. Each line is a SimPy process that works
through the plan's lots day by day: a changeover (time and scrap) when the flavour or the
pack format changes, materials taken from stock (a lot waits for what is missing), boxes made
at the line's rate times the day's speed, breakdowns on a clock of running hours, a reject
share drawn for the day; what is not done by the end of the shifts goes on in overtime, the
rest carries over to the next working day. Purchase orders arrive at their lead time times a
gamma draw. At each day's end the customers' orders that are due are shipped, oldest due
first, from the oldest sellable boxes.

Every random draw comes from a stream named by (seed, run, what): demand, each line's speed
and rejects, each line's breakdowns, each supplier. Two plans or two scenarios simulated with
the same seed see the same luck (common random numbers).
"""

from __future__ import annotations

import bisect
import zlib
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import simpy

from plant.planning.rules import Z90
from plant.twin.world import World

__all__ = ["RunResult", "simulate_run", "stream"]

_EPS = 1e-6
Process = Generator[simpy.Event, object, None]


def stream(seed: int, run: int, what: str) -> np.random.Generator:
    """The random stream for ``what`` in replication ``run`` (stable across plans)."""
    return np.random.default_rng([seed, run, zlib.crc32(what.encode())])


@dataclass
class RunResult:
    """What one season did: boxes by channel, waste, hours, costs and stock over time."""

    demand: dict[str, float]
    on_time: dict[str, float]
    late: dict[str, float]
    short: dict[str, float]
    orders: int = 0
    orders_late: int = 0
    orders_short: int = 0
    made_good: float = 0.0
    rejects: float = 0.0
    scrap: float = 0.0
    expired: float = 0.0
    leftover: float = 0.0
    changeovers: int = 0
    overtime_h: float = 0.0
    downtime_h: float = 0.0
    material_wait: float = 0.0  # boxes of lots that had to wait for materials
    cost: dict[str, float] = field(default_factory=dict)
    stock: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [day] boxes at day end
    safekeeping: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gantt: list[tuple[str, float, float, str, str]] = field(default_factory=list)

    @property
    def fill_rate(self) -> float:
        total = sum(self.demand.values())
        return sum(self.on_time.values()) / total if total else 1.0

    def fill_rate_by_channel(self) -> dict[str, float]:
        return {c: (self.on_time[c] / d if d else 1.0) for c, d in self.demand.items()}


def _demand(world: World, rng: np.random.Generator) -> np.ndarray:
    """Boxes ordered per SKU and day: the forecast's quantiles at a correlated normal draw."""
    n, days = world.p50.shape
    rho = world.cfg.festival_correlation * world.in_season.astype(float)
    common = rng.standard_normal()
    z = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * rng.standard_normal((n, days))
    spread = np.where(z >= 0, world.p90 - world.p50, world.p50 - world.p10)
    q = np.clip(world.p50 + spread * z / Z90, 0, None) * world.demand_factor[:, None]
    return np.floor(q + rng.random((n, days)))  # whole boxes, unbiased


class _Season:
    """The state one run shares between its processes."""

    def __init__(self, world: World, seed: int, run: int, gantt: bool) -> None:
        self.w = world
        self.seed, self.run = seed, run
        n = len(world.skus)
        self.stock = world.material_on_hand.astype(float).copy()
        # finished goods per SKU: deque of [made_day, boxes], oldest first
        self.fg: list[deque[list[float]]] = [deque() for _ in range(n)]
        for i, q in enumerate(world.fg_on_hand):
            if q > 0:
                self.fg[i].append([0.0, float(q)])
        # customer orders per SKU: sorted [due_day, boxes left, boxes, late?, firm?]
        self.backlog: list[list[list[float]]] = [[] for _ in range(n)]
        self.demand = _demand(world, stream(seed, run, "demand"))
        chans = world.channels
        self.res = RunResult({c: 0.0 for c in chans}, {c: 0.0 for c in chans},
                             {c: 0.0 for c in chans}, {c: 0.0 for c in chans},
                             stock=np.zeros(world.days), safekeeping=np.zeros(world.days))
        self.want_gantt = gantt
        self.box_days = 0.0
        self.overflow_days = 0.0
        self.made_cost = 0.0
        self.reject_cost = 0.0
        self.scrap_cost = 0.0
        self.lost_sales = 0.0
        self.firm_penalty = 0.0
        self.late_value = 0.0
        for o in world.firm:
            if o.due_day < world.days:
                self._order(o.sku, o.due_day, o.qty, firm=True)

    def _order(self, sku: int, due: int, qty: float, firm: bool = False) -> None:
        if qty <= 0 or due >= self.w.days:
            return
        self.res.demand[self.w.skus[sku].channel] += qty
        self.res.orders += 1
        bisect.insort(self.backlog[sku], [float(due), qty, qty, 0.0, float(firm)])

    # --- materials ---------------------------------------------------------------------
    def can_make(self, sku: int, boxes: float) -> float:
        for item, per in self.w.skus[sku].bom:
            if per > 0:
                boxes = min(boxes, self.stock[item] / per)
        return max(0.0, boxes)

    def use(self, sku: int, boxes: float) -> None:
        for item, per in self.w.skus[sku].bom:
            self.stock[item] = max(0.0, self.stock[item] - per * boxes)

    def arrivals(self, env: simpy.Environment) -> Process:
        rng = stream(self.seed, self.run, "suppliers")
        due = []
        for a in self.w.arrivals:
            cv = self.w.cfg.supplier_lead_cv if a.cv is None else a.cv
            g = rng.gamma(1.0 / cv**2, cv**2) if cv > 0 else 1.0
            due.append((24.0 * (a.order_day + round(a.lead * g) + a.late_days), a.item, a.qty))
        for when, item, qty in sorted(due):
            if when > env.now:
                yield env.timeout(when - env.now)
            self.stock[item] += qty

    # --- a line ------------------------------------------------------------------------
    def line(self, env: simpy.Environment, li: int) -> Process:
        w, cfg, ln = self.w, self.w.cfg, self.w.lines[li]
        beh = ln.behaviour
        rng = stream(self.seed, self.run, f"line:{ln.name}")
        bd = stream(self.seed, self.run, f"breakdowns:{ln.name}")
        to_fail = bd.exponential(beh.mtbf)
        carry: deque[list[float]] = deque()
        last: tuple[str, str] | None = None
        res = self.res
        for d in range(w.days):
            speed = max(0.2, 1.0 + beh.speed_cv * rng.standard_normal())
            rej = min(0.95, rng.beta(beh.reject_a, beh.reject_b) * ln.reject_factor)
            todays = [[float(s), q, 0.0] for s, q in w.lots.get((li, d), [])]
            if not w.working(li, d):
                carry.extend(todays)
                continue
            queue = carry
            queue.extend(todays)
            carry = deque()
            day0 = 24.0 * d
            if env.now < day0:
                yield env.timeout(day0 - env.now)
            end_reg = day0 + min(24.0, ln.hours + ln.extra_hours.get(d, 0.0))
            end_max = min(day0 + 24.0, end_reg + ln.overtime_max)
            rate = ln.rate * speed
            while queue:
                lot = queue.popleft()
                sku = int(lot[0])
                spec = w.skus[sku]
                if env.now >= end_max - _EPS:
                    carry.append(lot)
                    continue
                key = (spec.flavour, spec.packaging)
                if last is not None and key != last:
                    minutes = (cfg.changeover_flavour_min if key[0] != last[0]
                               else cfg.changeover_pack_min)
                    t0 = env.now
                    yield env.timeout(minutes / 60.0)
                    res.changeovers += 1
                    res.scrap += cfg.changeover_scrap_boxes
                    self.scrap_cost += cfg.changeover_scrap_boxes * spec.unit_cost
                    self._bar(ln.name, t0, env.now, "changeover", spec.name)
                last = key
                todo = self.can_make(sku, lot[1])
                if todo < lot[1] - _EPS:
                    if not lot[2]:  # counted once, on the day it first waits
                        res.material_wait += lot[1] - todo
                    carry.append([lot[0], lot[1] - todo, 1.0])
                t0 = env.now
                while todo > _EPS and env.now < end_max - _EPS:
                    t = min(todo / rate, end_max - env.now, to_fail)
                    yield env.timeout(t)
                    made = t * rate
                    to_fail -= t
                    todo -= made
                    self._made(sku, made, rej, d)
                    if to_fail <= _EPS:
                        self._bar(ln.name, t0, env.now, "run", spec.name)
                        repair = bd.exponential(beh.mttr)
                        res.downtime_h += repair
                        t1 = env.now
                        yield env.timeout(repair)
                        self._bar(ln.name, t1, env.now, "breakdown", "")
                        to_fail = bd.exponential(beh.mtbf)
                        t0 = env.now
                self._bar(ln.name, t0, env.now, "run", spec.name)
                if todo > _EPS:
                    carry.appendleft([lot[0], todo, lot[2]])
            if env.now > end_reg:
                res.overtime_h += min(env.now, end_max) - end_reg

    def _made(self, sku: int, boxes: float, rej: float, day: int) -> None:
        self.use(sku, boxes)
        good = boxes * (1.0 - rej)
        cost = self.w.skus[sku].unit_cost
        self.res.made_good += good
        self.res.rejects += boxes - good
        self.made_cost += good * cost
        self.reject_cost += (boxes - good) * cost
        fg = self.fg[sku]
        if fg and fg[-1][0] == day:
            fg[-1][1] += good
        else:
            fg.append([float(day), good])

    def _bar(self, line: str, t0: float, t1: float, kind: str, sku: str) -> None:
        if self.want_gantt and t1 > t0 + _EPS:
            self.res.gantt.append((line, t0, t1, kind, sku))

    # --- the day's end: orders in, shipping, expiry, storage ------------------------------
    def days(self, env: simpy.Environment) -> Process:
        w, cfg, res = self.w, self.w.cfg, self.res
        for d in range(w.days):
            yield env.timeout(24.0 * (d + 1) - _EPS - env.now)
            for k in np.flatnonzero(self.demand[:, d]):
                self._order(int(k), int(w.due[k, d]), float(self.demand[k, d]))
            total, held = 0.0, 0.0
            for s, spec in enumerate(w.skus):
                fg = self.fg[s]
                while fg and d - fg[0][0] > spec.sell_days:  # too old for a customer
                    res.expired += fg.popleft()[1]
                self._ship(s, spec.channel, d)
                on_hand = sum(b[1] for b in fg)
                waiting = sum(o[1] for o in self.backlog[s] if o[0] > d)
                total += on_hand
                held += min(on_hand, waiting)
            res.stock[d], res.safekeeping[d] = total, held
            self.box_days += total
            self.overflow_days += max(0.0, total - cfg.fg_capacity_boxes) + max(
                0.0, held - cfg.safekeeping_capacity_boxes)

    def _ship(self, s: int, channel: str, d: int) -> None:
        w, res, fg = self.w, self.res, self.fg[s]
        book = self.backlog[s]
        keep = []
        spec = w.skus[s]
        wait = w.cfg.ecommerce_max_late_days if spec.direct else w.days
        for o in book:
            if o[0] > d:
                keep.append(o)
                continue
            while o[1] > _EPS and fg:
                take = min(o[1], fg[0][1])
                o[1] -= take
                fg[0][1] -= take
                if fg[0][1] <= _EPS:
                    fg.popleft()
                if d > o[0]:
                    res.late[channel] += take
                    self.late_value += take * spec.price
                    o[3] = 1.0
                else:
                    res.on_time[channel] += take
            if o[1] <= _EPS:
                res.orders_late += int(o[3] > 0)
                continue
            gone = d >= o[0] + wait or o[0] <= w.festival_day < d or d == w.days - 1
            if gone:  # cancelled by the customer, or the festival has passed
                res.short[channel] += o[1]
                self.lost_sales += o[1] * spec.price
                self.firm_penalty += o[1] * spec.price * o[4]
                res.orders_short += 1
            else:
                keep.append(o)
        self.backlog[s] = keep

    def finish(self) -> RunResult:
        w, cfg, res = self.w, self.w.cfg, self.res
        salvage = 0.0
        for s, spec in enumerate(w.skus):
            left = sum(b[1] for b in self.fg[s])
            res.leftover += left
            salvage += left * spec.salvage
        res.cost = {
            "production": self.made_cost,
            "rejects": self.reject_cost,
            "changeover": self.scrap_cost + res.changeovers * cfg.changeover_cost,
            "overtime": res.overtime_h * cfg.overtime_cost_per_hour,
            "holding": self.box_days * cfg.holding_cost_per_box_day
            + self.overflow_days * cfg.overflow_cost_per_box_day,
            "lost_sales": self.lost_sales,
            "late_penalty": self.late_value * cfg.late_penalty_share,
            "open_orders_short": self.firm_penalty * cfg.firm_short_penalty_share,
            "salvage": -salvage,
        }
        res.cost["total"] = sum(res.cost.values())
        return res


def simulate_run(world: World, seed: int, run: int, gantt: bool = False) -> RunResult:
    """One season of ``world`` with the draws of replication ``run`` of ``seed``."""
    env = simpy.Environment()
    season = _Season(world, seed, run, gantt)
    for li in range(len(world.lines)):
        env.process(season.line(env, li))
    env.process(season.arrivals(env))
    env.process(season.days(env))
    env.run(until=24.0 * world.days)
    return season.finish()
