"""Ingest end to end against a real Mosquitto: dedup, gaps, dead letters, acks, presence."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from support.configs import plant_config
from support.mqtt import Message, Recorder, open_sockets
from support.paths import REPO
from support.payloads import batch, metrics, status, thumb
from support.procs import Proc, peakline
from support.waiting import wait_until

from peakline import wire
from peakline.errors import ConfigError
from plant.broker.process import Mosquitto
from plant.config import load_config
from plant.service import PlantService
from plant.store import Store


def _topic(site: str, leaf: str, node: str = "n1", line: str = "L1") -> str:
    return wire.Topics(site).node(line, node, leaf)


def _retained_state(port: int, topic: str) -> str:
    """The state of the retained plant status, as a client that subscribes now receives it."""
    with Recorder(port, [topic]) as late:
        wait_until("the retained plant status", lambda: bool(late.on(topic)), 20)
        assert late.messages[0].retain is True
        status = wire.parse_payload(late.messages[0].payload, wire.PlantStatus)
        assert isinstance(status, wire.PlantStatus)
        return status.state


def _acks(rec: Recorder, site: str, node: str = "n1", line: str = "L1"
          ) -> list[wire.PlantAck]:
    return [wire.parse_payload(p, wire.PlantAck)  # type: ignore[misc]
            for p in rec.on(wire.Topics(site).plant_ack(line, node))]


def test_results_dedup_gaps_dead_letters_and_acks_after_commit(
    broker: Mosquitto, service: PlantService, site: str, db_url: str
) -> None:
    topics = wire.Topics(site)
    reader = Store.open(db_url)  # a second connection
    early: list[str] = []
    lock = threading.Lock()

    def check_committed(message: Message) -> None:
        """Every ack must describe rows that another connection can already read."""
        ack = json.loads(message.payload)
        with reader.engine.connect() as conn:
            n = conn.execute(text(
                "SELECT count(*) FROM results WHERE line=:l AND node=:n AND boot_id=:b"
                " AND seq<=:s"),
                {"l": ack["line"], "n": ack["node"], "b": ack["boot_id"],
                 "s": ack["acked_seq"]}).scalar()
        if n != ack["acked_seq"]:
            with lock:
                early.append(f"ack {ack['acked_seq']} with {n} rows committed")

    rec = Recorder(broker.port, [topics.plant_ack("+", "+")], on_message=check_committed)
    try:
        res = _topic(site, "results")
        rec.publish(res, wire.dump_payload(batch(range(1, 6), site=site)))
        rec.publish(res, wire.dump_payload(batch(range(1, 6), site=site)))  # duplicate
        rec.publish(res, wire.dump_payload(batch(range(11, 16), site=site)))  # ahead: a gap
        wait_until("the later batch stored", lambda: service.store.count_results() == 10, 20)
        wait_until("an ack", lambda: any(a.acked_seq == 5 for a in _acks(rec, site)), 20)
        assert max(a.acked_seq for a in _acks(rec, site)) == 5
        gaps = service.store.gaps()
        assert gaps[["node", "first_missing", "last_missing"]].values.tolist() == [["n1", 6, 10]]

        # malformed payloads: each a dead letter, ingest keeps going
        rec.publish(res, b"{not json")
        rec.publish(res, wire.dump_payload(status("online", site=site)))  # wrong schema
        rec.publish(res, wire.dump_payload(batch([16], node="n9", site=site)))  # wrong node
        rec.publish(res, b'{"schema": "peakline.results/1", "pad": "' + b"x" * 1_010_000 + b'"}')
        rec.publish(res, wire.dump_payload(batch([10, 8, 9, 6, 7], site=site)))  # fills the gap
        wait_until("the ack after the gap filled",
                   lambda: any(a.acked_seq == 15 for a in _acks(rec, site)), 20)
        assert service.store.count_results() == 15
        assert service.store.gaps().empty
        dead = service.store.dead_letters()
        reasons = " | ".join(dead["reason"])
        assert len(dead) == 4, reasons
        assert "not JSON" in reasons
        assert "expected ResultsBatch" in reasons
        assert "n9" in reasons and "topic names" in reasons
        assert "exceeds" in reasons
        assert set(dead["topic"]) == {res}
        assert all(a.boot_id == "boot-a" and a.site == site for a in _acks(rec, site))
        assert early == []
        assert service.ingest.stats.results_stored == 15
    finally:
        rec.close()
        reader.close()


def test_status_metrics_and_thumbnails_are_stored(
    broker: Mosquitto, service: PlantService, site: str
) -> None:
    rec = Recorder(broker.port, [])
    try:
        rec.publish(_topic(site, "status"), wire.dump_payload(status("online", site=site)),
                    retain=True)
        rec.publish(_topic(site, "metrics"), wire.dump_payload(metrics(site=site, p99=21.0)))
        for seq in (1, 2):
            rec.publish(_topic(site, "rejects"), wire.dump_payload(thumb(seq, site=site)))
        rec.publish(_topic(site, "status", node="n2"),
                    wire.dump_payload(status("offline", node="n2", site=site)))
        wait_until("two thumbnails", lambda: len(service.store.recent_thumbnails()) == 2, 20)
        wait_until("both nodes", lambda: len(service.store.node_status()) == 2, 20)
        nodes = service.store.node_status().set_index("node")
        assert nodes.loc["n1", "state"] == "online" and nodes.loc["n2", "state"] == "offline"
        assert nodes.loc["n1", "config_digest"] == "abc"
        summary = service.store.line_summary().set_index("node")
        assert summary.loc["n1", "latency_p99_ms"] == 21.0
        rec.publish(_topic(site, "status"), b"", retain=True)  # clear the retained status
    finally:
        rec.close()


def test_plant_status_is_retained_online_then_offline_on_stop(
    broker: Mosquitto, tmp_path: Path, site: str
) -> None:
    topic = wire.Topics(site).plant_status
    svc = PlantService(plant_config(broker.port, site, f"sqlite:///{tmp_path / 'p.db'}"))
    svc.start()
    try:
        assert svc.wait_connected(10)
        seen = Recorder(broker.port, [topic])
        wait_until("online", lambda: bool(seen.on(topic)), 20)
        seen.close()
        assert _retained_state(broker.port, topic) == "online"  # for a client joining later
    finally:
        svc.stop()
    assert _retained_state(broker.port, topic) == "offline"


def test_results_go_through_parse_workers(broker: Mosquitto, tmp_path: Path, site: str) -> None:
    cfg = plant_config(broker.port, site, f"sqlite:///{tmp_path / 'w.db'}", parse_workers=1)
    svc = PlantService(cfg).start()
    rec = Recorder(broker.port, [wire.Topics(site).plant_ack("+", "+")])
    try:
        assert svc.wait_connected(10)
        for first in (1, 201, 401):
            rec.publish(_topic(site, "results"),
                        wire.dump_payload(batch(range(first, first + 200), site=site)))
        rec.publish(_topic(site, "results"), b"[]")
        wait_until("ack of all 600", lambda: any(a.acked_seq == 600 for a in _acks(rec, site)), 20)
        wait_until("the dead letter", lambda: len(svc.store.dead_letters()) == 1, 20)
        assert svc.store.count_results() == 600
        assert "not a JSON object" in svc.store.dead_letters()["reason"].iloc[0]
    finally:
        rec.close()
        svc.stop()


def _serve(tmp_path: Path, port: int, site: str) -> Proc:
    cfg = tmp_path / "plant.toml"
    cfg.write_text(f'[plant]\nsite = "{site}"\ndb = "sqlite:///{tmp_path / "sub.db"}"\n'
                   f'[mqtt]\nport = {port}\nclient_id = "sub-{site}"\nkeepalive_s = 5\n'
                   "[ingest]\nparse_workers = 0\n")
    return peakline("serve", tmp_path, "plant", "serve", "--config", str(cfg)).start()


def test_last_will_marks_a_killed_plant_offline(
    broker: Mosquitto, tmp_path: Path, site: str
) -> None:
    topic = wire.Topics(site).plant_status
    rec = Recorder(broker.port, [topic])
    proc = _serve(tmp_path, broker.port, site)
    try:
        proc.wait_for("the plant online", lambda: any(
            json.loads(p)["state"] == "online" for p in rec.on(topic)), 30)
        killed = time.time()
        proc.kill()
        wait_until("the Last Will", lambda: any(
            json.loads(p)["state"] == "offline" for p in rec.on(topic)), 15)
        when = next(m.ts for m in rec.messages
                    if m.topic == topic and json.loads(m.payload)["state"] == "offline")
        assert when - killed <= 1.5 * 5 + 1.0  # 1.5 keep-alives (+ scheduling slack)
    finally:
        proc.kill()
        rec.close()
    assert _retained_state(broker.port, topic) == "offline"


def test_sigterm_flushes_acks_and_goes_offline(
    broker: Mosquitto, tmp_path: Path, site: str
) -> None:
    topics = wire.Topics(site)
    rec = Recorder(broker.port, [topics.plant_status, topics.plant_ack("+", "+")])
    proc = _serve(tmp_path, broker.port, site)
    try:
        proc.wait_for("the plant online", lambda: any(
            json.loads(p)["state"] == "online" for p in rec.on(topics.plant_status)), 30)
        for first in range(1, 1001, 100):
            rec.publish(_topic(site, "results"),
                        wire.dump_payload(batch(range(first, first + 100), site=site)))
        assert proc.stop(30) == 0
        wait_until("offline", lambda: json.loads(rec.on(topics.plant_status)[-1])["state"]
                   == "offline", 20)
    finally:
        proc.kill()
        rec.close()
    with Store.open(f"sqlite:///{tmp_path / 'sub.db'}") as store:
        stored = store.count_results()
    acked = max((a.acked_seq for a in _acks(rec, site)), default=0)
    assert acked == stored  # everything committed was acknowledged before going offline
    assert stored > 0


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[plant]\nsite = "s"\n[mqtt]\nprot = 1883\nport = 70000\n[ingest]\n'
                   "flush_interval_ms = -1\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    text = str(err.value)
    assert "mqtt.prot: unknown key; did you mean 'port'?" in text
    assert "mqtt.port: Input should be less than or equal to 65535 (got 70000)" in text
    assert "ingest.flush_interval_ms" in text
    bad.write_text("[plant\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "none.toml")
    shipped = REPO / "configs" / "plant.toml"
    cfg = load_config(shipped)
    assert cfg.plant.site


def test_classify_follows_the_wire_contract() -> None:
    from plant.ingest import classify
    from plant.store import IngestBatch

    good = json.loads(wire.dump_payload(batch([1, 2], site="s1")))
    topic = wire.Topics("s1").node("L1", "n1", "results")
    cases = {
        "ok": (topic, good, None),
        "no schema": (topic, {k: v for k, v in good.items() if k != "schema"},
                      "unknown schema None"),
        "other site": (wire.Topics("s2").node("L1", "n1", "results"), good, "site 's2'"),
        "extra field": (topic, {**good, "extra": 1}, "Extra inputs are not permitted"),
        "bad item": (topic, {**good, "results": [{**good["results"][0], "seq": 0}]},
                     "greater than or equal to 1"),
        "unknown leaf": (wire.Topics("s1").node("L1", "n1", "cmd"), good, "unexpected topic"),
    }
    for name, (t, payload, reason) in cases.items():
        out = IngestBatch()
        assert classify("s1", t, json.dumps(payload).encode(), 1.0, out), name
        if reason is None:
            assert len(out.results) == 1 and not out.dead_letters, name
        else:
            assert not out.results and reason in out.dead_letters[0].reason, name
    assert not classify("s1", "peakline/v1/s1/erp/sales", b"{}", 1.0, IngestBatch())


@given(st.lists(st.lists(st.integers(min_value=1, max_value=300), max_size=40), max_size=12))
@settings(max_examples=200, deadline=None)
def test_seq_ranges_match_a_plain_set(chunks: list[list[int]]) -> None:
    from plant.dedup import SeqRanges

    ranges, model = SeqRanges(), set()
    for chunk in chunks:
        fresh = ranges.new_only(chunk)
        assert fresh == list(dict.fromkeys(s for s in chunk if s not in model))
        ranges.add(fresh)
        model.update(chunk)
    assert len(ranges) == len(model)
    assert all(s in ranges for s in model) and 0 not in ranges
    contiguous = 0
    while contiguous + 1 in model:
        contiguous += 1
    assert ranges.contiguous == contiguous
    missing = {s for a, b in ranges.gaps() for s in range(a, b + 1)}
    assert missing == set(range(1, max(model, default=0) + 1)) - model
    assert SeqRanges(ranges.ranges).ranges == ranges.ranges


def test_a_failed_commit_is_retried_and_nothing_is_acked_before_it(tmp_path: Path) -> None:
    from sqlalchemy.exc import OperationalError

    from plant.ingest import Ingestor
    from plant.store import IngestBatch

    class FlakyStore(Store):
        failures = 2

        def write_ingest(self, batch: IngestBatch) -> dict[tuple[str, str], int]:
            if self.failures:
                self.failures -= 1
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            return super().write_ingest(batch)

    store = FlakyStore.open(f"sqlite:///{tmp_path / 'flaky.db'}")
    commits: list[tuple[dict[tuple[str, str], int], list[object]]] = []
    ing = Ingestor(store, "s1", lambda acks, tokens: commits.append((acks, tokens)))
    topic = wire.Topics("s1").node("L1", "n1", "results")
    ing.process([(topic, wire.dump_payload(batch([1, 2, 3], site="s1")), "t1", 1.0, None)])
    assert store.failures == 0 and ing.stats.commit_retries == 2
    assert commits == [({("s1", "L1", "n1", "boot-a"): 3}, ["t1"])]
    assert store.count_results() == 3
    store.close()


def test_a_parse_worker_killed_mid_ingest_loses_nothing(tmp_path: Path) -> None:
    """A worker process dies with a message in it: the writer validates that one and every
    later one itself, and all are stored and acknowledged once."""
    import os
    import signal

    from plant.ingest import Ingestor

    store = Store.open(f"sqlite:///{tmp_path / 'plant.db'}")
    commits: list[dict[tuple[str, str, str, str], int]] = []
    ing = Ingestor(store, "s1", lambda acks, tokens: commits.append(acks), parse_workers=1)
    topic = wire.Topics("s1").node("L1", "n1", "results")
    try:
        pool = ing._pool
        assert pool is not None
        busy = pool.submit(time.sleep, 60)  # the only worker is busy: the next parse waits
        ing.submit(topic, wire.dump_payload(batch([1, 2, 3], site="s1")), "t1")
        pids = list(pool._processes)  # type: ignore[attr-defined]
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGKILL)
        wait_until("the pool to notice", busy.done, 30)
        ing.submit(topic, wire.dump_payload(batch([4, 5], site="s1")), "t2")
        ing.start()
        wait_until("both messages committed", lambda: store.count_results() == 5, 30)
    finally:
        ing.stop()
        store.close()
    assert ing._pool is None  # validated in the writer thread from then on
    assert commits[-1] == {("s1", "L1", "n1", "boot-a"): 5}
    assert ing.stats.results_stored == 5 and ing.stats.messages == 2


def test_a_commit_is_given_up_at_shutdown_and_nothing_is_acked(tmp_path: Path) -> None:
    """With the database down at shutdown the writer tries three times, then stops without
    acknowledging: the broker and the edges redeliver those messages to the next start."""
    from sqlalchemy.exc import OperationalError

    from plant.ingest import Ingestor
    from plant.store import IngestBatch

    class DownStore(Store):
        attempts = 0

        def write_ingest(self, batch: IngestBatch) -> dict[tuple[str, str], int]:
            self.attempts += 1
            raise OperationalError("INSERT", {}, Exception("could not connect to server"))

    store = DownStore.open(f"sqlite:///{tmp_path / 'down.db'}")
    commits: list[object] = []
    ing = Ingestor(store, "s1", lambda acks, tokens: commits.append(acks))
    ing.start()
    topic = wire.Topics("s1").node("L1", "n1", "results")
    ing.submit(topic, wire.dump_payload(batch([1, 2], site="s1")), "t1")
    wait_until("the first failed commit", lambda: store.attempts >= 1, 10)
    began = time.monotonic()
    ing.stop(timeout=30)
    assert time.monotonic() - began < 10  # gave up, did not retry for ever
    assert store.attempts >= 3 and commits == [] and ing.stats.messages == 0
    # after the stop, a message that arrives is refused (never PUBACKed), not queued
    ing.submit(topic, wire.dump_payload(batch([3], site="s1")), "t2")
    assert ing.backlog == 0
    store.close()


def test_a_stopped_service_leaves_no_socket_open(broker: Mosquitto, tmp_path: Path,
                                                  site: str) -> None:
    """The plant's connection and paho's wake-up socket pair close with the service: not left
    to the garbage collector, which may finalise the pair first and warn of an unclosed
    socket."""
    before = open_sockets()
    svc = PlantService(plant_config(broker.port, site, f"sqlite:///{tmp_path / 'plant.db'}"))
    svc.start()
    assert svc.wait_connected(10)
    made = open_sockets() - before
    svc.stop()
    assert len(made) >= 3, made  # the connection and the pair
    assert not made & open_sockets()
