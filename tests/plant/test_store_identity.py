"""A device is site/line/node in the store: two lines' ``cam1`` never share a key.

Also the migration that brings a database keyed on the node name alone forward, on SQLite and
PostgreSQL, keeping every row and recomputing the sequence ranges from the stored results.
"""

from __future__ import annotations

import time

from sqlalchemy import create_engine, select, text
from support.payloads import SITE, batch, status, thumb

from plant.store import IngestBatch, Store
from plant.store import schema as t

_OLD_INGEST = [
    """CREATE TABLE results (site VARCHAR(64) NOT NULL, line VARCHAR(64) NOT NULL,
    node VARCHAR(64) NOT NULL, boot_id VARCHAR(64) NOT NULL, seq INTEGER NOT NULL,
    item_id INTEGER NOT NULL, ts FLOAT NOT NULL, frame INTEGER NOT NULL,
    bbox_x INTEGER NOT NULL, bbox_y INTEGER NOT NULL, bbox_w INTEGER NOT NULL,
    bbox_h INTEGER NOT NULL, score FLOAT NOT NULL, decision VARCHAR(16) NOT NULL,
    defect VARCHAR(64), latency_ms FLOAT NOT NULL, rejected BOOLEAN NOT NULL,
    missed_reject BOOLEAN NOT NULL, historical BOOLEAN NOT NULL, model VARCHAR(128) NOT NULL,
    received_ts FLOAT NOT NULL,
    CONSTRAINT uq_results_node_boot_seq UNIQUE (node, boot_id, seq))""",
    "CREATE INDEX ix_results_ts ON results (ts)",
    """CREATE TABLE seq_ranges (node VARCHAR(64) NOT NULL, boot_id VARCHAR(64) NOT NULL,
    first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
    PRIMARY KEY (node, boot_id, first_seq))""",
    """CREATE TABLE nodes (node VARCHAR(64) NOT NULL PRIMARY KEY, site VARCHAR(64) NOT NULL,
    line VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, boot_id VARCHAR(64) NOT NULL,
    model VARCHAR(128) NOT NULL, config_digest VARCHAR(128) NOT NULL,
    status_ts FLOAT NOT NULL, last_seen FLOAT NOT NULL)""",
]


def _old_database(url: str) -> None:
    """A database as migration 1 of the earlier code left it, with results of one node."""
    engine = create_engine(url)
    with engine.begin() as conn:
        t.schema_version.create(conn)
        conn.execute(t.schema_version.insert().values(version=1, applied_at=0.0,
                                                      description="ingest"))
        for ddl in _OLD_INGEST:
            conn.execute(text(ddl))
        for table in (t.metrics, t.thumbnails, t.dead_letters):
            table.create(conn)
        for seq in [1, 2, 3, 5, 6, 9]:
            conn.execute(text(
                "INSERT INTO results VALUES ('s1', 'L1', 'n1', 'boot-a', :seq, :seq, 1.0, 0,"
                " 0, 0, 1, 1, 0.5, 'pass', NULL, 1.0, false, false, false, 'm', 2.0)"),
                {"seq": seq})
        conn.execute(text("INSERT INTO seq_ranges VALUES ('n1', 'boot-a', 1, 3),"
                          " ('n1', 'boot-a', 5, 6), ('n1', 'boot-a', 9, 9)"))
        conn.execute(text("INSERT INTO nodes VALUES ('n1', 's1', 'L1', 'online', 'boot-a', 'm',"
                          " '', 1.0, 2.0)"))
    engine.dispose()


def test_an_old_database_is_rekeyed_and_keeps_its_rows(db_url: str) -> None:
    _old_database(db_url)
    with Store.open(db_url) as store:
        assert store.count_results() == 6
        assert store.acked_seq("s1", "L1", "n1", "boot-a") == 3
        gaps = store.gaps()[["line", "node", "first_missing", "last_missing"]]
        assert gaps.values.tolist() == [["L1", "n1", 4, 4], ["L1", "n1", 7, 8]]
        assert store.node_status()[["line", "node"]].values.tolist() == [["L1", "n1"]]
        # the same node name on another line is now a node of its own
        acks = store.write_batches([(batch([1, 2, 3, 4], line="L2"), time.time()),
                                    (batch([4], line="L1"), time.time())])
        assert acks == {(SITE, "L2", "n1", "boot-a"): 4, (SITE, "L1", "n1", "boot-a"): 6}
        assert store.count_results() == 11
        with store.engine.connect() as conn:
            versions = conn.execute(select(t.schema_version.c.version)).scalars().all()
        assert versions == [v for v, _, _ in t.MIGRATIONS]


def test_the_same_node_name_on_two_lines_is_two_devices(store: Store) -> None:
    """Line 2's cam1 cannot shadow line 1's: its results, ranges, presence and gallery stay apart.

    Before: de-duplication keyed on (node, boot_id, seq), so line 2's results with line 1's
    boot id and sequence numbers made line 1's real results "duplicates": dropped, acked.
    """
    now = time.time()
    line1 = batch(range(1, 11), node="cam1", line="L1", boot="boot-x", reject_every=5)
    line2 = batch(range(1, 11), node="cam1", line="L2", boot="boot-x")
    acks = store.write_batches([(line2, now), (line1, now)])
    assert acks == {(SITE, "L2", "cam1", "boot-x"): 10, (SITE, "L1", "cam1", "boot-x"): 10}
    assert store.count_results() == 20
    rejects = store.results().query("decision == 'reject'").groupby("line").size().to_dict()
    assert rejects == {"L1": 2}  # line 1's two rejects were not replaced by line 2's passes
    store.write_ingest(IngestBatch(statuses=[(status("online", node="cam1", line="L1"), now),
                                             (status("offline", node="cam1", line="L2"), now)]))
    states = store.node_status().set_index("line")["state"].to_dict()
    assert states == {"L1": "online", "L2": "offline"}
    summary = store.line_summary(window_s=1e9, now=now + 1)
    assert summary[["line", "node", "items"]].values.tolist() == [["L1", "cam1", 10],
                                                                 ["L2", "cam1", 10]]
    store.thumbnails_per_node = 2
    store.write_ingest(IngestBatch(thumbnails=[
        *((thumb(seq, node="cam1", line="L1"), now) for seq in (1, 2, 3)),
        *((thumb(seq, node="cam1", line="L2"), now) for seq in (1, 2, 3)),
    ]))
    kept = store.recent_thumbnails(10).groupby("line").size().to_dict()
    assert kept == {"L1": 2, "L2": 2}  # trimmed per device, not per node name
