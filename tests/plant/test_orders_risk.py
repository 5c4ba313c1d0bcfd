"""The web shop's order history and the cancellation model: consistency, no look-ahead,
a time-split backtest that beats the days-to-holiday baseline, calibrated scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from peakline.cli import main
from peakline.demo.sample_erp import generate, write
from peakline.demo.sample_orders import consistency
from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.orders.backtest import RiskBacktest, backtest_risk, holiday_baseline
from plant.orders.features import order_features
from plant.orders.holds import HoldSettings, order_values, value_threshold
from plant.orders.risk import CancellationModel, choose_calibration
from plant.orders.season import replay_season, season_growth, season_orders
from plant.store import Store

CAL = HolidayCalendar.default()


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return generate(seed=5, years=3, n_skus=9)


@pytest.fixture(scope="module")
def features(sample: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return order_features(sample["shop_orders"], CAL)


@pytest.fixture(scope="module")
def season(features: pd.DataFrame) -> RiskBacktest:
    ma = pd.Timestamp(CAL.festival("mid_autumn", 2025))
    return backtest_risk(features, ma - pd.Timedelta(days=100), ma + pd.Timedelta(days=1))


def test_orders_add_up_to_the_daily_series(sample: dict[str, pd.DataFrame]) -> None:
    orders, demand = sample["shop_orders"], sample["demand"]
    shop_skus = set(sample["skus"].query("channel == 'ecommerce'")["sku"])
    assert set(orders["sku"]) == shop_skus
    check = consistency(orders, demand)
    assert check["orders_diff"] == 0
    assert check["cancel_over"] == 0
    assert check["cancelled_boxes"] >= 0.97 * check["cancellations_daily"]
    cancelled = orders[orders["cancelled_at"] != ""]
    assert (cancelled["cancelled_at"] > cancelled["placed_at"]).all()
    assert (cancelled["cancelled_at"].str[:10] < cancelled["delivery_date"]).all()
    assert (orders["held_until"] == "").all()


def test_features_know_only_the_past(sample: dict[str, pd.DataFrame],
                                     features: pd.DataFrame) -> None:
    lines = sample["shop_orders"]
    cut = features["placed"].iloc[len(features) // 2]
    later = pd.to_datetime(lines["placed_at"]) >= cut
    changed = lines.copy()
    # the future changes completely: every later order cancelled, none before
    changed.loc[later, "cancelled_at"] = changed.loc[later, "delivery_date"] + "T00:00"
    again = order_features(changed, CAL)
    cols = ["order_id", "popularity", "prior_orders", "prior_cancelled", "days_to_holiday",
            "days_since_last_order", "value_vs_usual", "sku_cancel_rate_max",
            "sku_cancel_rate_mean"]
    before = features[features["placed"] < cut][cols].reset_index(drop=True)
    assert before.equals(again[again["placed"] < cut][cols].reset_index(drop=True))
    first = features.groupby("customer")["prior_orders"].min()
    assert (first == 0).all()


def test_backtest_beats_the_holiday_baseline(season: RiskBacktest) -> None:
    s = season.summary()
    assert s["orders_scored"] > 1000
    assert season.auroc >= 0.8
    assert season.auroc > season.auroc_holiday + 0.05
    assert season.brier <= 0.85 * season.brier_holiday
    assert season.brier_holiday <= season.brier_base


def test_scores_are_calibrated(season: RiskBacktest) -> None:
    table = season.table[season.table["orders"] >= 100]
    gap = (table["predicted"] - table["observed"]).abs()
    assert np.average(gap, weights=table["orders"]) < 0.03
    p, y = season.scored["p_model"], season.scored["cancelled"]
    assert abs(p.mean() - y.mean()) < 0.02


def test_baseline_is_the_rate_by_days_to_holiday() -> None:
    train = pd.DataFrame({"days_to_holiday": [1] * 10 + [30] * 10,
                          "cancelled": [1] * 5 + [0] * 5 + [0] * 10})
    p = holiday_baseline(train, pd.DataFrame({"days_to_holiday": [1, 30, 200]}), prior=0.0)
    assert p.tolist() == [0.5, 0.0, 0.25]


def test_too_little_history_is_refused(features: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="need at least 200 orders"):
        CancellationModel().fit(features.head(50))
    kept = features.assign(cancelled=0)
    with pytest.raises(DataError, match="both outcomes"):
        CancellationModel().fit(kept)


def test_holds_in_the_last_season_cut_cancellations_within_capacity(
        sample: dict[str, pd.DataFrame], season: RiskBacktest) -> None:
    lines, features = sample["shop_orders"], order_features(sample["shop_orders"], CAL)
    values = order_values(lines, sample["skus"])
    scored = season.scored.rename(columns={"p_model": "p_cancel"}).merge(values, on="order_id")
    ma, last = CAL.festival("mid_autumn", 2025), CAL.festival("mid_autumn", 2024)
    past = season_orders(features, last).merge(values, on="order_id")
    past["p_cancel"] = season.model.out_of_time(past)
    settings = HoldSettings(capacity_boxes=1000, accept_rate=0.5)
    growth = season_growth(features, pd.Timestamp(ma) - pd.Timedelta(days=100))
    assert 1.0 <= growth < 1.5
    threshold = value_threshold(past, last, settings, growth)
    assert threshold > 0
    replay = replay_season(scored, lines[lines["order_id"].isin(scored["order_id"])], ma,
                           settings, seed=1, min_value_per_box=threshold)
    f = replay.figures
    assert f["within_capacity"] and replay.stock["boxes"].max() <= 1000
    assert f["cancelled_boxes_cut_pct"] >= 25
    assert f["leftover_boxes_with_holds"] < f["leftover_boxes"]
    assert f["margin_saved"] > f["safekeeping_cost"] > 0
    held = replay.orders[replay.orders["accepted"]]
    assert held["offered"].all() and not held["cancelled_after"].any()
    # a smaller facility holds fewer boxes and never overflows
    small = replay_season(scored, lines, ma, HoldSettings(capacity_boxes=50), seed=1,
                          min_value_per_box=threshold)
    assert small.figures["held_boxes"] <= 50 < f["held_boxes"]


def test_holds_command_offers_within_the_capacity_left(
        sample: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PEAKLINE_DB", raising=False)
    write(sample, tmp_path / "erp")
    db = f"sqlite:///{tmp_path / 'plant.db'}"
    assert main(["plant", "import", "--db", db, "--dir", str(tmp_path / "erp")]) == 0
    # holds customers accepted before: kept orders delivered just before the festival
    lines = sample["shop_orders"]
    kept = lines[(lines["cancelled_at"] == "") & (lines["placed_at"] < "2025-09-28")
                 & (lines["delivery_date"].between("2025-10-01", "2025-10-05"))]
    ids = kept["order_id"].drop_duplicates().head(60)
    held_boxes = int(kept[kept["order_id"].isin(ids)]["qty"].sum())
    with Store.open(db) as store:
        store.import_csv("holds", _holds_csv(tmp_path, ids))
    capsys.readouterr()
    assert main(["plant", "holds", "--db", db, "--as-of", "2025-09-28", "--capacity", "300",
                 "--out", str(tmp_path / "holds")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["festival"] == "2025-10-06" and summary["open_orders"] > 100
    assert summary["held_boxes"] == held_boxes
    assert 0 < summary["offered_boxes"] <= 300 - held_boxes
    offers = pd.read_csv(tmp_path / "holds" / "offers.csv")
    chosen = offers[offers["offer"]]
    assert chosen["boxes"].sum() == summary["offered_boxes"]
    assert not chosen["order_id"].isin(ids).any()
    assert chosen["p_cancel"].mean() > offers["p_cancel"].mean()
    assert (chosen["hold_until"] == "2025-10-10").all()
    stock = pd.read_csv(tmp_path / "holds" / "safekeeping.csv")
    assert (stock["held_boxes"] + stock["offered_boxes"] <= 300).all()
    releases = pd.read_csv(tmp_path / "holds" / "releases.csv")
    assert releases["boxes"].sum() == held_boxes
    assert set(releases["held_until"]) == {"2025-10-10"}
    with Store.open(db) as store:  # the same schedule is the releases plan the service publishes
        found = store.latest_plan("releases")
    assert found is not None
    plan_meta, plan_rows = found
    assert plan_meta["id"].startswith("holds-")
    assert plan_meta["forecast_id"] is None and plan_meta["explanation"]["boxes"] == held_boxes
    assert int(plan_rows["boxes"].sum()) == held_boxes
    # what the holds do to demand is kept for the next forecast
    with Store.open(db) as store:
        saved = store.latest_hold_effect()
    assert saved is not None
    meta, effect = saved
    assert meta["festival"] == "2025-10-06" and effect["held_boxes"].sum() == held_boxes
    assert 0 < effect["cancel_avoided"].sum() < held_boxes


def _holds_csv(tmp_path: Path, ids: pd.Series) -> Path:
    path = tmp_path / "holds.csv"
    pd.DataFrame({"order_id": ids, "held_until": "2025-10-10"}).to_csv(path, index=False)
    return path


def test_the_calibration_map_is_chosen_on_the_latest_scores() -> None:
    """Scores whose truth is a smooth logistic curve of their log-odds (shifted: raw 0.5 is
    0.12) get Platt's curve; scores whose truth jumps at 0.5 get the isotonic steps. Either way
    the chosen map is fitted on all the scores and is close to the truth."""
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.01, 0.99, 20_000)
    smooth = 1 / (1 + np.exp(-(np.log(raw / (1 - raw)) * 1.5 - 2.0)))
    step = np.where(raw < 0.5, 0.05, 0.6)
    for truth, method in ((smooth, "platt"), (step, "isotonic")):
        y = (rng.uniform(size=raw.size) < truth).astype(int)
        cal = choose_calibration(raw, y, 15_000)
        assert cal.method == method
        assert np.abs(cal(raw) - truth).mean() < 0.02
    assert choose_calibration(raw[:10], np.zeros(10, dtype=int) + 1, 5).method == "isotonic"
