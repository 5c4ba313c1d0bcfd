"""Time-split backtest of the cancellation model: train before a season, score the season.

:func:`backtest_risk` fits :class:`~plant.orders.risk.CancellationModel` on the orders placed
before ``season_start`` (and delivered by then, so their outcome was known), scores the orders
placed from ``season_start`` to ``season_end``, and compares it with two baselines fitted on the
same training orders: the base rate, and the cancellation rate by days to the coming holiday
alone (what the plant's daily cancellation forecast knows). It reports AUROC, Brier score and a
reliability table (predicted against observed, in bins of the score).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from peakline.errors import DataError
from plant.orders.risk import CancellationModel

__all__ = ["RiskBacktest", "backtest_risk", "holiday_baseline", "reliability"]

_BINS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0001)


def holiday_baseline(train: pd.DataFrame, score: pd.DataFrame, prior: float = 50.0
                     ) -> np.ndarray:
    """Cancellation rate by days to the holiday (0..60, then one bin), shrunk to the base rate."""
    base = float(train["cancelled"].mean())
    d = train["days_to_holiday"].clip(upper=61)
    rate = train.groupby(d)["cancelled"].agg(["sum", "count"])
    smoothed = (rate["sum"] + prior * base) / (rate["count"] + prior)
    return score["days_to_holiday"].clip(upper=61).map(smoothed).fillna(base).to_numpy(float)


def reliability(p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Orders, mean score and observed cancellation rate per score bin."""
    b = pd.cut(p, _BINS, right=False, labels=[f"{a:.2f}-{min(c, 1.0):.2f}"
                                              for a, c in pairwise(_BINS)])
    df = pd.DataFrame({"bin": b, "p": p, "y": y})
    out = df.groupby("bin", observed=True).agg(orders=("y", "size"), predicted=("p", "mean"),
                                                observed=("y", "mean"))
    return out.reset_index()


@dataclass
class RiskBacktest:
    """Scores of one season and the figures that judge them."""

    scored: pd.DataFrame          # the season's orders with p_model, p_holiday, p_base
    auroc: float
    auroc_holiday: float
    brier: float
    brier_holiday: float
    brier_base: float
    table: pd.DataFrame
    model: CancellationModel

    def summary(self) -> dict[str, Any]:
        """The headline figures as a flat dict (rounded), with the calibration map chosen."""
        return {
            "calibration": self.model.calibration,
            "orders_scored": len(self.scored),
            "cancel_rate": round(float(self.scored["cancelled"].mean()), 4),
            "auroc": round(self.auroc, 4), "auroc_baseline": round(self.auroc_holiday, 4),
            "brier": round(self.brier, 5), "brier_baseline": round(self.brier_holiday, 5),
            "brier_base_rate": round(self.brier_base, 5),
            "brier_gain_pct": round(100 * (1 - self.brier / self.brier_holiday), 1),
        }


def backtest_risk(orders: pd.DataFrame, season_start: pd.Timestamp, season_end: pd.Timestamp,
                  seed: int = 0) -> RiskBacktest:
    """Fit on orders resolved before ``season_start``, score those placed in the season."""
    train = orders[(orders["placed"] < season_start) & (orders["delivery"] < season_start)]
    test = orders[(orders["placed"] >= season_start) & (orders["placed"] < season_end)].copy()
    if test.empty or test["cancelled"].nunique() < 2:
        raise DataError(f"no season to score between {season_start:%Y-%m-%d} and "
                        f"{season_end:%Y-%m-%d} with both cancelled and kept orders")
    model = CancellationModel(seed=seed).fit(train)
    test["p_model"] = model.predict(test)
    test["p_holiday"] = holiday_baseline(train, test)
    test["p_base"] = float(train["cancelled"].mean())
    y = test["cancelled"].to_numpy()
    return RiskBacktest(
        scored=test,
        auroc=float(roc_auc_score(y, test["p_model"])),
        auroc_holiday=float(roc_auc_score(y, test["p_holiday"])),
        brier=float(brier_score_loss(y, test["p_model"])),
        brier_holiday=float(brier_score_loss(y, test["p_holiday"])),
        brier_base=float(brier_score_loss(y, test["p_base"])),
        table=reliability(test["p_model"].to_numpy(), y), model=model,
    )
