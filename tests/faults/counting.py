"""Counting what the edges sent against what the plant stored: lost and stored-twice.

``sent`` is what the edges durably accepted: for each (node, boot_id), the highest sequence
number they committed to their outboxes (sequences are contiguous from 1, so every number up
to it must reach the database). ``stored`` comes straight from the plant's ``results`` table.
A result is **lost** when its (node, boot_id, seq) is missing from the table, and **stored
twice** when the table holds the key more than once, or holds the same generated item (same
node, ``item_id`` and ``ts``) under two keys (an edge that re-numbered a resend).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import create_engine, text
from support.postgres import fresh_database

__all__ = ["Tally", "postgres_database", "stored_keys", "tally"]

Key = tuple[str, str]  # (node, boot_id)


@dataclass
class Tally:
    """One scenario's counts; ``policy_dropped`` is loss the design documents and reports."""

    sent: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    recover_s: float = 0.0
    policy_dropped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The JSON row of bench/faults.py (extra figures merged in)."""
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        out["recover_s"] = round(self.recover_s, 2)
        out.update(self.extra)
        return out


def stored_keys(url: str, nodes: list[str] | None = None) -> dict[Key, list[int]]:
    """Every stored seq (with repeats, if any) per (node, boot_id), from the plant DB."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT node, boot_id, seq FROM results")).all()
    finally:
        engine.dispose()
    out: dict[Key, list[int]] = {}
    for node, boot_id, seq in rows:
        if nodes is None or node in nodes:
            out.setdefault((node, boot_id), []).append(int(seq))
    return out


def _content_duplicates(url: str, nodes: list[str]) -> int:
    """Rows beyond the first for the same generated item (node, item_id, ts)."""
    if not nodes:
        return 0
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT node, item_id, ts, COUNT(*) FROM results GROUP BY node, item_id, ts")
            ).all()
    finally:
        engine.dispose()
    return sum(int(n) - 1 for node, _i, _t, n in rows if node in nodes and int(n) > 1)


def tally(
    url: str,
    sent: Mapping[Key, int],
    *,
    policy_dropped: Mapping[Key, set[int]] | None = None,
    unique_items: list[str] | None = None,
) -> Tally:
    """Compare ``sent`` (highest committed seq per node and boot) with the plant DB.

    ``policy_dropped`` are sequences the edge's documented outbox policy discarded: they are
    counted apart, not as lost. ``unique_items`` names nodes whose (item_id, ts) is unique per
    generated result, so a re-numbered resend is caught too.
    """
    nodes = sorted({node for node, _ in sent})
    stored = stored_keys(url, nodes)
    dropped = policy_dropped or {}
    result = Tally()
    for key, top in sent.items():
        seqs = stored.get(key, [])
        have = set(seqs)
        expected = set(range(1, top + 1)) - dropped.get(key, set())
        result.sent += top
        result.lost += len(expected - have)
        result.policy_dropped += len(dropped.get(key, set()) - have)
        result.duplicated += len(seqs) - len(have)
    for key, seqs in stored.items():
        result.stored += len(set(seqs))
        if key not in sent:  # a boot nobody reported sending: count as stored, flag it
            result.extra.setdefault("unknown_boots", []).append(list(key))
    result.duplicated += _content_duplicates(url, unique_items or [])
    return result


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the tests' PostgreSQL (``PEAKLINE_TEST_PG``); its SQLAlchemy URL."""
    with fresh_database("peakline_faults") as url:
        yield url
