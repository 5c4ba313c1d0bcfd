"""PaDiM statistics in NumPy: standardise, PCA, per-cell Gaussians with Ledoit-Wolf shrinkage.

:func:`fit_stats` turns pooled features of good items into the parameters the ONNX graph uses
(``edge.model.graph.build_score_model``); :func:`score_stats` computes the same score in NumPy,
so fitting can score held-out folds without building a graph each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PadimStats", "fit_stats", "score_stats", "whitened"]


@dataclass
class PadimStats:
    """Parameters of the fitted part of the graph (see ``build_score_model``)."""

    projection: np.ndarray  # (d, F): standardise + project, as one matrix
    bias: np.ndarray  # (d,)
    means: np.ndarray  # (cells, d)
    whiten: np.ndarray  # (cells, d, d): dist = ||(z - mean) @ whiten||
    shrinkage: np.ndarray  # (cells,) Ledoit-Wolf weight used per cell


def _cells(feats: np.ndarray) -> np.ndarray:
    """(N, F, g, g) -> (cells, N, F)."""
    n, f = feats.shape[:2]
    return feats.reshape(n, f, -1).transpose(2, 0, 1).astype(np.float64)


def fit_stats(feats: np.ndarray, components: int, min_shrink: float = 0.02) -> PadimStats:
    """Fit on good items' pooled features (N, F, grid, grid)."""
    x = _cells(feats)  # (C, N, F)
    c, n, f = x.shape
    if n < 2:
        raise ValueError("need at least two good items")
    mu_f = x.mean(axis=(0, 1))
    sd_f = x.std(axis=(0, 1)) + 1e-6
    xs = (x - mu_f) / sd_f
    within = xs - xs.mean(axis=1, keepdims=True)
    cov = np.einsum("cnf,cng->fg", within, within) / (c * n)
    _vals, vecs = np.linalg.eigh(cov)
    d = int(min(components, f))
    pcs = vecs[:, ::-1][:, :d].T  # (d, F)
    projection = pcs / sd_f[None, :]
    bias = -projection @ mu_f
    z = x @ projection.T + bias  # (C, N, d)
    means = z.mean(axis=1)
    zc = z - means[:, None, :]
    s = np.einsum("cnd,cne->cde", zc, zc) / n
    # Ledoit-Wolf shrinkage towards a scaled identity, per cell
    m = np.trace(s, axis1=1, axis2=2) / d
    eye = np.eye(d)
    d2 = ((s - m[:, None, None] * eye) ** 2).sum(axis=(1, 2))
    norms4 = (np.einsum("cnd,cnd->cn", zc, zc) ** 2).sum(axis=1)
    b2 = np.minimum((norms4 / n - (s**2).sum(axis=(1, 2))) / n, d2)
    shrink = np.clip(b2 / np.maximum(d2, 1e-12), min_shrink, 1.0)
    sigma = (1 - shrink)[:, None, None] * s + (shrink * m)[:, None, None] * eye
    sigma += 1e-6 * eye
    chol = np.linalg.cholesky(sigma)
    inv = np.linalg.inv(chol)  # Sigma^-1 = inv.T @ inv
    whiten = inv.transpose(0, 2, 1)  # row vector form: (z - mu) @ inv.T
    return PadimStats(
        projection.astype(np.float32),
        bias.astype(np.float32),
        means.astype(np.float32),
        whiten.astype(np.float32),
        shrink,
    )


def whitened(stats: PadimStats, feats: np.ndarray) -> np.ndarray:
    """Each cell's whitened deviation (cells, N, d) from its good-item Gaussian."""
    x = _cells(feats)
    z = x @ stats.projection.T.astype(np.float64) + stats.bias
    return np.einsum("cnd,cde->cne", z - stats.means[:, None, :], stats.whiten)


def score_stats(
    stats: PadimStats, feats: np.ndarray, region: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (N,) and distance maps (N, cells) for pooled features, as the graph computes them;
    ``region`` (cells,) of 0/1 limits the score to the item's own cells."""
    w = whitened(stats, feats)
    dist = np.sqrt((w**2).sum(axis=2)).T  # (N, cells)
    scored = dist if region is None else dist * region[None, :]
    return scored.max(axis=1), dist
