"""Dynamic batching into the C++ assembler, scoring, and the watchdog that restarts a stall."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from support.waiting import wait_until

from edge.fastpath import PreprocessSpec, preprocess
from edge.inference import Inference, Job
from edge.model.scorer import Scorer
from edge.recording.format import read_recording


class _StallsOnce:
    """The real scorer, except that its first batch after the warm-up run blocks until
    released (a hung execution provider)."""

    def __init__(self, scorer: Scorer, release: threading.Event) -> None:
        self.inner = scorer
        self.release = release
        self.calls = 0

    @property
    def spec(self) -> PreprocessSpec:
        return self.inner.spec

    def classify(self, batch: np.ndarray) -> tuple[np.ndarray, Sequence[str] | None]:
        self.calls += 1
        if self.calls == 2:
            self.release.wait(30)
        return self.inner.classify(batch)


def _frame_and_boxes(recording_dir: Path) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    rec = read_recording(recording_dir)
    _, frame = next(rec.frames(60, 61))
    boxes = [r.bbox for r in rec.labels_at(60) if r.full and r.label != "empty_slot"]
    return frame, boxes


def test_batches_score_like_the_offline_path(recording_dir: Path, line_model: Path) -> None:
    scorer = Scorer(line_model, threads=1)
    frame, boxes = _frame_and_boxes(recording_dir)
    got: dict[int, float] = {}

    def scored(jobs: list[Job], scores: np.ndarray, names: Sequence[str | None]) -> None:
        got.update({j.item: float(s) for j, s in zip(jobs, scores, strict=True)})

    inf = Inference(lambda: scorer, scorer.card.roi_for, scored, batch_size=4, max_wait_ms=2)
    inf.start()
    jobs = [Job(i, 60, 0, b, 0.0, 0.0, True) for i, b in enumerate(boxes)]
    inf.submit(frame, jobs)
    assert inf.wait_idle(30)
    inf.close()
    h, w = frame.shape[:2]
    rois = np.array([scorer.card.roi_for(b, w, h) for b in boxes], np.int64)
    want = scorer.score(preprocess(frame, rois, scorer.spec))
    np.testing.assert_allclose([got[i] for i in range(len(boxes))], want, rtol=1e-5, atol=1e-5)
    assert inf.batches >= 2  # batch_size 4 over more items


def test_watchdog_restarts_a_stalled_stage(recording_dir: Path, line_model: Path) -> None:
    release = threading.Event()
    made: list[_StallsOnce] = []

    def make() -> _StallsOnce:
        made.append(_StallsOnce(Scorer(line_model, threads=1), release))
        made[-1].calls = 10 if len(made) > 1 else 0  # only the first scorer hangs
        return made[-1]

    frame, boxes = _frame_and_boxes(recording_dir)
    done: list[int] = []
    roi_for = Scorer(line_model, threads=1).card.roi_for
    inf = Inference(make, roi_for, lambda jobs, s, n: done.extend(j.item for j in jobs),
                    batch_size=2, max_wait_ms=1, stall_s=0.3)
    inf.start()
    jobs = [Job(i, 60, 0, b, 0.0, 0.0, True) for i, b in enumerate(boxes)]
    feeder = threading.Thread(target=inf.submit, args=(frame, jobs))  # blocks while stalled
    feeder.start()
    try:
        # the first batch hangs: the watchdog restarts the worker
        wait_until("the watchdog to restart the worker", inf.check, 10)
        assert inf.restarts == 1
        wait_until("the new worker to go on", lambda: len(done) == len(boxes) - 2, 20)
        release.set()  # the hung call returns: its batch is still delivered, nothing lost
        wait_until("every batch delivered", lambda: sorted(done) == list(range(len(boxes))), 20)
    finally:
        release.set()
        feeder.join(30)
        inf.close()


class _MeanScorer:
    """A scorer of another input size whose score is the mean of its input (checkable)."""

    spec = PreprocessSpec(width=24, height=20)

    def classify(self, batch: np.ndarray) -> tuple[np.ndarray, Sequence[str] | None]:
        assert batch.shape[1:] == self.spec.shape(1)[1:], batch.shape
        return batch.reshape(len(batch), -1).mean(axis=1).astype(np.float32), None


def test_reload_to_a_model_with_another_input_gets_new_batch_buffers(
    recording_dir: Path, line_model: Path,
) -> None:
    first = Scorer(line_model, threads=1)
    made = iter([first, _MeanScorer()])
    frame, boxes = _frame_and_boxes(recording_dir)
    got: dict[int, float] = {}
    by: dict[int, object] = {}  # the scorer that scored each item, as the results say

    def scored(jobs: list[Job], scores: np.ndarray, names: Sequence[str | None]) -> None:
        got.update({j.item: float(s) for j, s in zip(jobs, scores, strict=True)})
        by.update({j.item: inf.scored_by for j in jobs})

    inf = Inference(lambda: next(made), first.card.roi_for, scored, batch_size=4, max_wait_ms=2)
    inf.start()
    try:
        before = [Job(i, 60, 0, b, 0.0, 0.0, True) for i, b in enumerate(boxes)]
        inf.submit(frame, before)
        new = inf.reload()  # what was queued is scored by the old model first
        assert isinstance(new, _MeanScorer) and inf.assembler.spec == _MeanScorer.spec
        assert sorted(got) == list(range(len(boxes)))
        after = [Job(100 + i, 60, 0, b, 0.0, 0.0, True) for i, b in enumerate(boxes)]
        inf.submit(frame, after)
        assert inf.wait_idle(30)
    finally:
        inf.close()
    assert all(by[i] is first for i in range(len(boxes)))
    assert all(by[100 + i] is new for i in range(len(boxes)))
    h, w = frame.shape[:2]
    rois = np.array([first.card.roi_for(b, w, h) for b in boxes], np.int64)
    old = first.score(preprocess(frame, rois, first.spec))
    np.testing.assert_allclose([got[i] for i in range(len(boxes))], old, rtol=1e-5, atol=1e-5)
    means = preprocess(frame, rois, _MeanScorer.spec).reshape(len(boxes), -1).mean(axis=1)
    np.testing.assert_allclose([got[100 + i] for i in range(len(boxes))], means, rtol=1e-5)

