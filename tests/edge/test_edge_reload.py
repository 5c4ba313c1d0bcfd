"""The ``reload_model`` command: the new card's thresholds and crop policy take effect."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from support.configs import node_config

from edge.config import load_config
from edge.inference import Job
from edge.link import group_rows
from edge.model.card import read_card, write_card
from edge.node import Node
from peakline.procs import free_port
from peakline.wire import NodeCommand


def _node(tmp_path: Path, recording_dir: Path, model: Path, **inference: float) -> Node:
    cfg = node_config(tmp_path, free_port(), recording_dir, model,
                      inference={"model": str(model), **inference})
    return Node(load_config(cfg))  # not run: no broker is needed for this


def _close(node: Node) -> None:
    node.rejects.stop(fire_pending=False)  # closes the actuator (its csv file)
    node.decisions.close()
    node.inference.close()
    node.outbox.close()
    node.telemetry.close()


@pytest.fixture
def model(line_model: Path, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "model.onnx"  # a copy that the test may rewrite, as a user would
    shutil.copy(line_model, path)
    yield path


def _recalibrate(model: Path, reject: float, uncertain: float, margin: float) -> None:
    card = read_card(model)
    card = card.model_copy(update={
        "thresholds": card.thresholds.model_copy(update={"reject": reject,
                                                         "uncertain": uncertain}),
        "crop": card.crop.model_copy(update={"margin": margin}),
    })
    write_card(model, card)


def test_reload_model_takes_the_new_cards_thresholds_and_crop(
    model: Path, recording_dir: Path, tmp_path: Path,
) -> None:
    node = _node(tmp_path, recording_dir, model)
    try:
        old = read_card(model)
        assert node.decider.thresholds.reject == old.thresholds.reject
        roi_before = node.inference.roi_for((400, 300, 100, 100), 1280, 720)
        _recalibrate(model, old.thresholds.reject * 3, old.thresholds.uncertain * 2, 0.5)
        node._command(NodeCommand(id="r1", ts=time.time(), sender="test",
                                  command="reload_model"))
        node._reload_done.wait(30)
        t = node.decider.thresholds
        assert (t.reject, t.uncertain) == (old.thresholds.reject * 3, old.thresholds.uncertain * 2)
        assert node.inference.roi_for((400, 300, 100, 100), 1280, 720) == (375, 275, 150, 150)
        assert roi_before != (375, 275, 150, 150)
    finally:
        _close(node)


def test_thresholds_set_in_the_config_survive_a_reload(
    model: Path, recording_dir: Path, tmp_path: Path,
) -> None:
    node = _node(tmp_path, recording_dir, model, reject_threshold=50.0)
    try:
        old = read_card(model)
        _recalibrate(model, old.thresholds.reject * 3, old.thresholds.uncertain * 2, 0.2)
        node._reload()
        t = node.decider.thresholds
        assert (t.reject, t.uncertain) == (50.0, old.thresholds.uncertain * 2)
    finally:
        _close(node)


def test_a_broken_model_file_leaves_the_old_model(
    model: Path, recording_dir: Path, tmp_path: Path,
) -> None:
    node = _node(tmp_path, recording_dir, model)
    try:
        before = (node.inference.scorer, node.decider.thresholds)
        model.write_bytes(b"not a model")
        node._reload()
        assert (node.inference.scorer, node.decider.thresholds) == before
    finally:
        _close(node)


def test_results_and_the_status_carry_the_model_that_scored_them(
    model: Path, recording_dir: Path, tmp_path: Path,
) -> None:
    node = _node(tmp_path, recording_dir, model)
    try:
        old = read_card(model)
        old_scorer = node.inference.scorer

        def decide(item: int) -> None:  # as the inference worker hands over a scored batch
            job = Job(item, item, 0, (0, 0, 100, 80), time.perf_counter(), time.time(), True)
            node.decisions.scored([job], np.array([0.0], np.float32), [None])

        node.inference.scored_by = old_scorer
        decide(1)
        write_card(model, old.model_copy(update={"version": "v-next"}))
        node._command(NodeCommand(id="r2", ts=time.time(), sender="test",
                                  command="reload_model"))
        node._reload_done.wait(30)
        assert node.model_id == node.publisher.model == f"{old.name}:v-next"
        decide(2)  # a batch queued before the reload, scored by the old model
        node.inference.scored_by = node.inference.scorer
        decide(3)
        rows = {json.loads(r.body)["item_id"]: r.model for r in node.outbox.fetch(0, 10)}
        assert rows == {1: f"{old.name}:{old.version}", 2: f"{old.name}:{old.version}",
                        3: f"{old.name}:v-next"}
        assert [len(g) for g in group_rows(node.outbox.fetch(0, 10), node.boot_id, 0)] == [2, 1]
    finally:
        _close(node)
