"""The demo's planning job stores what the dashboard's pages read, the orders page's hold plan
included, through the same use cases the ``peakline plant`` commands run."""

from __future__ import annotations

from pathlib import Path

from peakline.demo.planning import main
from peakline.demo.sample_erp import generate, write
from plant.store import Store


def test_planning_job_makes_forecast_plans_and_the_hold_plan(tmp_path: Path) -> None:
    write(generate(seed=5, years=3, n_skus=6), tmp_path / "erp")
    db = f"sqlite:///{tmp_path / 'plant.db'}"
    with Store.open(db) as store:
        store.import_dir(tmp_path / "erp")
    assert main(["--db", db, "--replan-minutes", "0"]) == 0
    with Store.open(db) as store:
        assert store.latest_plan("production") is not None
        hold = store.latest_hold_plan()
        assert hold is not None
        meta, _offers, _stock = hold
        assert meta["open_orders"] > 0
        assert meta["last_season"]["orders_scored"] > 0, "the orders page's replay of last season"
        releases = store.latest_plan("releases")
        assert releases is not None and releases[0]["id"] == meta["plan_id"]
