"""Read-only queries the dashboard needs beyond the store's own readers.

Run on the store's SQLAlchemy engine against the store's own table definitions
(``plant.store.schema``); nothing here writes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

__all__ = ["throughput_history"]


def throughput_history(
    engine: Engine,
    since_s: float,
    step_s: float = 10.0,
    window_s: float = 60.0,
    now: float | None = None,
) -> dict[str, Any]:
    """Items per minute per line/node over the last ``since_s``, one point every ``step_s``.

    Each point counts the items of the trailing ``window_s`` (as the live node cards do), so
    the chart and the cards agree. Points before a node's first item are left out.
    """
    from plant.store import schema as t

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
    with engine.connect() as conn:
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
    first = min((next((i for i, v in enumerate(a) if v), n) for a in series.values()), default=n)
    first = max(0, min(first, n - 1) - 1)  # keep one empty point before the first item
    return {"ts": ts[first:], "nodes": {k: v[first:] for k, v in series.items()}}
