"""Results that wait for their reject: an item's result says whether the cake left the belt.

A reject is planned when the item is decided but fires later, when the item reaches the reject
station. :class:`AwaitingFire` holds the result of each item whose reject is planned until the
:class:`~edge.actuator.RejectScheduler` reports the outcome: ``rejected`` is true only if the
actuator fired; a firing that failed (or was dropped at a stop) is a ``missed_reject``. The
settled results are handed, in a thread of their own, to ``store`` so that a slow disk never
delays the next firing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from edge.actuator import RejectEvent

__all__ = ["AwaitingFire"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class AwaitingFire(Generic[T]):
    """Held results by item id; ``settle(held, fired)`` finishes each before ``store`` gets it."""

    def __init__(self, settle: Callable[[T, bool], None], store: Callable[[list[T]], None]) -> None:
        self._settle = settle
        self._store = store
        self._held: dict[int, T] = {}
        self._lock = threading.Lock()
        self._done: queue.Queue[T | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="fired-results", daemon=True)
        self._thread.start()

    def hold(self, item: int, result: T) -> None:
        """Keep ``result`` until the reject of ``item`` fires (call before scheduling it)."""
        with self._lock:
            self._held[item] = result

    def release(self, item: int) -> T:
        """Take back a held result whose reject was never scheduled."""
        with self._lock:
            return self._held.pop(item)

    def fired(self, event: RejectEvent, ok: bool) -> None:
        """The scheduler's report: the reject of ``event.item`` fired (``ok``) or did not."""
        with self._lock:
            result = self._held.pop(event.item, None)
        if result is None:
            log.error("reject outcome for item %d that no result waits for", event.item)
            return
        self._settle(result, ok)
        self._done.put(result)

    @property
    def waiting(self) -> int:
        """Results held or settled but not yet stored."""
        with self._lock:
            return len(self._held) + self._done.qsize()

    def close(self, timeout: float = 30.0) -> None:
        """Store what has settled, then stop the thread (call after the scheduler stopped)."""
        with self._lock:
            left = len(self._held)
        if left:
            log.error("%d results still wait for a reject outcome at stop", left)
        self._done.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._done.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while True:
                try:
                    more = self._done.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._store(batch)
            except Exception:
                log.exception("could not store %d results after their rejects", len(batch))
            if stop:
                return
