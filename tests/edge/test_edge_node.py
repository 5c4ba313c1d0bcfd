"""The camera node end to end against a real Mosquitto, replaying the committed recording."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.configs import node_config
from support.mqtt import Acker
from support.procs import peakline
from support.replay import match_results, offline_reference, read_outbox, rescore
from support.waiting import wait_until

from edge.config import load_config
from edge.decision import Decider, Thresholds
from edge.model.card import read_card
from edge.node import Node
from edge.recording.format import read_recording
from plant.broker.process import Mosquitto


def _run_node(config: Path, stop_after: float | None = None) -> Node:
    node = Node(load_config(config))
    if stop_after is not None:
        threading.Timer(stop_after, node.stop).start()
    node.run(install_signals=False)
    return node


def test_replay_decides_every_item_once_like_model_eval(
    broker: Mosquitto, recording_dir: Path, line_model: Path, tmp_path: Path
) -> None:
    acker = Acker(broker.port)
    try:
        node = _run_node(node_config(tmp_path, broker.port, recording_dir, line_model))
        acker.wait_stored(node.decisions.decided, 20)
    finally:
        acker.close()
    results = sorted(acker.results[("l1", "n1", node.boot_id)].values(), key=lambda r: r.seq)
    assert [r.seq for r in results] == list(range(1, len(results) + 1))
    assert node.outbox.backlog == 0

    hits, unmatched = match_results(recording_dir, results)
    assert unmatched == []
    assert {i: len(v) for i, v in hits.items() if len(v) > 1} == {}  # one decision per item
    ref = offline_reference(recording_dir, line_model)
    expected = {i for i, (label, _s, _f) in ref.items() if label != "empty_slot"}
    assert expected - set(hits) == set()  # every item seen in full got its result

    # the node's score is exactly the offline path's on the node's own crop ...
    offline = rescore(recording_dir, line_model, results)
    np.testing.assert_allclose([r.score for r in results], offline, rtol=1e-4, atol=1e-4)
    # ... and its decisions are those of `peakline model eval` (label boxes, best views).
    # The node's boxes come from its own item finder (within ~3 px of the labels) and this
    # model's score moves a lot with a pixel of crop shift, so items close to a threshold
    # may land on the other side; clear cases must not, and nearly all must agree.
    card = read_card(line_model)
    t = card.thresholds
    decide = Decider(Thresholds(t.reject, t.uncertain)).decide
    disagree = [(i, ref[i], rs[0].score) for i, rs in hits.items()
                if decide(ref[i][1]) != rs[0].decision]
    assert len(disagree) <= 0.1 * len(hits), disagree
    for _i, (_label, score, _f), _node in disagree:
        near = [th for th in (t.reject, t.uncertain) if th / 1.5 <= score <= th * 1.5]
        assert near, disagree  # a clear pass or a clear reject is decided the same way
    # judged at the most centred view (a pixel of box error can tip a tie to the next frame)
    assert all(abs(hits[i][0].frame - ref[i][2]) <= 1 for i in hits)

    rejects = [r for r in results if r.decision == "reject"]
    assert rejects and all(r.rejected and not r.missed_reject for r in rejects)
    fired = (tmp_path / "rejects.csv").read_text().splitlines()
    assert len(fired) == 1 + len(rejects)
    saved = sorted((tmp_path / "review").glob("*.jpg"))
    assert len(saved) == sum(r.decision != "pass" for r in results)


@pytest.mark.parametrize("outage_s", [3.0, pytest.param(20.0, marks=pytest.mark.faults)])
def test_broker_killed_mid_run_loses_nothing(
    own_broker: Mosquitto, recording_dir: Path, line_model: Path, tmp_path: Path,
    outage_s: float,
) -> None:
    acker = Acker(own_broker.port)
    cfg = node_config(tmp_path, own_broker.port, recording_dir, line_model,
                      source={"realtime": True, "loop": True})
    node = Node(load_config(cfg))
    runner = threading.Thread(target=node.run, kwargs={"install_signals": False})
    runner.start()
    try:
        acker.wait_stored(10, 60)
        own_broker.kill()
        before = node.decisions.decided
        time.sleep(outage_s)
        assert node.decisions.decided > before  # still inspecting while the broker is down
        assert node.outbox.backlog > 0
        own_broker.start()
        time.sleep(2.0)
        node.stop()
        runner.join(60)
        assert not runner.is_alive()
        decided = node.decisions.decided
        acker.wait_stored(decided, 30)
    finally:
        node.stop()
        runner.join(60)
        acker.close()
    seqs = sorted(acker.results[("l1", "n1", node.boot_id)])
    assert seqs == list(range(1, decided + 1))
    assert any(b.historical for b in acker.batches)
    assert node.publisher.stats.connects >= 2


def test_kill9_mid_run_then_restart_delivers_the_outbox(
    own_broker: Mosquitto, recording_dir: Path, line_model: Path, tmp_path: Path
) -> None:
    acker = Acker(own_broker.port)
    cfg = node_config(tmp_path, own_broker.port, recording_dir, line_model,
                      source={"realtime": True, "loop": True}, mqtt={"resend_after_s": 2.0})
    outbox = tmp_path / "outbox.db"
    node = peakline("node", tmp_path, "edge", "run", "--config", str(cfg)).start()
    try:
        node.wait_for("15 results stored", lambda: acker.stored() >= 15, 90)
        own_broker.kill()  # so some results are only in the outbox when the node dies
        time.sleep(1.5)
        node.kill()
        own_broker.start()
        in_outbox = read_outbox(outbox)
        assert in_outbox, "nothing was waiting in the outbox at the kill"
        first_boot = {b for b, _ in in_outbox}
        node.start()
        node.wait_for("every result of the killed boot stored",
                      lambda: all(s in acker.results.get(("l1", "n1", b), {})
                                  for b, s in in_outbox),
                      60)
        assert node.stop(60) == 0
    finally:
        node.kill()
        acker.close()
    for boot in first_boot:  # nothing of the killed boot is missing: seqs 1..max
        seqs = sorted(acker.results[("l1", "n1", boot)])
        assert seqs == list(range(1, seqs[-1] + 1))
    boots = {b for _l, _n, b in acker.results}
    assert len(boots) == 2  # the restart runs under a new boot id
    replayed = [b for b in acker.batches if b.boot_id in first_boot and b.historical]
    assert replayed


@pytest.mark.parametrize("content", [None, b"this is not an onnx model"])
def test_missing_or_invalid_model_stops_the_node_with_status_2(
    broker: Mosquitto, recording_dir: Path, tmp_path: Path, content: bytes | None
) -> None:
    model = tmp_path / "model.onnx"
    if content is not None:
        model.write_bytes(content)
    cfg = node_config(tmp_path, broker.port, recording_dir, model)
    node = peakline("node", tmp_path, "edge", "run", "--config", str(cfg))
    assert node.run(120) == 2
    err = node.output()
    assert str(model) in err
    assert ("does not exist" in err) if content is None else ("not an ONNX model" in err)
    assert "Traceback" not in err
    assert not (tmp_path / "outbox.db").exists()  # stopped before anything started


def test_corrupt_frames_are_counted_and_skipped(
    broker: Mosquitto, recording_dir: Path, line_model: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in read_recording(recording_dir).frames(0, 90):
        cv2.imwrite(str(folder / f"{index:06d}.jpg"), frame)
    data = (folder / "000030.jpg").read_bytes()
    (folder / "000030.jpg").write_bytes(data[: len(data) // 4])  # truncated
    small = cv2.imread(str(folder / "000060.jpg"))
    assert small is not None
    cv2.imwrite(str(folder / "000060.jpg"), cv2.resize(small, (640, 360)))  # wrong size
    acker = Acker(broker.port)
    try:
        cfg = node_config(tmp_path, broker.port, recording_dir, line_model,
                          source={"type": "folder", "path": str(folder), "fps": 30.0})
        node = Node(load_config(cfg))
        runner = threading.Thread(target=node.run, kwargs={"install_signals": False})
        runner.start()
        wait_until("the metrics port", lambda: node.metrics_port is not None, 30)
        wait_until("the end of the frames", lambda: node.items.done.is_set(), 120)
        body = urllib.request.urlopen(f"http://127.0.0.1:{node.metrics_port}/metrics").read()
        runner.join(60)
    finally:
        acker.close()
    assert node.capture.stats.corrupt == 1 and node.capture.stats.wrong_shape == 1
    assert node.capture.stats.frames == 88
    assert node.decisions.decided > 5
    text = body.decode()
    assert "peakline_edge_corrupt_frames_total 1.0" in text
    assert "peakline_edge_wrong_shape_frames_total 1.0" in text


def test_outbox_bound_applies_the_policy_and_reports_it(
    broker: Mosquitto, recording_dir: Path, line_model: Path, tmp_path: Path
) -> None:
    acker = Acker(broker.port, site="s1")
    acker.go_offline()  # the plant is away: nothing may be drained
    try:
        cfg = node_config(tmp_path, broker.port, recording_dir, line_model,
                          outbox={"max_rows": 20, "reserve_fraction": 0.25},
                          mqtt={"drain_on_stop_s": 0.0})
        node = _run_node(cfg)
        assert node.decisions.decided > 20
        dropped = node.outbox.dropped
        assert dropped.get("pass", 0) > 0
        assert read_outbox(tmp_path / "outbox.db").__len__() <= 20
        metrics = node.node_metrics()
        assert metrics.outbox_dropped == sum(dropped.values()) and metrics.outbox_backlog <= 20
        assert acker.stored() == 0
    finally:
        acker.close()
