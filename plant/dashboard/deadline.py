"""A header deadline for the dashboard's HTTP connections (uvicorn has none).

A connection that has not sent a complete request's headers within ``seconds`` of opening,
or of starting its next request on a kept-alive connection, is closed: half-sent requests
(slowloris) cannot hold the dashboard's connection cap. It wraps the protocol uvicorn would
pick itself (httptools when installed, else h11); both set ``cycle`` once a request's headers
are complete, which is all the deadline looks at.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

__all__ = ["with_header_deadline"]

log = logging.getLogger(__name__)


class _HeaderDeadline:
    """Mixin over a uvicorn HTTP protocol; ``header_timeout_s`` is set by the subclass."""

    header_timeout_s: float
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._between_requests():
            self._arm()
        super().data_received(data)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)  # type: ignore[misc]

    def _between_requests(self) -> bool:
        cycle = getattr(self, "cycle", None)
        return cycle is None or bool(cycle.response_complete)

    def _arm(self) -> None:
        loop: asyncio.AbstractEventLoop = getattr(self, "loop")  # noqa: B009
        self._deadline = loop.call_later(self.header_timeout_s, self._expire,
                                         getattr(self, "cycle", None))

    def _expire(self, cycle_then: Any) -> None:
        self._deadline = None
        transport: asyncio.Transport = getattr(self, "transport")  # noqa: B009
        if transport.is_closing():
            return
        if getattr(self, "cycle", None) is cycle_then:  # no request's headers since
            log.debug("dashboard: headers not complete within %g s, closing",
                      self.header_timeout_s)
            transport.close()
        elif self._between_requests():  # a request came and went; watch the next one
            self._arm()


def with_header_deadline(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's own HTTP protocol class, closing connections whose headers are late."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadline, AutoHTTPProtocol),
                {"header_timeout_s": seconds})
