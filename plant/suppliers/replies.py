"""Supplier replies in: validate a reply message against its topic and the master data, store it.

A reply on ``peakline/v1/<site>/suppliers/<supplier>/reply`` must name that site and supplier
in its payload; an unknown supplier, an item the supplier does not deliver or a feed version
never sent raises ``DataError`` and nothing of the message is stored (the ingest writer
dead-letters it with that reason). The next plan uses the stored answers
(:mod:`plant.suppliers.split`).
"""

from __future__ import annotations

from typing import Any

from peakline.wire import WireError, parse_payload
from peakline.wire.suppliers import SupplierReply

__all__ = ["apply_reply"]


def apply_reply(store: Any, site: str, supplier: str, raw: bytes) -> int:
    """Validate and store one reply of ``supplier`` (from its topic); returns the lines stored."""
    reply: Any = parse_payload(raw, SupplierReply)
    if (reply.site, reply.supplier) != (site, supplier):
        raise WireError(f"reply names {reply.site}/{reply.supplier} but was sent on the topic "
                        f"of {site}/{supplier}")
    n: int = store.save_reply(reply)
    return n
