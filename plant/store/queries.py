"""Reading the inspection side: results, line summaries, rejects, thumbnails, gaps.

What the dashboard and planning ask of the results the ingest writer stored: frames per
node and line over a time window, the measured reject rate (the yield input of production
planning), dead letters and the gaps in each node's sequence numbers.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, select

from plant.dedup import SeqRanges
from plant.store import schema as t
from plant.store.base import StoreBase, frame

__all__ = ["ResultsQueries"]

Key = tuple[str, str, str, str]  # site, line, node, boot_id
#: a node is its site, line and node name together, never the node name alone
_NODE = ["site", "line", "node"]


class ResultsQueries(StoreBase):
    """Readers of results, presence, metrics, thumbnails, dead letters and gaps."""

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
            stmt = stmt.where(r.c.ts >= since).order_by(
                r.c.ts, r.c.line, r.c.node, r.c.seq).limit(limit)
        else:
            stmt = stmt.order_by(r.c.ts.desc(), r.c.line, r.c.node, r.c.seq.desc()).limit(limit)
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
                r.c.site,
                r.c.line,
                r.c.node,
                func.count().label("items"),
                func.sum(case((r.c.decision == "reject", 1), else_=0)).label("rejects"),
                func.sum(case((r.c.decision == "uncertain", 1), else_=0)).label("uncertain"),
                func.sum(case((r.c.missed_reject, 1), else_=0)).label("missed_rejects"),
            )
            .where(r.c.ts >= now - window_s)
            .group_by(r.c.site, r.c.line, r.c.node)
        )
        m = t.metrics
        latest = (select(func.max(m.c.id).label("id"))
                  .group_by(m.c.site, m.c.line, m.c.node).subquery())
        met = select(
            m.c.site, m.c.line, m.c.node, m.c.latency_p99_ms, m.c.outbox_backlog,
            m.c.estimated_frr, m.c.frr_band, m.c.drift_alert,
        ).join(latest, and_(m.c.id == latest.c.id))
        n = t.nodes
        with self.engine.connect() as conn:
            nodes = frame(conn, select(n.c.site, n.c.line, n.c.node, n.c.state, n.c.last_seen,
                                       n.c.fault, n.c.last_command))
            counts = frame(conn, agg)
            mets = frame(conn, met)
        cols = ["site", "line", "node", "state", "fault", "last_command", "last_seen", "items",
                "items_per_min"]
        cols += ["rejects", "reject_rate", "uncertain", "missed_rejects"]
        cols += ["latency_p99_ms", "outbox_backlog", "estimated_frr", "frr_band", "drift_alert"]
        df = nodes.merge(counts, on=_NODE, how="left").merge(mets, on=_NODE, how="left")
        for col in ("items", "rejects", "uncertain", "missed_rejects"):
            df[col] = pd.to_numeric(df[col]).fillna(0).astype("int64")
        df["items_per_min"] = df["items"] / (window_s / 60.0)
        df["reject_rate"] = (df["rejects"] / df["items"].where(df["items"] > 0)).astype(float)
        df["latency_p99_ms"] = pd.to_numeric(df["latency_p99_ms"]).astype(float)
        df["outbox_backlog"] = pd.to_numeric(df["outbox_backlog"]).astype(float)
        for col in ("estimated_frr", "frr_band"):
            df[col] = pd.to_numeric(df[col]).astype(float)
        df["drift_alert"] = [False if pd.isna(v) else bool(v) for v in df["drift_alert"]]
        return df.reindex(columns=cols).sort_values(_NODE).reset_index(drop=True)

    def rejects_by_defect(self, window_s: float = 3600, now: float | None = None) -> pd.DataFrame:
        """Rejected items per line, node and defect over the last ``window_s``."""
        now = time.time() if now is None else now
        r = t.results
        # a reject whose model names no defect class (a one-class anomaly model): "anomaly"
        defect = func.coalesce(r.c.defect, "anomaly").label("defect")
        stmt = (
            select(r.c.line, r.c.node, defect, func.count().label("rejects"))
            .where(r.c.ts >= now - window_s, r.c.decision == "reject")
            .group_by(r.c.line, r.c.node, defect)
            .order_by(r.c.line, r.c.node, func.count().desc())
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
            n = t.nodes
            return frame(conn, select(n).order_by(n.c.site, n.c.line, n.c.node))

    def metrics_history(self, node: str | None = None, since: float | None = None,
                        line: str | None = None) -> pd.DataFrame:
        """Node metrics as a time series (of one ``line``'s ``node`` when given)."""
        m = t.metrics
        stmt = select(m).order_by(m.c.ts)
        if node is not None:
            stmt = stmt.where(m.c.node == node)
        if line is not None:
            stmt = stmt.where(m.c.line == line)
        if since is not None:
            stmt = stmt.where(m.c.ts >= since)
        with self.engine.connect() as conn:
            return frame(conn, stmt)

    def gaps(self) -> pd.DataFrame:
        """Missing sequence ranges per node boot: site, line, node, boot_id, first_missing,
        last_missing, missing."""
        s = t.seq_ranges
        key = (s.c.site, s.c.line, s.c.node, s.c.boot_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*key, s.c.first_seq, s.c.last_seq).order_by(*key, s.c.first_seq)
            ).all()
        by_key: dict[Key, list[tuple[int, int]]] = {}
        for site, line, node, boot, a, b in rows:
            by_key.setdefault((site, line, node, boot), []).append((int(a), int(b)))
        out = [
            {"site": site, "line": line, "node": node, "boot_id": boot, "first_missing": a,
             "last_missing": b, "missing": b - a + 1}
            for (site, line, node, boot), ranges in by_key.items()
            for a, b in SeqRanges(ranges).gaps()
        ]
        cols = [*_NODE, "boot_id", "first_missing", "last_missing", "missing"]
        return pd.DataFrame(out, columns=cols)

    def throughput_history(
            self,
            since_s: float,
        step_s: float = 10.0,
        window_s: float = 60.0,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Items per minute per line/node over the last ``since_s``, one point every ``step_s``.

        Each point counts the items of the trailing ``window_s`` (as the live node cards do), so
        the chart and the cards agree. Points before a node's first item are left out.
        """
        now = time.time() if now is None else now
        r = t.results
        n = max(1, int(since_s // step_s))
        per_window = max(1, round(window_s / step_s))
        start = now - (n + per_window - 1) * step_s
        bucket = func.floor((r.c.ts - start) / step_s).label("bucket")
        stmt = (
            select(r.c.line, r.c.node, bucket, func.count().label("items"))
            .where(r.c.ts >= start, r.c.ts < now)
            .group_by(r.c.line, r.c.node, bucket)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        total = n + per_window - 1
        counts: dict[str, np.ndarray] = {}
        for line, node, b, items in rows:
            arr = counts.setdefault(f"{line}/{node}", np.zeros(total))
            if 0 <= int(b) < total:
                arr[int(b)] = float(items)
        scale = 60.0 / (per_window * step_s)
        series = {
            key: (np.convolve(arr, np.ones(per_window), "valid") * scale).round(1).tolist()
            for key, arr in counts.items()
        }
        ts = [now - (n - 1 - i) * step_s for i in range(n)]
        first = min((next((i for i, v in enumerate(a) if v), n) for a in series.values()),
                    default=n)
        first = max(0, min(first, n - 1) - 1)  # keep one empty point before the first item
        return {"ts": ts[first:], "nodes": {k: v[first:] for k, v in series.items()}}
