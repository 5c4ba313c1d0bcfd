"""The durable outbox: sequence numbers, acknowledgement, restart and the bound policy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support.payloads import draft

from edge.outbox import Outbox


def test_seq_starts_at_one_per_boot_without_gaps(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.begin_boot("b1", "m:1")
    a = box.store("b1", [draft(i) for i in range(3)])
    b = box.store("b1", [draft(i) for i in range(3, 5)])
    assert [r.seq for r in a + b] == [1, 2, 3, 4, 5]
    box.begin_boot("b2", "m:1")
    assert [r.seq for r in box.store("b2", [draft(9)])] == [1]
    rows = box.fetch(0, 100)
    assert [(r.boot_id, r.seq) for r in rows] == [("b1", i) for i in range(1, 6)] + [("b2", 1)]
    assert box.backlog == 6


def test_only_acknowledged_rows_are_deleted(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.begin_boot("b1", "m:1")
    box.store("b1", [draft(i) for i in range(10)])
    assert box.ack("b1", 4) == 4
    assert box.ack("other", 100) == 0
    assert [r.seq for r in box.fetch(0, 100)] == [5, 6, 7, 8, 9, 10]
    assert box.backlog == 6


def test_rows_survive_a_restart_under_their_own_boot(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.begin_boot("old", "m:1")
    box.store("old", [draft(i) for i in range(5)])
    box.ack("old", 2)
    del box  # no close: as after kill -9, the committed rows are on disk
    again = Outbox(tmp_path / "o.db")
    again.begin_boot("new", "m:2")
    assert again.backlog == 3
    assert [(r.boot_id, r.seq) for r in again.fetch(0, 10)] == [("old", 3), ("old", 4), ("old", 5)]
    assert again.model_of("old") == "m:1"
    assert [r.seq for r in again.store("new", [draft(0)])] == [1]


def test_full_outbox_refuses_passes_first_and_counts_them(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_rows=10, reserve_fraction=0.2)
    box.begin_boot("b", "m")
    assert len(box.store("b", [draft(i) for i in range(8)])) == 8  # soft bound: 8
    out = box.store("b", [draft(8), draft(9, "reject"), draft(10, "pass"), draft(11, "uncertain")])
    assert [(r.decision, r.seq) for r in out] == [("reject", 9), ("uncertain", 10)]
    assert box.dropped == {"pass": 2}
    out = box.store("b", [draft(12, "reject")])  # hard bound reached
    assert out == [] and box.dropped == {"pass": 2, "reject": 1}
    box.ack("b", 5)  # room again: stored seqs continue without a hole
    assert [r.seq for r in box.store("b", [draft(13)])] == [11]
    box.close()
    assert Outbox(tmp_path / "o.db", max_rows=10).dropped == {"pass": 2, "reject": 1}


def test_an_outbox_from_before_results_carried_their_model_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE boots (boot_id TEXT PRIMARY KEY, model TEXT NOT NULL, started REAL NOT NULL);"
        "CREATE TABLE results (id INTEGER PRIMARY KEY AUTOINCREMENT, boot_id TEXT NOT NULL,"
        " seq INTEGER NOT NULL, decision TEXT NOT NULL, created REAL NOT NULL, body TEXT NOT NULL,"
        " UNIQUE (boot_id, seq));"
        "INSERT INTO boots VALUES ('old', 'm:1', 0);"
        "INSERT INTO results (boot_id, seq, decision, created, body)"
        " VALUES ('old', 1, 'pass', 0, '{}');")
    db.commit()
    db.close()
    box = Outbox(path)
    box.begin_boot("new", "m:2")
    box.store("new", [draft(1)], "m:3")
    assert [(r.boot_id, r.model) for r in box.fetch(0, 10)] == [("old", ""), ("new", "m:3")]
    assert box.model_of("old") == "m:1"  # what the link sends for the old row
    box.close()
