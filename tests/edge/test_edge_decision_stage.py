"""The decision stage: a result says whether the reject fired; views are smoothed per item."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from support.waiting import wait_until

from edge.actuator import RejectEvent, RejectScheduler
from edge.config_sections import ActuatorConfig, BeltConfig
from edge.decision import Decider, Thresholds
from edge.inference import Job
from edge.metrics import Telemetry
from edge.outbox import Outbox
from edge.pipeline import DecisionStage

BELT = BeltConfig(y0=0, y1=100, speed_px_s=1000.0)
#: the reject station 100 px past an item centred at x=50: it fires 0.1 s after arrival
STATION = ActuatorConfig(station_x=150.0, latency_ms=0.0)


@dataclass
class Ejector:
    """A reject actuator for the test: fails for some items, may wait for a go-ahead."""

    fail: set[int] = field(default_factory=set)
    go: threading.Event = field(default_factory=threading.Event)
    fired: list[int] = field(default_factory=list)
    name: str = "test"

    def fire(self, event: RejectEvent) -> None:
        self.go.wait(10)
        if event.item in self.fail:
            raise OSError(f"ejector jammed for item {event.item}")
        self.fired.append(event.item)

    def close(self) -> None:
        pass


@dataclass
class Line:
    stage: DecisionStage
    rejects: RejectScheduler
    ejector: Ejector
    outbox: Outbox
    telemetry: Telemetry

    def results(self) -> dict[int, dict]:
        return {b["item_id"]: b for b in (json.loads(r.body) for r in self.outbox.fetch(0, 100))}

    def score(self, item: int, score: float, t0: float | None = None, last: bool = True,
              frame: int = 0, x: int = 0) -> None:
        t0 = time.perf_counter() if t0 is None else t0
        job = Job(item, frame, 0, (x, 0, 100, 80), t0, time.time(), last)
        self.stage.scored([job], np.array([score], np.float32), ["crack"])


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Line]:
    ejector = Ejector()
    rejects = RejectScheduler(ejector, STATION, BELT)
    outbox = Outbox(tmp_path / "outbox.db", synchronous="normal")
    outbox.begin_boot("b1", "m:1")
    telemetry = Telemetry()
    stage = DecisionStage(Decider(Thresholds(reject=2.0, uncertain=1.0)), rejects, outbox,
                          "b1", telemetry, lambda: None)
    rejects.start()
    yield Line(stage, rejects, ejector, outbox, telemetry)
    ejector.go.set()
    rejects.stop(fire_pending=False)
    stage.close()
    outbox.close()


def test_a_rejected_result_is_stored_once_the_ejector_fired(line: Line) -> None:
    line.score(1, 0.1)  # a pass: stored at once
    line.score(2, 5.0)  # a reject: waits for its firing
    assert set(line.results()) == {1}
    assert line.stage.awaiting.waiting == 1
    line.ejector.go.set()
    wait_until("the rejected item's result", lambda: 2 in line.results(), 10)
    got = line.results()[2]
    assert (got["decision"], got["rejected"], got["missed_reject"]) == ("reject", True, False)
    assert line.ejector.fired == [2]
    assert line.telemetry.take_window().missed_rejects == 0


def test_a_reject_that_did_not_fire_is_not_recorded_as_rejected(line: Line) -> None:
    line.ejector.fail.add(3)
    line.ejector.go.set()
    line.score(3, 5.0)
    line.score(4, 5.0)
    wait_until("both results", lambda: len(line.results()) == 2, 10)
    jammed, fired = line.results()[3], line.results()[4]
    assert (jammed["rejected"], jammed["missed_reject"]) == (False, True)
    assert (fired["rejected"], fired["missed_reject"]) == (True, False)
    assert line.rejects.errors == 1 and line.rejects.fired == 1
    assert line.telemetry.take_window().missed_rejects == 1  # the MQTT metrics report it


def test_a_reject_decided_too_late_is_missed_at_once(line: Line) -> None:
    line.score(5, 5.0, t0=time.perf_counter() - 1.0)  # its station moment was 0.9 s ago
    got = line.results()[5]
    assert (got["rejected"], got["missed_reject"]) == (False, True)
    assert line.rejects.missed == 1 and line.stage.awaiting.waiting == 0


def test_rejects_dropped_at_a_stop_are_stored_as_missed(line: Line) -> None:
    line.score(6, 5.0, x=-30_000)  # 30,100 px before the station: due in half a minute
    line.rejects.stop(fire_pending=False)
    line.stage.close()
    got = line.results()[6]
    assert (got["rejected"], got["missed_reject"]) == (False, True)
    line.score(7, 5.0)  # after the stop nothing can fire it
    assert line.results()[7]["missed_reject"] is True


def test_uncertain_items_are_not_fired_unless_configured(line: Line) -> None:
    line.score(8, 1.5)
    got = line.results()[8]
    assert (got["decision"], got["rejected"], got["missed_reject"]) == ("uncertain", False, False)
    assert line.ejector.fired == []


def test_an_item_seen_in_several_views_is_decided_on_the_median(line: Line) -> None:
    """The multi-view Smoother: one result per item, after its last view, at the median."""
    line.ejector.go.set()
    for frame, score in enumerate((0.2, 9.0, 0.4)):  # one bad view is outvoted
        line.score(10, score, last=frame == 2, frame=frame)
        if frame < 2:
            assert line.results() == {}
    got = line.results()[10]
    assert (got["decision"], got["score"]) == ("pass", pytest.approx(0.4))
    for frame, score in enumerate((2.5, 0.3, 3.5, 3.0)):  # a bad item with one clean view
        line.score(11, score, last=frame == 3, frame=frame)
    wait_until("the reject's result", lambda: 11 in line.results(), 10)
    assert line.results()[11]["score"] == pytest.approx(2.75)
    assert line.results()[11]["rejected"] is True
    # a track that ends early is decided on the views it had
    line.score(12, 0.1, last=False)
    line.score(12, 0.3, last=False, frame=1)
    line.stage.closed(12, 2)
    assert line.results()[12]["score"] == pytest.approx(0.2)
