"""An optional head that names the defect, trained on labelled defects (NumPy + SciPy, no torch).

The anomaly score decides pass/reject; the head only says *which* defect a rejected item most
likely has, so reject rates can be reported per defect type. It is a multinomial logistic
regression over a summary of the anomaly model's own per-cell deviations: the distance map and,
for each whitened principal component, its mean, maximum and minimum over the cells. It lives in
the same ONNX graph (output ``defect_probs``; class names in the card's ``classes``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from edge.model.stats import PadimStats, whitened

__all__ = ["cross_validate", "fit_head", "head_inputs"]


def head_inputs(stats: PadimStats, feats: np.ndarray) -> np.ndarray:
    """The head's input (N, cells + 3d), as the graph computes it."""
    w = whitened(stats, feats)  # (cells, N, d)
    dist = np.sqrt((w**2).sum(axis=2)).T
    return np.concatenate([dist, w.mean(axis=0), w.max(axis=0), w.min(axis=0)], axis=1)


def fit_head(
    v: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-2
) -> tuple[np.ndarray, np.ndarray]:
    """Class-balanced softmax regression; returns (weights (D, K), bias (K,)) that take the raw
    inputs (the standardisation is folded in)."""
    mu = v.mean(axis=0)
    sd = v.std(axis=0) + 1e-6
    x = (v - mu) / sd
    n, dim = x.shape
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sample_w = (n / (n_classes * np.maximum(counts, 1.0)))[y]
    onehot = np.eye(n_classes)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: dim * n_classes].reshape(dim, n_classes)
        b = theta[dim * n_classes :]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        ce = -(sample_w * np.log(np.maximum((p * onehot).sum(axis=1), 1e-12))).sum() / n
        g = (p - onehot) * sample_w[:, None] / n
        grad_w = x.T @ g + 2 * l2 * w
        return ce + l2 * float((w**2).sum()), np.concatenate([grad_w.ravel(), g.sum(axis=0)])

    res = minimize(
        loss,
        np.zeros(dim * n_classes + n_classes),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 500},
    )
    w = res.x[: dim * n_classes].reshape(dim, n_classes)
    b = res.x[dim * n_classes :]
    return w / sd[:, None], b - (mu / sd) @ w


def predict(v: np.ndarray, head: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Class index per row."""
    return np.argmax(v @ head[0] + head[1], axis=1)


def cross_validate(
    v: np.ndarray, y: np.ndarray, n_classes: int, folds: int = 5, seed: int = 0
) -> float:
    """Accuracy of the head on held-out folds (stratified by class)."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), int)
    for k in range(n_classes):
        idx = rng.permutation(np.flatnonzero(y == k))
        fold_of[idx] = np.arange(len(idx)) % folds
    hits = 0
    for f in range(folds):
        test = fold_of == f
        if not test.any() or test.all():
            continue
        head = fit_head(v[~test], y[~test], n_classes)
        hits += int((predict(v[test], head) == y[test]).sum())
    return hits / len(y)
