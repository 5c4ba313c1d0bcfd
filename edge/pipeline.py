"""The two stages between capture and the outbox: items per frame, and decisions per item.

:class:`ItemStage` (a thread) takes each :class:`~edge.capture.FrameRef`, finds and tracks the
items in the frame held in its ring slot, and submits the ones to judge to inference; the slot
stays retained until those items are scored. :class:`DecisionStage` is called by the inference
worker with each scored batch: it smooths, decides, plans the reject (locally, timed by belt
speed), saves hard cases and stores the results in the outbox, each batch in one transaction; a
result whose reject is planned is stored once the actuator has fired (or failed). Results the
outbox refuses (disk full, locked, I/O error) wait in memory and are written again
(:mod:`edge.unsaved`).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.actuator import RejectEvent, RejectScheduler
from edge.awaiting_fire import AwaitingFire
from edge.capture import Capture, FrameRef, FrameRing
from edge.config_sections import BeltConfig
from edge.decision import Decider, Smoother
from edge.inference import Inference, Job
from edge.items import ItemFinder, Judge, Tracker
from edge.metrics import Telemetry
from edge.outbox import Outbox
from edge.review import ReviewStore, crop, thumbnail_jpeg
from edge.unsaved import Unsaved
from peakline.wire import MODEL_ERROR, ItemResult

#: score reported for an item whose model output was NaN or infinite (it is rejected)
INVALID_SCORE = float(np.finfo(np.float32).max)

__all__ = ["INVALID_SCORE", "DecisionStage", "ItemStage"]

log = logging.getLogger(__name__)


class ItemStage:
    """Frames in, items to judge out (to :class:`Inference`)."""

    def __init__(
        self, belt: BeltConfig, capture: Capture, frames: queue.Queue[FrameRef | None],
        inference: Inference, on_closed: Callable[[int, int], None], telemetry: Telemetry,
        default_fps: float = 30.0,
    ) -> None:
        self.belt = belt
        self.capture = capture
        self.frames = frames
        self.inference = inference
        self.on_closed = on_closed
        self.default_fps = default_fps
        self.finder: ItemFinder | None = None
        self.tracker: Tracker | None = None
        self.telemetry = telemetry
        self.frames_done = 0
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="items", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        held: FrameRef | None = None  # the previous frame, kept for the end of the source
        try:
            while True:
                ref = self.frames.get()
                ring = self.capture.ring
                if ref is None:
                    if held is not None and ring is not None:
                        self._last_views(held, ring)
                    break
                assert ring is not None
                try:
                    self._frame(ref, ring)
                finally:
                    if held is not None:
                        ring.release(held.slot)
                    held = ref
        except Exception:
            log.exception("item stage failed")
        finally:
            if held is not None and self.capture.ring is not None:
                self.capture.ring.release(held.slot)
            if self.tracker is not None:
                self.tracker.finish()
                self._closed()
            self.done.set()

    def _last_views(self, ref: FrameRef, ring: FrameRing) -> None:
        if self.tracker is None:
            return
        frame = ring.frames[ref.slot]
        finder = self.finder
        assert finder is not None
        judges = self.tracker.last_views(ref.index, lambda b: finder.refine(frame, b))
        self._submit(ref, ring, judges)

    def _frame(self, ref: FrameRef, ring: FrameRing) -> None:
        frame = ring.frames[ref.slot]
        self.telemetry.frame_arrived(ref.t0)
        if self.finder is None or self.tracker is None:
            h, w = frame.shape[:2]
            fps = self.capture.source.fps or self.default_fps
            self.finder = ItemFinder(self.belt, w, h)
            self.tracker = Tracker(self.belt, w, h, fps)
        t = time.perf_counter()
        finder = self.finder
        boxes = finder.find(frame, exact=False)
        judges = self.tracker.update(ref.index, boxes, lambda b: finder.refine(frame, b),
                                     finder.d)
        self.telemetry.add_stage_time("items", time.perf_counter() - t)
        self.frames_done += 1
        self._closed()
        self._submit(ref, ring, judges)

    def _submit(self, ref: FrameRef, ring: FrameRing, judges: list[Judge]) -> None:
        if not judges:
            return
        jobs = [Job(j.item, ref.index, ref.slot, j.box, ref.t0, ref.ts, j.last) for j in judges]
        ring.retain(ref.slot, len(jobs))
        try:
            self.inference.submit(ring.frames[ref.slot], jobs)
        except Exception:
            ring.release(ref.slot, len(jobs))
            raise

    def _closed(self) -> None:
        assert self.tracker is not None
        closed, self.tracker.closed = self.tracker.closed, []
        for item, judged in closed:
            self.on_closed(item, judged)


@dataclass(slots=True)
class _Decided:
    """One decided item on its way to the outbox (its reject may still be due)."""

    job: Job
    draft: dict[str, Any]
    latency: float
    image: np.ndarray | None  # crop of a hard case, for review and the thumbnail
    model: str  # the model that scored it ("" for the boot's model)


class DecisionStage:
    """Scores in, results stored in the outbox (and rejects planned).

    An item whose reject is planned is stored when the actuator has fired or failed (see
    :mod:`edge.awaiting_fire`): its result says whether the reject really happened.
    Call :meth:`close` after the reject scheduler has stopped.
    """

    def __init__(
        self, decider: Decider, rejects: RejectScheduler, outbox: Outbox, boot_id: str,
        telemetry: Telemetry, ring: Callable[[], FrameRing | None],
        reject_uncertain: bool = False, review: ReviewStore | None = None,
        thumbnail: Callable[[ItemResult, str], None] | None = None,
        wants_thumbnail: Callable[[], bool] | None = None, thumb_px: int = 96,
        on_score: Callable[[float], None] | None = None, max_unsaved: int = 100_000,
        model: Callable[[], str] | None = None,
    ) -> None:
        self.decider = decider
        self.rejects = rejects
        self.outbox = outbox
        self.boot_id = boot_id
        self.telemetry = telemetry
        self.ring = ring
        self.reject_uncertain = reject_uncertain
        self.review = review
        self.thumbnail = thumbnail
        self.wants_thumbnail = wants_thumbnail or (lambda: False)
        self.thumb_px = thumb_px
        self.on_score = on_score  # every decided item's score (the drift monitor)
        self.model = model or (lambda: "")  # the model that scored the batch in hand
        self.smoother = Smoother()
        self._lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._last: dict[int, Job] = {}
        self.decided = 0
        self.on_result: Callable[[ItemResult], None] | None = None
        self.unsaved: Unsaved[_Decided] = Unsaved(self._write, _describe, max_unsaved)
        self.awaiting: AwaitingFire[_Decided] = AwaitingFire(_settle, self._store)
        rejects.on_done = self.awaiting.fired

    def closed(self, item: int, judged: int) -> None:
        """A track ended after ``judged`` views (fewer than planned)."""
        with self._lock:
            done = self.smoother.close(item, judged)
            job = self._last.pop(item, None) if done else None
        if done and job is not None:
            self._finish([(job, done[0], done[1])], time.perf_counter(), crops=False)

    def scored(self, jobs: list[Job], scores: np.ndarray, names: Sequence[str | None]) -> None:
        """Called by the inference worker with one scored batch."""
        now = time.perf_counter()
        complete: list[tuple[Job, float, str | None]] = []
        self.telemetry.views_scored(now, (job.t0 for job in jobs))
        with self._lock:
            for job, score, name in zip(jobs, scores.tolist(), names, strict=True):
                self._last[job.item] = job
                done = self.smoother.add(job.item, float(score), name, job.last)
                if done is not None:
                    del self._last[job.item]
                    complete.append((job, done[0], done[1]))
        try:
            self._finish(complete, now)
        finally:
            ring = self.ring()
            if ring is not None:
                for job in jobs:
                    ring.release(job.slot)

    def close(self, timeout: float = 30.0) -> None:
        """Store the results whose rejects have settled (after the scheduler stopped), and
        what waits for a failing outbox (for up to ``timeout`` s more)."""
        self.awaiting.close(timeout)
        self.unsaved.close(timeout)

    def _finish(
        self, complete: list[tuple[Job, float, str | None]], now: float, crops: bool = True
    ) -> None:
        ready: list[_Decided] = []
        model = self.model() if complete else ""
        for job, score, name in complete:
            if self.on_score is not None:
                self.on_score(score)
            if not math.isfinite(score):  # the wire carries finite scores only; it rejects
                score, name = INVALID_SCORE, (MODEL_ERROR if name == MODEL_ERROR
                                              else "invalid_score")
            decision = self.decider.decide(score)
            fire = decision == "reject" or (self.reject_uncertain and decision == "uncertain")
            latency = now - job.t0
            defect = name[:64] if name is not None and decision != "pass" else None
            item = _Decided(job, {
                "item_id": job.item, "ts": job.ts, "frame": job.frame, "bbox": job.box,
                "score": score, "decision": decision, "defect": defect,
                "latency_ms": latency * 1000.0, "rejected": False, "missed_reject": False,
            }, latency, self._crop(job) if crops and decision != "pass" else None, model)
            if fire:
                event = RejectEvent(self.rejects.due(job.box, job.t0), job.item, job.frame,
                                    score, decision)
                self.awaiting.hold(job.item, item)  # before the scheduler can report it
                if self.rejects.schedule(event, now):
                    continue
                self.awaiting.release(job.item)
                item.draft["missed_reject"] = True
            ready.append(item)
        if ready:
            self._store(ready)

    def _crop(self, job: Job) -> np.ndarray | None:
        """The hard case's crop, taken while its ring slot is still held (if anyone wants it)."""
        if self.review is None and not (self.thumbnail is not None and self.wants_thumbnail()):
            return None
        ring = self.ring()
        return None if ring is None else crop(ring.frames[job.slot], job.box)

    def _store(self, items: list[_Decided]) -> None:
        """Count decided items and hand them to the outbox (kept in memory while it fails)."""
        with self._store_lock:
            for d in items:
                draft = d.draft
                self.telemetry.record(draft["decision"], draft["defect"], d.latency,
                                      draft["missed_reject"])
            self.decided += len(items)
        self.unsaved.put(items)

    def _write(self, items: list[_Decided]) -> None:
        """Store items in one transaction (raises DeliveryError); save their hard cases."""
        t = time.perf_counter()
        stored = self.outbox.store(self.boot_id, [d.draft for d in items],
                                   [d.model for d in items])
        self.telemetry.add_stage_time("outbox", time.perf_counter() - t)
        try:
            if self.on_result is not None:
                for r in stored:
                    self.on_result(r)
            by_item = {r.item_id: r for r in stored}
            for d in items:
                result = by_item.get(d.job.item)
                if d.image is not None and result is not None:
                    self._hard_case(d.image, result)
        except Exception:  # the results are stored: a failed extra must not store them twice
            log.exception("hard cases of %d stored results not saved", len(stored))

    def _hard_case(self, image: np.ndarray, result: ItemResult) -> None:
        if self.review is not None:
            self.review.save(image, {"boot_id": self.boot_id, **result.model_dump()})
        if self.thumbnail is not None and self.wants_thumbnail():
            self.thumbnail(result, thumbnail_jpeg(image, self.thumb_px))


def _describe(item: _Decided) -> str:
    """An unsaved result in a log line: its item id and decision."""
    return f"item {item.job.item} {item.draft['decision']}"


def _settle(item: _Decided, fired: bool) -> None:
    """The reject's outcome goes into the result: did the cake leave the belt?"""
    item.draft["rejected"] = fired
    item.draft["missed_reject"] = not fired
