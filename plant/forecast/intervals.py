"""SKU-level conformal intervals calibrated on the same season a year earlier.

The statsforecast conformal intervals of :class:`~plant.forecast.model.HolidayForecaster` are
for the aggregate series it models; split to SKUs by share they are too narrow (a single SKU is
noisier than its channel), and they miss the largest error of a festival forecast - the size of
the festival - because their windows are the most recent weeks. So the whole pipeline is also
run from the same origin 52 and 104 weeks earlier (or ``h`` days earlier when the history is
too short for that), and each SKU's P10/P90 are set from the 10% and 90% quantiles of its
errors there in ``log1p`` space, around today's P50: split conformal prediction with the last
seasons as the calibration set. The P50 itself is left unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["apply_bounds", "calibration_origins", "log_error_bounds"]


def calibration_origins(first: pd.Timestamp, origin: pd.Timestamp, h: int,
                        min_train: int) -> list[pd.Timestamp]:
    """Origins to calibrate from: 52 and 104 weeks earlier where the history allows, else
    ``h`` days earlier, else none."""
    yearly = [origin - pd.Timedelta(days=back) for back in (364, 728)]
    found = [c for c in yearly if (c - first).days >= min_train]
    if found:
        return found
    recent = origin - pd.Timedelta(days=h)
    return [recent] if (recent - first).days >= min_train else []


def log_error_bounds(pred: pd.DataFrame, actual: pd.DataFrame, column: str, value: str,
                     lo: float = 0.1, hi: float = 0.9) -> pd.DataFrame:
    """Per SKU, the ``lo`` and ``hi`` quantiles of ``log1p(actual) - log1p(predicted)``.

    ``pred`` has ``sku, ds, <column>``; ``actual`` has ``sku, ds, <value>``. Returns a frame
    indexed by SKU with columns ``lo`` and ``hi``.
    """
    joined = pred[["sku", "ds", column]].merge(actual[["sku", "ds", value]], on=["sku", "ds"])
    if joined.empty:
        return pd.DataFrame({"lo": pd.Series(dtype=float), "hi": pd.Series(dtype=float)})
    err = np.log1p(joined[value].clip(lower=0)) - np.log1p(joined[column].clip(lower=0))
    grouped = err.groupby(joined["sku"])
    return pd.DataFrame({"lo": grouped.quantile(lo), "hi": grouped.quantile(hi)})


def apply_bounds(fc: pd.DataFrame, bounds: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Widen (never narrow) ``<prefix>_p10``/``_p90`` to the calibrated bounds around P50."""
    out = fc.copy()
    base = np.log1p(out[f"{prefix}_p50"].clip(lower=0))
    lo = out["sku"].map(bounds["lo"]).fillna(0.0).clip(upper=0.0)
    hi = out["sku"].map(bounds["hi"]).fillna(0.0).clip(lower=0.0)
    out[f"{prefix}_p10"] = np.minimum(out[f"{prefix}_p10"], np.expm1(base + lo).clip(lower=0))
    out[f"{prefix}_p90"] = np.maximum(out[f"{prefix}_p90"], np.expm1(base + hi))
    return out
