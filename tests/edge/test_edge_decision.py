"""Scores to decisions: thresholds, live changes, and a broken model failing safe."""

from __future__ import annotations

import math

import pytest

from edge.decision import Decider, Thresholds
from peakline.errors import ConfigError


def test_thresholds_split_pass_uncertain_reject() -> None:
    decide = Decider(Thresholds(reject=2.0, uncertain=1.0)).decide
    assert [decide(s) for s in (0.5, 1.0, 1.99, 2.0, 9.0)] == [
        "pass", "uncertain", "uncertain", "reject", "reject",
    ]


@pytest.mark.parametrize("score", [math.nan, math.inf])
def test_a_non_finite_score_rejects(score: float) -> None:
    assert Decider(Thresholds(reject=2.0, uncertain=1.0)).decide(score) == "reject"


def test_thresholds_change_live_but_never_cross() -> None:
    decider = Decider(Thresholds(reject=2.0, uncertain=1.0))
    assert decider.set(reject=3.0).reject == 3.0
    assert decider.decide(2.5) == "uncertain"
    with pytest.raises(ConfigError, match="above the reject threshold"):
        decider.set(uncertain=4.0)
    assert decider.thresholds == Thresholds(reject=3.0, uncertain=1.0)
