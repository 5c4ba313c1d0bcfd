"""The festival backtest: origins, output shape, both baselines in the same run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from peakline.demo.sample_erp import generate
from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.backtest import backtest, festival_origins, score


def test_origins_are_lead_days_before_each_scorable_festival() -> None:
    cal = HolidayCalendar.default()
    got = festival_origins(pd.Timestamp("2022-08-01"), pd.Timestamp("2026-07-31"), cal,
                           lead=50, h=60)
    assert got == [pd.Timestamp("2023-08-10"), pd.Timestamp("2024-07-29"),
                   pd.Timestamp("2025-08-17")]


def test_score_is_mase_and_bias() -> None:
    errors = pd.DataFrame({"unique_id": ["a"] * 4, "y": [10.0, 10, 10, 10],
                           "m": [12.0, 8, 10, 14]})
    row = score(errors, "m", "overall", pd.Series({"a": 2.0}))
    assert row["mase"] == pytest.approx((2 + 2 + 0 + 4) / 4 / 2.0)
    assert row["bias_pct"] == pytest.approx(100 * 4 / 40)
    assert np.isnan(row["coverage_p10_p90"])  # the method has no interval


def test_coverage_is_the_share_of_actuals_inside_p10_p90() -> None:
    errors = pd.DataFrame({"unique_id": ["a"] * 5, "y": [10.0, 10, 10, 10, 10],
                           "m": [10.0] * 5, "m_p10": [9.0, 10, 11, 0, 5],
                           "m_p90": [11.0, 12, 12, 9.9, 10]})
    # inside: 9..11 yes, 10..12 yes (on the edge), 11..12 no, 0..9.9 no, 5..10 yes -> 3/5
    row = score(errors, "m", "festival", pd.Series({"a": 1.0}))
    assert row["coverage_p10_p90"] == pytest.approx(0.6)


def test_backtest_table_and_summary() -> None:
    cal = HolidayCalendar.default()
    data = generate(seed=2, years=3, n_skus=6)
    hist = data["demand"].rename(columns={"date": "ds"})
    table, summary = backtest(hist, data["skus"], cal, h=60, ets_sample=2)
    assert list(table.columns) == ["method", "window", "series", "mase", "bias_pct",
                                   "coverage_p10_p90"]
    coverage = table.set_index("method")["coverage_p10_p90"]
    # a calibrated P10..P90 holds about 80% of the actuals (0.79-0.80 recorded here, 360 days
    # of 6 SKUs: a binomial sd of 0.02); 5% or 100% would be a broken interval
    assert coverage["holiday"].between(0.65, 0.92).all(), coverage
    assert coverage["autoets"].isna().all()
    assert coverage["holiday_mean"].isna().all()  # a point forecast: no interval
    assert len(table) == 10
    assert set(table["method"]) == {"holiday", "holiday_mean", "seasonal_naive",
                                    "holiday@sample", "autoets"}
    assert set(table["window"]) == {"festival", "overall"}
    assert np.isfinite(table["mase"]).all()
    assert summary["origins"] == ["2025-08-17"]
    assert summary["peak"] == "mid_autumn" and summary["window"] == [-42, 0]
    assert summary["ets_sample_series"] == 2
    sample_rows = table[table["method"].isin(["holiday@sample", "autoets"])]
    assert (sample_rows["series"] <= 2).all()
    json.dumps(summary)
    # the holiday features must beat seasonal naive in the festival window
    fest = table[table["window"] == "festival"].set_index("method")["mase"]
    assert fest["holiday"] < fest["seasonal_naive"]


def test_history_without_a_past_festival_is_refused() -> None:
    cal = HolidayCalendar.default()
    data = generate(seed=2, years=1, n_skus=3)
    with pytest.raises(DataError, match="no past Mid-Autumn"):
        backtest(data["demand"].rename(columns={"date": "ds"}), data["skus"], cal)
