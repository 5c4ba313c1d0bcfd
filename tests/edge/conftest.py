"""Fixtures of the edge tests: a model fitted on the committed recording."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def line_model(recording_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted on the committed recording (no download, a few seconds)."""
    from edge.model.fit import fit_model

    out = tmp_path_factory.mktemp("model") / "line.onnx"
    fit_model(recording_dir, out, threads=1)
    return out
