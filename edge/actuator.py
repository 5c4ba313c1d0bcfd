"""Reject actuation: timed locally from belt speed, never waiting on the network.

The reject station is ``station_x`` pixels along the belt (it may lie beyond the frame). An
item decided in a frame that arrived at ``t0`` reaches it at
``t0 + (station_x - centre_x) / speed``; the actuator is commanded ``latency_ms`` earlier.
:class:`RejectScheduler` fires at that moment from its own thread. A decision made after its
firing moment is a **missed reject**: counted, logged and reported in the item's result. A
firing that raises is counted in ``errors``; ``on_done`` hears the outcome of every scheduled
firing (fired or not), so the item's result can say whether the cake left the belt.

Actuators are plugins behind :class:`Actuator`: log, CSV file, Modbus TCP coil (pymodbus),
GPIO line (libgpiod, where installed) and an MQTT command, chosen by ``actuator.plugin.type``.
"""

from __future__ import annotations

import csv
import heapq
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.config_sections import (
    ActuatorConfig,
    BeltConfig,
    CsvActuator,
    GpioActuator,
    LogActuator,
    ModbusActuator,
    MqttActuator,
)
from edge.gpio_lines import GpioLines, LibgpiodLines
from peakline.errors import ConfigError

__all__ = [
    "ACTUATOR_FACTORIES",
    "Actuator",
    "CsvReject",
    "GpioReject",
    "LogReject",
    "ModbusReject",
    "MqttReject",
    "RejectEvent",
    "RejectScheduler",
    "make_actuator",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, order=True)
class RejectEvent:
    """Fire at ``due`` (``time.perf_counter()`` clock) for one item."""

    due: float
    item: int = field(compare=False)
    frame: int = field(compare=False)
    score: float = field(compare=False)
    decision: str = field(compare=False)


class Actuator(Protocol):
    """Something that physically rejects an item (or records that it would)."""

    name: str

    def fire(self, event: RejectEvent) -> None:
        """Reject the item now (called at the planned moment)."""

    def close(self) -> None:
        """Release the device or connection."""


class LogReject:
    """Logs each reject; for a line without an ejector, or a dry run."""

    name = "log"

    def fire(self, event: RejectEvent) -> None:
        log.info("REJECT item %d (frame %d, score %.4f)", event.item, event.frame, event.score)

    def close(self) -> None:
        pass


class CsvReject:
    """Appends one row per firing: wall time, item, frame, score, decision, lateness in ms."""

    name = "csv"

    def __init__(self, path: str) -> None:
        self._fh = open(path, "a", newline="")  # noqa: SIM115 - kept open while the node runs
        self._w = csv.writer(self._fh)
        if self._fh.tell() == 0:
            self._w.writerow(["time", "item", "frame", "score", "decision", "late_ms"])

    def fire(self, event: RejectEvent) -> None:
        late = (time.perf_counter() - event.due) * 1000.0
        self._w.writerow([f"{time.time():.3f}", event.item, event.frame, f"{event.score:.5f}",
                          event.decision, f"{late:.2f}"])
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class ModbusReject:
    """Pulses a coil on a PLC over Modbus TCP (on for ``pulse_ms``, then off)."""

    name = "modbus"

    def __init__(self, config: ModbusActuator) -> None:
        from pymodbus.client import ModbusTcpClient

        self.config = config
        self._client = ModbusTcpClient(config.host, port=config.port, timeout=1, retries=1)

    def _write(self, value: bool) -> None:
        if not self._client.connected and not self._client.connect():
            raise ConnectionError(f"Modbus {self.config.host}:{self.config.port} unreachable")
        reply = self._client.write_coil(self.config.coil, value, device_id=self.config.unit)
        if reply.isError():
            raise ConnectionError(f"Modbus write_coil refused: {reply}")

    def fire(self, event: RejectEvent) -> None:
        self._write(True)
        timer = threading.Timer(self.config.pulse_ms / 1000.0, self._off)
        timer.daemon = True
        timer.start()

    def _off(self) -> None:
        try:
            self._write(False)
        except Exception:
            log.exception("Modbus coil %d could not be switched off", self.config.coil)

    def close(self) -> None:
        self._client.close()


class GpioReject:
    """Pulses a GPIO line: active at the firing moment, inactive ``pulse_ms`` later.

    The lines come from libgpiod (:class:`edge.gpio_lines.LibgpiodLines`) unless given; a
    close drops the line at once and cancels the pending drops, so nothing touches the lines
    after they are released.
    """

    name = "gpio"

    def __init__(self, config: GpioActuator, lines: GpioLines | None = None) -> None:
        self.config = config
        self._lines: GpioLines = lines if lines is not None else LibgpiodLines(config)
        self._lock = threading.Lock()
        self._timers: set[threading.Timer] = set()
        self._closed = False

    def fire(self, event: RejectEvent) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the GPIO actuator is closed")
            self._lines.set(self.config.line, True)
            timer = threading.Timer(self.config.pulse_ms / 1000.0, self._off)
            timer.daemon = True
            self._timers.add(timer)
            timer.start()

    def _off(self) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive()
                            and t is not threading.current_thread()}
            if not self._closed:
                self._lines.set(self.config.line, False)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            try:
                self._lines.set(self.config.line, False)
            finally:
                self._lines.release()


class MqttReject:
    """Publishes ``{"item", "frame", "score", "ts"}`` to a PLC gateway's topic."""

    name = "mqtt"

    def __init__(self, config: MqttActuator, publish: Callable[[str, bytes, int], Any]) -> None:
        self.config = config
        self._publish = publish

    def fire(self, event: RejectEvent) -> None:
        body = {"item": event.item, "frame": event.frame, "score": event.score, "ts": time.time()}
        self._publish(self.config.topic, json.dumps(body).encode(), self.config.qos)

    def close(self) -> None:
        pass


def make_actuator(
    config: ActuatorConfig, publish: Callable[[str, bytes, int], Any] | None = None
) -> Actuator:
    """The actuator plugin that ``actuator.plugin.type`` names."""
    factory = ACTUATOR_FACTORIES.get(type(config.plugin))
    if factory is None:
        raise ConfigError(f"actuator.plugin: unknown type {config.plugin!r}")
    return factory(config.plugin, publish)


def _mqtt(p: MqttActuator, publish: Callable[[str, bytes, int], Any] | None) -> Actuator:
    if publish is None:
        raise ConfigError("actuator.plugin.type: mqtt needs the node's MQTT link")
    return MqttReject(p, publish)


#: the actuator plugins: one factory per config class of :data:`ACTUATOR_TYPES`
ACTUATOR_FACTORIES: dict[type[Any], Callable[[Any, Any], Actuator]] = {
    LogActuator: lambda _p, _publish: LogReject(),
    CsvActuator: lambda p, _publish: CsvReject(str(p.path)),
    ModbusActuator: lambda p, _publish: ModbusReject(p),
    GpioActuator: lambda p, _publish: GpioReject(p),
    MqttActuator: _mqtt,
}


class RejectScheduler:
    """Plans each reject's firing moment and fires it from a timer thread."""

    def __init__(self, actuator: Actuator, config: ActuatorConfig, belt: BeltConfig) -> None:
        self.actuator = actuator
        self.config = config
        self.sign = 1.0 if belt.direction == "left_to_right" else -1.0
        self.speed = belt.speed_px_s
        self.fired = 0
        self.missed = 0
        self.errors = 0
        #: called from the firing thread with each scheduled event and whether it fired
        self.on_done: Callable[[RejectEvent, bool], None] | None = None
        self._heap: list[RejectEvent] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="reject", daemon=True)

    def due(self, box: tuple[int, int, int, int], t0: float) -> float:
        """When to command the actuator for an item at ``box`` in a frame that arrived at t0."""
        cx = box[0] + box[2] / 2.0
        travel = (self.config.station_x - cx) * self.sign / self.speed
        return t0 + travel - self.config.latency_ms / 1000.0

    def schedule(self, event: RejectEvent, now: float | None = None) -> bool:
        """Queue the firing; False (counted as missed) if its moment has already passed.

        Refused as well once :meth:`stop` was called: nothing would fire it.
        """
        now = time.perf_counter() if now is None else now
        if event.due < now:
            self.missed += 1
            log.warning(
                "missed reject: item %d decided %.1f ms after its firing moment",
                event.item, (now - event.due) * 1000,
            )
            return False
        with self._cond:
            if self._stop:
                self.missed += 1
                log.warning("missed reject: item %d decided after the actuator stopped",
                            event.item)
                return False
            heapq.heappush(self._heap, event)
            self._cond.notify()
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self, fire_pending: bool = True) -> None:
        """Stop the thread; with ``fire_pending`` wait for the queued firings first."""
        with self._cond:
            dropped = [] if fire_pending else list(self._heap)
            if not fire_pending:
                self._heap.clear()
            self._stop = True
            self._cond.notify()
        for event in dropped:
            self._report(event, False)
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        self.actuator.close()

    @property
    def pending(self) -> int:
        return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._heap:
                        if self._stop:
                            return
                        self._cond.wait()
                        continue
                    wait = self._heap[0].due - time.perf_counter()
                    if wait <= 0:
                        event = heapq.heappop(self._heap)
                        break
                    self._cond.wait(wait)
            try:
                self.actuator.fire(event)
                self.fired += 1
                ok = True
            except Exception:
                self.errors += 1
                ok = False
                log.exception("reject actuator %s failed for item %d", self.actuator.name,
                              event.item)
            self._report(event, ok)

    def _report(self, event: RejectEvent, fired: bool) -> None:
        if self.on_done is None:
            return
        try:
            self.on_done(event, fired)
        except Exception:
            log.exception("reject outcome of item %d could not be recorded", event.item)
