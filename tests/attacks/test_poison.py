"""Finding 3: a poison message must not stop ingest for everyone, nor come back after a restart.

Before: schema-valid payloads carried values the store cannot hold (a 200-character defect
name, ``seq = 2**31`` on PostgreSQL's 32-bit integer, an integer past 2**63 that SQLite
refuses with OverflowError). PostgreSQL's deterministic DataError was retried forever, the
ingest queue filled and a good batch from another node was not acknowledged within 30 s,
before or after a restart; on SQLite each poison message was dropped without a dead letter
and kept a broker in-flight slot. Now every wire field is bounded like its column, and a
database error that is the message's own fault dead-letters that one message: the rest of
its chunk is stored and acknowledged.
"""

from __future__ import annotations

import json
import time

import pytest
from support.configs import plant_config
from support.mqtt import Recorder
from support.payloads import SITE, batch, metrics, status
from support.waiting import wait_until

from peakline import wire
from plant.broker.process import Mosquitto
from plant.ingest import Ingestor
from plant.service import PlantService
from plant.store import Store


def _results(site: str, **kw: object) -> bytes:
    return wire.dump_payload(batch(range(1, 6), site=site, node="good", **kw))  # type: ignore[arg-type]


def _poisons(site: str) -> list[tuple[str, bytes]]:
    """The payloads of the finding, each on the topic of a node 'evil' (schema otherwise valid)."""
    t = wire.Topics(site)
    res, st_, met = (t.node("L1", "evil", leaf) for leaf in ("results", "status", "metrics"))
    good = json.loads(wire.dump_payload(batch([1], site=site, node="evil")))

    def results(**item: object) -> bytes:
        body = json.loads(json.dumps(good))
        body["results"][0].update(item)
        return json.dumps(body).encode()

    def with_(payload: wire.Payload, **fields: object) -> bytes:
        return json.dumps(json.loads(wire.dump_payload(payload)) | fields).encode()

    return [
        (res, results(defect="x" * 200, decision="reject")),
        (res, results(seq=2**31)),
        (res, results(seq=2**63 + 1)),
        (res, results(item_id=2**40)),
        (res, results(bbox=[0, 0, 2**33, 1])),
        (res, with_(batch([1], site=site, node="evil"), boot_id="b" * 65)),
        (st_, with_(status("online", site=site, node="evil"), model="m" * 200)),
        (st_, with_(status("online", site=site, node="evil"), config_digest="d" * 300)),
        (met, with_(metrics(site=site, node="evil"), items=2**31)),
        (met, with_(metrics(site=site, node="evil"),
                    rejects_by_defect={"a": 2**31 - 1, "b": 2**31 - 1})),
    ]


def _acked(rec: Recorder, site: str, node: str = "good") -> int:
    acks = [wire.parse_payload(p, wire.PlantAck) for p in rec.on(
        wire.Topics(site).plant_ack("L1", node))]
    return max((a.acked_seq for a in acks), default=0)  # type: ignore[union-attr]


def _until_acked(rec: Recorder, site: str, topic: str) -> None:
    """Send seq 1 until the plant acknowledges it (its subscriptions follow its CONNACK)."""
    first = wire.dump_payload(batch([1], site=site, node="good"))

    def acked() -> bool:
        if _acked(rec, site) >= 1:
            return True
        rec.publish(topic, first)
        return False

    wait_until("the plant subscribed and acknowledging", acked, 10, interval=0.5)


def test_poison_payloads_are_dead_letters_and_ingest_goes_on_across_a_restart(
    broker: Mosquitto, db_url: str, site: str
) -> None:
    poisons = _poisons(site)
    rec = Recorder(broker.port, [wire.Topics(site).plant_ack("+", "+")])
    svc = PlantService(plant_config(broker.port, site, db_url)).start()
    try:
        assert svc.wait_connected(10)
        good = wire.Topics(site).node("L1", "good", "results")
        _until_acked(rec, site, good)
        for topic, raw in poisons:
            assert not rec.publish(topic, raw).is_failure
        rec.publish(good, _results(site))
        wait_until("the good batch acknowledged", lambda: _acked(rec, site) == 5, 10)
        wait_until("every poison a dead letter",
                   lambda: len(svc.store.dead_letters()) == len(poisons), 10)
    finally:
        svc.stop()
    with Store.open(db_url) as store:
        assert store.count_results() == 5
        reasons = list(store.dead_letters()["reason"])
    assert all(r.startswith("invalid peakline.") for r in reasons), reasons
    # after a restart nothing comes back and the next good batch is acknowledged at once
    svc = PlantService(plant_config(broker.port, site, db_url)).start()
    try:
        assert svc.wait_connected(10)
        rec.publish(good, wire.dump_payload(batch(range(6, 9), site=site, node="good")))
        wait_until("the next good batch acknowledged", lambda: _acked(rec, site) == 8, 10)
        assert len(svc.store.dead_letters()) == len(poisons)
    finally:
        svc.stop()
        rec.close()


@pytest.mark.postgres
def test_a_value_the_database_refuses_dead_letters_only_its_own_message(
    pg_database: str,
) -> None:
    """PostgreSQL refuses a NUL character in text, a value the wire contract allows; the
    chunk is stored message by message, the refused one kept as a dead letter."""
    store = Store.open(pg_database)
    commits: list[dict[tuple[str, str, str, str], int]] = []
    tokens: list[object] = []
    ing = Ingestor(store, SITE, lambda acks, toks: (commits.append(acks), tokens.extend(toks)))
    topic = wire.Topics(SITE).node("L1", "n1", "results")
    evil = wire.Topics(SITE).node("L1", "evil", "results")
    poison = wire.dump_payload(batch([1], node="evil", reject_every=1, defect="crack\x00"))
    chunk = [(topic, wire.dump_payload(batch([1, 2, 3])), "t1", time.time(), None),
             (evil, poison, "t2", time.time(), None),
             (topic, wire.dump_payload(batch([4, 5])), "t3", time.time(), None)]
    try:
        started = time.monotonic()
        ing.process(chunk)  # type: ignore[arg-type]
        assert time.monotonic() - started < 10  # before: retried forever
        assert commits == [{(SITE, "L1", "n1", "boot-a"): 5}]
        assert tokens == ["t1", "t2", "t3"]  # every message PUBACKed, the poison too
        assert store.count_results() == 5
        dead = store.dead_letters()
        assert list(dead["topic"]) == [evil]
        assert "the database refused it" in dead["reason"][0]
        assert ing.stats.poison == 1
    finally:
        store.close()
