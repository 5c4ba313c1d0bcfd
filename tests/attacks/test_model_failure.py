"""Finding 2: a model that fails must not pass everything.

Before: when ONNX Runtime raised on a batch, ``edge/inference.py`` gave its items a score of
1.0, far below a PaDiM threshold, so every item passed and nothing counted it. Now the items of
a failed batch are rejected with the defect ``model_error``, counted, and a node whose model
keeps failing says so in its status; the plant's dashboard raises a critical alert.

The failure is ONNX Runtime's own: the real session of a fitted model is run with its
``terminate`` flag set, which makes ``InferenceSession.run`` raise.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from support.payloads import batch, status
from support.waiting import wait_until

from edge.actuator import RejectScheduler, make_actuator
from edge.config_sections import ActuatorConfig, BeltConfig
from edge.decision import Decider
from edge.inference import FAILING_AFTER, Inference, Job
from edge.metrics import Telemetry
from edge.model.scorer import Scorer
from edge.outbox import Outbox
from edge.pipeline import DecisionStage
from edge.recording.format import read_recording
from peakline.wire import MODEL_ERROR, ItemResult
from plant.dashboard.alerts import line_alerts
from plant.dashboard.config import DashboardConfig
from plant.dashboard.views import lines_overview
from plant.store import IngestBatch, Store


class _Session:
    """The scorer's real ONNX Runtime session; while ``failing`` is set, runs are terminated
    (ONNX Runtime raises "Exiting due to terminate flag being set to true")."""

    def __init__(self, inner: ort.InferenceSession, failing: threading.Event) -> None:
        self.inner = inner
        self.failing = failing

    def run(self, names: Any, feeds: Any, run_options: Any = None) -> Any:
        opts = ort.RunOptions()
        opts.terminate = self.failing.is_set()
        return self.inner.run(names, feeds, opts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _jobs(boxes: list[tuple[int, int, int, int]], first: int) -> list[Job]:
    return [Job(first + i, 60, 0, b, time.perf_counter(), time.time(), True)
            for i, b in enumerate(boxes)]


def _items(recording_dir: Path) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    rec = read_recording(recording_dir)
    _, frame = next(rec.frames(60, 61))
    return frame, [r.bbox for r in rec.labels_at(60) if r.full and r.label != "empty_slot"]


def test_items_of_a_failed_batch_are_rejected_counted_and_reported(
    recording_dir: Path, line_model: Path, tmp_path: Path
) -> None:
    failing = threading.Event()
    scorer = Scorer(line_model, threads=1)
    scorer.session = _Session(scorer.session, failing)  # type: ignore[assignment]
    card = scorer.card
    frame, boxes = _items(recording_dir)
    outbox = Outbox(tmp_path / "outbox.db", synchronous="normal")
    outbox.begin_boot("b1", "m:1")
    telemetry = Telemetry()
    belt = BeltConfig(y0=0, y1=frame.shape[0], speed_px_s=1000.0)
    actuator = ActuatorConfig.model_validate({"station_x": 1500.0, "plugin": {"type": "log"}})
    rejects = RejectScheduler(make_actuator(actuator), actuator, belt)
    stage = DecisionStage(Decider(card.thresholds), rejects, outbox, "b1", telemetry,
                          lambda: None)
    inf = Inference(lambda: scorer, card.roi_for, stage.scored, batch_size=2, max_wait_ms=1)
    rejects.start()
    inf.start()
    try:
        failing.set()
        inf.submit(frame, _jobs(boxes, 0))
        assert inf.wait_idle(30)
        # a result is stored once its reject has fired (or failed to) at the station
        wait_until("every result stored", lambda: len(outbox.fetch(0, 1000)) == len(boxes), 20)
        results = [ItemResult.model_validate_json(r.body) for r in outbox.fetch(0, 1000)]
        failing_then = inf.model_failing
        failing.clear()  # ONNX Runtime works again: the next batch ends the streak
        inf.submit(frame, _jobs(boxes[:2], 1000))
        assert inf.wait_idle(30)
        wait_until("the next results stored",
                   lambda: len(outbox.fetch(0, 1000)) == len(boxes) + 2, 20)
        recovered = [ItemResult.model_validate_json(r.body) for r in outbox.fetch(0, 1000)]
    finally:
        inf.close()
        rejects.stop(fire_pending=False)
        stage.close()
        outbox.close()
    assert len(results) == len(boxes) >= 2 * FAILING_AFTER
    # before: every item scored 1.0 and passed; now every one is rejected as model_error
    assert {r.decision for r in results} == {"reject"}
    assert all(r.rejected for r in results)  # the actuator fired for each
    assert {r.defect for r in results} == {MODEL_ERROR}
    assert all(r.score > card.thresholds.reject for r in results)
    assert inf.model_errors == len(boxes) and failing_then
    assert inf.failed_batches == -(-len(boxes) // 2)
    assert not inf.model_failing and inf.failing_streak == 0
    assert {r.defect for r in recovered[len(results):]} <= {None, "crack", "dent"} - {MODEL_ERROR}


def test_a_failing_model_is_a_critical_alert_on_the_dashboard(tmp_path: Path) -> None:
    """What the node sends (rejects named model_error, a status with its fault) is shown."""
    store = Store.open(str(tmp_path / "plant.db"))
    try:
        now = time.time()
        failed = batch(range(1, 9), node="cam1", line="L1", reject_every=1, defect=MODEL_ERROR)
        ok = batch(range(1, 9), node="cam1", line="L2")
        faulty = status("online", node="cam1", line="L1").model_copy(
            update={"fault": "model failing: 12 batches in a row raised"})
        store.write_ingest(IngestBatch(results=[(failed, now), (ok, now)],
                                       statuses=[(faulty, now),
                                                 (status("online", node="cam1", line="L2"),
                                                  now)]))
        config = DashboardConfig()
        overview = lines_overview(store, config, now=now + 1)
        alerts = line_alerts(overview, {}, config)
    finally:
        store.close()
    errors = [a for a in alerts if a["kind"] == MODEL_ERROR]
    assert [a["id"] for a in errors] == ["model_error:L1/cam1"]
    assert errors[0]["severity"] == "critical"
    assert "8 items rejected unseen" in errors[0]["title"]
    assert "12 batches in a row" in errors[0]["detail"]
