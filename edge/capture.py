"""The capture stage: frames from a source into a small ring of preallocated buffers.

A thread reads the source (:mod:`edge.sources`), checks each frame's shape, decodes it
straight into a free ring slot and hands downstream only a small :class:`FrameRef`. Slots are
reference-counted: a slot is reused only after every item cut from it has been preprocessed.
Files are replayed at their frame rate or as fast as the pipeline takes them (back-pressure);
a live source drops frames when the ring is full (counted). A source that fails is reopened
with jittered exponential back-off, and that is counted and logged, never a hang.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from dataclasses import dataclass

import numpy as np

from edge.config_sections import SourceConfig
from edge.sources import CorruptFrame, FrameSource
from peakline.errors import SourceError

__all__ = ["Capture", "CaptureStats", "FrameRef", "FrameRing"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FrameRef:
    """A frame waiting in ring slot ``slot``: its index in the source and arrival times."""

    slot: int
    index: int
    ts: float  # wall clock, Unix seconds
    t0: float  # time.perf_counter() at arrival, for latency


@dataclass
class CaptureStats:
    """Counters of the capture stage (read by metrics)."""

    frames: int = 0
    corrupt: int = 0
    wrong_shape: int = 0
    dropped: int = 0
    reopens: int = 0
    read_s: float = 0.0


class FrameRing:
    """``n`` preallocated frames of one shape, handed out by reference count."""

    def __init__(self, n: int, shape: tuple[int, int, int]) -> None:
        self.shape = shape
        self.frames = np.zeros((n, *shape), dtype=np.uint8)
        self._refs = [0] * n
        self._free = list(range(n - 1, -1, -1))
        self._cond = threading.Condition()

    def acquire(self, timeout: float | None) -> int | None:
        """A free slot (its count set to 1), or None if none frees up within ``timeout``."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._free), timeout):
                return None
            slot = self._free.pop()
            self._refs[slot] = 1
            return slot

    def retain(self, slot: int, n: int = 1) -> None:
        with self._cond:
            self._refs[slot] += n

    def release(self, slot: int, n: int = 1) -> None:
        with self._cond:
            self._refs[slot] -= n
            if self._refs[slot] <= 0:
                self._refs[slot] = 0
                self._free.append(slot)
                self._cond.notify()

    @property
    def in_use(self) -> int:
        with self._cond:
            return len(self._refs) - len(self._free)


class Capture:
    """Runs a :class:`FrameSource` in a thread and emits FrameRefs on ``out`` (None = end)."""

    def __init__(self, source: FrameSource, config: SourceConfig, out: queue.Queue) -> None:
        self.source = source
        self.config = config
        self.out = out
        self.stats = CaptureStats()
        self.ring: FrameRing | None = None
        if config.width and config.height:
            self.ring = FrameRing(config.ring, (config.height, config.width, 3))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self.ended = threading.Event()

    def start(self) -> None:
        """Open the source (SourceError for a file that cannot be opened) and start reading."""
        try:
            self.source.open()
        except SourceError:
            if not self.source.live:
                raise
            log.warning("source %s not available yet; retrying in the background", self.source.name)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:
            log.exception("capture stage failed")
        finally:
            self.source.close()
            self.ended.set()
            self.out.put(None)

    def _loop(self) -> None:
        index = 0
        fps = self.source.fps
        period = 1.0 / fps if (self.config.realtime and fps) else 0.0
        next_due = time.perf_counter()
        backoff = self.config.reopen_min_s
        while not self._stop.is_set():
            t_read = time.perf_counter()
            try:
                frame = self._read_into_slot()
            except CorruptFrame as exc:
                self.stats.corrupt += 1
                log.warning("corrupt frame skipped: %s", exc)
                index += 1
                continue
            except SourceError as exc:
                if self._stop.is_set():
                    return
                self.stats.reopens += 1
                delay = backoff * random.uniform(0.5, 1.0)
                log.warning("source lost (%s); reopening in %.1f s", exc, delay)
                if self._stop.wait(delay):
                    return
                backoff = min(backoff * 2, self.config.reopen_max_s)
                try:
                    self.source.open()
                    log.info("source %s reopened", self.source.name)
                    backoff = self.config.reopen_min_s
                except SourceError as exc2:
                    log.warning("reopen failed: %s", exc2)
                continue
            if frame is None:
                return
            slot, t_arrival = frame
            self.stats.read_s += t_arrival - t_read
            if slot < 0:  # wrong shape or no free slot (live source): counted, skipped
                index += 1
                continue
            self.stats.frames += 1
            self.out.put(FrameRef(slot, index, time.time(), t_arrival))
            index += 1
            if period:
                next_due += period
                delay = next_due - time.perf_counter()
                if delay > 0:
                    self._stop.wait(delay)
                elif delay < -1.0:  # more than a second behind: do not try to catch up
                    next_due = time.perf_counter()

    def _read_into_slot(self) -> tuple[int, float] | None:
        """Read one frame into a ring slot: (slot, arrival) or (-1, t) when skipped; None at end."""
        ring = self.ring
        slot = None
        if ring is not None:
            slot = self._acquire(ring)
            if slot is None:  # live source, pipeline behind: read and drop the frame
                frame = self.source.read()
                self.stats.dropped += frame is not None
                return None if frame is None else (-1, time.perf_counter())
        target = ring.frames[slot] if ring is not None and slot is not None else None
        try:
            frame = self.source.read(target)
        except BaseException:
            if ring is not None and slot is not None:
                ring.release(slot)
            raise
        t = time.perf_counter()
        if frame is None:
            if ring is not None and slot is not None:
                ring.release(slot)
            return None
        if ring is None:
            if frame.ndim != 3 or frame.shape[2] != 3:
                self.stats.wrong_shape += 1
                return (-1, t)
            h, w = frame.shape[:2]
            self.ring = ring = FrameRing(self.config.ring, (h, w, 3))
            slot = ring.acquire(None)
            assert slot is not None
            target = ring.frames[slot]
        assert slot is not None and target is not None
        if frame.shape != ring.shape or frame.dtype != np.uint8:
            self.stats.wrong_shape += 1
            log.warning("frame of shape %s skipped (expected %s)", frame.shape, ring.shape)
            ring.release(slot)
            return (-1, t)
        if frame.__array_interface__["data"][0] != target.__array_interface__["data"][0]:
            np.copyto(target, frame)
        return (slot, t)

    def _acquire(self, ring: FrameRing) -> int | None:
        if self.source.live:
            return ring.acquire(0.0)
        while not self._stop.is_set():
            slot = ring.acquire(0.2)
            if slot is not None:
                return slot
        raise SourceError("stopping")
