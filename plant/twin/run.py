"""The twin's use cases: a stored plan simulated over its season, and the result stored.

``peakline plant simulate`` and the optimiser call :func:`load_world` and
:func:`simulate_plan`; every check (the plan, its forecast, the scenario's names) runs before
anything is simulated, and the simulation is stored only when it is complete.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from peakline.errors import DataError
from peakline.wire import PlanKind
from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.run import planning_data
from plant.twin.config import TwinConfig
from plant.twin.measure import measure_lines
from plant.twin.montecarlo import Simulation, simulate
from plant.twin.scenario import Scenario, apply_scenario
from plant.twin.world import World, build_world

__all__ = ["TwinRun", "load_world", "master_data", "simulate_plan", "simulation_meta"]


@dataclass(frozen=True)
class TwinRun:
    """One stored simulation of a plan (under a scenario, or the baseline)."""

    sim_id: str
    plan_id: str
    forecast_id: str
    scenario: str
    simulation: Simulation

    def summary(self) -> dict[str, Any]:
        return {"simulation_id": self.sim_id, "plan_id": self.plan_id,
                "forecast_id": self.forecast_id, "scenario": self.scenario,
                **self.simulation.summary()}


def master_data(store: Any) -> dict[str, Any]:
    """The tables a plan and the twin are built from (those of the planner)."""
    return planning_data(store)


def load_world(store: Any, plan_id: str, cal: HolidayCalendar, plan_cfg: PlanConfig,
               cfg: TwinConfig, scenario: Scenario | None = None,
               scenario_source: str = "scenario", reject_days: float = 7.0,
               ) -> tuple[World, str, str]:
    """(world, plan id, forecast id) of a stored production plan (``latest``: the newest)."""
    if plan_id == "latest":
        found_id = store.latest_plan_id(PlanKind.PRODUCTION)
        if found_id is None:
            raise DataError("no production plan in the store; run `peakline plant plan` first")
        plan_id = found_id
    found = store.plan(PlanKind.PRODUCTION, plan_id)
    if found is None:
        raise DataError(f"no production plan {plan_id!r} in the store "
                        "(--plan latest takes the newest)")
    meta, plan = found
    forecast_id = str(meta.get("forecast_id"))
    fc = store.forecast(forecast_id)
    if fc is None:
        raise DataError(f"plan {plan_id} was made from forecast {forecast_id}, which is no "
                        "longer in the store; make a new plan from a current forecast")
    purchases = store.plan(PlanKind.PURCHASES, plan_id)
    purchases_df = purchases[1] if purchases is not None else plan.iloc[0:0]
    data = master_data(store)
    if data["lines"].empty or data["skus"].empty:
        raise DataError("the store has no lines or no SKUs; import the master data first")
    behaviour = measure_lines(store, [str(x) for x in data["lines"]["line"]], cfg, reject_days)
    world = build_world(plan, purchases_df, fc[1], data, behaviour, cal, plan_cfg, cfg)
    if scenario is not None:
        world = apply_scenario(world, scenario, scenario_source)
    return world, plan_id, forecast_id


def simulation_meta(run: TwinRun, scenario: Scenario | None = None) -> dict[str, Any]:
    """What is stored with a simulation: summary, scenario, lines' sources, charts."""
    sim = run.simulation
    lines = {ln.name: {"source": ln.behaviour.source,
                       "reject_mean": round(ln.behaviour.reject_mean, 4),
                       "speed_cv": round(ln.behaviour.speed_cv, 4),
                       "mtbf_h": round(ln.behaviour.mtbf, 1),
                       "mttr_h": round(ln.behaviour.mttr, 2)} for ln in sim.world.lines}
    return {"summary": run.summary(), "plan_id": run.plan_id, "scenario": run.scenario,
            "scenario_text": scenario.model_dump(mode="json") if scenario else None,
            "lines": lines, "stock": sim.stock_over_time().to_dict("list"),
            "gantt": sim.gantt().to_dict("list")}


def simulate_plan(store: Any, plan_id: str, runs: int, seed: int, cal: HolidayCalendar,
                  plan_cfg: PlanConfig, cfg: TwinConfig, scenario: Scenario | None = None,
                  scenario_source: str = "scenario", save: bool = True, jobs: int = 1,
                  ) -> TwinRun:
    """Simulate a stored plan ``runs`` times (over ``jobs`` processes) and store it."""
    world, plan_id, forecast_id = load_world(store, plan_id, cal, plan_cfg, cfg, scenario,
                                             scenario_source)
    sim = simulate(world, runs, seed, jobs)
    name = scenario.name if scenario is not None else "baseline"
    sim_id = f"sim-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    run = TwinRun(sim_id, plan_id, forecast_id, name, sim)
    if save:
        store.save_simulation(sim_id, forecast_id, sim.per_run(), simulation_meta(run, scenario))
    return run
