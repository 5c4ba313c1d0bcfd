"""The progress file a preparing job writes and the dashboard shows."""

from __future__ import annotations

import json
from pathlib import Path

from peakline.progress import Progress, read_progress


def test_steps_move_through_their_states_and_the_file_is_always_whole(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    progress = Progress(path, "Preparing")
    progress.add("a", "first")
    progress.add("b", "second")
    data = read_progress(path)
    assert data is not None and data["phase"] == "preparing"
    assert [(s["key"], s["state"]) for s in data["steps"]] == [("a", "pending"), ("b", "pending")]
    progress.start("a", "half way")
    progress.done("a")
    progress.fail("b", "disk full")
    data = read_progress(path)
    assert data is not None and data["phase"] == "failed"
    a, b = data["steps"]
    assert (a["state"], a["detail"]) == ("done", "half way") and a["finished"] >= a["started"]
    assert (b["state"], b["detail"]) == ("failed", "disk full")
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it


def test_a_missing_or_broken_file_reads_as_none(tmp_path: Path) -> None:
    assert read_progress(tmp_path / "none.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert read_progress(tmp_path / "bad.json") is None
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    assert read_progress(tmp_path / "list.json") is None
