"""The one way tests wait for something: poll a condition, fail saying what did not happen."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["WaitTimeout", "wait_until"]


class WaitTimeout(AssertionError):
    """A condition a test waited for did not come true in time."""


def wait_until(what: str, cond: Callable[[], object], timeout: float,
               interval: float = 0.05) -> float:
    """Poll ``cond`` until it is true; the seconds that took.

    After ``timeout`` seconds (``cond`` is asked once more at the deadline) it raises
    :class:`WaitTimeout`, an ``AssertionError`` that names ``what`` it was waiting for.
    """
    began = time.monotonic()
    deadline = began + timeout
    while True:
        if cond():
            return time.monotonic() - began
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
