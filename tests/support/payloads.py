"""Builders of what travels in the tests: item-result drafts and wire payloads.

:func:`draft` is one item result as the node's pipeline hands it to the outbox (every field of
:class:`~peakline.wire.ItemResult` but ``seq``, which the outbox gives). :func:`items`,
:func:`batch`, :func:`status`, :func:`metrics` and :func:`thumb` build the payloads a node
sends; values that a test does not name are plausible and fixed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from peakline import wire

__all__ = ["SITE", "batch", "draft", "items", "metrics", "status", "thumb"]

SITE = "s1"


def draft(i: int, decision: str = "pass", *, ts: float | None = None,
          defect: str | None = "crack") -> dict[str, Any]:
    """Item ``i`` (its tracker id and frame); a reject scores high and names ``defect``."""
    reject = decision == "reject"
    return {
        "item_id": i, "ts": time.time() if ts is None else ts, "frame": i,
        "bbox": (10, 20, 150, 160), "score": 0.9 if reject else 0.1, "decision": decision,
        "defect": defect if reject else None, "latency_ms": 7.5, "rejected": reject,
        "missed_reject": False,
    }


def items(seqs: Iterable[int], *, ts: float | None = None, reject_every: int = 0,
          defect: str = "crack") -> list[wire.ItemResult]:
    """Item results with the given sequence numbers (every ``reject_every``-th rejected)."""
    now = time.time() if ts is None else ts
    return [
        wire.ItemResult(seq=seq, **draft(
            seq, "reject" if reject_every and seq % reject_every == 0 else "pass",
            ts=now, defect=defect))
        for seq in seqs
    ]


def batch(seqs: Iterable[int], *, node: str = "n1", line: str = "L1", boot: str = "boot-a",
          site: str = SITE, model: str = "m/1", historical: bool = False,
          **kw: Any) -> wire.ResultsBatch:
    """A ResultsBatch of ``seqs`` from ``site/line/node`` (``kw`` goes to :func:`items`)."""
    return wire.ResultsBatch(site=site, line=line, node=node, boot_id=boot, model=model,
                             historical=historical, sent_at=time.time(),
                             results=items(seqs, **kw))


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
