"""Conformal SKU intervals: which past origins calibrate, the error quantiles, and the widening."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plant.forecast.intervals import apply_bounds, calibration_origins, log_error_bounds

T = pd.Timestamp


def test_calibration_origins_fall_back_from_two_years_to_one_to_h_days_to_none() -> None:
    origin, h, min_train = T("2026-08-01"), 60, 150
    # three years of history: the same origin 52 and 104 weeks earlier
    assert calibration_origins(T("2023-08-01"), origin, h, min_train) == [
        T("2025-08-02"), T("2024-08-03")]
    # a year and a half: only 52 weeks back leaves enough training before it
    assert calibration_origins(T("2025-02-01"), origin, h, min_train) == [T("2025-08-02")]
    # under a year: h days back
    assert calibration_origins(T("2025-12-01"), origin, h, min_train) == [T("2026-06-02")]
    # too short even for that: no calibration (the model's own intervals stay)
    assert calibration_origins(T("2026-03-01"), origin, h, min_train) == []


def test_log_error_bounds_are_per_sku_quantiles_in_log1p_space() -> None:
    days = pd.date_range("2025-09-01", periods=5)
    pred = pd.DataFrame({"sku": ["A"] * 5 + ["B"] * 5, "ds": list(days) * 2,
                         "orders_p50": [9.0] * 5 + [0.0] * 5})
    # A: actuals chosen so that log1p(actual) - log1p(9) = -0.2, -0.1, 0, 0.1, 0.2
    errs = np.array([-0.2, -0.1, 0.0, 0.1, 0.2])
    actual_a = np.expm1(np.log1p(9.0) + errs)
    actual = pd.DataFrame({"sku": ["A"] * 5 + ["B"] * 5, "ds": list(days) * 2,
                           "orders": [*actual_a, -3.0, 0, 0, 0, 0]})  # negative: clipped
    b = log_error_bounds(pred, actual, "orders_p50", "orders")
    # pandas' linear quantile of five points: 10% -> -0.16, 90% -> 0.16
    assert b.loc["A", "lo"] == pytest.approx(-0.16) and b.loc["A", "hi"] == pytest.approx(0.16)
    assert b.loc["B", "lo"] == 0.0 and b.loc["B", "hi"] == 0.0
    other_days = pred.assign(ds=pred["ds"] + pd.Timedelta(days=100))
    empty = log_error_bounds(other_days, actual, "orders_p50", "orders")
    assert empty.empty and list(empty.columns) == ["lo", "hi"]


def test_apply_bounds_widens_never_narrows_and_leaves_unknown_skus() -> None:
    fc = pd.DataFrame({"sku": ["A", "A", "C"], "orders_p10": [5.0, 0.0, 1.0],
                       "orders_p50": [9.0, 99.0, 4.0], "orders_p90": [20.0, 110.0, 8.0]})
    bounds = pd.DataFrame({"lo": [-0.5, 0.3], "hi": [0.5, -0.1]}, index=["A", "B"])
    out = apply_bounds(fc, bounds, "orders")
    # A at p50 9: log1p(9) = 2.302585; -0.5 -> expm1(1.802585) = 5.065 (p10 5 is already wider,
    # kept); +0.5 -> expm1(2.802585) = 15.487 (p90 20 is wider, kept)
    assert out.loc[0, "orders_p10"] == 5.0 and out.loc[0, "orders_p90"] == 20.0
    # A at p50 99: log1p = 4.605170; p10 0 kept; p90 -> expm1(5.105170) = 163.88 (widened)
    assert out.loc[1, "orders_p10"] == 0.0
    assert out.loc[1, "orders_p90"] == pytest.approx(np.expm1(np.log1p(99.0) + 0.5))
    # C has no bounds: unchanged
    assert out.loc[2, ["orders_p10", "orders_p90"]].tolist() == [1.0, 8.0]
    # bounds on the wrong side of zero never narrow: B's lo 0.3 acts as 0, hi -0.1 as 0
    fc_b = pd.DataFrame({"sku": ["B"], "orders_p10": [7.0], "orders_p50": [7.0],
                         "orders_p90": [7.0]})
    got = apply_bounds(fc_b, bounds, "orders")
    assert got[["orders_p10", "orders_p90"]].iloc[0].tolist() == pytest.approx([7.0, 7.0])
    fc_wide = fc.assign(orders_p10=[9.0, 99.0, 4.0], orders_p90=[9.0, 99.0, 4.0])
    narrow = apply_bounds(fc_wide, bounds, "orders")
    assert narrow.loc[0, "orders_p10"] == pytest.approx(np.expm1(np.log1p(9.0) - 0.5))
    assert (narrow["orders_p10"] <= narrow["orders_p50"]).all()
    assert (narrow["orders_p90"] >= narrow["orders_p50"]).all()
