"""PatchCore-style scoring: a memory bank of good patches and the distance to the nearest one.

PaDiM (``edge.model.stats``) keeps one Gaussian per cell, so it knows *where* a feature is
normal; PatchCore (Roth et al., 2022) keeps the good patches themselves, wherever they were, and
scores each patch of a new item by the distance to its nearest neighbour among them. Textures,
surfaces and items that are not aligned in the photo suit it better; aligned items often suit
PaDiM. Fitting tries both on held-out good items against synthetic defects.

The recipe, on the pooled features (N, F, g, g) of ``edge.model.graph``:

1. locally aware patches: each cell's features averaged with its 3x3 neighbours (edge cells
   average the neighbours they have), so a patch sees a little context;
2. standardise and project on the principal components (the same 1x1 convolution PaDiM uses),
   keeping what explains 99% of the variance, at most ``MAX_DIMS`` components;
3. greedy coreset: from all good patches (at most ``MAX_POOL``, a seeded sample beyond that),
   pick ``bank_size`` that cover the rest (each new one the patch farthest from those chosen),
   so the bank is small and still reaches every kind of good patch;
4. score: per cell ``min_j ||z - b_j||``, computed in the ONNX graph as a MatMul with the bank
   plus the squared norms and a ReduceMin; the item's score is the largest cell score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_DIMS", "PatchBank", "aggregate", "bank_size", "fit_bank", "score_bank"]

#: at most this many principal components per patch (the bank's width)
MAX_DIMS = 128
#: variance kept by the projection
KEEP_VARIANCE = 0.99
#: at most this many good patches enter the coreset search (a seeded sample beyond that)
MAX_POOL = 60_000
#: the bank holds this share of the patches offered, within BANK_MIN..BANK_MAX
BANK_SHARE = 0.05
BANK_MIN, BANK_MAX = 500, 2_000
#: the coreset search measures distances in a random projection this wide (as PatchCore does)
SEARCH_DIMS = 32


@dataclass
class PatchBank:
    """Parameters of the fitted PatchCore part of the graph."""

    projection: np.ndarray  # (d, F): standardise + project, as one matrix
    bias: np.ndarray  # (d,)
    bank: np.ndarray  # (M, d) good patches in the projected space


def aggregate(feats: np.ndarray) -> np.ndarray:
    """(N, F, g, g) -> each cell averaged with its 3x3 neighbours that exist (as ONNX
    AveragePool 3x3, stride 1, pads 1, count_include_pad 0)."""
    x = feats.astype(np.float32)
    n, f, g, h = x.shape
    padded = np.zeros((n, f, g + 2, h + 2), np.float32)
    padded[:, :, 1:-1, 1:-1] = x
    ones = np.zeros((g + 2, h + 2), np.float32)
    ones[1:-1, 1:-1] = 1.0
    total = np.zeros_like(x)
    count = np.zeros((g, h), np.float32)
    for dy in range(3):
        for dx in range(3):
            total += padded[:, :, dy : dy + g, dx : dx + h]
            count += ones[dy : dy + g, dx : dx + h]
    return total / count


def _patches(feats: np.ndarray) -> np.ndarray:
    """(N, F, g, g) -> (N * g * g, F), item by item, cells in row order."""
    n, f = feats.shape[:2]
    return feats.reshape(n, f, -1).transpose(0, 2, 1).reshape(-1, f)


def bank_size(n_patches: int) -> int:
    """Bank entries for ``n_patches`` offered good patches."""
    return int(min(n_patches, max(BANK_MIN, min(BANK_MAX, BANK_SHARE * n_patches))))


def _coreset(x: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``m`` rows of ``x`` chosen greedily, each the farthest from those chosen."""
    if x.shape[1] > SEARCH_DIMS:
        x = x @ rng.normal(size=(x.shape[1], SEARCH_DIMS)).astype(np.float32)
    sq = np.einsum("pd,pd->p", x, x)
    first = int(rng.integers(len(x)))
    chosen = [first]
    mind = np.maximum(sq - 2.0 * (x @ x[first]) + sq[first], 0.0)
    for _ in range(m - 1):
        j = int(np.argmax(mind))
        chosen.append(j)
        np.minimum(mind, np.maximum(sq - 2.0 * (x @ x[j]) + sq[j], 0.0), out=mind)
    return np.array(chosen)


def fit_bank(feats: np.ndarray, size: int | None = None, seed: int = 0) -> PatchBank:
    """Fit on good items' pooled features (N, F, g, g), already aggregated (:func:`aggregate`)."""
    x = _patches(feats).astype(np.float64)
    rng = np.random.default_rng(seed)
    if len(x) > MAX_POOL:
        x = x[rng.choice(len(x), MAX_POOL, replace=False)]
    mu = x.mean(axis=0)
    sd = x.std(axis=0) + 1e-6
    xs = (x - mu) / sd
    vals, vecs = np.linalg.eigh(np.cov(xs, rowvar=False))
    vals, vecs = vals[::-1], vecs[:, ::-1]
    share = np.cumsum(np.maximum(vals, 0.0)) / max(float(np.maximum(vals, 0.0).sum()), 1e-12)
    d = int(min(MAX_DIMS, np.searchsorted(share, KEEP_VARIANCE) + 1, x.shape[1]))
    projection = (vecs[:, :d].T / sd[None, :]).astype(np.float32)
    bias = (-projection.astype(np.float64) @ mu).astype(np.float32)
    z = (x @ projection.T.astype(np.float64) + bias).astype(np.float32)
    m = size or bank_size(len(z))
    bank = z[_coreset(z, min(m, len(z)), rng)]
    return PatchBank(projection, bias, bank)


def score_bank(
    pb: PatchBank, feats: np.ndarray, region: np.ndarray | None = None, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (N,) and distance maps (N, cells) of aggregated features, as the graph computes
    them; ``region`` (cells,) of 0/1 limits the score to the item's own cells."""
    n = feats.shape[0]
    cells = feats.shape[2] * feats.shape[3]
    z = _patches(feats).astype(np.float32) @ pb.projection.T + pb.bias
    bsq = np.einsum("md,md->m", pb.bank, pb.bank)
    best = np.empty(len(z), np.float32)
    for i in range(0, len(z), chunk):
        q = z[i : i + chunk]
        d2 = (q @ (-2.0 * pb.bank.T)) + bsq[None, :]
        best[i : i + chunk] = d2.min(axis=1) + np.einsum("qd,qd->q", q, q)
    dist = np.sqrt(np.maximum(best, 0.0)).reshape(n, cells)
    scored = dist if region is None else dist * region[None, :]
    return scored.max(axis=1), dist
