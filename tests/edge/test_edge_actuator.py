"""Reject timing from belt speed and station distance; missed rejects; real Modbus TCP."""

from __future__ import annotations

import asyncio
import csv
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.waiting import wait_until

from edge.actuator import CsvReject, ModbusReject, RejectEvent, RejectScheduler
from edge.config_sections import ActuatorConfig, BeltConfig, ModbusActuator
from peakline.procs import free_port

BELT = BeltConfig(y0=0, y1=100, speed_px_s=500.0)


def test_firing_moment_from_belt_speed_and_station() -> None:
    cfg = ActuatorConfig(station_x=1500.0, latency_ms=20.0)
    sched = RejectScheduler(CsvRejectNull(), cfg, BELT)
    # centre at x=500: 1000 px to go at 500 px/s = 2 s, commanded 20 ms earlier
    assert sched.due((450, 10, 100, 80), t0=100.0) == pytest.approx(101.98)
    rtl = BeltConfig(y0=0, y1=100, speed_px_s=250.0, direction="right_to_left")
    sched = RejectScheduler(CsvRejectNull(), ActuatorConfig(station_x=-500.0, latency_ms=0), rtl)
    assert sched.due((450, 10, 100, 80), t0=0.0) == pytest.approx(4.0)


class CsvRejectNull:
    name = "null"

    def __init__(self) -> None:
        self.events: list[tuple[RejectEvent, float]] = []

    def fire(self, event: RejectEvent) -> None:
        self.events.append((event, time.perf_counter()))

    def close(self) -> None:
        pass


#: how late a firing may be: the time an item 100 px long takes to pass the station at the
#: test belt's 500 px/s (0.2 s) - later, the ejector would hit the belt behind the cake. A
#: thread's wake-up on a loaded machine takes milliseconds, not a fifth of a second.
ITEM_PASSES_S = 100 / BELT.speed_px_s


def test_scheduler_fires_on_time_in_order_and_counts_missed() -> None:
    act = CsvRejectNull()
    sched = RejectScheduler(act, ActuatorConfig(station_x=0.0), BELT)
    outcomes: list[tuple[int, bool]] = []
    sched.on_done = lambda event, fired: outcomes.append((event.item, fired))
    sched.start()
    now = time.perf_counter()
    # ``now`` passed in: the decision moment, so a slow test thread cannot turn these into misses
    assert sched.schedule(RejectEvent(now + 0.3, 2, 2, 0.9, "reject"), now)
    assert sched.schedule(RejectEvent(now + 0.1, 1, 1, 0.9, "reject"), now)
    assert not sched.schedule(RejectEvent(now - 0.05, 3, 3, 0.9, "reject"), now)  # too late
    sched.stop(fire_pending=True)
    assert [e.item for e, _ in act.events] == [1, 2]
    for event, fired in act.events:
        assert fired >= event.due, "fired before the item reached the station"
        late = fired - event.due
        assert late < ITEM_PASSES_S, f"fired {late * 1000:.0f} ms late: the item had passed"
    assert sched.missed == 1 and sched.fired == 2
    assert outcomes == [(1, True), (2, True)]  # the missed one was never scheduled


def test_scheduler_reports_a_failed_firing_and_refuses_after_stop() -> None:
    class Jammed(CsvRejectNull):
        def fire(self, event: RejectEvent) -> None:
            raise OSError("ejector jammed")

    sched = RejectScheduler(Jammed(), ActuatorConfig(station_x=0.0), BELT)
    outcomes: list[tuple[int, bool]] = []
    sched.on_done = lambda event, fired: outcomes.append((event.item, fired))
    sched.start()
    now = time.perf_counter()
    assert sched.schedule(RejectEvent(now, 1, 1, 0.9, "reject"), now)
    assert sched.schedule(RejectEvent(now + 60, 2, 2, 0.9, "reject"), now)
    wait_until("the jammed firing", lambda: sched.errors == 1, 10)
    sched.stop(fire_pending=False)  # item 2 is dropped: reported as not fired
    assert outcomes == [(1, False), (2, False)]
    assert not sched.schedule(RejectEvent(time.perf_counter() + 1, 3, 3, 0.9, "reject"))
    assert sched.missed == 1 and sched.fired == 0


def test_csv_actuator_appends_rows(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    act = CsvReject(str(path))
    act.fire(RejectEvent(time.perf_counter(), 7, 70, 0.95, "reject"))
    act.close()
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["time", "item", "frame", "score", "decision", "late_ms"]
    assert rows[1][1:5] == ["7", "70", "0.95000", "reject"]


@pytest.fixture
def modbus_port() -> Iterator[int]:
    """A real Modbus TCP server (pymodbus's simulator device) standing in for the PLC."""
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    def block(kind: DataType) -> list[SimData]:
        return [SimData(0, count=16, values=False if kind == DataType.BITS else 0, datatype=kind)]

    device = SimDevice(id=1, simdata=(block(DataType.BITS), block(DataType.BITS),
                                      block(DataType.REGISTERS), block(DataType.REGISTERS)))
    port = free_port()
    loop = asyncio.new_event_loop()
    servers: list[ModbusTcpServer] = []

    async def serve() -> None:
        servers.append(ModbusTcpServer(device, address=("127.0.0.1", port)))
        await servers[0].serve_forever()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    yield port
    asyncio.run_coroutine_threadsafe(servers[0].shutdown(), loop).result(5)
    thread.join(5)
    loop.close()


def test_modbus_coil_is_pulsed(modbus_port: int) -> None:
    from pymodbus.client import ModbusTcpClient

    act = ModbusReject(ModbusActuator(type="modbus", host="127.0.0.1", port=modbus_port, coil=3,
                                      unit=1, pulse_ms=400))
    plc = ModbusTcpClient("127.0.0.1", port=modbus_port)
    try:
        wait_until("the reject to fire", lambda: _try_fire(act), 10)
        assert plc.read_coils(0, count=8, device_id=1).bits[3] is True
        wait_until("the coil to drop",
                   lambda: plc.read_coils(0, count=8, device_id=1).bits[3] is False, 5)
    finally:
        plc.close()
        act.close()


def _try_fire(act: ModbusReject) -> bool:
    try:
        act.fire(RejectEvent(time.perf_counter(), 1, 1, 1.0, "reject"))
    except ConnectionError:
        return False
    return True


def test_gpio_without_libgpiod_is_a_config_error_naming_the_key() -> None:
    import importlib.util

    from edge.actuator import make_actuator
    from edge.config_sections import GpioActuator
    from peakline.errors import ConfigError

    if importlib.util.find_spec("gpiod") is not None:
        pytest.skip("gpiod is installed here")
    cfg = ActuatorConfig(station_x=0.0, plugin=GpioActuator(type="gpio", line=17))
    with pytest.raises(ConfigError, match=r"actuator\.plugin\.type: gpio needs the gpiod package"):
        make_actuator(cfg)


def test_mqtt_actuator_publishes_a_reject_command() -> None:
    from edge.actuator import make_actuator
    from edge.config_sections import MqttActuator

    sent: list[tuple[str, bytes, int]] = []
    cfg = ActuatorConfig(station_x=0.0, plugin=MqttActuator(type="mqtt", topic="plc/reject"))
    act = make_actuator(cfg, lambda t, p, q: sent.append((t, p, q)))
    act.fire(RejectEvent(0.0, 5, 50, 0.9, "reject"))
    assert sent[0][0] == "plc/reject" and b'"item": 5' in sent[0][1] and sent[0][2] == 1


def test_gpio_pulses_the_line_and_drops_it_after_pulse_ms() -> None:
    from edge.actuator import GpioReject
    from edge.config_sections import GpioActuator
    from edge.gpio_lines import FakeGpioLines

    lines = FakeGpioLines()
    act = GpioReject(GpioActuator(type="gpio", line=17, pulse_ms=40), lines)
    act.fire(RejectEvent(time.perf_counter(), 1, 1, 0.9, "reject"))
    assert lines.wait_for(2, 10), lines.changes
    (t_on, line_on, on), (t_off, line_off, off) = lines.changes
    assert (line_on, on, line_off, off) == (17, True, 17, False)
    assert t_off - t_on >= 0.04  # never shorter than the configured pulse
    act.close()
    assert lines.released and lines.changes[-1][1:] == (17, False)


def test_gpio_close_mid_pulse_drops_the_line_then_releases_it() -> None:
    from edge.actuator import GpioReject
    from edge.config_sections import GpioActuator
    from edge.gpio_lines import FakeGpioLines

    lines = FakeGpioLines()
    act = GpioReject(GpioActuator(type="gpio", line=4, pulse_ms=60_000), lines)
    sched = RejectScheduler(act, ActuatorConfig(station_x=0.0), BELT)
    outcomes: list[bool] = []
    sched.on_done = lambda event, fired: outcomes.append(fired)
    sched.start()
    now = time.perf_counter()
    assert sched.schedule(RejectEvent(now, 1, 1, 0.9, "reject"), now)
    wait_until("the firing", lambda: outcomes == [True], 10)
    sched.stop()  # closes the actuator while the line is still held active
    assert [c[1:] for c in lines.changes] == [(4, True), (4, False)] and lines.released
    with pytest.raises(RuntimeError, match="closed"):
        act.fire(RejectEvent(now, 2, 2, 0.9, "reject"))
    act.close()  # a second close does nothing


def test_fake_gpio_lines_refuse_use_after_release() -> None:
    from edge.gpio_lines import FakeGpioLines

    lines = FakeGpioLines()
    lines.set(3, True)
    assert not lines.wait_for(2, 0.01)
    lines.release()
    with pytest.raises(RuntimeError, match="after the lines were released"):
        lines.set(3, False)
