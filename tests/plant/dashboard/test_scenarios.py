"""The dashboard's scenarios page: the twin's simulations through the HTTP API."""

from __future__ import annotations

from support.twin import forecast, world

from plant.dashboard import DashboardServer
from plant.store import Store
from plant.twin.montecarlo import simulate
from plant.twin.run import TwinRun, simulation_meta

from .test_api import get, get_json


def _store_simulation(store: Store, sim_id: str, scenario: str, factor: float) -> None:
    fc = forecast(p50=30.0, spread=10.0)
    w = world([("L1", d, "RBN-GB4-ECO01", 200 * factor) for d in range(0, 21)], fc=fc)
    run = TwinRun(sim_id, "plan-1", "fc-1", scenario, simulate(w, 4, 1))
    store.save_simulation(sim_id, "fc-1", run.simulation.per_run(), simulation_meta(run))


def test_scenarios_against_the_baseline_with_stock_and_gantt(
    dashboard: DashboardServer, store: Store,
) -> None:
    assert get_json(dashboard.url, "/api/scenarios") is None
    _store_simulation(store, "sim-base", "baseline", 1.0)
    _store_simulation(store, "sim-half", "L1 at half speed", 0.5)
    status, _, _ = get(dashboard.url, "/api/simulations/sim-nope")
    assert status == 404
    sim = get_json(dashboard.url, "/api/simulations/sim-half")
    assert sim["scenario"] == "L1 at half speed"
    assert len(sim["stock"]["date"]) == 21 and len(sim["stock"]["stock_p50"]) == 21
    assert set(sim["gantt"]["kind"]) >= {"run"} and set(sim["gantt"]["line"]) == {"L1"}
    view = get_json(dashboard.url, "/api/scenarios")  # cached for a while: may be empty
    if view is not None:
        rows = {r["scenario"]: r for r in view["rows"]}
        assert view["plan_id"] == "plan-1"
        assert rows["baseline"]["cost"] > 0
        half = rows["L1 at half speed"]
        assert half["fill_rate"] < rows["baseline"]["fill_rate"]
        assert half["fill_rate_delta"] < 0
