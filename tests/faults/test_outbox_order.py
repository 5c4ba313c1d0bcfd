"""The outbox hands the publisher every stored result exactly in order, even after it emptied.

Found by the fault suite: with ``id INTEGER PRIMARY KEY`` SQLite reuses row ids once the table
is empty, so after the plant acknowledged everything the next results got ids below the
publisher's cursor and were never sent (until a restart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.payloads import draft

from edge.outbox import Outbox


def _drafts(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [draft(start + i, ts=1.0) for i in range(n)]


def test_ids_keep_growing_after_the_outbox_empties(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.begin_boot("b1", "m")
    box.store("b1", _drafts(3))
    cursor = box.fetch(0, 100)[-1].id
    assert box.ack("b1", 3) == 3 and box.backlog == 0
    box.store("b1", _drafts(2, start=3))
    fresh = box.fetch(cursor, 100)  # what the publisher asks for next
    assert [r.seq for r in fresh] == [4, 5]


def test_ids_keep_growing_across_a_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.begin_boot("b1", "m")
    box.store("b1", _drafts(2))
    top = box.fetch(0, 100)[-1].id
    box.ack("b1", 2)
    box.close()
    again = Outbox(tmp_path / "outbox.db")
    again.begin_boot("b2", "m")
    again.store("b2", _drafts(1))
    assert again.fetch(0, 100)[0].id > top
