"""Cancellation risk per shop order: gradient boosting, calibrated on later orders.

:class:`CancellationModel` fits scikit-learn's ``HistGradientBoostingClassifier`` on the
features of :mod:`plant.orders.features` (fast on hundreds of thousands of orders, handles the
region as a category, explains itself through permutation importance). It chooses its own
options and calibration from the training history alone: the history is cut into time blocks;
for each candidate setting a model fitted on the blocks before each later block scores it, the
setting with the lowest log loss on those later orders wins, and a map from their scores to
what happened makes the final scores calibrated (of the orders scored 0.3, about 30% are
cancelled). The map is isotonic or Platt's logistic curve on the score's log-odds, whichever
predicts the latest block better when fitted on the blocks before it (isotonic regression
follows any shape but flattens into steps at the rare high scores; Platt's curve keeps rising
there). Validating forwards in time matters: a random split would let next week's
cancellations of a customer explain this week's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from peakline.errors import DataError
from plant.orders.features import FEATURES

__all__ = ["CANDIDATES", "Calibration", "CancellationModel", "choose_calibration"]

#: settings tried on later blocks of the training history (max_leaf_nodes, learning_rate, l2)
CANDIDATES: tuple[dict[str, float], ...] = (
    {"max_leaf_nodes": 15, "learning_rate": 0.08, "l2_regularization": 1.0},
    {"max_leaf_nodes": 31, "learning_rate": 0.05, "l2_regularization": 1.0},
    {"max_leaf_nodes": 7, "learning_rate": 0.1, "l2_regularization": 0.0},
)
_MIN_ORDERS = 200


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q)).reshape(-1, 1)


@dataclass
class Calibration:
    """A map from raw scores to probabilities: ``isotonic`` or ``platt``."""

    method: str
    _iso: IsotonicRegression | None = None
    _platt: LogisticRegression | None = None

    def fit(self, raw: np.ndarray, outcome: np.ndarray) -> Calibration:
        """Fit the map on scores and what happened (1: cancelled)."""
        if self.method == "isotonic":
            self._iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            self._iso.fit(raw, outcome)
        else:
            self._platt = LogisticRegression(C=1e4).fit(_logit(raw), outcome)
        return self

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``raw`` scores."""
        if self._iso is not None:
            out = self._iso.predict(raw)
        else:
            assert self._platt is not None
            out = self._platt.predict_proba(_logit(raw))[:, 1]
        return np.clip(np.asarray(out, dtype=float), 0.0, 1.0)


def choose_calibration(raw: np.ndarray, outcome: np.ndarray, held_from: int) -> Calibration:
    """Isotonic or Platt, whichever has the lower log loss on the scores from ``held_from``
    on (the latest, time-ordered) when fitted on those before; refitted on all of them."""
    best: tuple[float, str] | None = None
    early, late = slice(0, held_from), slice(held_from, len(raw))
    if 0 < held_from < len(raw) and len(np.unique(outcome[early])) == 2:
        for method in ("isotonic", "platt"):
            p = Calibration(method).fit(raw[early], outcome[early])(raw[late])
            loss = log_loss(outcome[late], np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])
            if best is None or loss < best[0]:
                best = (loss, method)
    return Calibration(best[1] if best is not None else "isotonic").fit(raw, outcome)


def _matrix(orders: pd.DataFrame, regions: list[str]) -> pd.DataFrame:
    x = orders[list(FEATURES)].copy()
    x["region"] = pd.Categorical(x["region"], categories=regions)
    return x


@dataclass
class CancellationModel:
    """Calibrated probability that an order is cancelled before its delivery."""

    blocks: int = 4
    seed: int = 0
    setting: dict[str, float] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    _model: HistGradientBoostingClassifier | None = None
    _calib: Calibration | None = None
    _oof: pd.Series | None = None   # out-of-time raw scores of the later training orders

    def _new(self, setting: dict[str, float]) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=300, early_stopping=True, validation_fraction=0.15, n_iter_no_change=20,
            min_samples_leaf=40, categorical_features="from_dtype", random_state=self.seed,
            **setting)

    def fit(self, orders: pd.DataFrame) -> CancellationModel:
        """Fit on feature rows with a known outcome (``cancelled``), sorted by time."""
        if len(orders) < _MIN_ORDERS or orders["cancelled"].nunique() < 2:
            raise DataError(f"the order history has {len(orders)} orders and "
                            f"{int(orders['cancelled'].sum())} cancellations: need at least "
                            f"{_MIN_ORDERS} orders with both outcomes to learn cancellations")
        orders = orders.sort_values("placed", kind="stable", ignore_index=True)
        self.regions = sorted(map(str, orders["region"].unique()))
        x, y = _matrix(orders, self.regions), orders["cancelled"].to_numpy()
        cuts = np.linspace(0, len(orders), self.blocks + 1).astype(int)[1:-1]
        best: tuple[float, dict[str, float], np.ndarray, np.ndarray] | None = None
        scored_from = last_from = 0
        for setting in CANDIDATES:
            scores: list[np.ndarray] = []
            truth: list[np.ndarray] = []
            for k, start in enumerate(cuts):
                end = cuts[k + 1] if k + 1 < len(cuts) else len(orders)
                if y[:start].min() == y[:start].max():
                    continue
                if not scores:
                    scored_from = start
                last_from = start
                model = self._new(setting).fit(x.iloc[:start], y[:start])
                scores.append(model.predict_proba(x.iloc[start:end])[:, 1])
                truth.append(y[start:end])
            if not scores:
                continue
            s, t = np.concatenate(scores), np.concatenate(truth)
            loss = log_loss(t, np.clip(s, 1e-6, 1 - 1e-6), labels=[0, 1])
            if best is None or loss < best[0]:
                best = (loss, setting, s, t)
        if best is None:
            raise DataError("the order history's earlier part has no cancellations to learn from")
        _, self.setting, oof, outcome = best
        self._oof = pd.Series(oof, index=orders["order_id"].iloc[scored_from:].to_numpy())
        self._calib = choose_calibration(oof, outcome, last_from - scored_from)
        self._model = self._new(self.setting).fit(x, y)
        return self

    def raw(self, orders: pd.DataFrame) -> np.ndarray:
        """The boosted model's uncalibrated scores."""
        if self._model is None:
            raise DataError("the cancellation model is not fitted")
        return np.asarray(self._model.predict_proba(_matrix(orders, self.regions))[:, 1])

    def out_of_time(self, orders: pd.DataFrame) -> np.ndarray:
        """Calibrated scores as a model that had not seen them gave them: the out-of-time scores
        kept from fitting where there are some, the final model's elsewhere."""
        assert self._calib is not None and self._oof is not None
        kept = self._oof.reindex(orders["order_id"].to_numpy())
        raw = np.where(kept.notna(), kept.to_numpy(), self.raw(orders) if len(orders) else 0.0)
        return self._calib(np.asarray(raw, dtype=float))

    def predict(self, orders: pd.DataFrame) -> np.ndarray:
        """Calibrated cancellation probability of each order row."""
        raw = self.raw(orders)
        assert self._calib is not None
        return self._calib(raw)

    @property
    def calibration(self) -> str:
        """The calibration map chosen on the latest block: ``isotonic`` or ``platt``."""
        return self._calib.method if self._calib is not None else "none"
