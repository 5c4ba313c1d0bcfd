"""GPIO output lines for the reject actuator: libgpiod on a device, a recording fake in tests.

:class:`GpioLines` is what :class:`edge.actuator.GpioReject` drives: set one line active or
inactive, release the lines. :class:`LibgpiodLines` is the real one (libgpiod's v2 Python
binding, where installed); :class:`FakeGpioLines` records every change with its time, for
tests and dry runs on a machine without GPIO.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from edge.config_sections import GpioActuator
from peakline.errors import ConfigError

__all__ = ["FakeGpioLines", "GpioLines", "LibgpiodLines"]


class GpioLines(Protocol):
    """Output lines requested from one GPIO chip."""

    def set(self, line: int, active: bool) -> None:
        """Drive ``line`` active (True) or inactive."""

    def release(self) -> None:
        """Give the lines back to the system."""


class LibgpiodLines:
    """One output line through libgpiod (``pip install gpiod``)."""

    def __init__(self, config: GpioActuator) -> None:
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError as exc:
            raise ConfigError(
                "actuator.plugin.type: gpio needs the gpiod package (pip install gpiod)"
            ) from exc
        self._values = {True: Value.ACTIVE, False: Value.INACTIVE}
        self._req: Any = gpiod.request_lines(
            config.chip, consumer="peakline",
            config={config.line: gpiod.LineSettings(direction=Direction.OUTPUT)},
        )

    def set(self, line: int, active: bool) -> None:
        self._req.set_value(line, self._values[active])

    def release(self) -> None:
        self._req.release()


class FakeGpioLines:
    """Records ``(perf_counter time, line, active)`` for every change; refuses use after release."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, int, bool]] = []
        self.released = False
        self._cond = threading.Condition()

    def set(self, line: int, active: bool) -> None:
        with self._cond:
            if self.released:
                raise RuntimeError(f"GPIO line {line} set after the lines were released")
            self.changes.append((time.perf_counter(), line, active))
            self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self.released = True
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` changes were recorded (True) or ``timeout`` seconds passed."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.changes) >= count, timeout)
