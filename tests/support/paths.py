"""Where the repository and the committed test data are."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA", "RECORDING", "REPO"]

#: the repository root (the checkout these tests belong to)
REPO = Path(__file__).resolve().parents[2]
#: the committed test data (see tests/data/README.md)
DATA = REPO / "tests" / "data"
#: the committed short recording of a mooncake line (frames + labels.jsonl)
RECORDING = DATA / "line_short"
