"""The one MQTT client (peakline.mqtt): jittered back-off, and a network loop that comes back
when the broker does."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from paho.mqtt.reasoncodes import ReasonCode
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline.config import MqttClientConfig
from peakline.mqtt import Backoff, make_client, run_network
from plant.broker.process import Mosquitto


class _Edge(random.Random):
    """A random source that always draws the low (or the high) end of the range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def _bounds(min_s: float, max_s: float, n: int) -> list[float]:
    """The doubling bound capped at ``max_s``, written out."""
    out, bound = [], min_s
    for _ in range(n):
        out.append(bound)
        bound = min(bound * 2, max_s)
    return out


@pytest.mark.parametrize("high", [False, True])
def test_delays_span_half_to_all_of_a_doubling_bound(high: bool) -> None:
    backoff = Backoff(0.1, 1.0, _Edge(high))
    delays = [backoff.next() for _ in range(7)]
    bounds = _bounds(0.1, 1.0, 7)
    assert bounds == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    assert delays == pytest.approx([b if high else b / 2 for b in bounds])


def test_random_delays_stay_within_50_to_100_percent_of_the_bound() -> None:
    backoff = Backoff(0.5, 30.0, random.Random(12))
    bound, delays = 0.5, []
    for i in range(500):
        if i % 50 == 49:  # a connection succeeded now and then
            backoff.reset()
            bound = 0.5
        delays.append(backoff.next())
        assert 0.5 * bound <= delays[-1] <= bound, (i, bound)
        bound = min(bound * 2, 30.0)
    assert max(delays) > 25.0 and min(delays) < 0.5  # the whole range is used


def test_reset_goes_back_to_the_shortest_delay() -> None:
    backoff = Backoff(0.2, 5.0, random.Random(3))
    for _ in range(10):
        backoff.next()
    assert backoff.bound == 5.0
    backoff.reset()
    assert backoff.bound == 0.2 and 0.1 <= backoff.next() <= 0.2
    assert backoff.bound == 0.4


def test_a_max_below_the_min_is_the_min() -> None:
    backoff = Backoff(2.0, 1.0, random.Random(5))
    assert all(1.0 <= backoff.next() <= 2.0 for _ in range(20))


def test_clients_that_lost_the_broker_together_do_not_come_back_in_lock_step() -> None:
    first = [Backoff(1.0, 30.0).next() for _ in range(50)]
    assert len(set(first)) == 50


def test_run_network_reconnects_when_the_broker_comes_back(own_broker: Mosquitto) -> None:
    config = MqttClientConfig(port=own_broker.port, keepalive_s=2, reconnect_min_s=0.1,
                              reconnect_max_s=0.5)
    client = make_client(config, f"test-run-network-{uuid.uuid4().hex[:8]}")
    connacks: list[ReasonCode] = []
    client.on_connect = lambda _c, _u, _f, rc, _p: connacks.append(rc)
    stop = threading.Event()
    ticks: list[float] = []
    returned: list[bool] = []
    loop = threading.Thread(
        target=lambda: returned.append(run_network(client, config, stop, tick=ticks.append)))
    loop.start()
    try:
        wait_until("the first connection", client.is_connected, 10)
        wait_until("the owner's tick between turns", lambda: len(ticks) > 0, 5)
        own_broker.kill()
        wait_until("the client to see the broker gone", lambda: not client.is_connected(), 10)
        own_broker.start()
        wait_until("the reconnection", lambda: len(connacks) >= 2 and client.is_connected(), 15)
        assert not any(rc.is_failure for rc in connacks)
        with Recorder(own_broker.port, ["t/run-network"]) as seen:  # the link carries again
            client.publish("t/run-network", b"back", qos=1)
            wait_until("the message through the new broker",
                       lambda: seen.on("t/run-network") == [b"back"], 10)
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive()
    assert returned == [True]  # the socket is open for the owner's goodbye
    client.disconnect()
