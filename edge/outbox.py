"""The durable results outbox: SQLite in WAL mode, written before anything goes on the network.

Every decided item is stored here first, with a sequence number per boot (``seq`` starts at
1 for each ``boot_id`` and has no gaps), and stays until **the plant** acknowledges that it
committed it (:meth:`Outbox.ack`). Rows keep their own ``boot_id``, so results from before a
crash or ``kill -9`` are sent after the restart under the boot that produced them.

Bound and policy when full (``max_rows``): the outbox never deletes a stored result that the
plant has not acknowledged. Once it holds ``max_rows * (1 - reserve_fraction)`` rows it stops
storing new *pass* results, and at ``max_rows`` it stops storing any new result. Refused
results get no sequence number (so the plant's contiguous acknowledgement never stalls on a
hole); they are counted per decision in the outbox itself (surviving restarts), reported in
the metrics (``outbox_dropped``) and logged. Rejects and uncertain items, which a quality
manager must be able to show, keep the reserved room the longest.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakline.errors import DeliveryError
from peakline.wire import ItemResult

__all__ = ["Outbox", "OutboxRow"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS boots (
    boot_id TEXT PRIMARY KEY, model TEXT NOT NULL, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT, boot_id TEXT NOT NULL, seq INTEGER NOT NULL,
    decision TEXT NOT NULL, created REAL NOT NULL, body TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '', UNIQUE (boot_id, seq));
CREATE TABLE IF NOT EXISTS dropped (decision TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored result: ``id`` orders rows across boots; ``body`` is the ItemResult JSON;
    ``model`` the model that scored it ("" in rows stored before results carried it)."""

    id: int
    boot_id: str
    seq: int
    created: float
    body: str
    model: str = ""


class Outbox:
    """A bounded, durable queue of item results keyed by ``(boot_id, seq)``."""

    def __init__(
        self,
        path: str | Path,
        max_rows: int = 1_000_000,
        reserve_fraction: float = 0.1,
        synchronous: str = "full",
        busy_timeout_s: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self.soft_rows = int(max_rows * (1.0 - reserve_fraction))
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # a locked database fails a write after busy_timeout_s: the caller keeps the
            # results and retries (edge.unsaved) rather than holding up the inference worker
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s,
                                       check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(results)")}
            if "model" not in columns:  # an outbox from before results carried their model
                self._db.execute("ALTER TABLE results ADD COLUMN model TEXT NOT NULL DEFAULT ''")
            self._rows = int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
            self._dropped = dict(self._db.execute("SELECT decision, n FROM dropped").fetchall())
        except sqlite3.Error as exc:
            raise DeliveryError(f"cannot open the outbox {self.path}: {exc}") from exc
        self._next_seq: dict[str, int] = {}

    # -- writing -------------------------------------------------------------------------
    def begin_boot(self, boot_id: str, model: str) -> None:
        """Register a new boot; its sequence starts at 1."""
        with self._lock, self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO boots VALUES (?, ?, ?)", (boot_id, model, time.time())
            )
            row = self._db.execute(
                "SELECT MAX(seq) FROM results WHERE boot_id = ?", (boot_id,)
            ).fetchone()
        self._next_seq[boot_id] = int(row[0] or 0) + 1

    def store(
        self, boot_id: str, drafts: Iterable[Mapping[str, Any]], model: str | Sequence[str] = ""
    ) -> list[ItemResult]:
        """Give each draft (ItemResult fields but ``seq``) a sequence number and store it,
        scored by ``model`` (one for all, or one per draft; "" for the boot's model).

        One transaction for the lot; returns the stored results. Drafts refused by the bound
        policy are counted (see the module docstring) and not returned.
        """
        stored: list[ItemResult] = []
        refused: dict[str, int] = {}
        with self._lock:
            seq = self._next_seq[boot_id]
            rows = []
            n = self._rows
            drafts = list(drafts)
            models = [model] * len(drafts) if isinstance(model, str) else list(model)
            if len(models) != len(drafts):
                raise ValueError(f"{len(models)} models for {len(drafts)} results")
            for draft, by in zip(drafts, models, strict=True):
                decision = str(draft["decision"])
                limit = self.soft_rows if decision == "pass" else self.max_rows
                if n >= limit:
                    refused[decision] = refused.get(decision, 0) + 1
                    continue
                result = ItemResult(seq=seq, **draft)
                rows.append((boot_id, seq, decision, time.time(), result.model_dump_json(), by))
                stored.append(result)
                seq += 1
                n += 1
            try:
                with self._tx():
                    self._db.executemany(
                        "INSERT INTO results (boot_id, seq, decision, created, body, model)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                    for decision, k in refused.items():
                        self._db.execute(
                            "INSERT INTO dropped VALUES (?, ?)"
                            " ON CONFLICT (decision) DO UPDATE SET n = n + excluded.n",
                            (decision, k),
                        )
            except sqlite3.Error as exc:
                raise DeliveryError(f"outbox write failed: {exc}") from exc
            self._next_seq[boot_id] = seq
            self._rows = n
            for decision, k in refused.items():
                self._dropped[decision] = self._dropped.get(decision, 0) + k
        if refused:
            log.warning(
                "outbox full (%d rows): refused %s; total refused %s",
                n, refused, self._dropped,
            )
        return stored

    def ack(self, boot_id: str, acked_seq: int) -> int:
        """The plant committed ``boot_id`` up to ``acked_seq``: delete those rows."""
        with self._lock:
            try:
                with self._tx():
                    cur = self._db.execute(
                        "DELETE FROM results WHERE boot_id = ? AND seq <= ?", (boot_id, acked_seq)
                    )
                    deleted = cur.rowcount
                    if boot_id not in self._next_seq:
                        self._db.execute(
                            "DELETE FROM boots WHERE boot_id = ? AND NOT EXISTS"
                            " (SELECT 1 FROM results WHERE boot_id = ?)",
                            (boot_id, boot_id),
                        )
            except sqlite3.Error as exc:
                raise DeliveryError(f"outbox delete failed: {exc}") from exc
            self._rows -= deleted
            return deleted

    # -- reading -------------------------------------------------------------------------
    def fetch(self, after_id: int, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` rows with ``id > after_id``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, boot_id, seq, created, body, model FROM results WHERE id > ?"
                " ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def fetch_range(self, lo: int, hi: int) -> list[OutboxRow]:
        """The rows still present with ``lo <= id <= hi`` (for a resend)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, boot_id, seq, created, body, model FROM results"
                " WHERE id BETWEEN ? AND ? ORDER BY id",
                (lo, hi),
            ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def model_of(self, boot_id: str) -> str:
        """The model a boot ran with (stored when the boot began)."""
        with self._lock:
            row = self._db.execute(
                "SELECT model FROM boots WHERE boot_id = ?", (boot_id,)
            ).fetchone()
        return str(row[0]) if row else ""

    @property
    def backlog(self) -> int:
        """Results stored and not yet acknowledged by the plant."""
        return self._rows

    @property
    def dropped(self) -> dict[str, int]:
        """Results refused because the outbox was full, per decision, since it was created."""
        return dict(self._dropped)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
