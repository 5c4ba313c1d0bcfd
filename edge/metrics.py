"""Node health: a Prometheus ``/metrics`` endpoint and the periodic MQTT metrics payload.

:class:`Telemetry` keeps what only the decision path knows (decisions per kind and defect,
latency from frame arrival to decision) and reads everything else (frames, corrupt frames,
reopens, outbox backlog, MQTT link, watchdog restarts) from the stages at scrape time through a
``snapshot`` callable, so no counter is kept twice. Each registry is private to its node. It
also keeps the seconds each stage worked and the latency of every scored view, which the
benchmarks read.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Gauge", "Snapshot", "Telemetry", "Total", "WindowSummary"]


@dataclass(frozen=True)
class Total:
    """A monotonically increasing count read from a stage."""

    help: str
    value: float | dict[str, float]


@dataclass(frozen=True)
class Gauge:
    """A value that goes up and down, read from a stage."""

    help: str
    value: float | dict[str, float]


Snapshot = dict[str, Total | Gauge]


@dataclass(frozen=True)
class WindowSummary:
    """Decisions since the previous MQTT metrics message."""

    window_s: float
    items: int
    rejects_by_defect: dict[str, int]
    uncertain: int
    missed_rejects: int
    latency_p50_ms: float
    latency_p99_ms: float


class _StageCollector(Collector):
    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        for name, m in self.snapshot().items():
            full = f"peakline_edge_{name}"
            labelled = isinstance(m.value, dict)
            labels = ["key"] if labelled else None
            fam: CounterMetricFamily | GaugeMetricFamily
            if isinstance(m, Total):
                fam = CounterMetricFamily(full, m.help, labels=labels)
            else:
                fam = GaugeMetricFamily(full, m.help, labels=labels)
            if isinstance(m.value, dict):
                for key, v in m.value.items():
                    fam.add_metric([key], v)
            else:
                fam.add_metric([], m.value)
            yield fam


class Telemetry:
    """Decision counters, latency histogram and the window for MQTT metrics."""

    def __init__(self, snapshot: Callable[[], Snapshot] | None = None) -> None:
        self.registry = CollectorRegistry()
        self._decisions = Counter(
            "peakline_edge_decisions", "items decided, by decision", ["decision"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "peakline_edge_latency_seconds", "frame arrival to decision",
            buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 5.0),
            registry=self.registry,
        )
        if snapshot is not None:
            self.registry.register(_StageCollector(snapshot))
        self._lock = threading.Lock()
        self._lat: list[float] = []
        self._items = 0
        self._uncertain = 0
        self._missed = 0
        self._rejects: dict[str, int] = {}
        self._since = time.monotonic()
        self._server: object | None = None
        #: seconds each pipeline stage has spent working (items, outbox)
        self.stage_s: dict[str, float] = defaultdict(float)
        #: perf_counter of the first frame's arrival and of the latest scored batch
        self.first_frame_t0: float | None = None
        self.last_scored = 0.0
        #: arrival-to-score latency of the latest views (every view, not only decisions)
        self.view_latency_s: deque[float] = deque(maxlen=200_000)

    def frame_arrived(self, t0: float) -> None:
        """A frame reached the item stage (``t0``: its arrival, perf_counter)."""
        if self.first_frame_t0 is None:
            self.first_frame_t0 = t0

    def views_scored(self, now: float, arrivals: Iterable[float]) -> None:
        """A batch of views was scored at ``now`` (perf_counter); ``arrivals``: their frames'."""
        self.last_scored = now
        self.view_latency_s.extend(now - t0 for t0 in arrivals)

    def add_stage_time(self, stage: str, seconds: float) -> None:
        """``seconds`` of work done by ``stage``."""
        self.stage_s[stage] += seconds

    def record(self, decision: str, defect: str | None, latency_s: float, missed: bool) -> None:
        """One decided item."""
        self._decisions.labels(decision).inc()
        self._latency.observe(latency_s)
        with self._lock:
            self._items += 1
            self._lat.append(latency_s * 1000.0)
            if decision == "reject":
                key = defect or "unknown"
                self._rejects[key] = self._rejects.get(key, 0) + 1
            elif decision == "uncertain":
                self._uncertain += 1
            self._missed += bool(missed)

    def take_window(self) -> WindowSummary:
        """What was decided since the last call (and start a new window)."""
        now = time.monotonic()
        with self._lock:
            lat = np.asarray(self._lat) if self._lat else np.zeros(1)
            out = WindowSummary(
                window_s=max(now - self._since, 1e-3), items=self._items,
                rejects_by_defect=dict(self._rejects), uncertain=self._uncertain,
                missed_rejects=self._missed,
                latency_p50_ms=float(np.percentile(lat, 50)),
                latency_p99_ms=float(np.percentile(lat, 99)),
            )
            self._lat, self._items, self._uncertain, self._missed = [], 0, 0, 0
            self._rejects = {}
            self._since = now
        return out

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Start the ``/metrics`` HTTP endpoint (port 0 picks a free one); returns the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return int(server.server_port)

    def close(self) -> None:
        server = self._server
        self._server = None
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
