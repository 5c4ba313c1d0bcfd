"""Read-only queries the dashboard needs beyond the store's own readers.

Run on the store's SQLAlchemy engine against the store's own table definitions
(``plant.store.schema``); nothing here writes.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

__all__ = ["defects_by_node", "throughput_history"]


def defects_by_node(engine: Engine, window_s: float, now: float | None = None) -> pd.DataFrame:
    """Rejected items per (line, node, defect) over the last ``window_s`` seconds."""
    from plant.store import schema as t

    now = time.time() if now is None else now
    r = t.results
    defect = func.coalesce(r.c.defect, "unspecified").label("defect")
    stmt = (
        select(r.c.line, r.c.node, defect, func.count().label("rejects"))
        .where(r.c.ts >= now - window_s, r.c.decision == "reject")
        .group_by(r.c.line, r.c.node, defect)
    )
    with engine.connect() as conn:
        res = conn.execute(stmt)
        return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def throughput_history(
    engine: Engine, since_s: float, bucket_s: float = 10.0, now: float | None = None
) -> dict[str, Any]:
    """Items per minute per line/node in ``bucket_s`` buckets over the last ``since_s``.

    Seeds the live throughput chart so a screen that opens mid-shift sees the last quarter
    hour at once instead of an empty chart; buckets before the first item are left out.
    """
    from plant.store import schema as t

    now = time.time() if now is None else now
    r = t.results
    start = now - since_s
    bucket = func.floor((r.c.ts - start) / bucket_s).label("bucket")
    stmt = (
        select(r.c.line, r.c.node, bucket, func.count().label("items"))
        .where(r.c.ts >= start, r.c.ts < now)
        .group_by(r.c.line, r.c.node, bucket)
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    n = max(1, int(since_s // bucket_s))
    ts = [start + (i + 1) * bucket_s for i in range(n)]
    series: dict[str, list[float | None]] = {}
    for line, node, b, items in rows:
        key = f"{line}/{node}"
        arr = series.setdefault(key, [0.0] * n)
        idx = int(b)
        if 0 <= idx < n:
            arr[idx] = float(items) * 60.0 / bucket_s
    first = min((next((i for i, v in enumerate(a) if v), n) for a in series.values()), default=n)
    first = max(0, min(first, n - 1) - 1)  # keep one empty bucket before the first item
    return {"ts": ts[first:], "nodes": {k: v[first:] for k, v in series.items()}}
