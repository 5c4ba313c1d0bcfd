"""The ingest hot path: results flattened by a parse worker, inserted in shared-column chunks."""

from __future__ import annotations

import pickle
import time

from support.payloads import batch

from plant.dedup import runs
from plant.store import IngestBatch, ResultRows, Store


def test_flattened_rows_store_every_column_exactly_once(store: Store) -> None:
    sent = batch(range(1, 702), reject_every=7)  # 701 rows: 256 + 256 + 128 + 32 + 16 + 8 + ...
    received = time.time()
    rows = pickle.loads(pickle.dumps(ResultRows.from_batch(sent, received)))  # as from a worker
    acks = store.write_ingest(IngestBatch(results=[(rows, received)]))
    assert acks == {("s1", "L1", "n1", "boot-a"): 701}
    df = store.results(limit=1000).sort_values("seq").reset_index(drop=True)
    assert len(df) == 701
    for got, want in zip(df.itertuples(), sent.results, strict=True):
        assert (got.site, got.line, got.node, got.boot_id, got.model) == ("s1", "L1", "n1",
                                                                        "boot-a", "m/1")
        assert (got.seq, got.item_id, got.frame) == (want.seq, want.item_id, want.frame)
        assert (got.bbox_x, got.bbox_y, got.bbox_w, got.bbox_h) == want.bbox
        assert (got.ts, got.score, got.latency_ms) == (want.ts, want.score, want.latency_ms)
        assert (got.decision, got.defect) == (want.decision, want.defect)
        assert (got.rejected, got.missed_reject, got.historical) == (want.rejected, False, False)
        assert got.received_ts == received


def test_overlapping_and_repeated_sequences_are_stored_once(store: Store) -> None:
    first = ResultRows.from_batch(batch(range(1, 301)), time.time())
    store.write_ingest(IngestBatch(results=[(first, time.time())]))
    # an overlap with what is stored, a repeat inside the batch, and a hole left at 401..409
    seqs = [*range(250, 400), 399, 399, *range(410, 420)]
    again = ResultRows.from_batch(batch(seqs), time.time())
    acks = store.write_ingest(IngestBatch(results=[(again, time.time())]))
    assert acks == {("s1", "L1", "n1", "boot-a"): 399}
    assert store.count_results() == 399 + 10
    assert sorted(store.results(limit=1000)["seq"]) == [*range(1, 400), *range(410, 420)]


def test_runs_merges_in_any_order() -> None:
    assert runs([]) == []
    assert runs([5, 3, 4, 4]) == [(3, 5)]
    assert runs([1, 2, 5, 7, 6]) == [(1, 2), (5, 7)]
