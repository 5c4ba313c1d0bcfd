"""The inference stage: dynamic batching with a deadline, then the model.

The item stage calls :meth:`Inference.submit` with a frame and the items to judge in it; each
item's crop (the model card's ROI policy, ``card.roi_for``) is preprocessed by the C++
:class:`edge.fastpath.BatchAssembler` straight into a preallocated batch buffer. A worker
thread takes each batch when it is full or its oldest item has waited ``max_wait_ms``, scores
it with :class:`edge.model.scorer.Scorer` and hands the scores to ``on_scored``.

A watchdog (:meth:`check`) restarts a worker stuck in the model for longer than ``stall_s``:
a fresh scorer and thread take over the next batches, the restart is counted for the metrics,
and the stuck thread, if it ever returns, still delivers its batch and then exits.

A batch on which the model raises fails safe: its items are rejected with the defect
``model_error`` (never passed), counted, and after ``FAILING_AFTER`` failed batches in a row
:attr:`Inference.model_failing` is true, which the node reports in its status.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from edge.fastpath import BatchAssembler, PreprocessSpec
from peakline.wire import MODEL_ERROR

__all__ = ["FAILING_AFTER", "Inference", "Job", "ScorerLike"]

#: failed batches in a row after which the node reports its model as failing
FAILING_AFTER = 3

log = logging.getLogger(__name__)


class ScorerLike(Protocol):
    """What the stage needs from :class:`edge.model.scorer.Scorer`."""

    @property
    def spec(self) -> PreprocessSpec: ...

    def classify(self, batch: np.ndarray) -> tuple[np.ndarray, Sequence[str] | None]: ...


@dataclass(slots=True)
class Job:
    """One item to score in one frame (small: the frame stays in its ring slot)."""

    item: int
    frame: int
    slot: int
    box: tuple[int, int, int, int]
    t0: float  # frame arrival, time.perf_counter()
    ts: float  # frame capture, Unix seconds
    last: bool


Scored = Callable[[list[Job], np.ndarray, Sequence[str | None]], None]


class Inference:
    """BatchAssembler + scorer worker thread + watchdog."""

    def __init__(
        self,
        make_scorer: Callable[[], ScorerLike],
        roi_for: Callable[[tuple[int, int, int, int], int, int], tuple[int, int, int, int]],
        on_scored: Scored,
        batch_size: int = 8,
        max_wait_ms: float = 10.0,
        preprocess_threads: int = 1,
        stall_s: float = 10.0,
    ) -> None:
        self.batch_size = batch_size
        self.make_scorer = self._warmed(make_scorer)
        self.scorer = self.make_scorer()
        #: the scorer of the batch being handed to ``on_scored`` (the current one before any)
        self.scored_by: ScorerLike = self.scorer
        self.roi_for = roi_for
        self.on_scored = on_scored
        self.stall_s = stall_s
        self.assembler = BatchAssembler(
            self.scorer.spec, batch_size, max_wait_ms, slots=3, threads=preprocess_threads
        )
        self._jobs: dict[int, Job] = {}
        self._tags = itertools.count()
        self._lock = threading.Lock()
        self._submit = threading.Lock()  # held while adding, so a reload can swap the assembler
        self._preprocess_threads = preprocess_threads
        self._max_wait_ms = max_wait_ms
        self._gen = 0
        self._busy_since: float | None = None
        self.restarts = 0
        self.failed_batches = 0
        self.model_errors = 0  # items rejected because the model failed on their batch
        self.failing_streak = 0
        self.batches = 0
        self.items = 0
        self.infer_s = 0.0
        self.preprocess_s = 0.0
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()

    def _warmed(self, make: Callable[[], ScorerLike]) -> Callable[[], ScorerLike]:
        """``make`` followed by one run at the full batch size (the first run of a new input
        shape is slow in ONNX Runtime; the scorer itself warms up at batch size 1)."""

        def make_and_warm() -> ScorerLike:
            scorer = make()
            spec = scorer.spec
            scorer.classify(np.zeros(spec.shape(self.batch_size), dtype=spec.dtype))
            return scorer

        return make_and_warm

    # -- feeding -----------------------------------------------------------------------
    def submit(self, frame: np.ndarray, jobs: list[Job]) -> None:
        """Crop and preprocess the jobs' items of ``frame`` into the batch buffers."""
        if not jobs:
            return
        h, w = frame.shape[:2]
        tags = np.fromiter((next(self._tags) for _ in jobs), dtype=np.int64, count=len(jobs))
        rois = np.array([self.roi_for(j.box, w, h) for j in jobs], dtype=np.int64)
        with self._lock:
            for tag, job in zip(tags.tolist(), jobs, strict=True):
                self._jobs[tag] = job
        t = time.perf_counter()
        with self._submit:
            added = self.assembler.add_many(frame, rois, tags)
        self.preprocess_s += time.perf_counter() - t
        if added < len(jobs):  # closed while stopping: nothing will score these
            with self._lock:
                for tag in tags[added:].tolist():
                    self._jobs.pop(tag, None)
            log.warning("%d items not scored: inference is stopping", len(jobs) - added)

    @property
    def pending(self) -> int:
        """Items submitted and not yet scored."""
        return len(self._jobs)

    def wait_idle(self, timeout: float) -> bool:
        """Flush the partial batch and wait until every submitted item is scored."""
        self.assembler.flush()
        deadline = time.monotonic() + timeout
        with self._idle:
            return self._idle.wait_for(
                lambda: not self._jobs, timeout=max(deadline - time.monotonic(), 0)
            )

    # -- worker ------------------------------------------------------------------------
    def start(self) -> None:
        self._start_worker()

    def _start_worker(self) -> None:
        self._gen += 1
        self._thread = threading.Thread(
            target=self._work, args=(self._gen, self.scorer, self.assembler),
            name=f"inference-{self._gen}", daemon=True,
        )
        self._thread.start()

    def _work(self, gen: int, scorer: ScorerLike, assembler: BatchAssembler) -> None:
        while True:
            batch = assembler.next_batch(0.1)
            if batch is None:
                if self._closed:
                    return
                if gen != self._gen:
                    return
                continue
            with batch:
                self._busy_since = time.monotonic()
                t = time.perf_counter()
                try:
                    scores, names = scorer.classify(batch.array)
                except Exception as exc:
                    scores, names = self._failed(len(batch), exc)
                else:
                    self.failing_streak = 0
                self.infer_s += time.perf_counter() - t
                tags = batch.tags.tolist()
            self._busy_since = None
            with self._lock:
                jobs = [self._jobs.pop(tag) for tag in tags]
            self.batches += 1
            self.items += len(jobs)
            self.scored_by = scorer  # read by on_scored: the model that scored these jobs
            try:
                self.on_scored(jobs, np.asarray(scores, dtype=np.float32),
                               list(names) if names is not None else [None] * len(jobs))
            except Exception:
                log.exception("decision stage failed for %d items", len(jobs))
            with self._idle:
                self._idle.notify_all()
            if gen != self._gen:
                log.info("stalled inference worker %d returned and exits", gen)
                return

    _closed = False

    def _failed(self, n: int, exc: Exception) -> tuple[np.ndarray, list[str]]:
        """Fail safe: the items of a batch the model could not score are rejected.

        Their score is NaN, which every decision rejects, and their defect is
        :data:`~peakline.wire.MODEL_ERROR`; a failed model never passes a cake.
        """
        self.failed_batches += 1
        self.model_errors += n
        self.failing_streak += 1
        if self.failing_streak in (1, FAILING_AFTER) or self.failing_streak % 100 == 0:
            log.error("model failed on a batch of %d (%d in a row): %s: %s; its items are "
                      "rejected as %s", n, self.failing_streak, type(exc).__name__, exc,
                      MODEL_ERROR)
        return np.full(n, np.nan, np.float32), [MODEL_ERROR] * n

    @property
    def model_failing(self) -> bool:
        """True once the last ``FAILING_AFTER`` batches in a row failed in the model."""
        return self.failing_streak >= FAILING_AFTER

    def check(self) -> bool:
        """Watchdog: restart a worker stuck in the model past ``stall_s``; True if restarted."""
        busy = self._busy_since
        if busy is None or time.monotonic() - busy < self.stall_s:
            return False
        self.restarts += 1
        self._busy_since = None
        log.error("inference stalled for %.1f s; restarting it (restart %d)",
                  time.monotonic() - busy, self.restarts)
        try:
            new = self.make_scorer()
        except Exception:
            log.exception("could not reload the model; the new worker reuses the old session")
        else:
            if new.spec == self.scorer.spec:
                self.scorer = new
            else:  # the batch buffers are the old input's: only a reload_model can switch
                log.error("the model file now has another input; the new worker reuses the "
                          "old session until a reload_model command")
        self._start_worker()
        return True

    def reload(self, timeout: float = 30.0) -> ScorerLike:
        """Load the model again (a ``reload_model`` command) and switch workers to it.

        A model with another input (size, colour, scaling) gets new batch buffers: what is
        queued is scored by the old model first. Returns the new scorer; if it cannot be
        loaded, the exception propagates and the old model stays.
        """
        new = self.make_scorer()
        if new.spec == self.scorer.spec:
            self.scorer = new
            self._start_worker()
            return new
        with self._submit:
            if not self.wait_idle(timeout):
                raise TimeoutError(f"reload: items still unscored after {timeout:g} s")
            old = self.assembler
            self.assembler = BatchAssembler(new.spec, self.batch_size, self._max_wait_ms,
                                            slots=3, threads=self._preprocess_threads)
            self.scorer = new
            self._start_worker()
            old.close()
        log.info("model input changed to %dx%d %s: new batch buffers", new.spec.width,
                 new.spec.height, new.spec.color)
        return new

    def close(self, timeout: float = 10.0) -> None:
        """Score what is pending, then stop the worker."""
        self.wait_idle(timeout)
        self._closed = True
        self.assembler.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def describe(self) -> dict[str, Any]:
        return {"batches": self.batches, "items": self.items, "restarts": self.restarts,
                "failed_batches": self.failed_batches, "model_errors": self.model_errors}
