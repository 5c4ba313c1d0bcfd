"""Counters and bookkeeping of the node's MQTT link (used by :mod:`edge.publisher`).

:class:`LinkStats` counts what the link did (read by the metrics); a :class:`Flight` is one
results message waiting for the plant's acknowledgement; :func:`group_rows` splits outbox rows
into messages of one boot and one ``historical`` flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.outbox import OutboxRow

__all__ = ["Flight", "LinkStats", "group_rows"]


@dataclass
class LinkStats:
    """Counters of the MQTT link (read by metrics)."""

    connects: int = 0
    disconnects: int = 0
    batches: int = 0
    sent: int = 0
    resent: int = 0
    acked: int = 0
    denied: int = 0
    thumbnails: int = 0
    thumbnails_dropped: int = 0
    publish_s: float = 0.0


@dataclass
class Flight:
    """Results sent in one message and not yet acknowledged by the plant."""

    boot_id: str
    lo: int  # outbox ids
    hi: int
    last_seq: int
    n: int
    sent: float
    mids: set[int] = field(default_factory=set)
    resends: int = 0  # since the last (re)connect

    def resend_due(self, now: float, after_s: float) -> bool:
        """Unacknowledged for ``after_s``, doubling with each resend (at most 16x)."""
        return now - self.sent >= after_s * (1 << min(self.resends, 4))


def group_rows(rows: list[OutboxRow], boot_id: str, old_before: float) -> list[list[OutboxRow]]:
    """Split rows into runs of one boot, one model and one historical flag (one message each)."""
    out: list[list[OutboxRow]] = []
    key_prev: tuple[str, str, bool] | None = None
    for r in rows:
        key = (r.boot_id, r.model, r.boot_id != boot_id or r.created < old_before)
        if key != key_prev:
            out.append([])
            key_prev = key
        out[-1].append(r)
    return out
