"""A small fault-injecting TCP proxy on 127.0.0.1, put between an edge and the broker.

The fault suite points an edge at ``proxy.port`` instead of the broker and then breaks the
link on purpose:

``partition()``
    Cut every open connection (both sides see the socket close) and refuse new connects
    until ``heal()``: a cable pulled at a router that answers with resets.
``blackhole()``
    Keep every socket open but silently drop the bytes in both directions, and accept new
    connects whose bytes are dropped too: a half-open connection that only keep-alives find.
``shape(bandwidth_bps, latency_s)``
    A slow link: each chunk is delivered ``latency_s`` after it was read, and no direction
    carries more than ``bandwidth_bps`` bytes a second.
``heal()``
    Back to plain forwarding (shaping stays until ``shape()`` is called with no limits).

Each accepted connection gets a reader and a writer thread per direction, so latency does
not cut throughput; at most ~128 kB wait in the proxy per direction, so a slow link pushes
back on the sender as a real one does. ``last_forward`` records when the last byte went
each way (the Last Will measurement starts there). Everything stays on loopback.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Literal

__all__ = ["FaultProxy", "Mode"]

Mode = Literal["pass", "refuse", "blackhole"]
_CHUNK = 16384
_QUEUED_CHUNKS = 8  # at most ~128 kB in flight per direction: a slow link pushes back
_HOST = "127.0.0.1"


@dataclass
class _Shaping:
    bandwidth_bps: float | None = None
    latency_s: float = 0.0


class _Pipe:
    """One direction of one connection: a reader thread feeding a delayed writer thread."""

    def __init__(
        self, proxy: FaultProxy, src: socket.socket, dst: socket.socket, conn: _Conn
    ) -> None:
        self.proxy, self.src, self.dst, self.conn = proxy, src, dst, conn
        self.direction = "up" if src is conn.client else "down"
        self.queue: queue.Queue[tuple[float, bytes] | None] = queue.Queue(_QUEUED_CHUNKS)
        self.done = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.writer = threading.Thread(target=self._write, daemon=True)

    def start(self) -> None:
        self.reader.start()
        self.writer.start()

    def _read(self) -> None:
        try:
            while True:
                data = self.src.recv(_CHUNK)
                if not data:
                    break
                if self.proxy.mode == "blackhole":
                    self.proxy._count("dropped", len(data))
                    continue
                if not self._put((time.monotonic() + self.proxy.shaping.latency_s, data)):
                    return
        except OSError:
            pass
        self._put(None)

    def _put(self, item: tuple[float, bytes] | None) -> bool:
        """Queue for the writer, waiting while the link is full; False once the writer quit."""
        while not self.done:
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _write(self) -> None:
        try:
            while True:
                item = self.queue.get()
                if item is None:
                    break
                due, data = item
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if self.proxy.mode == "blackhole":
                    self.proxy._count("dropped", len(data))
                    continue
                self._send_shaped(data)
        except OSError:
            pass
        # The source closed or failed: pass the close on (half-close, then full close).
        self.done = True
        with contextlib.suppress(OSError):
            self.dst.shutdown(socket.SHUT_WR)
        self.conn.pipe_done()

    def _send_shaped(self, data: bytes) -> None:
        bandwidth = self.proxy.shaping.bandwidth_bps
        if not bandwidth:
            self.proxy._forwarded(self.direction, len(data))
            self.dst.sendall(data)
            return
        step = max(1, int(bandwidth / 20))  # ~50 ms slices keep the rate smooth
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            began = time.monotonic()
            self.proxy._forwarded(self.direction, len(piece))
            self.dst.sendall(piece)
            spare = len(piece) / bandwidth - (time.monotonic() - began)
            if spare > 0:
                time.sleep(spare)


class _Conn:
    """A client socket and its upstream socket; closed and forgotten when both pipes end."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self._open = 2
        self._lock = threading.Lock()

    def start(self) -> None:
        _Pipe(self.proxy, self.client, self.upstream, self).start()
        _Pipe(self.proxy, self.upstream, self.client, self).start()

    def pipe_done(self) -> None:
        with self._lock:
            self._open -= 1
            last = self._open == 0
        if last:
            self.abort()
            self.proxy._forget(self)

    def abort(self) -> None:
        _abort(self.client)
        _abort(self.upstream)


class FaultProxy:
    """Forward ``127.0.0.1:port`` to ``127.0.0.1:upstream_port``, with faults on demand."""

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.mode: Mode = "pass"
        self.shaping = _Shaping()
        self.stats = {"accepted": 0, "refused": 0, "forwarded": 0, "dropped": 0}
        #: monotonic time of the last byte forwarded "up" (client -> upstream) and "down"
        self.last_forward = {"up": 0.0, "down": 0.0}
        self._lock = threading.Lock()
        self._conns: list[_Conn] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.port = port
        self._listen()

    # -- control -------------------------------------------------------------------------

    def partition(self) -> None:
        """Reset every open connection and refuse new connects until ``heal()``."""
        self.mode = "refuse"
        self._stop_listening()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.abort()

    def blackhole(self) -> None:
        """Keep sockets open but drop every byte (a half-open link); new connects too."""
        self.mode = "blackhole"

    def shape(self, bandwidth_bps: float | None = None, latency_s: float = 0.0) -> None:
        """Limit each direction to ``bandwidth_bps`` and delay each chunk by ``latency_s``."""
        if bandwidth_bps is not None and bandwidth_bps <= 0:
            raise ValueError("bandwidth_bps must be positive (use partition() for zero)")
        if latency_s < 0:
            raise ValueError("latency_s must not be negative")
        self.shaping = _Shaping(bandwidth_bps, latency_s)

    def heal(self) -> None:
        """Forward again; with a partition, connects are accepted again on the same port."""
        if self.mode == "refuse":
            self._listen()
        self.mode = "pass"

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._closed = True
        self.partition()

    @property
    def connections(self) -> int:
        """Connections currently open through the proxy."""
        with self._lock:
            return len(self._conns)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def _forwarded(self, direction: str, n: int) -> None:
        with self._lock:
            self.stats["forwarded"] += n
            self.last_forward[direction] = time.monotonic()

    def _forget(self, conn: _Conn) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._conns.remove(conn)

    def _listen(self) -> None:
        if self._closed:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((_HOST, self.port))
        sock.listen(128)
        self.port = int(sock.getsockname()[1])
        self._listener = sock
        self._thread = threading.Thread(target=self._accept, args=(sock,), daemon=True)
        self._thread.start()

    def _stop_listening(self) -> None:
        sock, self._listener = self._listener, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                self._count("refused")
                _abort(client)
                continue
            try:
                upstream = socket.create_connection((_HOST, self.upstream_port), timeout=5)
            except OSError:
                self._count("refused")
                _abort(client)
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(self, client, upstream)
            with self._lock:
                self._conns.append(conn)
                self.stats["accepted"] += 1
            conn.start()


def _abort(sock: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0) so the peer notices at once."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
