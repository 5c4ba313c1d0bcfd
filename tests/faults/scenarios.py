"""The fault scenarios, each a function ``(workdir) -> Tally`` shared by pytest and the bench.

Every scenario starts its own Mosquitto on a free port, the real plant service
(``peakline plant serve``) and generator processes that run the node's own outbox and
publisher, injects one fault, then counts sent, stored, lost and stored-twice results and the
seconds from the end of the fault until everything sent before it was stored (``recover_s``).
Timings are short (keep-alive 2 s at the edge, 5 s at the plant, resend after 2 s) so the
whole suite runs in a few minutes on two cores. Link faults (proxy) live in
``scenarios_link.py``; the registry of all of them is ``SCENARIOS`` in ``__init__`` order.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Any

from support.waiting import wait_until

from .counting import Tally, postgres_database
from .harness import rig

__all__ = [
    "broker_kill",
    "edge_kill9",
    "fifty_nodes",
    "outbox_bound",
    "plant_kill9",
    "plant_stall",
]


def broker_kill(workdir: Path, persistence: bool) -> Tally:
    """SIGKILL the broker while two nodes publish, restart it 2 s later on the same port."""
    with rig(workdir, persistence=persistence) as r:
        r.start_generator("gen", ["n1", "n2"], rate=200, count=1600, per_store=20)
        time.sleep(2.5)
        r.broker.kill()
        time.sleep(2.0)
        r.broker.start()
        recover = r.wait_recovered(60)
        out = r.finish(recover_s=recover)
        out.extra["persistence"] = persistence
        log = r.broker.log_path.read_text(errors="replace")
        out.extra["broker_saved"] = (r.broker.workdir / "mosquitto.db").exists() and (
            "Permission denied" not in log)
        return out


def plant_stall(workdir: Path) -> Tally:
    """The plant hangs (SIGSTOP) for longer than the broker's queue of 10 messages lasts.

    The broker drops what overflows its queue for the plant's session, notices the dead
    keep-alive, publishes the plant's Last Will ``offline`` and the edges stop draining; after
    SIGCONT the plant reconnects and the edges resend everything it has not acknowledged.
    """
    with rig(workdir, max_queued=10) as r:
        assert r.plant is not None
        r.start_generator("gen", ["n1", "n2"], rate=200, count=2400, per_store=10)
        time.sleep(2.0)
        r.plant.pause()
        stalled = time.monotonic()
        assert r.watcher is not None
        watcher = r.watcher
        with contextlib.suppress(AssertionError):  # the broker gives up after 1.5 keep-alives
            wait_until("the plant's Will", lambda: watcher.first("plant", "offline", stalled)
                       is not None, 30)
        time.sleep(1.0)  # the edges see it and stop draining
        r.plant.resume()
        recover = r.wait_recovered(90)
        out = r.finish(recover_s=recover)
        went_offline = watcher.first("plant", "offline", stalled)
        out.extra["plant_will_s"] = (
            round(went_offline - stalled, 2) if went_offline is not None else None)
        log = r.broker.log_path.read_text(errors="replace")
        out.extra["broker_dropped_notices"] = len(re.findall(r"being dropped", log))
        return out


def edge_kill9(workdir: Path) -> Tally:
    """``kill -9`` a node process while it stores and publishes batches; restart it."""
    with rig(workdir) as r:
        gen = r.start_generator("gen", ["n1"], rate=150, count=900, per_store=50)
        wait_until("the node to deliver its first results",
                   lambda: sum(len(v) for v in r.stored().values()) >= 200, 30, 0.1)
        journal = workdir / "n1.journal"
        size = journal.stat().st_size
        wait_until("the next outbox commit", lambda: journal.stat().st_size > size, 10, 0.002)
        gen.kill()  # right after a batch went into the outbox: it is on its way, unacked
        killed_sent = r.sent()[0]
        stored = r.stored()
        in_flight = sum(top - len(stored.get(k, set())) for k, top in killed_sent.items())
        time.sleep(1.0)
        gen.start()  # a new boot; the old boot's unacknowledged rows go out first
        healed = time.monotonic()
        recover = r.wait_delivered(60, since=healed, target=killed_sent)
        out = r.finish(recover_s=recover)
        out.extra["unacked_at_kill"] = in_flight
        out.extra["boots"] = len(r.sent()[0])
        return out


def plant_kill9(workdir: Path, postgres: bool = False, kills: int = 3) -> Tally:
    """``kill -9`` the plant service (mid-commit, at full ingest) ``kills`` times, on SQLite
    or PostgreSQL; each time it restarts and the edges' resends fill every hole."""
    def run(db_url: str | None) -> Tally:
        with rig(workdir, db_url=db_url) as r:
            assert r.plant is not None
            r.start_generator("gen", ["n1", "n2", "n3"], rate=300, count=2400, per_store=10)
            recover = 0.0
            in_tx = 0
            for _ in range(kills):
                time.sleep(1.5)
                if db_url is not None:  # kill while the plant's commit is open in PostgreSQL
                    with contextlib.suppress(AssertionError):
                        wait_until("a plant transaction", lambda: _pg_in_tx(db_url), 8, 0.001)
                        in_tx += 1
                r.plant.kill()
                time.sleep(0.5)
                r.start_plant()
                recover = max(recover, r.wait_recovered(60))
            out = r.finish(recover_s=recover)
            out.extra["db"] = "postgresql" if postgres else "sqlite"
            out.extra["plant_kills"] = kills
            if db_url is not None:
                out.extra["killed_in_open_tx"] = in_tx
            return out

    if postgres:
        with postgres_database() as url:
            try:
                return run(url)
            finally:
                probe = _PG_PROBES.pop(url, None)
                if probe is not None:
                    probe.close()
    return run(None)


def fifty_nodes(workdir: Path) -> Tally:
    """Fifty nodes (two processes) lose the broker at once and reconnect with jittered
    back-off; the broker and the plant must absorb the reconnect storm and the backlogs."""
    with rig(workdir) as r:
        names = [f"n{i:02d}" for i in range(50)]
        for k in range(2):
            r.start_generator(f"gen{k}", names[k::2], rate=20, count=200, per_store=5,
                              link={"reconnect_max_s": 4.0, "metrics_interval_s": 5.0})
        assert r.watcher is not None
        watcher = r.watcher
        began = time.monotonic()
        r.wait_delivered(60)  # everyone connected and delivering
        time.sleep(max(0.0, began + 4.0 - time.monotonic()))
        r.broker.kill()
        time.sleep(2.0)
        r.broker.start()
        healed = time.monotonic()
        recover = r.wait_recovered(90)
        online = {w for t, w, s in list(watcher.events) if s == "online" and t > healed}
        out = r.finish(recover_s=recover)
        out.extra["nodes"] = len(names)
        out.extra["nodes_back_online"] = len(online - {"plant"})
        return out


def outbox_bound(workdir: Path) -> Tally:
    """The plant is away and a node's outbox (200 rows, 25 % reserved) fills up.

    Documented policy (edge/outbox.py): passes are refused from 150 rows, rejects and
    uncertain items keep the reserve until 200, nothing stored is ever deleted unacknowledged,
    refusals are counted and reported in the node metrics. Then the plant comes back: every
    stored result arrives and the refusals are the only, counted, loss.
    """
    with rig(workdir) as r:
        assert r.plant is not None
        r.plant.stop()
        r.start_generator("gen", ["n1"], rate=400, count=400, per_store=10, reject_every=4,
                          outbox={"max_rows": 200, "reserve_fraction": 0.25})
        r_status: dict[str, object] = {}

        def produced_all() -> bool:
            nonlocal r_status
            r_status = r.status("n1")
            return r_status.get("produced") == 400

        wait_until("the node to produce 400 results", produced_all, 30)
        r.start_plant()
        recover = r.wait_recovered(60)
        time.sleep(2.5)  # a metrics message after the plant came back
        out = r.finish(recover_s=recover)
        out.extra["outbox_dropped"] = r_status.get("dropped")
        out.extra["expected_dropped"] = _policy(400, 4, 200, 150)
        out.extra["reported_dropped"] = _reported_dropped(r.db_url, "n1")
        return out


def _policy(n: int, reject_every: int, max_rows: int, soft: int) -> dict[str, int]:
    """What the documented outbox policy refuses for ``n`` items with nothing acknowledged."""
    rows = 0
    refused: dict[str, int] = {}
    for item in range(1, n + 1):
        decision = "reject" if item % reject_every == 0 else "pass"
        if rows >= (soft if decision == "pass" else max_rows):
            refused[decision] = refused.get(decision, 0) + 1
        else:
            rows += 1
    return refused


def _pg_in_tx(db_url: str) -> bool:
    """True while another session on this database has a transaction open (the plant's)."""
    conn = _PG_PROBES.get(db_url)
    if conn is None:
        import psycopg

        dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
        conn = _PG_PROBES[db_url] = psycopg.connect(dsn, autocommit=True)
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
    ).fetchone()
    return bool(row and row[0])


_PG_PROBES: dict[str, Any] = {}


def _reported_dropped(db_url: str, node: str) -> int:
    """The highest ``outbox_dropped`` the node reported in its metrics, from the plant DB."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            value = conn.execute(
                text("SELECT MAX(outbox_dropped) FROM metrics WHERE node = :n"), {"n": node}
            ).scalar()
    finally:
        engine.dispose()
    return int(value or 0)
