"""The dashboard's scenarios page: the twin's simulations through the HTTP API."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.twin import forecast, world
from support.waiting import wait_until

from plant.dashboard import DashboardServer
from plant.store import Store
from plant.twin.montecarlo import simulate
from plant.twin.run import TwinRun, simulation_meta

from .browser import chromium, console_errors
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


@pytest.mark.browser
def test_the_scenarios_panel_shows_the_table_the_stock_chart_and_the_gantt(
    dashboard: DashboardServer, store: Store, tmp_path: Path,
) -> None:
    _store_simulation(store, "sim-base", "baseline", 1.0)
    _store_simulation(store, "sim-half", "L1 at half speed", 0.5)
    driver = chromium(tmp_path / "profile")
    try:
        driver.get(dashboard.url.rstrip("/") + "/#scenarios")

        def shown() -> bool:
            return bool(driver.execute_script(
                "return document.querySelectorAll('#scenario-table tbody tr').length === 2"
                " && document.querySelectorAll('#gantt .bar').length > 0"
                " && !!document.querySelector('#stock-chart canvas');"))

        wait_until("the scenarios panel", shown, 30, 0.5)
        rows = driver.execute_script(
            "return [...document.querySelectorAll('#scenario-table tbody tr')]"
            ".map((tr) => tr.children[0].textContent);")
        assert rows == ["baseline", "L1 at half speed"]
        driver.execute_script(
            "document.querySelectorAll('#scenario-table tbody tr')[1].click();")
        wait_until("the other simulation selected", lambda: driver.execute_script(
            "return window.peakline.simulationId === 'sim-half';"), 10, 0.2)
        assert [e for e in console_errors(driver) if e.get("level") == "SEVERE"] == []
    finally:
        driver.quit()
