"""Link faults between an edge and the broker (through the fault proxy), raw duplicates and
reordering straight onto the broker, and the Last Will timing. Each ``(workdir) -> Tally``."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from support import payloads
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline import wire

from .counting import Tally, tally
from .harness import FAST_LINK, LINE, SITE, Rig, rig

__all__ = ["duplicates_reordered", "half_open", "last_will", "partition", "slow_link"]


def _via_proxy(r: Rig, node: str, **spec: object) -> None:
    proxy = r.proxy()
    r.start_generator(f"gen-{node}", [node], port=proxy.port, **spec)


def _fault_then_heal(r: Rig, node: str, fault: Callable[[], None], seconds: float) -> Tally:
    """Once ``node`` delivers, ``fault`` its link for ``seconds``, heal it, wait, count."""
    r.wait_flowing(node)
    fault()
    time.sleep(seconds)
    r.proxies[0].heal()
    return r.finish(recover_s=r.wait_recovered(60))


def partition(workdir: Path) -> Tally:
    """Cut the link of one node for 4 s (resets, refused connects); a second node is direct."""
    with rig(workdir) as r:
        _via_proxy(r, "p1", rate=200, count=1400, per_store=10)
        r.start_generator("gen-d1", ["d1"], rate=200, count=1400, per_store=10)
        out = _fault_then_heal(r, "p1", r.proxies[0].partition, 4.0)
        out.extra["edge_disconnects"] = r.status("p1").get("link", {}).get("disconnects", 0)
        return out


def slow_link(workdir: Path, bandwidth_bps: float = 30_000) -> Tally:
    """A slow link (30 kB/s by default) with 200 ms latency each way, near the node's output.

    Acks come back late, so the publisher resends (after 2 s) what is already on its way:
    the plant must de-duplicate. ``recover_s`` is from the end of production to the last
    result stored, still over the slow link.
    """
    with rig(workdir) as r:
        _via_proxy(r, "s1", rate=100, count=800, per_store=10)
        r.proxies[0].shape(bandwidth_bps=bandwidth_bps, latency_s=0.2)
        wait_until("the node to produce its results", r.produced, 60, 0.25)
        recover = r.wait_recovered(120)  # from the end of production
        out = r.finish(recover_s=recover)
        link = r.status("s1").get("link", {})
        out.extra["resent"] = link.get("resent", 0)
        return out


def half_open(workdir: Path) -> Tally:
    """Black-hole one node's link for 6 s (3 keep-alives): sockets stay open, bytes vanish."""
    with rig(workdir) as r:
        _via_proxy(r, "h1", rate=200, count=1600, per_store=10)
        out = _fault_then_heal(r, "h1", r.proxies[0].blackhole, 6.0)
        out.extra["dropped_bytes"] = r.proxies[0].stats["dropped"]
        return out


def last_will(workdir: Path, keepalive_s: int = 2, rounds: int = 2) -> Tally:
    """How long after a node falls silent its Last Will ``offline`` reaches the plant.

    The node's link is black-holed (no FIN, no RST: only the keep-alive can tell); the delay
    is measured from the last byte the proxy forwarded to the broker to the ``offline``
    status seen on the broker and to the plant's database recording it. Repeated ``rounds``
    times; the worst is reported as a multiple of the keep-alive.
    """
    with rig(workdir) as r:
        assert r.watcher is not None
        _via_proxy(r, "w1", rate=50, count=None, per_store=5,
                   link={**FAST_LINK, "keepalive_s": keepalive_s})
        proxy = r.proxies[0]
        r.wait_flowing("w1", 20)
        seen, stored = [], []
        for _ in range(rounds):
            began = time.monotonic()
            proxy.blackhole()
            wait_until("the Will", lambda b=began: r.watcher is not None  # type: ignore[misc]
                       and r.watcher.first("w1", "offline", b) is not None, 6 * keepalive_s)
            t_off = r.watcher.first("w1", "offline", began)
            assert t_off is not None
            wait_until("the plant to store the node offline",
                       lambda: _node_state(r.db_url, "w1") == "offline", 10, 0.02)
            t_db = time.monotonic()
            silent_from = proxy.last_forward["up"]
            seen.append(t_off - silent_from)
            stored.append(t_db - silent_from)
            proxy.heal()
            wait_until("the node back online",
                       lambda b=began: r.watcher is not None  # type: ignore[misc]
                       and r.watcher.first("w1", "online", b) is not None, 30)
        (workdir / "w1.hold").touch()  # end production; everything sent must be stored
        time.sleep(0.5)
        r.wait_delivered(60)
        out = r.finish()
        out.extra["keepalive_s"] = keepalive_s
        out.extra["will_s_max"] = round(max(seen), 2)
        out.extra["will_stored_s_max"] = round(max(stored), 2)
        out.extra["will_plant_s_max"] = round(max(b - a for a, b in zip(seen, stored,
                                                                       strict=True)), 2)
        out.extra["will_keepalives"] = round(max(stored) / keepalive_s, 2)
        return out


def _node_state(db_url: str, node: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT state FROM nodes WHERE node = :n"),
                                 {"n": node}).scalar()
    finally:
        engine.dispose()
    return str(value or "")


def _batch(boot: str, seqs: range, historical: bool = False) -> bytes:
    # one fixed ts: a result sent twice is the same (item_id, ts) both times
    return wire.dump_payload(payloads.batch(seqs, site=SITE, line=LINE, node="raw1", boot=boot,
                                            model="raw/1", historical=historical,
                                            ts=1_700_000_000.0))


def duplicates_reordered(workdir: Path, n: int = 600) -> Tally:
    """Batches published straight to the broker twice each, shuffled, overlapping, with one
    held back: the plant stores each result once and acknowledges only the contiguous part
    until the hole is filled."""
    with rig(workdir) as r:
        assert r.watcher is not None
        watcher = r.watcher
        boot = uuid.uuid4().hex[:16]
        topic = wire.Topics(SITE).node(LINE, "raw1", "results")
        held = range(301, 311)
        batches = [range(s, s + 10) for s in range(1, n + 1, 10) if s != held.start]
        sends = [_batch(boot, b) for b in batches]
        sends += [_batch(boot, b, historical=True) for b in batches]  # every one twice
        sends += [_batch(boot, range(s, s + 20)) for s in range(5, 250, 37)]  # overlaps
        random.Random(7).shuffle(sends)
        client = Recorder(r.broker.port)
        try:
            for payload in sends:
                client.publish(topic, payload)
            wait_until("the ack to reach the hole", lambda: watcher.acks.get(("raw1", boot))
                       == held.start - 1, 30)
            wait_until("every other result stored",
                       lambda: len(r.stored().get(("raw1", boot), set())) == n - len(held), 30)
            time.sleep(1.0)
            ack_at_hole = watcher.acks.get(("raw1", boot))
            started = time.monotonic()
            for _ in range(2):
                client.publish(topic, _batch(boot, held))
            wait_until("the ack to reach the end",
                       lambda: watcher.acks.get(("raw1", boot)) == n, 30)
            recover = time.monotonic() - started
        finally:
            client.close()
        out = tally(r.db_url, {("raw1", boot): n}, unique_items=["raw1"])
        out.recover_s = recover
        out.extra["messages"] = len(sends) + 2
        out.extra["ack_at_hole"] = ack_at_hole
        return out
