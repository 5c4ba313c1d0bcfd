"""One fault scenario's world: a Mosquitto, the real plant service, generators, a proxy.

``Rig`` starts every piece as a real process on loopback (so any of them can be ``kill -9``'d),
watches the status and ack topics with its own MQTT client, and counts: ``sent()`` reads the
generators' journals, ``delivered()`` compares them with the plant database, and ``finish()``
stops everything and returns a :class:`~.counting.Tally`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from support.mqtt import Message, Recorder
from support.procs import Proc, peakline
from support.waiting import wait_until

from peakline import wire
from plant.broker.process import Mosquitto

from .counting import Tally, tally
from .proxy import FaultProxy

__all__ = ["FAST_LINK", "Rig", "Watcher"]

SITE, LINE = "site1", "line1"
#: link settings for tests: short keep-alive and resend timers so faults heal in seconds
FAST_LINK: dict[str, Any] = {
    "keepalive_s": 2, "resend_after_s": 2.0, "reconnect_min_s": 0.2, "reconnect_max_s": 2.0,
    "batch_interval_ms": 50.0, "batch_max": 200, "historical_after_s": 1.0,
    "metrics_interval_s": 1.0, "thumbnails_per_min": 0.0,
}


class Watcher(Recorder):
    """A plain MQTT client on the broker that records node/plant status changes and acks."""

    def __init__(self, port: int) -> None:
        self.events: list[tuple[float, str, str]] = []  # (monotonic, who, state)
        self.acks: dict[tuple[str, str], int] = {}
        self.plant_state = ""
        self._lock = threading.Lock()
        base = f"{wire.ROOT}/{SITE}"
        super().__init__(port, [f"{base}/+/+/status", f"{base}/plant/status",
                                f"{base}/plant/ack/+/+"],
                         keepalive=5, reconnect_max_s=1, keep_messages=False)

    def received(self, message: Message) -> None:
        now = time.monotonic()
        try:
            payload: Any = wire.parse_payload(message.payload)
        except wire.WireError:
            return
        with self._lock:
            if isinstance(payload, wire.PlantAck):
                key = (payload.node, payload.boot_id)
                self.acks[key] = max(self.acks.get(key, 0), payload.acked_seq)
            elif isinstance(payload, wire.PlantStatus):
                self.plant_state = payload.state
                self.events.append((now, "plant", payload.state))
            elif isinstance(payload, wire.NodeStatus):
                self.events.append((now, payload.node, payload.state))

    def first(self, who: str, state: str, after: float) -> float | None:
        """Monotonic time of the first ``state`` of ``who`` seen after ``after``."""
        with self._lock:
            return next((t for t, w, s in self.events if w == who and s == state and t > after),
                        None)


class Rig:
    """Broker + plant + generators (+ proxies) for one scenario under ``workdir``."""

    def __init__(self, workdir: Path, *, db_url: str | None = None, persistence: bool = True,
                 max_queued: int = 100_000, plant_keepalive_s: int = 5) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite:///{workdir / 'plant.db'}"
        self.broker = Mosquitto(workdir / "mosquitto", persistence=persistence,
                                max_queued=max_queued)
        self.plant_keepalive_s = plant_keepalive_s
        self.plant: Proc | None = None
        self.gens: list[Proc] = []
        self.gen_nodes: dict[str, list[str]] = {}
        self.counts: dict[str, int | None] = {}
        self.proc_of: dict[str, Proc] = {}
        self.proxies: list[FaultProxy] = []
        self.watcher: Watcher | None = None

    # -- pieces ----------------------------------------------------------------------------
    def start(self, plant: bool = True) -> Rig:
        """Start the broker, the watcher and (unless ``plant=False``) the plant service."""
        self.broker.start()
        self.watcher = Watcher(self.broker.port)
        if plant:
            self.start_plant()
        return self

    def start_plant(self, timeout: float = 30.0) -> Proc:
        """Start (or restart) ``peakline plant serve``; returns once it announced ``online``."""
        if self.plant is None:
            cfg = self.workdir / "plant.toml"
            cfg.write_text(
                f'[plant]\nsite = "{SITE}"\ndb = "{self.db_url}"\n'
                f'[mqtt]\nhost = "127.0.0.1"\nport = {self.broker.port}\n'
                f"keepalive_s = {self.plant_keepalive_s}\nreconnect_max_s = 2.0\n"
                "[ingest]\nstats_interval_s = 5.0\n[erp]\nenabled = false\n"
            )
            self.plant = peakline("plant", self.workdir, "plant", "serve", "--config", str(cfg))
        began = time.monotonic()
        self.plant.start()
        assert self.watcher is not None
        watcher = self.watcher
        self.plant.wait_for("the plant to announce online",
                            lambda: watcher.first("plant", "online", began) is not None,
                            timeout, 0.1)
        return self.plant

    def proxy(self) -> FaultProxy:
        """A fault proxy in front of the broker (for edges that should go through it)."""
        proxy = FaultProxy(self.broker.port)
        self.proxies.append(proxy)
        return proxy

    def start_generator(self, name: str, nodes: list[str], *, port: int | None = None,
                        **spec: Any) -> Proc:
        """Start a generator process running ``nodes`` (see tests/faults/generator.py)."""
        link = {**FAST_LINK, **spec.pop("link", {})}
        full = {"workdir": str(self.workdir), "port": port or self.broker.port, "site": SITE,
                "line": LINE, "nodes": nodes, "link": link, **spec}
        path = self.workdir / f"{name}.json"
        path.write_text(json.dumps(full))
        proc = Proc(name, ["-m", "tests.faults.generator", str(path)], self.workdir).start()
        self.gens.append(proc)
        self.gen_nodes[name] = nodes
        for node in nodes:
            self.counts[node] = full.get("count")
            self.proc_of[node] = proc
        return proc

    def produced(self) -> bool:
        """True when every node's current boot has produced its ``count`` of results."""
        for node, count in self.counts.items():
            if count is None:
                continue
            st = self.status(node)
            if st.get("produced") != count or st.get("pid") != self.proc_of[node].pid:
                return False
        return True

    # -- counting ----------------------------------------------------------------------------
    def nodes(self) -> list[str]:
        return [n for nodes in self.gen_nodes.values() for n in nodes]

    def sent(self) -> tuple[dict[tuple[str, str], int], int]:
        """Highest committed seq per (node, boot) from the journals, and results refused."""
        out: dict[tuple[str, str], int] = {}
        refused = 0
        for node in self.nodes():
            path = self.workdir / f"{node}.journal"
            if not path.exists():
                continue
            last_refused: dict[str, int] = {}
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) != 3:
                    continue  # a line cut by kill -9
                boot, seq, ref = parts[0], int(parts[1]), int(parts[2])
                if seq:
                    out[(node, boot)] = max(out.get((node, boot), 0), seq)
                last_refused[boot] = int(ref)
            refused += sum(last_refused.values())
        return out, refused

    def stored(self) -> dict[tuple[str, str], set[int]]:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT node, boot_id, seq FROM results")).all()
        except Exception:  # the table may not exist before the plant's first start
            return {}
        finally:
            engine.dispose()
        out: dict[tuple[str, str], set[int]] = {}
        for node, boot, seq in rows:
            out.setdefault((node, boot), set()).add(int(seq))
        return out

    def delivered(self, target: dict[tuple[str, str], int] | None = None) -> bool:
        """True when every seq up to ``target`` (default: all sent so far) is in the DB."""
        target = target if target is not None else self.sent()[0]
        stored = self.stored()
        return all(len(stored.get(k, set()) & set(range(1, top + 1))) == top
                   for k, top in target.items())

    def wait_delivered(self, timeout: float, since: float | None = None,
                       target: dict[tuple[str, str], int] | None = None) -> float:
        """Wait until everything sent (or ``target``) is stored; seconds since ``since``."""
        t0 = since if since is not None else time.monotonic()
        wait_until("every sent result to be stored", lambda: self.delivered(target), timeout,
                   interval=0.25)
        return time.monotonic() - t0

    def wait_recovered(self, timeout: float) -> float:
        """A fault ends now: wait until everything sent by now is stored; seconds from now."""
        healed, target = time.monotonic(), self.sent()[0]
        return self.wait_delivered(timeout, since=healed, target=target)

    def wait_flowing(self, node: str, n: int = 100, timeout: float = 30.0) -> None:
        """Wait until the plant stored at least ``n`` results of ``node`` (it is connected)."""
        wait_until(f"{node} to deliver {n} results",
                   lambda: sum(len(v) for k, v in self.stored().items() if k[0] == node) >= n,
                   timeout, 0.1)

    def status(self, node: str) -> dict[str, Any]:
        """The generator's last status file for ``node``."""
        try:
            return dict(json.loads((self.workdir / f"{node}.status.json").read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def finish(self, *, drain_timeout: float = 60.0, recover_s: float = 0.0,
               unique: bool = True) -> Tally:
        """Wait for production and delivery (bounded), stop everything gracefully, count."""
        with contextlib.suppress(AssertionError):
            wait_until("every node to produce its count", self.produced, drain_timeout, 0.25)
            self.wait_delivered(drain_timeout)
        for gen in self.gens:
            gen.stop()
        sent, refused = self.sent()
        result = tally(self.db_url, sent, unique_items=self.nodes() if unique else None)
        result.recover_s = recover_s
        result.policy_dropped = refused
        return result

    def close(self) -> None:
        """Stop every process this rig started (kill what does not stop)."""
        for gen in self.gens:
            gen.stop(timeout=10)
        if self.plant is not None:
            self.plant.stop(timeout=20)
        for proxy in self.proxies:
            proxy.close()
        if self.watcher is not None:
            self.watcher.close()
        self.broker.kill()

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def rig(workdir: Path, **kwargs: Any) -> Iterator[Rig]:
    """``Rig(...).start()`` as a context manager that always cleans up."""
    r = Rig(workdir, **kwargs)
    try:
        r.start()
        yield r
    finally:
        r.close()
