"""The inspection side of the store: results, node presence, metrics, thumbnails, dead letters.

``write_ingest`` commits everything the ingest writer collected in ONE transaction and
returns, per (node, boot_id), the highest contiguous sequence now stored: the number the
plant acknowledges to the edge. Duplicates are dropped twice over: by the in-memory ranges
of stored sequences (``plant.dedup``, persisted in ``seq_ranges`` in the same transaction)
and by the UNIQUE (node, boot_id, seq) constraint with insert-or-ignore.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, case, delete, func, select

from edge.wire import NodeMetrics, NodeStatus, RejectThumbnail, ResultsBatch
from plant.dedup import SeqRanges
from plant.store import schema as t
from plant.store.base import StoreBase

__all__ = [
    "DEAD_LETTER_MAX_BYTES",
    "DeadLetter",
    "IngestBatch",
    "ResultRows",
    "ResultsMixin",
    "frame",
]

DEAD_LETTER_MAX_BYTES = 4096
Key = tuple[str, str]
_RESULT_COLS = (
    "site", "line", "node", "boot_id", "seq", "item_id", "ts", "frame",
    "bbox_x", "bbox_y", "bbox_w", "bbox_h", "score", "decision", "defect", "latency_ms",
    "rejected", "missed_reject", "historical", "model", "received_ts",
)


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not be used, kept with the reason for a person to look at."""

    topic: str
    reason: str
    raw: bytes
    received_ts: float


@dataclass(frozen=True)
class ResultRows:
    """A results batch flattened to table rows (``_RESULT_COLS`` order), ready to insert.

    Made from a validated ``ResultsBatch``; plain tuples so it pickles cheaply from a
    parsing worker process to the writer.
    """

    site: str
    line: str
    node: str
    boot_id: str
    seqs: list[int]
    rows: list[tuple[Any, ...]]

    @classmethod
    def from_batch(cls, batch: ResultsBatch, received: float) -> ResultRows:
        head = (batch.site, batch.line, batch.node, batch.boot_id)
        tail = (batch.historical, batch.model, received)
        rows = [
            (*head, r.seq, r.item_id, r.ts, r.frame, *r.bbox, r.score, r.decision, r.defect,
             r.latency_ms, r.rejected, r.missed_reject, *tail)
            for r in batch.results
        ]
        return cls(batch.site, batch.line, batch.node, batch.boot_id,
                   [r.seq for r in batch.results], rows)


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

    def __len__(self) -> int:
        return (
            len(self.results)
            + len(self.statuses)
            + len(self.metrics)
            + len(self.thumbnails)
            + len(self.dead_letters)
        )


def frame(conn: Connection, stmt: Any) -> pd.DataFrame:
    """Run ``stmt`` and return its rows as a DataFrame with the statement's column names."""
    res = conn.execute(stmt)
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


class ResultsMixin(StoreBase):
    """Writers used by ingest and readers used by the dashboard and planning."""

    thumbnails_per_node = 50

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ranges: dict[Key, SeqRanges] = {}
        self._write_lock = threading.Lock()

    # --- writing -----------------------------------------------------------------------------
    def write_batches(self, batches: list[tuple[ResultsBatch, float]]) -> dict[Key, int]:
        """Store results batches (received times attached); return acked seq per (node, boot)."""
        return self.write_ingest(IngestBatch(results=list(batches)))

    def write_ingest(self, batch: IngestBatch) -> dict[Key, int]:
        """Commit one writer cycle in one transaction; acks are valid only once this returns."""
        with self._write_lock, self.engine.begin() as conn:
            pending, batch.stored = self._write_results(conn, batch.results)
            self._write_presence(conn, batch)
            self._write_metrics(conn, batch.metrics)
            self._write_thumbnails(conn, batch.thumbnails)
            self._write_dead_letters(conn, batch.dead_letters)
        self._ranges.update(pending)  # only after the commit succeeded
        return {key: ranges.contiguous for key, ranges in pending.items()}

    def _load_ranges(self, conn: Connection, key: Key) -> SeqRanges:
        found = self._ranges.get(key)
        if found is None:
            rows = conn.execute(
                select(t.seq_ranges.c.first_seq, t.seq_ranges.c.last_seq).where(
                    t.seq_ranges.c.node == key[0], t.seq_ranges.c.boot_id == key[1]
                )
            ).all()
            found = SeqRanges((int(a), int(b)) for a, b in rows)
        return found

    def _write_results(
        self, conn: Connection, batches: list[tuple[ResultsBatch | ResultRows, float]]
    ) -> tuple[dict[Key, SeqRanges], int]:
        pending: dict[Key, SeqRanges] = {}
        rows: list[tuple[Any, ...]] = []
        for batch, received in batches:
            prepared = (batch if isinstance(batch, ResultRows)
                        else ResultRows.from_batch(batch, received))
            key = (prepared.node, prepared.boot_id)
            ranges = pending.get(key)
            if ranges is None:
                ranges = pending[key] = self._load_ranges(conn, key).copy()
            fresh = ranges.new_only(prepared.seqs)
            if not fresh:
                continue
            ranges.add(fresh)
            if len(fresh) == len(prepared.rows):
                rows.extend(prepared.rows)
            else:
                keep = set(fresh)
                for seq, row in zip(prepared.seqs, prepared.rows, strict=True):
                    if seq in keep:
                        keep.discard(seq)
                        rows.append(row)
        self.insert_ignore_tuples(conn, t.results, _RESULT_COLS, rows)
        for (node, boot_id), ranges in pending.items():
            cached = self._ranges.get((node, boot_id))
            if not ranges.ranges or (cached is not None and ranges.ranges == cached.ranges):
                continue
            conn.execute(
                delete(t.seq_ranges).where(
                    t.seq_ranges.c.node == node, t.seq_ranges.c.boot_id == boot_id
                )
            )
            conn.execute(
                t.seq_ranges.insert(),
                [
                    {"node": node, "boot_id": boot_id, "first_seq": a, "last_seq": b}
                    for a, b in ranges.ranges
                ],
            )
        return pending, len(rows)

    def _write_presence(self, conn: Connection, batch: IngestBatch) -> None:
        seen: dict[str, dict[str, Any]] = {}
        heard: list[tuple[Any, float]] = [*batch.results, *batch.metrics, *batch.thumbnails]
        for payload, received in heard:
            seen[payload.node] = {
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
        self.upsert(conn, t.nodes, list(seen.values()), ["node"], ["site", "line", "last_seen"])
        status: dict[str, dict[str, Any]] = {}
        for st, received in batch.statuses:
            status[st.node] = {
                "node": st.node,
                "site": st.site,
                "line": st.line,
                "state": st.state,
                "boot_id": st.boot_id,
                "model": st.model,
                "config_digest": st.config_digest,
                "status_ts": st.ts or received,
                "last_seen": received,
            }
        online = [row for row in status.values() if row["state"] == "online"]
        offline = [row for row in status.values() if row["state"] == "offline"]
        self.upsert(conn, t.nodes, online, ["node"])
        self.upsert(conn, t.nodes, offline, ["node"], ["site", "line", "state", "status_ts"])

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
        for node in {th.node for th, _ in items}:
            newest = (
                select(t.thumbnails.c.id)
                .where(t.thumbnails.c.node == node)
                .order_by(t.thumbnails.c.id.desc())
                .limit(keep)
                .scalar_subquery()
            )
            cutoff = select(func.min(t.thumbnails.c.id)).where(t.thumbnails.c.id.in_(newest))
            conn.execute(
                delete(t.thumbnails).where(
                    t.thumbnails.c.node == node, t.thumbnails.c.id < cutoff.scalar_subquery()
                )
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

    def add_dead_letter(self, topic: str, reason: str, raw: bytes, received_ts: float) -> None:
        """Record one unusable message on its own (outside an ingest cycle)."""
        with self.engine.begin() as conn:
            self._write_dead_letters(conn, [DeadLetter(topic, reason, raw, received_ts)])

    # --- reading -----------------------------------------------------------------------------
    def results(
        self, since: float | None = None, line: str | None = None, limit: int = 10_000
    ) -> pd.DataFrame:
        """Item results ordered by time: from ``since`` on, or else the newest ``limit``."""
        r = t.results
        stmt = select(r)
        if line is not None:
            stmt = stmt.where(r.c.line == line)
        if since is not None:
            stmt = stmt.where(r.c.ts >= since).order_by(r.c.ts, r.c.node, r.c.seq).limit(limit)
        else:
            stmt = stmt.order_by(r.c.ts.desc(), r.c.node, r.c.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            df = frame(conn, stmt)
        if since is None:
            df = df.iloc[::-1].reset_index(drop=True)
        for col in ("rejected", "missed_reject", "historical"):
            df[col] = df[col].astype(bool)
        return df

    def count_results(self) -> int:
        """How many item results are stored in all."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.results)).scalar() or 0)

    def line_summary(self, window_s: float = 60, now: float | None = None) -> pd.DataFrame:
        """Per node over the last ``window_s``: presence, throughput, rejects, latency, backlog."""
        now = time.time() if now is None else now
        r = t.results
        agg = (
            select(
                r.c.node,
                func.count().label("items"),
                func.sum(case((r.c.decision == "reject", 1), else_=0)).label("rejects"),
                func.sum(case((r.c.decision == "uncertain", 1), else_=0)).label("uncertain"),
                func.sum(case((r.c.missed_reject, 1), else_=0)).label("missed_rejects"),
            )
            .where(r.c.ts >= now - window_s)
            .group_by(r.c.node)
        )
        m = t.metrics
        latest = select(m.c.node, func.max(m.c.id).label("id")).group_by(m.c.node).subquery()
        met = select(m.c.node, m.c.latency_p99_ms, m.c.outbox_backlog).join(
            latest, and_(m.c.id == latest.c.id)
        )
        n = t.nodes
        with self.engine.connect() as conn:
            nodes = frame(conn, select(n.c.site, n.c.line, n.c.node, n.c.state, n.c.last_seen))
            counts = frame(conn, agg)
            mets = frame(conn, met)
        cols = ["site", "line", "node", "state", "last_seen", "items", "items_per_min"]
        cols += ["rejects", "reject_rate", "uncertain", "missed_rejects"]
        cols += ["latency_p99_ms", "outbox_backlog"]
        df = nodes.merge(counts, on="node", how="left").merge(mets, on="node", how="left")
        for col in ("items", "rejects", "uncertain", "missed_rejects"):
            df[col] = pd.to_numeric(df[col]).fillna(0).astype("int64")
        df["items_per_min"] = df["items"] / (window_s / 60.0)
        df["reject_rate"] = (df["rejects"] / df["items"].where(df["items"] > 0)).astype(float)
        df["latency_p99_ms"] = pd.to_numeric(df["latency_p99_ms"]).astype(float)
        df["outbox_backlog"] = pd.to_numeric(df["outbox_backlog"]).astype(float)
        return df.reindex(columns=cols).sort_values(["line", "node"]).reset_index(drop=True)

    def rejects_by_defect(self, window_s: float = 3600, now: float | None = None) -> pd.DataFrame:
        """Rejected items per line and defect over the last ``window_s``."""
        now = time.time() if now is None else now
        r = t.results
        defect = func.coalesce(r.c.defect, "unknown").label("defect")
        stmt = (
            select(r.c.line, defect, func.count().label("rejects"))
            .where(r.c.ts >= now - window_s, r.c.decision == "reject")
            .group_by(r.c.line, defect)
            .order_by(r.c.line, func.count().desc())
        )
        with self.engine.connect() as conn:
            df = frame(conn, stmt)
        return df.astype({"rejects": "int64"}) if len(df) else df

    def recent_thumbnails(self, limit: int = 24) -> pd.DataFrame:
        """The newest reject thumbnails over all nodes (base64 JPEG in ``jpeg_b64``)."""
        th = t.thumbnails
        stmt = select(th).order_by(th.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return frame(conn, stmt)

    def reject_rate(self, line: str | None = None, days: int = 7) -> float | None:
        """Share of items rejected over the last ``days`` (one line or all); None if no items."""
        r = t.results
        stmt = select(
            func.count(), func.sum(case((r.c.decision == "reject", 1), else_=0))
        ).where(r.c.ts >= time.time() - days * 86400.0)
        if line is not None:
            stmt = stmt.where(r.c.line == line)
        with self.engine.connect() as conn:
            items, rejects = conn.execute(stmt).one()
        return None if not items else float(rejects or 0) / float(items)

    def dead_letters(self, limit: int = 100) -> pd.DataFrame:
        """The newest dead letters: topic, reason, received_ts, size, raw (truncated bytes)."""
        d = t.dead_letters
        with self.engine.connect() as conn:
            return frame(conn, select(d).order_by(d.c.id.desc()).limit(limit))

    def node_status(self) -> pd.DataFrame:
        """Every node seen: site, line, state, boot_id, model, config_digest, last_seen."""
        with self.engine.connect() as conn:
            return frame(conn, select(t.nodes).order_by(t.nodes.c.line, t.nodes.c.node))

    def metrics_history(self, node: str | None = None, since: float | None = None) -> pd.DataFrame:
        """Node metrics as a time series."""
        m = t.metrics
        stmt = select(m).order_by(m.c.ts)
        if node is not None:
            stmt = stmt.where(m.c.node == node)
        if since is not None:
            stmt = stmt.where(m.c.ts >= since)
        with self.engine.connect() as conn:
            return frame(conn, stmt)

    def gaps(self) -> pd.DataFrame:
        """Missing sequence ranges per (node, boot_id): first_missing, last_missing, missing."""
        s = t.seq_ranges
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(s.c.node, s.c.boot_id, s.c.first_seq, s.c.last_seq).order_by(
                    s.c.node, s.c.boot_id, s.c.first_seq
                )
            ).all()
        by_key: dict[Key, list[tuple[int, int]]] = {}
        for node, boot, a, b in rows:
            by_key.setdefault((node, boot), []).append((int(a), int(b)))
        out = [
            {"node": node, "boot_id": boot, "first_missing": a, "last_missing": b,
             "missing": b - a + 1}
            for (node, boot), ranges in by_key.items()
            for a, b in SeqRanges(ranges).gaps()
        ]
        cols = ["node", "boot_id", "first_missing", "last_missing", "missing"]
        return pd.DataFrame(out, columns=cols)

    def acked_seq(self, node: str, boot_id: str) -> int:
        """The highest contiguous sequence stored for (node, boot_id); 0 if none."""
        with self.engine.connect() as conn:
            return self._load_ranges(conn, (node, boot_id)).contiguous
