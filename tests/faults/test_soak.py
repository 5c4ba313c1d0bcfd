"""A short soak (CI): steady load, nothing lost, and memory, file handles and outbox flat.

``python bench/soak.py --minutes N`` runs the long one. The bounds here are generous on
purpose (a 30-second run on a shared machine is noisy); what they catch is a leak that grows
with every message: a file handle per reconnect or commit, an outbox that never shrinks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .soak import flatness, run_soak

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]


def test_short_soak_is_flat(tmp_path: Path) -> None:
    tally, samples = run_soak(tmp_path, seconds=30, every_s=2.0, rate=100.0)
    x = tally.extra
    assert tally.sent > 0 and tally.lost == 0 and tally.duplicated == 0, tally.row()
    for proc in ("plant", "edge", "broker"):
        assert x[f"{proc}_fd_growth"] <= 3, x
        assert x[f"{proc}_rss_growth_mb"] <= 25, x
    assert x["outbox_mb_growth"] <= 1, x
    assert x["outbox_wal_mb_max"] <= 4 * 6, x  # checkpointed at ~4 MB per node
    assert x["backlog_max"] <= 2000, x  # acknowledged as fast as produced, no pile-up
    assert flatness(samples)["samples"] == x["samples"]
