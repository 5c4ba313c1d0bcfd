"""The fault-injecting proxy itself: forwarding, partition, half-open and slow link."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from .proxy import FaultProxy

pytestmark = pytest.mark.faults


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A loopback TCP echo server."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield int(server.getsockname()[1])
    server.close()


@pytest.fixture
def proxy(echo_port: int) -> Iterator[FaultProxy]:
    with FaultProxy(echo_port) as fault_proxy:
        yield fault_proxy


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.settimeout(2)
    return sock


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def test_forwards_both_ways(proxy: FaultProxy) -> None:
    with _connect(proxy.port) as sock:
        sock.sendall(b"hello" * 1000)
        assert _recv_exactly(sock, 5000) == b"hello" * 1000
        assert proxy.connections == 1
    deadline = time.monotonic() + 2
    while proxy.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.connections == 0


def test_partition_cuts_and_refuses_then_heals(proxy: FaultProxy) -> None:
    sock = _connect(proxy.port)
    sock.sendall(b"x")
    assert _recv_exactly(sock, 1) == b"x"
    proxy.partition()
    with pytest.raises(OSError):  # reset by peer, or the next send fails
        for _ in range(50):
            if sock.recv(1) == b"":
                raise ConnectionResetError("closed")
            sock.sendall(b"y")
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
    proxy.heal()
    with _connect(proxy.port) as again:
        again.sendall(b"z")
        assert _recv_exactly(again, 1) == b"z"
    assert proxy.stats["accepted"] == 2


def test_blackhole_keeps_socket_open_and_drops_bytes(proxy: FaultProxy) -> None:
    with _connect(proxy.port) as sock:
        proxy.blackhole()
        sock.sendall(b"lost")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # nothing comes back, and nothing says the link is gone
        assert proxy.stats["dropped"] >= 4
        proxy.heal()
        sock.settimeout(2)
        sock.sendall(b"kept")
        assert _recv_exactly(sock, 4) == b"kept"


def test_blackhole_accepts_new_connects_that_go_nowhere(proxy: FaultProxy) -> None:
    proxy.blackhole()
    with _connect(proxy.port) as sock:
        sock.sendall(b"connect packet")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_latency_delays_every_chunk(proxy: FaultProxy) -> None:
    proxy.shape(latency_s=0.2)
    with _connect(proxy.port) as sock:
        began = time.monotonic()
        sock.sendall(b"ping")
        assert _recv_exactly(sock, 4) == b"ping"
        assert time.monotonic() - began >= 0.4  # once each way


def test_bandwidth_limits_throughput(proxy: FaultProxy) -> None:
    proxy.shape(bandwidth_bps=200_000)
    payload = bytes(100_000)
    with _connect(proxy.port) as sock:
        began = time.monotonic()
        sock.sendall(payload)
        assert _recv_exactly(sock, len(payload)) == payload
        assert time.monotonic() - began >= 0.45  # 100 kB at 200 kB/s, each way pipelined
    proxy.shape()
    assert proxy.shaping.bandwidth_bps is None


def test_shape_rejects_nonsense(proxy: FaultProxy) -> None:
    with pytest.raises(ValueError):
        proxy.shape(bandwidth_bps=0)
    with pytest.raises(ValueError):
        proxy.shape(latency_s=-1)


def test_upstream_down_refuses_client(echo_port: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = int(probe.getsockname()[1])
    with FaultProxy(dead_port) as proxy:
        # reset while connecting, or closed at once
        with contextlib.suppress(OSError), _connect(proxy.port) as sock:
            assert sock.recv(1) == b""
        deadline = time.monotonic() + 2
        while proxy.stats["refused"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proxy.stats["refused"] == 1
        assert proxy.connections == 0


def test_records_when_bytes_last_went_each_way(proxy: FaultProxy) -> None:
    with _connect(proxy.port) as sock:
        before = time.monotonic()
        sock.sendall(b"abc")
        assert _recv_exactly(sock, 3) == b"abc"
        assert proxy.last_forward["up"] >= before
        assert proxy.last_forward["down"] >= proxy.last_forward["up"]


def test_slow_link_pushes_back_on_the_sender(proxy: FaultProxy) -> None:
    proxy.shape(bandwidth_bps=50_000)
    with _connect(proxy.port) as sock:
        sock.setblocking(False)
        pushed = 0
        began = time.monotonic()
        with contextlib.suppress(BlockingIOError):
            while time.monotonic() - began < 1.0:
                pushed += sock.send(bytes(65536))
        # kernel buffers + the proxy's bounded queue, not an unbounded backlog
        assert pushed < 20_000_000
