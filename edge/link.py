"""Settings, counters and bookkeeping of the node's MQTT link (used by :mod:`edge.publisher`).

:class:`LinkSettings` says who the node is and how it talks to the broker; :class:`LinkStats`
counts what the link did (read by the metrics); a :class:`Flight` is one results message
waiting for the plant's acknowledgement; :func:`group_rows` splits outbox rows into messages
of one boot and one ``historical`` flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from edge.outbox import OutboxRow

__all__ = ["Flight", "LinkSettings", "LinkStats", "group_rows"]


@dataclass(frozen=True)
class LinkSettings:
    """Who the node is and how it talks to the broker (from the node config)."""

    site: str
    line: str
    node: str
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str | None = None
    username: str | None = None
    password: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive_s: int = 15
    session_expiry_s: int = 86_400
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    batch_interval_ms: float = 100.0
    batch_max: int = 500
    max_unacked: int = 20_000
    resend_after_s: float = 10.0
    historical_after_s: float = 5.0
    require_plant_online: bool = True
    metrics_interval_s: float = 10.0
    thumbnails_per_min: float = 30.0


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
    """Split rows into runs of one boot and one historical flag (one message each)."""
    out: list[list[OutboxRow]] = []
    key_prev: tuple[str, bool] | None = None
    for r in rows:
        key = (r.boot_id, r.boot_id != boot_id or r.created < old_before)
        if key != key_prev:
            out.append([])
            key_prev = key
        out[-1].append(r)
    return out
