"""The dashboard's shared view of the store: cached snapshots so ten wall screens cost one query.

Every screen's live stream reads the same snapshot, recomputed at most once per refresh
interval; slower-changing parts (plans, forecast) are cached longer. A store error does not
take the page down: the snapshot carries the error text and the screens show it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from peakline.progress import read_progress
from peakline.wire import PLAN_KINDS, PlanKind
from plant.dashboard import views
from plant.dashboard.alerts import (
    exception_alerts,
    line_alerts,
    next_festival,
    plan_alerts,
    sort_alerts,
)
from plant.dashboard.config import DashboardConfig
from plant.dashboard.frames import as_date
from plant.dashboard.scenarios import scenarios_view, simulation_view
from plant.planning.config import PlanConfig

if TYPE_CHECKING:
    from plant.calendar import HolidayCalendar

__all__ = ["DashboardState"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_SLOW_S = 10.0


def _digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


class DashboardState:
    """Cached, thread-safe access to the dashboard's views of one store.

    ``planning``: the plant's ``[planning]`` section (None: the defaults), whose peak the
    countdown shows until an inventory plan names the one it was built around."""

    def __init__(self, store: views.DashboardStore, config: DashboardConfig,
                 planning: PlanConfig | None = None) -> None:
        self.store = store
        self.config = config
        self.planning = planning or PlanConfig()
        self.stopping = threading.Event()
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[float, Any]] = {}
        self._logged: set[str] = set()

    def cached(self, key: str, ttl: float, compute: Callable[[], T]) -> T:
        """``compute()``'s value, reused for ``ttl`` seconds; one computation at a time."""
        with self._lock:
            hit = self._cache.get(key)
            now = time.monotonic()
            if hit is not None and now - hit[0] < ttl:
                return hit[1]
            value = compute()
            self._cache[key] = (time.monotonic(), value)
            return value

    def _guard(self, what: str, compute: Callable[[], T], fallback: T) -> tuple[T, str | None]:
        try:
            return compute(), None
        except Exception as exc:  # the page stays up and says what failed
            message = f"{what}: {type(exc).__name__}: {exc}"
            if message not in self._logged:
                self._logged.add(message)
                log.warning("dashboard could not read %s", message)
            return fallback, message

    @cached_property
    def calendar(self) -> HolidayCalendar:
        """The plant's calendar (``[planning] events``), which dates its peak."""
        return self.planning.calendar()

    def gallery(self) -> list[dict[str, Any]]:
        limit = self.config.gallery_limit
        return self.cached(
            "gallery", self.config.refresh_s, lambda: views.gallery(self.store, limit)
        )

    def forecast(self) -> dict[str, Any] | None:
        return self.cached("forecast", _SLOW_S, lambda: views.forecast_view(
            self.store, self.calendar, self.planning.peak))

    def backtest(self) -> dict[str, Any] | None:
        return self.cached("backtest", _SLOW_S, lambda: views.backtest_view(self.store))

    def plan(self, kind: str) -> dict[str, Any] | None:
        def compute() -> dict[str, Any] | None:
            forecast = self.forecast()
            start = None
            if forecast is not None:
                start = as_date(forecast["meta"].get("start")) or as_date(forecast["ds"][0])
            return views.plan_view(self.store, kind, self.config, today=start)

        return self.cached(f"plan:{kind}", _SLOW_S, compute)

    def scenarios(self) -> dict[str, Any] | None:
        """The twin's baseline and scenarios of the newest simulated plan."""
        return self.cached("scenarios", _SLOW_S, lambda: scenarios_view(self.store))

    def simulation(self, sim_id: str) -> dict[str, Any] | None:
        """One simulation's stock over time and Gantt."""
        return self.cached(f"simulation:{sim_id}", _SLOW_S,
                           lambda: simulation_view(self.store, sim_id))

    def history(self) -> dict[str, Any]:
        """Items/min per node over the last quarter hour, to seed the live chart."""
        return self.cached(
            "history",
            5.0,
            lambda: self.store.throughput_history(15 * 60.0, 10.0, self.config.window_s),
        )

    def _baseline(self) -> dict[str, dict[str, Any]]:
        def compute() -> dict[str, dict[str, Any]]:
            df = self.store.line_summary(window_s=self.config.baseline_window_s)
            rows = views.frame_records(df)
            return {f"{r.get('line')}/{r.get('node')}": r for r in rows}

        return self.cached("baseline", _SLOW_S, compute)

    def live(self) -> dict[str, Any]:
        """The snapshot pushed to every screen: lines, alerts, and what changed elsewhere."""
        return self.cached("live", self.config.refresh_s * 0.9, self._live)

    def _live(self) -> dict[str, Any]:
        errors: list[str] = []
        empty: dict[str, Any] = {"ts": time.time(), "nodes": [], "totals": {}}
        overview, err = self._guard(
            "lines", lambda: views.lines_overview(self.store, self.config), empty
        )
        errors += [err] if err else []
        no_rows: dict[str, dict[str, Any]] = {}
        baseline, err = self._guard("baseline", self._baseline, no_rows)
        errors += [err] if err else []
        alerts = line_alerts(overview, baseline, self.config) if overview["nodes"] else []
        forecast, err = self._guard("forecast", self.forecast, None)
        errors += [err] if err else []
        plans: dict[str, str | None] = {}
        as_of: dt.date | None = None
        by_kind: dict[str, dict[str, Any] | None] = {}
        for kind in PLAN_KINDS:
            plan, err = self._guard(f"{kind} plan", lambda k=kind: self.plan(k), None)  # type: ignore[misc]
            errors += [err] if err else []
            by_kind[kind] = plan
            plans[kind] = _digest(plan["meta"]) if plan else None
            if plan is not None:
                as_of = as_date(plan["as_of"]) or as_of
        festival, err = self._guard("festival", lambda: next_festival(
            as_of or dt.date.today(), by_kind[PlanKind.INVENTORY], self.calendar,
            self.planning.peak), None)
        errors += [err] if err else []
        found = exception_alerts(by_kind[PlanKind.EXCEPTIONS])
        alerts += found
        if not found:  # the planner said nothing: read the tables for run-outs and late orders
            for kind in (PlanKind.MATERIALS, PlanKind.PURCHASES, PlanKind.PACKAGING):
                alerts += plan_alerts(by_kind[kind], festival)
        no_items: list[dict[str, Any]] = []
        gallery, err = self._guard("rejects", self.gallery, no_items)
        errors += [err] if err else []
        preparing = read_progress(self.config.progress_file) if self.config.progress_file \
            else None
        return {
            **overview,
            "site": self.config.site,
            "preparing": preparing,
            "alerts": sort_alerts(alerts),
            "festival": festival,
            "as_of": (as_of or dt.date.today()).isoformat(),
            "versions": {
                "gallery": _digest([(g.get("line"), g.get("node"), g.get("boot_id"), g.get("seq"))
                                     for g in gallery]),
                "forecast": _digest(forecast["meta"]) if forecast else None,
                "plans": plans,
            },
            "errors": errors,
        }
