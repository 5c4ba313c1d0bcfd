"""Thresholds that hold on the next session, and the item's own cells."""

from __future__ import annotations

import numpy as np
import pytest

from edge.model.calibration import gumbel_quantile, item_region, robust_thresholds


def _good(n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """Max-of-cells scores of good items: Gumbel-like, as the model's are."""
    return np.random.default_rng(seed).gumbel(5.0 + shift, 1.0, n)


def test_threshold_holds_on_a_shifted_session() -> None:
    fit = robust_thresholds(_good(400, 0), 0.01)
    assert fit.frr <= 0.01 and fit.uncertain <= fit.reject
    # the next session's good scores sit a little higher: still within target
    assert np.mean(_good(20000, 1, shift=0.3) >= fit.reject) <= 0.01
    # the plain quantile of the first session would not hold
    plain = float(np.quantile(_good(400, 0), 0.99))
    assert np.mean(_good(20000, 1, shift=0.3) >= plain) > 0.01


def test_threshold_is_robust_to_a_few_defects() -> None:
    clean = _good(500, 2)
    dirty = np.concatenate([clean, np.full(15, 40.0)])  # 3% defects among the first items
    robust = robust_thresholds(dirty, 0.01, contamination=0.05)
    assert robust.reject == pytest.approx(robust_thresholds(clean, 0.01).reject, rel=0.15)
    assert robust.reject < 40.0 and "defects allowed" in robust.method
    assert robust_thresholds(dirty, 0.01).reject > 40.0  # clean held-out goods: no such allowance


def test_few_good_items_say_so() -> None:
    fit = robust_thresholds(_good(30, 3), 0.01)
    assert "only 30 held-out good items" in fit.trust and "at least 100" in fit.trust
    assert fit.reject > gumbel_quantile(_good(30, 3), 0.99) - 1e-9
    with pytest.raises(ValueError, match="at least 3"):
        robust_thresholds(np.array([1.0, 2.0]), 0.01)


def test_gumbel_quantile_matches_the_distribution() -> None:
    s = _good(100000, 4)
    assert gumbel_quantile(s, 0.99) == pytest.approx(5.0 - np.log(-np.log(0.99)), rel=0.02)


def test_item_region_is_the_inscribed_disc() -> None:
    r = item_region(16, 0.15).reshape(16, 16)
    assert r[8, 8] == 1 and r[0, 0] == 0 and r[15, 15] == 0 and r[0, 8] == 0
    assert r[1, 8] == 1 and r.sum() == r.T.sum() and (r == r[::-1]).all()
    assert item_region(8, 0.0).reshape(8, 8)[0, 4] == 1


def test_threshold_aims_at_the_target_with_a_margin_that_shrinks() -> None:
    """On a photo set (no line-shift margin) the threshold sits near the target's quantile,
    not above every good item, and comes closer to it as the held-out goods grow."""
    fresh = _good(200000, 5)
    frr = {}
    for n in (300, 3000):
        fit = robust_thresholds(_good(n, 6), 0.01, margin=0.0)
        frr[n] = float(np.mean(fresh >= fit.reject))
        assert fit.reject < _good(n, 6).max()
        assert "aimed at 1.0%" in fit.trust
        assert 0.004 <= frr[n] <= 0.016
    # the sampling margin: the quantile read is higher for fewer goods
    assert "quantile 99.29%" in robust_thresholds(_good(300, 6), 0.01, margin=0.0).method
    assert "quantile 99.09%" in robust_thresholds(_good(3000, 6), 0.01, margin=0.0).method
    assert "1000 or more would pin it down" in robust_thresholds(_good(300, 6), 0.01).trust
