"""PaDiM statistics in NumPy: standardise, PCA, per-cell Gaussians with Ledoit-Wolf shrinkage.

:func:`fit_stats` turns pooled features of good items into the parameters the ONNX graph uses
(``edge.model.graph.build_score_model``); :func:`score_stats` computes the same score in NumPy,
so fitting can score held-out folds without building a graph each time. With as many components
as features the PCA is only a rotation and each cell keeps its full covariance (the shrinkage
towards a scaled identity keeps it invertible with fewer items than features).

Both work through the cells a block at a time (float64 for a block only), so a few thousand
items with 152 features on a 16x16 grid need tens of MB beyond the features themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PadimStats", "fit_stats", "score_stats", "whitened"]

#: float64 bytes per block of cells (items x features x cells) held at once
_BLOCK_BYTES = 64 << 20


@dataclass
class PadimStats:
    """Parameters of the fitted part of the graph (see ``build_score_model``)."""

    projection: np.ndarray  # (d, F): standardise + project, as one matrix
    bias: np.ndarray  # (d,)
    means: np.ndarray  # (cells, d)
    whiten: np.ndarray  # (cells, d, d): dist = ||(z - mean) @ whiten||
    shrinkage: np.ndarray  # (cells,) Ledoit-Wolf weight used per cell


def _blocks(parts: Sequence[np.ndarray]) -> Iterator[tuple[slice, np.ndarray]]:
    """(cells slice, (cells in block, N, F) float64) over parts of (n_i, F, g, g) features."""
    n = sum(len(p) for p in parts)
    f = parts[0].shape[1]
    cells = int(np.prod(parts[0].shape[2:]))
    step = max(1, _BLOCK_BYTES // max(1, n * f * 8))
    for lo in range(0, cells, step):
        sl = slice(lo, min(cells, lo + step))
        block = np.concatenate([p.reshape(len(p), f, cells)[:, :, sl] for p in parts])
        yield sl, block.transpose(2, 0, 1).astype(np.float64)


def fit_stats(
    feats: np.ndarray | Sequence[np.ndarray], components: int, min_shrink: float = 0.02
) -> PadimStats:
    """Fit on good items' pooled features (N, F, grid, grid), given whole or as parts (the
    items and their brightness-shifted copies) so that they need not be concatenated."""
    parts = [feats] if isinstance(feats, np.ndarray) else list(feats)
    n = sum(len(p) for p in parts)
    f = parts[0].shape[1]
    c = int(np.prod(parts[0].shape[2:]))
    if n < 2:
        raise ValueError("need at least two good items")
    # pass 1: cell means, each feature's variance within the cells, the pooled scatter
    cell_mu = np.empty((c, f))
    within_var = np.zeros(f)
    scatter = np.zeros((f, f))
    for sl, x in _blocks(parts):
        cell_mu[sl] = x.mean(axis=1)
        x -= cell_mu[sl][:, None, :]
        scatter += np.einsum("cnf,cng->fg", x, x, optimize=True)
        within_var += (x**2).sum(axis=(0, 1))
    mu_f = cell_mu.mean(axis=0)
    sd_f = np.sqrt(within_var / (c * n) + ((cell_mu - mu_f) ** 2).mean(axis=0)) + 1e-6
    cov = scatter / (c * n) / np.outer(sd_f, sd_f)  # within-cell covariance, standardised
    _vals, vecs = np.linalg.eigh(cov)
    d = int(min(components, f))
    pcs = vecs[:, ::-1][:, :d].T  # (d, F)
    projection = pcs / sd_f[None, :]
    bias = -projection @ mu_f
    means = cell_mu @ projection.T + bias  # (C, d)
    # pass 2: per cell, the covariance of the projected features, shrunk towards a scaled
    # identity (Ledoit-Wolf), and its whitening matrix
    eye = np.eye(d)
    whiten = np.empty((c, d, d), np.float32)
    shrink = np.empty(c)
    for sl, x in _blocks(parts):
        zc = (x - cell_mu[sl][:, None, :]) @ projection.T  # (b, N, d)
        del x
        s = zc.transpose(0, 2, 1) @ zc / n
        m = np.trace(s, axis1=1, axis2=2) / d
        d2 = ((s - m[:, None, None] * eye) ** 2).sum(axis=(1, 2))
        norms4 = (np.einsum("cnd,cnd->cn", zc, zc) ** 2).sum(axis=1)
        b2 = np.minimum((norms4 / n - (s**2).sum(axis=(1, 2))) / n, d2)
        sh = np.clip(b2 / np.maximum(d2, 1e-12), min_shrink, 1.0)
        sigma = (1 - sh)[:, None, None] * s + (sh * m)[:, None, None] * eye
        sigma += 1e-6 * eye
        inv = np.linalg.inv(np.linalg.cholesky(sigma))  # Sigma^-1 = inv.T @ inv
        whiten[sl] = inv.transpose(0, 2, 1)  # row vector form: (z - mu) @ inv.T
        shrink[sl] = sh
    return PadimStats(
        projection.astype(np.float32),
        bias.astype(np.float32),
        means.astype(np.float32),
        whiten,
        shrink,
    )


def _whitened_blocks(stats: PadimStats, feats: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    proj = stats.projection.T.astype(np.float64)
    for sl, x in _blocks([feats]):
        z = x @ proj + stats.bias
        yield sl, (z - stats.means[sl][:, None, :]) @ stats.whiten[sl].astype(np.float64)


def whitened(stats: PadimStats, feats: np.ndarray) -> np.ndarray:
    """Each cell's whitened deviation (cells, N, d) from its good-item Gaussian."""
    out = np.empty((len(stats.means), len(feats), stats.means.shape[1]))
    for sl, w in _whitened_blocks(stats, feats):
        out[sl] = w
    return out


def score_stats(
    stats: PadimStats, feats: np.ndarray, region: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (N,) and distance maps (N, cells) for pooled features, as the graph computes them;
    ``region`` (cells,) of 0/1 limits the score to the item's own cells."""
    dist = np.empty((len(feats), len(stats.means)))
    for sl, w in _whitened_blocks(stats, feats):
        dist[:, sl] = np.sqrt((w**2).sum(axis=2)).T
    scored = dist if region is None else dist * region[None, :]
    return scored.max(axis=1), dist
