"""Results the outbox could not take yet: kept in memory and written again, never lost quietly.

When a write to the SQLite outbox fails (disk full, database locked, I/O error) the results
of that write go into a bounded in-memory queue, and a thread of its own writes them again
with exponential back-off until the outbox takes them. While anything waits here, new results
queue behind it (in order) without touching the failing outbox, so neither the inference
worker nor the thread that stores fired rejects is held up by it; rejects keep firing.

Bound (``max_items``): beyond it a new result is *dropped*: counted (``dropped``), and logged
with its item id and decision, so a node that cannot persist fails loudly. ``failing`` says
whether the outbox refuses writes now; the node reports it in its status and metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from peakline.errors import DeliveryError

__all__ = ["Unsaved"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Unsaved(Generic[T]):
    """Writes lists of ``T`` with ``write``; keeps and retries what it refused.

    ``describe(item)`` names an item in the log line of a drop (e.g. ``"item 7 reject"``).
    """

    def __init__(
        self,
        write: Callable[[list[T]], None],
        describe: Callable[[T], str] = repr,
        max_items: int = 100_000,
        retry_min_s: float = 0.1,
        retry_max_s: float = 5.0,
        batch: int = 500,
    ) -> None:
        if max_items < 1 or retry_min_s <= 0 or retry_max_s < retry_min_s or batch < 1:
            raise ValueError("Unsaved needs max_items >= 1 and 0 < retry_min_s <= retry_max_s")
        self._write = write
        self._describe = describe
        self.max_items = max_items
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.batch = batch
        self._queue: deque[T] = deque()
        self._lock = threading.Lock()  # held while writing, so results keep their order
        self._wake = threading.Condition(threading.Lock())
        self._stop = False
        self.failing = False
        self.error = ""  # the last write error, while failing
        self.failures = 0  # failed writes since start
        self.dropped = 0  # results lost because the queue was full
        self._thread = threading.Thread(target=self._run, name="outbox-retry", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Results kept in memory until the outbox takes them."""
        return len(self._queue)

    def put(self, items: list[T]) -> None:
        """Write ``items`` now, or keep them if the outbox refuses (or others wait already)."""
        if not items:
            return
        with self._lock:
            if not self._queue:
                try:
                    self._write(items)
                    return
                except DeliveryError as exc:
                    self._failed(exc, len(items))
            self._keep(items)
        with self._wake:
            self._wake.notify()

    def flush(self, timeout: float) -> bool:
        """Try to write what waits until ``timeout`` s have passed; True once nothing waits."""
        deadline = time.monotonic() + timeout
        delay = self.retry_min_s
        while self._queue:
            if self._retry():
                delay = self.retry_min_s
                continue
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)
        return not self._queue

    def close(self, timeout: float = 10.0) -> None:
        """Try to write what waits for up to ``timeout`` s, then stop; log what is lost."""
        self.flush(timeout)
        with self._wake:
            self._stop = True
            self._wake.notify()
        self._thread.join(timeout)
        with self._lock:
            if self._queue:
                lost = [self._describe(x) for x in self._queue]
                log.error("outbox still refuses writes at stop (%s): %d results lost: %s",
                          self.error, len(lost), ", ".join(lost))
                self.dropped += len(lost)
                self._queue.clear()

    # -- internals ----------------------------------------------------------------------
    def _keep(self, items: list[T]) -> None:
        room = self.max_items - len(self._queue)
        self._queue.extend(items[:room])
        lost = items[room:] if room < len(items) else []
        if lost:
            self.dropped += len(lost)
            log.error("outbox failing (%s) and %d results already wait in memory: dropped %d "
                      "(%d in all): %s", self.error, len(self._queue), len(lost), self.dropped,
                      ", ".join(self._describe(x) for x in lost))

    def _failed(self, exc: DeliveryError, n: int) -> None:
        self.failures += 1
        if not self.failing:
            log.error("outbox refuses writes (%s): keeping %d results in memory (at most %d) "
                      "and retrying", exc, n, self.max_items)
        self.failing = True
        self.error = str(exc)[:150]

    def _retry(self) -> bool:
        """Write the oldest waiting results once; True if the outbox took them."""
        with self._lock:
            if not self._queue:
                return True
            chunk = [self._queue[i] for i in range(min(self.batch, len(self._queue)))]
            try:
                self._write(chunk)
            except DeliveryError as exc:
                self._failed(exc, 0)
                return False
            for _ in chunk:
                self._queue.popleft()
            if not self._queue and self.failing:
                log.warning("outbox writes again: the results kept in memory are stored")
                self.failing = False
                self.error = ""
            return True

    def _run(self) -> None:
        delay = self.retry_min_s
        while True:
            with self._wake:
                while not self._queue and not self._stop:
                    self._wake.wait()
                if self._stop:
                    return
                self._wake.wait(delay)  # back off before writing again
                if self._stop:
                    return
            delay = self.retry_min_s if self._retry() else min(delay * 2, self.retry_max_s)
