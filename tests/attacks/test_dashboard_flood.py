"""Finding 10: a flood on the dashboard must not starve ingest.

The dashboard runs in the plant's process (its own thread and event loop). The attack opens
twice the dashboard's connection cap of connections that send half a request's headers and
then nothing, plus a burst of complete requests from several threads, while a node publishes
results through a real Mosquitto. Ingest must keep up (every result stored and acknowledged
within a bound measured on the same plant without the flood, with a wide margin for a small
shared machine), and the dashboard must serve again once the burst is over, while the
half-sent requests are still open (their header deadline closes them).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from support.configs import plant_config
from support.mqtt import Recorder
from support.payloads import batch
from support.waiting import wait_until

from peakline import wire
from plant.broker.process import Mosquitto
from plant.dashboard.config import DashboardConfig
from plant.service import PlantService

CAP = 8
HEADER_TIMEOUT_S = 2.0
BATCHES = 20
PER_BATCH = 10


def _acked(rec: Recorder, site: str) -> int:
    acks = [wire.parse_payload(p, wire.PlantAck) for p in rec.on(
        wire.Topics(site).plant_ack("L1", "cam"))]
    return max((a.acked_seq for a in acks if isinstance(a, wire.PlantAck)), default=0)


def _publish_and_time(rec: Recorder, site: str, first: int) -> tuple[float, int]:
    """Publish BATCHES batches from seq ``first`` and wait for their acks; seconds, last seq."""
    topic = wire.Topics(site).node("L1", "cam", wire.NodeLeaf.RESULTS)
    began = time.monotonic()
    seq = first
    for _ in range(BATCHES):
        rec.publish(topic, wire.dump_payload(
            batch(range(seq, seq + PER_BATCH), site=site, node="cam", reject_every=4)))
        seq += PER_BATCH
        time.sleep(0.01)
    last = seq - 1
    wait_until(f"seq {last} acknowledged", lambda: _acked(rec, site) >= last, 60, interval=0.02)
    return time.monotonic() - began, last


def _live_status(port: int) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/live")
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return 0


class _Flood:
    """Slow, half-sent requests beyond the cap and a burst of complete ones, until ``stop``."""

    def __init__(self, port: int, slow: int, bursters: int) -> None:
        self.port = port
        self.slow: list[socket.socket] = []
        self.answers: list[int] = []
        self._stop = threading.Event()
        for _ in range(slow):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            self.slow.append(sock)
        self._threads = [threading.Thread(target=self._burst, daemon=True)
                         for _ in range(bursters)]
        for t in self._threads:
            t.start()

    def _burst(self) -> None:
        while not self._stop.is_set():
            self.answers.append(_live_status(self.port))

    def stop_burst(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def close(self) -> None:
        self.stop_burst()
        for sock in self.slow:
            sock.close()


@contextmanager
def _plant(broker: Mosquitto, site: str, db: str) -> Iterator[PlantService]:
    config = plant_config(broker.port, site, db).model_copy(
        update={"dashboard": DashboardConfig(port=0, max_connections=CAP,
                                   header_timeout_s=HEADER_TIMEOUT_S)})
    svc = PlantService(config).start()
    try:
        svc.start_dashboard()
        yield svc
    finally:
        svc.stop()


def test_a_dashboard_flood_does_not_starve_ingest(broker: Mosquitto, db_url: str,
                                                  site: str) -> None:
    rec = Recorder(broker.port, [wire.Topics(site).plant_ack("+", "+")])
    try:
        with _plant(broker, site, db_url) as svc:
            assert svc.wait_connected(10)
            port = svc.components[0].port  # type: ignore[attr-defined]  # the dashboard
            topic = wire.Topics(site).node("L1", "cam", wire.NodeLeaf.RESULTS)

            def subscribed() -> bool:  # the plant's subscription follows its CONNACK
                rec.publish(topic, wire.dump_payload(batch([1], site=site, node="cam")))
                return _acked(rec, site) >= 1
            wait_until("the plant acknowledging", subscribed, 10, interval=0.3)

            quiet, last = _publish_and_time(rec, site, 2)
            flood = _Flood(port, slow=2 * CAP, bursters=6)
            try:
                time.sleep(0.5)
                flooded, last = _publish_and_time(rec, site, last + 1)
                refused = _live_status(port)
                flood.stop_burst()
                # the half-sent requests stay open: the header deadline frees their places
                wait_until("the dashboard serving again",
                           lambda: _live_status(port) == 200, HEADER_TIMEOUT_S + 10)
            finally:
                flood.close()
            assert flooded < max(5 * quiet, quiet + 10), (quiet, flooded)
            assert svc.store.count_results() == last
            assert refused in (0, 503)  # the flood did fill the dashboard's cap
            assert 503 in flood.answers, set(flood.answers)
    finally:
        rec.close()
