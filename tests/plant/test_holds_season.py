"""The hold plan's season is the plant's ``[planning] season_days``: last season's orders that
set the value threshold, the replay of last season and the re-plans follow it; the default
(100 days) keeps the plan it made before the setting reached it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from support.configs import to_toml

from peakline.cli import main
from peakline.demo.sample_erp import generate
from plant.calendar import HolidayCalendar
from plant.orders.holds import HoldSettings
from plant.orders.run import holds_into_store
from plant.orders.season import season_orders
from plant.planning.config import PlanConfig
from plant.planning.replan import replan
from plant.store import Store

FESTIVAL = dt.date(2024, 9, 17)     # last year's Mid-Autumn, the season the threshold reads


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    """Two years of the sample web shop to 2025-09-20 (as the store keeps it)."""
    data = generate(seed=11, years=2, n_skus=4, end=dt.date(2025, 9, 20))
    return {"skus": data["skus"],
            "shop_orders": data["shop_orders"].drop(columns="days_to_holiday")}


def _db(tmp_path: Path, shop: dict[str, pd.DataFrame]) -> str:
    url = f"sqlite:///{tmp_path / 'plant.db'}"
    with Store.open(url) as store:
        store.upsert_rows("skus", shop["skus"])
        store.upsert_rows("shop_orders", shop["shop_orders"])
    return url


def test_season_orders_are_the_days_before_the_festival(
        shop: dict[str, pd.DataFrame]) -> None:
    orders = shop["shop_orders"].assign(placed=pd.to_datetime(shop["shop_orders"]["placed_at"]))
    short = season_orders(orders, FESTIVAL, 7)
    assert short["placed"].min() >= pd.Timestamp("2024-09-10")
    assert short["placed"].max() < pd.Timestamp("2024-09-18")
    assert 0 < len(short) < len(season_orders(orders, FESTIVAL))


def test_holds_read_the_season_from_the_config(
        tmp_path: Path, shop: dict[str, pd.DataFrame],
        capsys: pytest.CaptureFixture[str]) -> None:
    db = _db(tmp_path, shop)
    toml = tmp_path / "plant.toml"
    toml.write_text(to_toml({"planning": {"season_days": 7}}))
    capsys.readouterr()
    assert main(["plant", "holds", "--db", db, "--capacity", "30"]) == 0
    default = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["plant", "holds", "--db", db, "--capacity", "30", "--config", str(toml)]) == 0
    short = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the default season is today's plan (sample seed 11: threshold 18.52 per box, 1 offer)
    assert default["season_days"] == 100 and default["value_threshold_per_box"] == 18.52
    assert default["offered"] == 1
    # a week's season: fewer of last season's orders compete for the capacity
    assert short["season_days"] == 7 and short["value_threshold_per_box"] == 10.05
    assert short["offered"] == 3
    with Store.open(db) as store:
        meta = store.latest_hold_plan()[0]
        assert meta["season_days"] == 7 and meta["peak"] == "mid_autumn"


def test_the_re_plan_remakes_the_hold_plan_over_the_service_s_season(
        tmp_path: Path, shop: dict[str, pd.DataFrame]) -> None:
    cal = HolidayCalendar.default()
    with Store.open(_db(tmp_path, shop)) as store:
        first = holds_into_store(store, HoldSettings(capacity_boxes=30), cal, backtest=True)
        assert first.summary["last_season"]["season_days"] == 100
        assert first.summary["last_season"]["festival"] == FESTIVAL.isoformat()
        same = replan(store, PlanConfig(), cal).holds
        assert same is not None and same.summary["last_season"] == first.summary["last_season"]
        again = replan(store, PlanConfig(season_days=7), cal).holds
        assert again is not None
        assert again.summary["season_days"] == 7
        assert again.summary["value_threshold_per_box"] == 10.05
        # the stored replay is of a 100-day season: not shown as this one's
        assert "last_season" not in again.summary
