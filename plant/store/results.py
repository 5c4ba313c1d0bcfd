"""The inspection side of the store: results, node presence, metrics, thumbnails, dead letters.

``write_ingest`` commits everything the ingest writer collected in ONE transaction and
returns, per stream (site, line, node, boot_id), the highest contiguous sequence now stored:
the number the plant acknowledges to the edge. A device is its whole site/line/node identity
here as on the wire: ``cam1`` on line 1 and ``cam1`` on line 2 never share a key. Duplicates
are dropped twice over: by the in-memory ranges of stored sequences (``plant.dedup``,
persisted in ``seq_ranges`` in the same transaction) and by the UNIQUE
(site, line, node, boot_id, seq) constraint with insert-or-ignore. Readers are in
``plant.store.queries``.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, func, select

from peakline.errors import StoreError
from peakline.wire import NodeMetrics, NodeStatus, RejectThumbnail, ResultsBatch
from plant.dedup import SeqRanges
from plant.store import schema as t
from plant.store.base import StoreBase

__all__ = [
    "DEAD_LETTER_MAX_BYTES",
    "MAX_DEAD_LETTERS",
    "MAX_RANGES",
    "DeadLetter",
    "IngestBatch",
    "ResultRows",
    "ResultsMixin",
    "StreamKey",
    "StreamLimitError",
]

DEAD_LETTER_MAX_BYTES = 4096
#: dead letters kept (the oldest go first): with their bounded size, at most ~700 MB
MAX_DEAD_LETTERS = 100_000
#: separate ranges (gaps + 1) one node boot may have; a stream past it is refused
MAX_RANGES = 10_000
#: node boots whose stored ranges stay in memory (the rest are read back when needed)
MAX_CACHED_STREAMS = 10_000


class StreamLimitError(StoreError):
    """A node boot's results would exceed a bound of the store (the message's own fault)."""

#: one node boot's sequence stream: (site, line, node, boot_id)
StreamKey = tuple[str, str, str, str]
#: the per-item columns of ``results``; the rest (``ResultRows.shared``) are the batch's own
_ITEM_COLS = (
    "seq", "item_id", "ts", "frame", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "score",
    "decision", "defect", "latency_ms", "rejected", "missed_reject",
)
_WIDTH = len(_ITEM_COLS)


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not be used, kept with the reason for a person to look at."""

    topic: str
    reason: str
    raw: bytes
    received_ts: float


@dataclass(frozen=True)
class ResultRows:
    """A results batch flattened for the insert: the batch's own columns once, items flat.

    Made from a validated ``ResultsBatch``. ``values`` holds the ``_ITEM_COLS`` of every
    result one after another (plain ints, floats, strs, bools, None): it pickles cheaply from
    a parsing worker process to the writer and goes to the database without per-row tuples.
    """

    site: str
    line: str
    node: str
    boot_id: str
    model: str
    historical: bool
    received: float
    seqs: list[int]
    values: list[Any]

    @classmethod
    def from_batch(cls, batch: ResultsBatch, received: float) -> ResultRows:
        values: list[Any] = []
        add = values.extend
        for item in batch.results:
            r = item.__dict__  # a pydantic model's field values: half the time of getattr
            add((r["seq"], r["item_id"], r["ts"], r["frame"], *r["bbox"], r["score"],
                 r["decision"], r["defect"], r["latency_ms"], r["rejected"], r["missed_reject"]))
        return cls(batch.site, batch.line, batch.node, batch.boot_id, batch.model,
                   batch.historical, received, values[::_WIDTH], values)

    @property
    def stream(self) -> StreamKey:
        """The sequence stream these results belong to."""
        return (self.site, self.line, self.node, self.boot_id)

    @property
    def shared(self) -> dict[str, Any]:
        """The ``results`` columns every item of this batch has in common."""
        return {"site": self.site, "line": self.line, "node": self.node,
                "boot_id": self.boot_id, "historical": self.historical, "model": self.model,
                "received_ts": self.received}

    def only(self, seqs: list[int]) -> list[Any]:
        """``values`` of the items whose sequence is in ``seqs`` (the first of any repeat)."""
        keep = set(seqs)
        out: list[Any] = []
        for i, seq in enumerate(self.seqs):
            if seq in keep:
                keep.discard(seq)
                out.extend(self.values[i * _WIDTH : (i + 1) * _WIDTH])
        return out


@dataclass
class IngestBatch:
    """Everything one writer cycle commits together (each payload with its receive time)."""

    results: list[tuple[ResultsBatch | ResultRows, float]] = field(default_factory=list)
    statuses: list[tuple[NodeStatus, float]] = field(default_factory=list)
    metrics: list[tuple[NodeMetrics, float]] = field(default_factory=list)
    thumbnails: list[tuple[RejectThumbnail, float]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: set by ``write_ingest``: result rows that were new (not duplicates)
    stored: int = 0

    @classmethod
    def merged(cls, parts: Iterable[IngestBatch]) -> IngestBatch:
        """One batch holding everything of ``parts`` (each message's own batch), in order."""
        out = cls()
        for p in parts:
            out.results += p.results
            out.statuses += p.statuses
            out.metrics += p.metrics
            out.thumbnails += p.thumbnails
            out.dead_letters += p.dead_letters
        return out

    def __len__(self) -> int:
        return (
            len(self.results)
            + len(self.statuses)
            + len(self.metrics)
            + len(self.thumbnails)
            + len(self.dead_letters)
        )


class ResultsMixin(StoreBase):
    """Writers used by ingest and readers used by the dashboard and planning."""

    thumbnails_per_node = 50

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ranges: OrderedDict[StreamKey, SeqRanges] = OrderedDict()
        self._write_lock = threading.Lock()

    # --- writing -----------------------------------------------------------------------------
    def write_batches(self, batches: list[tuple[ResultsBatch, float]]) -> dict[StreamKey, int]:
        """Store results batches (received times attached); return the acked seq per stream."""
        return self.write_ingest(IngestBatch(results=list(batches)))

    def write_ingest(self, batch: IngestBatch) -> dict[StreamKey, int]:
        """Commit one writer cycle in one transaction; acks are valid only once this returns."""
        with self._write_lock, self.engine.begin() as conn:
            pending, batch.stored = self._write_results(conn, batch.results)
            self._write_presence(conn, batch)
            self._write_metrics(conn, batch.metrics)
            self._write_thumbnails(conn, batch.thumbnails)
            self._write_dead_letters(conn, batch.dead_letters)
        for key, ranges in pending.items():  # only after the commit succeeded
            self._ranges[key] = ranges
            self._ranges.move_to_end(key)
        while len(self._ranges) > MAX_CACHED_STREAMS:  # read back from seq_ranges if needed
            self._ranges.popitem(last=False)
        return {key: ranges.contiguous for key, ranges in pending.items()}

    def _load_ranges(self, conn: Connection, key: StreamKey) -> SeqRanges:
        found = self._ranges.get(key)
        if found is None:
            rows = conn.execute(
                select(t.seq_ranges.c.first_seq, t.seq_ranges.c.last_seq).where(
                    *_stream_is(key)
                )
            ).all()
            found = SeqRanges((int(a), int(b)) for a, b in rows)
        return found

    def _write_results(
        self, conn: Connection, batches: list[tuple[ResultsBatch | ResultRows, float]]
    ) -> tuple[dict[StreamKey, SeqRanges], int]:
        pending: dict[StreamKey, SeqRanges] = {}
        base: dict[StreamKey, SeqRanges] = {}
        stored = 0
        for batch, received in batches:
            prepared = (batch if isinstance(batch, ResultRows)
                        else ResultRows.from_batch(batch, received))
            key = prepared.stream
            ranges = pending.get(key)
            if ranges is None:
                base[key] = self._load_ranges(conn, key)
                ranges = pending[key] = base[key].copy()
            fresh = ranges.new_only(prepared.seqs)
            if not fresh:
                continue
            ranges.add(fresh)
            if ranges.count > MAX_RANGES:
                raise StreamLimitError(
                    f"{'/'.join(key[:3])} boot {key[3]}: more than {MAX_RANGES} gaps in its "
                    "sequence numbers; refused")
            values = (prepared.values if len(fresh) == len(prepared.seqs)
                      else prepared.only(fresh))
            self.insert_ignore_shared(conn, t.results, _ITEM_COLS, prepared.shared, values)
            stored += len(fresh)
        for key, ranges in pending.items():  # only the ranges that changed: O(change)
            old, new = set(base[key].ranges), set(ranges.ranges)
            gone, added = old - new, new - old
            site, line, node, boot_id = key
            if gone:
                conn.execute(delete(t.seq_ranges).where(
                    *_stream_is(key), t.seq_ranges.c.first_seq.in_([a for a, _ in gone])))
            if added:
                conn.execute(t.seq_ranges.insert(), [
                    {"site": site, "line": line, "node": node, "boot_id": boot_id,
                     "first_seq": a, "last_seq": b} for a, b in sorted(added)])
        return pending, stored

    def _write_presence(self, conn: Connection, batch: IngestBatch) -> None:
        seen: dict[tuple[str, str, str], dict[str, Any]] = {}
        heard: list[tuple[Any, float]] = [*batch.results, *batch.metrics, *batch.thumbnails]
        for payload, received in heard:
            seen[(payload.site, payload.line, payload.node)] = {
                "node": payload.node,
                "site": payload.site,
                "line": payload.line,
                "state": "online",
                "boot_id": payload.boot_id,
                "model": getattr(payload, "model", "") or "",
                "config_digest": "",
                "status_ts": received,
                "last_seen": received,
            }
        self.upsert(conn, t.nodes, list(seen.values()), _NODE_KEY, ["last_seen"])
        status: dict[tuple[str, str, str], dict[str, Any]] = {}
        for st, received in batch.statuses:
            status[(st.site, st.line, st.node)] = {
                "node": st.node,
                "site": st.site,
                "line": st.line,
                "state": st.state,
                "boot_id": st.boot_id,
                "model": st.model,
                "config_digest": st.config_digest,
                "fault": st.fault,
                "last_command": st.last_command,
                "status_ts": st.ts or received,
                "last_seen": received,
            }
        online = [row for row in status.values() if row["state"] == "online"]
        offline = [row for row in status.values() if row["state"] == "offline"]
        self.upsert(conn, t.nodes, online, _NODE_KEY)
        self.upsert(conn, t.nodes, offline, _NODE_KEY, ["state", "status_ts", "fault"])

    def _write_metrics(self, conn: Connection, items: list[tuple[NodeMetrics, float]]) -> None:
        rows = []
        for m, received in items:
            row = m.model_dump(exclude={"schema_", "rejects_by_defect"})
            row["rejects_by_defect"] = json.dumps(m.rejects_by_defect, sort_keys=True)
            row["rejects"] = sum(m.rejects_by_defect.values())
            row["received_ts"] = received
            rows.append(row)
        if rows:
            conn.execute(t.metrics.insert(), rows)

    def _write_thumbnails(
        self, conn: Connection, items: list[tuple[RejectThumbnail, float]]
    ) -> None:
        if not items:
            return
        rows = []
        for th, received in items:
            row = th.model_dump(exclude={"schema_"})
            row["received_ts"] = received
            rows.append(row)
        conn.execute(t.thumbnails.insert(), rows)
        keep = self.thumbnails_per_node
        th_ = t.thumbnails
        for site, line, node in {(th.site, th.line, th.node) for th, _ in items}:
            same = (th_.c.site == site, th_.c.line == line, th_.c.node == node)
            newest = (
                select(t.thumbnails.c.id)
                .where(*same)
                .order_by(t.thumbnails.c.id.desc())
                .limit(keep)
                .scalar_subquery()
            )
            cutoff = select(func.min(t.thumbnails.c.id)).where(t.thumbnails.c.id.in_(newest))
            conn.execute(
                delete(t.thumbnails).where(*same, th_.c.id < cutoff.scalar_subquery())
            )

    def _write_dead_letters(self, conn: Connection, items: list[DeadLetter]) -> None:
        rows = [
            {
                "topic": d.topic[:512],
                "reason": d.reason[:2000],
                "received_ts": d.received_ts,
                "size": len(d.raw),
                "raw": bytes(d.raw[:DEAD_LETTER_MAX_BYTES]),
            }
            for d in items
        ]
        if rows:
            conn.execute(t.dead_letters.insert(), rows)
            newest = conn.execute(select(func.max(t.dead_letters.c.id))).scalar() or 0
            if newest > MAX_DEAD_LETTERS:
                conn.execute(delete(t.dead_letters).where(
                    t.dead_letters.c.id <= newest - MAX_DEAD_LETTERS))

    def add_dead_letter(self, topic: str, reason: str, raw: bytes, received_ts: float) -> None:
        """Record one unusable message on its own (outside an ingest cycle)."""
        with self.engine.begin() as conn:
            self._write_dead_letters(conn, [DeadLetter(topic, reason, raw, received_ts)])

    def acked_seq(self, site: str, line: str, node: str, boot_id: str) -> int:
        """The highest contiguous sequence stored for one node boot; 0 if none."""
        with self.engine.connect() as conn:
            return self._load_ranges(conn, (site, line, node, boot_id)).contiguous


_NODE_KEY = ["site", "line", "node"]


def _stream_is(key: StreamKey) -> tuple[Any, ...]:
    s = t.seq_ranges.c
    site, line, node, boot_id = key
    return (s.site == site, s.line == line, s.node == node, s.boot_id == boot_id)
