"""The drift monitor: an estimated false-reject rate from unlabelled line scores, and its alert."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from edge.drift import DriftMonitor
from peakline.wire import NodeMetrics


def _line(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    """Good items' scores (Gumbel, as the model's are) with 3% defects far above them."""
    scores = rng.gumbel(5.0 + shift, 1.0, n)
    scores[rng.random(n) < 0.03] = 40.0
    return scores


def test_estimate_follows_the_true_rate_and_alerts_once(caplog: pytest.LogCaptureFixture) -> None:
    reject = 5.0 - np.log(-np.log(0.99))  # the goods' 99% quantile: 1% false rejects
    mon = DriftMonitor(lambda: reject, 0.01, window=2000, min_items=200)
    rng = np.random.default_rng(0)
    assert mon.status().estimated_frr is None  # not enough items yet
    for s in _line(rng, 2000):
        mon.add(float(s))
    mon.add(float("nan"))  # a model failure is not a score
    st = mon.status()
    assert st.items == 2000 and st.estimated_frr == pytest.approx(0.01, abs=0.006)
    assert not st.alert
    with caplog.at_level(logging.WARNING, logger="edge.drift"):
        for s in _line(rng, 2000, shift=1.5):  # brighter light: the good scores moved up
            mon.add(float(s))
        first, second = mon.status(), mon.status()
    true_frr = 1 - np.exp(-np.exp(-(reject - 6.5)))
    assert first.alert and second.alert and first.estimated_frr == pytest.approx(true_frr, rel=0.3)
    assert sum("score drift" in r.message for r in caplog.records) == 1


def test_metrics_payload_carries_it() -> None:
    m = NodeMetrics(
        site="s", line="l", node="n", boot_id="b", ts=1.0, window_s=5.0, items=10,
        estimated_frr=0.031, frr_band=0.03, drift_alert=True, score_p50=4.2,
    )
    assert NodeMetrics.model_validate_json(m.model_dump_json(by_alias=True)).drift_alert
    with pytest.raises(ValueError, match="less than or equal to 1"):
        NodeMetrics(site="s", line="l", node="n", boot_id="b", ts=1.0, window_s=5.0, items=1,
                    estimated_frr=2.0)
