"""PaDiM statistics against a plain NumPy/scikit-learn reference, cell by cell."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf

from edge.model import stats
from edge.model.stats import fit_stats, score_stats


def _feats(n: int, f: int = 24, g: int = 3, seed: int = 0) -> np.ndarray:
    """Correlated features (a few latent factors) with a different mean and scale per cell."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((4, f)) * 2.0
    latent = rng.standard_normal((n, g * g, 4))
    x = latent @ mix + 0.5 * rng.standard_normal((n, g * g, f))
    x = x * rng.uniform(0.5, 3.0, f) + rng.standard_normal((g * g, f))
    return x.transpose(0, 2, 1).reshape(n, f, g, g).astype(np.float32)


def _reference(train: np.ndarray, test: np.ndarray, d: int) -> np.ndarray:
    """Distances (N, cells): features standardised over all cells, projected on the top ``d``
    eigenvectors of the pooled within-cell covariance, a Ledoit-Wolf Gaussian per cell."""
    n, f = train.shape[:2]
    x = train.reshape(n, f, -1).astype(np.float64)
    t = test.reshape(len(test), f, -1).astype(np.float64)
    mu, sd = x.mean(axis=(0, 2)), x.std(axis=(0, 2)) + 1e-6
    xs = (x - mu[:, None]) / sd[:, None]
    ts = (t - mu[:, None]) / sd[:, None]
    within = xs - xs.mean(axis=0, keepdims=True)
    cov = np.einsum("nfc,ngc->fg", within, within) / (n * x.shape[2])
    pcs = np.linalg.eigh(cov)[1][:, ::-1][:, :d]
    out = np.empty((len(test), x.shape[2]))
    for c in range(x.shape[2]):
        z, zt = xs[:, :, c] @ pcs, ts[:, :, c] @ pcs
        sigma = ledoit_wolf(z)[0] + 1e-6 * np.eye(d)
        dev = zt - z.mean(axis=0)
        out[:, c] = np.sqrt(np.einsum("nd,de,ne->n", dev, np.linalg.inv(sigma), dev))
    return out


@pytest.mark.parametrize("d", [24, 6])
def test_distances_match_the_reference(d: int) -> None:
    """The full covariance (as many components as features) and a PCA-reduced one."""
    train, test = _feats(40), _feats(7, seed=1)
    st = fit_stats(train, d)
    assert st.whiten.shape == (9, d, d) and st.means.shape == (9, d)
    assert np.all((st.shrinkage > 0.02) & (st.shrinkage < 0.9))  # the clip does not act
    score, dist = score_stats(st, test)
    want = _reference(train, test, d)
    np.testing.assert_allclose(dist, want, rtol=2e-4)
    np.testing.assert_allclose(score, want.max(axis=1), rtol=2e-4)
    region = np.zeros(9)
    region[[0, 4]] = 1
    np.testing.assert_allclose(score_stats(st, test, region)[0], want[:, [0, 4]].max(axis=1), 2e-4)


def test_fewer_items_than_features() -> None:
    """Ledoit-Wolf keeps the full covariance invertible with fewer items than features."""
    train, test = _feats(12, f=40), _feats(3, f=40, seed=1)
    st = fit_stats(train, 40)
    np.testing.assert_allclose(score_stats(st, test)[1], _reference(train, test, 40), rtol=2e-4)


def test_parts_and_blocks_give_the_same_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Items given in parts, and cells taken a few at a time, change nothing."""
    train, test = _feats(30), _feats(5, seed=1)
    whole = fit_stats(train, 24)
    monkeypatch.setattr(stats, "_BLOCK_BYTES", 30 * 24 * 8 * 2)  # two cells per block
    parts = fit_stats([train[:10], train[10:]], 24)
    for name in ("projection", "bias", "means", "whiten", "shrinkage"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-5)
    np.testing.assert_allclose(score_stats(parts, test)[1], score_stats(whole, test)[1], 1e-5)


def test_memory_stays_near_the_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """Working memory is a block of cells, not float64 copies of every item's features."""
    train = _feats(300, f=48, g=8)  # 3.7 MB of float32 features
    monkeypatch.setattr(stats, "_BLOCK_BYTES", 1 << 18)  # two cells of float64 at a time
    tracemalloc.start()
    try:
        st = fit_stats([train[:150], train[150:]], 48)
        score_stats(st, train)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # one float64 copy of all features would be twice their size; whiten is 0.6 MB
    assert peak < train.nbytes, peak
