"""An outbox that refuses writes loses no result: they wait in memory and arrive at the plant.

The outbox is made to fail with SQLite's own failure mode: another connection holds the
database's write lock (``BEGIN EXCLUSIVE``), so every write fails with "database is locked".
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from support.configs import node_config
from support.mqtt import Acker
from support.waiting import wait_until

from edge.actuator import RejectEvent, RejectScheduler
from edge.config import load_config
from edge.config_sections import ActuatorConfig, BeltConfig, MqttLinkConfig
from edge.decision import Decider, Thresholds
from edge.inference import Job
from edge.metrics import Telemetry
from edge.node import Node
from edge.outbox import Outbox
from edge.pipeline import DecisionStage
from edge.publisher import Publisher
from peakline.procs import free_port
from peakline.wire import NodeId
from plant.broker.process import Mosquitto

NODE = NodeId("s1", "l1", "n1")
BELT = BeltConfig(y0=0, y1=100, speed_px_s=1000.0)
#: the reject station 100 px past an item centred at x=50: it fires 0.1 s after arrival
STATION = ActuatorConfig(station_x=150.0, latency_ms=0.0)


@dataclass
class Ejector:
    fired: list[int] = field(default_factory=list)
    name: str = "test"

    def fire(self, event: RejectEvent) -> None:
        self.fired.append(event.item)

    def close(self) -> None:
        pass


class Lock:
    """Another connection holding the outbox's write lock."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.db.execute("COMMIT")
        self.db.close()


@dataclass
class Line:
    stage: DecisionStage
    rejects: RejectScheduler
    ejector: Ejector
    outbox: Outbox
    path: Path

    def score(self, item: int, score: float) -> None:
        job = Job(item, item, 0, (0, 0, 100, 80), time.perf_counter(), time.time(), True)
        self.stage.scored([job], np.array([score], np.float32), ["crack"])

    def stored(self) -> dict[int, dict]:
        return {b["item_id"]: b for b in (json.loads(r.body) for r in self.outbox.fetch(0, 1000))}


def _line(tmp_path: Path, max_unsaved: int = 100_000) -> Line:
    ejector = Ejector()
    rejects = RejectScheduler(ejector, STATION, BELT)
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, synchronous="normal", busy_timeout_s=0.05)
    outbox.begin_boot("b1", "m:1")
    stage = DecisionStage(Decider(Thresholds(reject=2.0, uncertain=1.0)), rejects, outbox,
                          "b1", Telemetry(), lambda: None, max_unsaved=max_unsaved)
    stage.unsaved.retry_max_s = 0.2
    rejects.start()
    return Line(stage, rejects, ejector, outbox, path)


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Line]:
    ln = _line(tmp_path)
    yield ln
    ln.rejects.stop(fire_pending=False)
    ln.stage.close(2)
    ln.outbox.close()


def test_results_refused_by_a_locked_outbox_reach_the_plant_once_it_recovers(
    broker: Mosquitto, line: Line
) -> None:
    acker = Acker(broker.port, site="s1")
    link = MqttLinkConfig(port=broker.port, batch_interval_ms=20, batch_max=50,
                          resend_after_s=2.0, reconnect_min_s=0.1, reconnect_max_s=0.5)
    pub = Publisher(NODE, link, line.outbox, "b1", "m:1")
    pub.start()
    try:
        line.score(1, 0.1)
        acker.wait_stored(1)
        lock = Lock(line.path)
        for item in range(2, 32):  # passes stored from the inference path, rejects from the
            line.score(item, 5.0 if item % 3 == 0 else 0.1)  # thread that waits for firing
        wait_until("the rejects to fire", lambda: len(line.ejector.fired) == 10, 10)
        wait_until("the rejects' results to be kept", lambda: line.stage.unsaved.waiting == 30,
                   10)
        assert line.stage.unsaved.failing and "locked" in line.stage.unsaved.error
        wait_until("a retry", lambda: line.stage.unsaved.failures >= 2, 10)  # backs off
        # nothing of 2..31 reached the outbox while it was locked (1 may be gone: its PUBACK
        # can arrive, and delete it, before the lock is taken)
        assert not line.stored().keys() - {1}
        lock.release()
        acker.wait_stored(31)
        got = acker.results[("l1", "n1", "b1")]
        assert sorted(got) == list(range(1, 32))  # every result once, no gap in seq
        stored = line.stored()  # what is not acked yet; the acker has all 31
        assert all(r["rejected"] for r in stored.values() if r["decision"] == "reject")
        assert not line.stage.unsaved.failing and line.stage.unsaved.dropped == 0
        wait_until("the outbox to empty", lambda: line.outbox.backlog == 0, 30)
    finally:
        pub.stop(1)
        acker.close()


def test_beyond_the_memory_bound_results_are_dropped_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ln = _line(tmp_path, max_unsaved=5)
    try:
        lock = Lock(ln.path)
        with caplog.at_level(logging.ERROR, logger="edge.unsaved"):
            for item in range(1, 9):
                ln.score(item, 0.1)
        assert ln.stage.unsaved.waiting == 5 and ln.stage.unsaved.dropped == 3
        dropped = [r.message for r in caplog.records if "dropped" in r.message]
        assert [m.rsplit(": ", 1)[1] for m in dropped] == ["item 6 pass", "item 7 pass",
                                                           "item 8 pass"]
        lock.release()
        wait_until("the kept results to be stored", lambda: len(ln.stored()) == 5, 10)
        assert sorted(ln.stored()) == [1, 2, 3, 4, 5]
        # the retry clears its failing state just after the rows are committed
        wait_until("the outbox to be writable again", lambda: not ln.stage.unsaved.failing, 10)
    finally:
        ln.rejects.stop(fire_pending=False)
        ln.stage.close(2)
        ln.outbox.close()


def test_results_still_waiting_at_stop_are_written_when_the_lock_goes(line: Line) -> None:
    lock = Lock(line.path)
    line.score(1, 0.1)
    assert line.stage.unsaved.waiting == 1
    threading.Timer(0.3, lock.release).start()
    line.stage.close(5)  # the stop waits for the outbox to take them
    assert line.stored().keys() == {1}
    assert line.stage.unsaved.dropped == 0


def test_the_node_reports_an_outbox_that_refuses_writes(
    tmp_path: Path, recording_dir: Path, line_model: Path
) -> None:
    node = Node(load_config(node_config(tmp_path, free_port(), recording_dir, line_model)))
    try:
        assert node._fault() == ""
        lock = Lock(node.config.outbox.path)
        job = Job(1, 1, 0, (0, 0, 100, 80), time.perf_counter(), time.time(), True)
        node.decisions.scored([job], np.array([0.0], np.float32), [None])
        assert node._fault().startswith("outbox refuses writes (outbox write failed: database "
                                        "is locked)")
        metrics = node.node_metrics()
        assert metrics.outbox_backlog == 1 and metrics.outbox_dropped == 0
        assert node.snapshot()["results_unsaved"].value == 1
        lock.release()
        wait_until("the result to be stored", lambda: node.outbox.backlog == 1, 10)
        # the retry clears the fault just after the write commits: wait for it, not a race
        wait_until("the fault to clear", lambda: node._fault() == "", 10)
        assert node.node_metrics().outbox_backlog == 1
    finally:
        node.rejects.stop(fire_pending=False)
        node.decisions.close()
        node.inference.close()
        node.outbox.close()
        node.telemetry.close()
