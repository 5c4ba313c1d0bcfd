"""Builders of wire payloads for the plant tests (results batches, status, metrics)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from peakline import wire

SITE = "s1"


def items(seqs: Iterable[int], *, ts: float | None = None, reject_every: int = 0,
          defect: str = "crack") -> list[wire.ItemResult]:
    """Item results with the given sequence numbers (every ``reject_every``-th rejected)."""
    now = time.time() if ts is None else ts
    out = []
    for seq in seqs:
        rej = bool(reject_every) and seq % reject_every == 0
        out.append(wire.ItemResult(
            seq=seq, item_id=seq, ts=now, frame=seq, bbox=(10, 20, 150, 160),
            score=0.9 if rej else 0.1, decision="reject" if rej else "pass",
            defect=defect if rej else None, latency_ms=7.5, rejected=rej))
    return out


def batch(seqs: Iterable[int], *, node: str = "n1", line: str = "L1", boot: str = "boot-a",
          site: str = SITE, **kw: object) -> wire.ResultsBatch:
    """A ResultsBatch of ``seqs`` from ``site/line/node``."""
    return wire.ResultsBatch(site=site, line=line, node=node, boot_id=boot, model="m/1",
                             sent_at=time.time(), results=items(seqs, **kw))  # type: ignore[arg-type]


def status(state: str, *, node: str = "n1", line: str = "L1", site: str = SITE) -> wire.NodeStatus:
    return wire.NodeStatus(site=site, line=line, node=node, state=state,  # type: ignore[arg-type]
                           boot_id="boot-a", model="m/1", config_digest="abc", ts=time.time())


def metrics(*, node: str = "n1", line: str = "L1", site: str = SITE, p99: float = 12.0,
            backlog: int = 3) -> wire.NodeMetrics:
    return wire.NodeMetrics(site=site, line=line, node=node, boot_id="boot-a", ts=time.time(),
                            window_s=10, items=100, rejects_by_defect={"crack": 2},
                            latency_p99_ms=p99, outbox_backlog=backlog)


def thumb(seq: int, *, node: str = "n1", line: str = "L1",
          site: str = SITE) -> wire.RejectThumbnail:
    return wire.RejectThumbnail(site=site, line=line, node=node, boot_id="boot-a", seq=seq,
                                ts=time.time(), score=0.9, decision="reject", defect="crack",
                                jpeg_b64="/9j/AA==")
