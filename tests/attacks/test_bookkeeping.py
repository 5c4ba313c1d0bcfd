"""Finding 8: de-duplication bookkeeping without bound.

Before: odd sequence numbers made one range per item and every commit rewrote all of a
stream's ranges (quadratic); a node that rotated its boot id on every message grew the
in-memory range map forever; dead letters and the ingest queue were capped by count only.
Now each commit writes only the ranges that changed, a stream with more than ``MAX_RANGES``
ranges is refused (a dead letter), the in-memory map keeps the most recent streams only, dead
letters are capped (each is bounded in size) and the ingest queue is bounded in bytes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import event
from support.mqtt import Recorder
from support.payloads import batch
from support.waiting import wait_until

from peakline import wire
from plant.ingest import Ingestor
from plant.service import PlantService
from plant.store import DeadLetter, IngestBatch, Store
from plant.store import results as store_results


def _range_rows_written(store: Store) -> list[int]:
    """Rows of seq_ranges inserted or deleted, per statement (recorded from now on)."""
    written: list[int] = []

    def count(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any,
              many: bool) -> None:
        if "seq_ranges" in statement and statement.lstrip().upper().startswith(
                ("INSERT", "DELETE")):
            written.append(len(params) if many else 1)

    event.listen(store.engine, "before_cursor_execute", count)
    return written


def test_odd_sequence_numbers_cost_their_change_and_are_bounded(
    service: PlantService, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_results, "MAX_RANGES", 600)
    written = _range_rows_written(service.store)
    topic = wire.Topics(site).node("L1", "odd", "results")
    rec = Recorder(service.config.mqtt.port, [wire.Topics(site).plant_ack("+", "+")])
    try:
        def first_stored() -> bool:
            if service.store.count_results():
                return True
            rec.publish(topic, wire.dump_payload(batch([1], node="odd", site=site)))
            return False

        wait_until("the plant subscribed", first_stored, 10, 0.5)
        for n, start in enumerate(range(3, 1201, 200)):  # 100 odd numbers: 100 new ranges
            rec.publish(topic, wire.dump_payload(
                batch(range(start, start + 200, 2), node="odd", site=site)))
            wait_until("its commit", lambda n=n: service.store.count_results() == 1 + 100 * (
                n + 1) or len(service.store.dead_letters()) >= 1, 20)
        wait_until("the stream's bound reached and the rest refused",
                   lambda: len(service.store.dead_letters()) >= 1, 20)
    finally:
        rec.close()
    # before: each commit rewrote every range of the stream (100, 200, ... 600 rows)
    assert max(written) <= 101
    assert service.store.count_results() == 1 + 500
    assert "gaps" in service.store.dead_letters()["reason"].iloc[0]


def test_rotating_boot_ids_do_not_grow_memory(store: Store,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_results, "MAX_CACHED_STREAMS", 50)
    now = time.time()
    for i in range(300):
        store.write_batches([(batch([1, 2], boot=f"boot-{i}"), now)])
    assert len(store._ranges) == 50
    # an evicted stream is read back from the database: still de-duplicated and acked right
    acks = store.write_batches([(batch([2, 3], boot="boot-0"), now)])
    assert acks == {("s1", "L1", "n1", "boot-0"): 3}
    assert store.count_results() == 601


def test_dead_letters_are_capped(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_results, "MAX_DEAD_LETTERS", 50)
    for i in range(80):
        store.write_ingest(IngestBatch(dead_letters=[
            DeadLetter(f"t/{i}", "bad", b"x" * 100_000, float(i))]))
    dead = store.dead_letters(limit=1000)
    assert len(dead) == 50 and set(dead["topic"]) == {f"t/{i}" for i in range(30, 80)}
    assert dead["raw"].map(len).max() == store_results.DEAD_LETTER_MAX_BYTES


def test_the_ingest_queue_is_bounded_in_bytes(store: Store) -> None:
    ing = Ingestor(store, "s1", lambda acks, tokens: None, queue_max_bytes=2 * 2**20)
    big = b"x" * (2**20 - 10)
    done: list[int] = []

    def network_thread() -> None:
        for i in range(4):
            ing.submit(f"peakline/v1/s1/L1/n1/results/{i}", big)
            done.append(i)

    sender = threading.Thread(target=network_thread, daemon=True)
    sender.start()
    wait_until("two messages queued", lambda: len(done) == 2, 5)
    time.sleep(0.5)
    assert len(done) == 2  # the third waits: 2 MB are queued
    ing.start()  # the writer takes them (as dead letters: not a node topic it knows)
    try:
        wait_until("the rest queued once the writer made room", lambda: len(done) == 4, 10)
    finally:
        ing.stop()
    sender.join(5)
