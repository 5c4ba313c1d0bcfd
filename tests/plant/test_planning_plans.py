"""All plans from a real forecast of the sample factory, and the CLI through a real store."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pandas as pd
import pytest
from support.payloads import draft

from peakline.cli import main
from peakline.demo.sample_erp import generate
from peakline.wire import FORECAST_PLAN_KINDS, HOLD_PLAN_KINDS, PLAN_KINDS, ItemResult, ResultsBatch
from plant.calendar import HolidayCalendar
from plant.forecast.demand import forecast_demand
from plant.planning.plans import build_plans
from plant.store import Store

START = dt.date(2026, 8, 1)


@pytest.fixture(scope="module")
def plans() -> dict[str, tuple[pd.DataFrame, dict]]:
    cal = HolidayCalendar.default()
    data = generate(seed=4, years=3, n_skus=12)
    fc = forecast_demand(data["demand"].rename(columns={"date": "ds"}), data["skus"], 60, cal)
    return build_plans(fc, data, START, cal, reject_rate=0.05)


def test_every_plan_explains_itself(plans: dict[str, tuple[pd.DataFrame, dict]]) -> None:
    assert tuple(plans) == FORECAST_PLAN_KINDS
    # the rest come from `peakline plant holds` (tests/plant/test_orders_risk.py)
    assert set(PLAN_KINDS) == set(FORECAST_PLAN_KINDS) | set(HOLD_PLAN_KINDS)
    assert not set(FORECAST_PLAN_KINDS) & set(HOLD_PLAN_KINDS)
    for df, expl in plans.values():
        assert isinstance(df, pd.DataFrame)
        json.dumps(expl, default=str)
    prod, expl = plans["production"]
    assert len(prod) > 100, "a season's plan, not an empty one (the checks below need rows)"
    assert expl["reject_rate"] == 0.05 and "measured" in expl["reject_rate_source"]
    assert (prod["qty_good"] <= prod["qty_start"]).all()
    assert prod["qty_good"].sum() == pytest.approx(0.95 * prod["qty_start"].sum(), rel=1e-3)
    assert (prod["qty_start"] == prod["qty_start"].round()).all()  # whole boxes
    assert (prod["date"] < prod["need_date"]).all()
    weeks = expl["net_demand_per_week"]
    assert len(weeks) >= 8
    assert all(w["p10"] <= w["p50"] <= w["p90"] for w in weeks.values())
    per_line_day = prod.groupby(["date", "line"])["qty_start"].sum()
    assert set(prod["line"]) <= {"L1", "L2", "L3"} and "L3" in set(prod["line"])
    assert per_line_day.xs("L3", level="line").max() <= 220 * 8 + 1e-6
    week_use = [w["used"] <= w["capacity"] for w in expl["capacity_per_week"].values()]
    assert len(week_use) >= 8 and all(week_use)


def test_inventory_newsvendor_and_orders(plans: dict[str, tuple[pd.DataFrame, dict]]) -> None:
    fg, expl = plans["inventory"]
    assert len(fg) == 12
    assert ((fg["critical_ratio"] > 0) & (fg["critical_ratio"] < 1)).all()
    above = fg["critical_ratio"] > 0.5
    assert (fg.loc[above, "newsvendor_qty"] >= fg.loc[above, "season_p50"].round() - 1).all()
    orders = plans["purchases"][0]
    assert len(orders) >= 2 and (orders["qty"] >= orders["moq"]).all()
    assert ((orders["qty"] / orders["pack_multiple"]).round(6) % 1 == 0).all()
    lead = pd.to_timedelta(orders["lead_time_days"], unit="D")
    assert (pd.to_datetime(orders["order_by"]) == pd.to_datetime(orders["need_date"]) - lead).all()
    assert expl["festival"] == "2026-09-25"
    cover = plans["materials"][0]
    assert set(cover["item"]) >= set(orders["item"])


def test_packaging_per_sku_week_and_exceptions_worst_first(
    plans: dict[str, tuple[pd.DataFrame, dict]],
) -> None:
    need, expl = plans["packaging"]
    assert len(need) > 0
    assert {"sku", "week", "item", "qty", "need_date", "order_by"} <= set(need.columns)
    assert (pd.to_datetime(need["week"]).dt.dayofweek == 0).all()
    assert expl["binding_order"] is not None
    exc, exc_expl = plans["exceptions"]
    assert len(exc) >= 2 and exc["value_at_risk"].iloc[0] > 0, "no exception to order"
    assert exc["value_at_risk"].is_monotonic_decreasing
    assert exc_expl["count"] == len(exc)
    assert set(exc["kind"]) <= {"capacity_shortfall", "too_late_to_make", "late_order_by",
                                "order_due_soon"}


def _line_results(db: str, items: int, rejects: int) -> None:
    """Item results from a camera line, as ingest stores them: ``rejects`` of ``items``."""
    now = time.time()
    results = [ItemResult(seq=i, **draft(i, "reject" if i <= rejects else "pass",
                                         ts=now - 60 + i * 0.1))
               for i in range(1, items + 1)]
    batch = ResultsBatch(site="s1", line="L1", node="cam1", boot_id="b1", model="m/1",
                         sent_at=now, results=results)
    with Store.open(db) as store:
        store.write_batches([(batch, now)])


def test_cli_sample_import_forecast_backtest_plan(tmp_path: Path, db_url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The whole chain on SQLite and on PostgreSQL (``db_url`` from tests/plant/conftest)."""
    csv_dir, db = tmp_path / "erp", db_url
    assert main(["plant", "sample-data", "--seed", "3", "--years", "3", "--skus", "8",
                 "--out", str(csv_dir)]) == 0
    assert main(["plant", "import", "--db", db, "--dir", str(csv_dir)]) == 0
    capsys.readouterr()
    assert main(["plant", "forecast", "--db", db, "--horizon", "45"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["horizon"] == 45 and last["skus"] == 8
    _line_results(db, items=200, rejects=16)
    assert main(["plant", "plan", "--db", db, "--out", str(tmp_path / "plans")]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["forecast_id"] == last["forecast_id"]
    assert summary["reject_rate"] == pytest.approx(0.08)
    assert summary["reject_rate_source"].startswith("measured")
    for kind in FORECAST_PLAN_KINDS:
        assert (tmp_path / "plans" / f"{kind}.csv").stat().st_size > 0
    with Store.open(db) as store:
        found = store.latest_plan("production")
        assert found is not None
        meta, df = found
        assert meta["forecast_id"] == last["forecast_id"] and len(df) > 0
    assert main(["plant", "backtest", "--db", db, "--ets-sample", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["origins"] == ["2025-08-17"] and "festival_mase" in result
