"""A real MQTT client for the tests: what it received, and what the broker answered.

:class:`Recorder` connects one paho client (MQTT 5, or 3.1.1; a username and password; TLS with
an optional client certificate; a retained Last Will) to a broker on loopback, subscribes to its
topics at every (re)connect and keeps every message it receives. It keeps the broker's answers
too: the CONNACK (a refused client is returned, not raised, so a test can assert on it) and
the reason code of every PUBACK and SUBACK. :class:`Acker` is a recorder with a behaviour: it
plays the plant for the edge's tests and acknowledges the results it "stored".
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from peakline.mqtt import close_client
from peakline.wire import (
    ItemResult,
    NodeLeaf,
    PlantAck,
    PlantStatus,
    ResultsBatch,
    Topics,
    dump_payload,
    parse_payload,
)

from .waiting import wait_until

__all__ = ["Acker", "Message", "Recorder"]


def open_sockets() -> set[str]:
    """The sockets this process holds open (their ``socket:[inode]`` names, from /proc)."""
    names = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:  # closed while listed
            continue
        if str(target).startswith("socket:"):
            names.add(str(target))
    return names


class Message(NamedTuple):
    """One message as the recorder received it."""

    topic: str
    payload: bytes
    retain: bool
    ts: float  # wall-clock time of arrival
    properties: Any  # the MQTT 5 properties (None under 3.1.1)


def _close_leaked_sockets(exc: BaseException) -> None:
    """paho 2.2 leaves the TLS socket open when the handshake fails; close it (found here: a
    client retrying against the wrong CA would leak one descriptor per attempt)."""
    tb = exc.__traceback__
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, socket.socket):
                value.close()
        tb = tb.tb_next


class Recorder:
    """One connected (or refused) paho client that records what it receives.

    It waits up to ``timeout`` for the CONNACK (or for the broker to close the connection);
    when the broker accepted, it waits for the SUBACK of ``topics`` as well. A refused client
    is closed and returned (see :attr:`accepted`), unless it was asked to subscribe: then that
    is an AssertionError. ``on_message`` is called (on paho's thread) with every message.
    """

    def __init__(
        self,
        port: int,
        topics: Iterable[str] = (),
        *,
        username: str | None = None,
        password: str | None = None,
        ca: Path | None = None,
        client_cert: tuple[Path, Path] | None = None,
        protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTv5,
        client_id: str | None = None,
        clean_session: bool | None = None,
        keepalive: int = 10,
        will: tuple[str, bytes] | None = None,
        reconnect_max_s: int = 2,
        keep_messages: bool = True,
        on_message: Callable[[Message], None] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.subscriptions = list(topics)
        self._hook = on_message
        self.messages: list[Message] = []
        self.connack: ReasonCode | None = None
        self.session_present: bool | None = None
        self.puback: dict[int, ReasonCode] = {}
        self.suback: dict[int, list[ReasonCode]] = {}
        self._keep = keep_messages
        self._cond = threading.Condition()
        self._answered = threading.Event()
        self._subscribed = threading.Event()
        client = self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"rec-{uuid.uuid4().hex[:8]}",
            protocol=protocol, clean_session=clean_session,
        )
        if username is not None:
            client.username_pw_set(username, password)
        if ca is not None:
            cert, key = (str(client_cert[0]), str(client_cert[1])) if client_cert else (None, None)
            client.tls_set(ca_certs=str(ca), certfile=cert, keyfile=key)
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.reconnect_delay_set(1, reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        try:
            client.connect("127.0.0.1", port, keepalive=keepalive)
        except ssl.SSLError as exc:
            _close_leaked_sockets(exc)
            raise
        client.loop_start()
        self._answered.wait(timeout)
        if not self.accepted:
            client.loop_stop()
            client.disconnect()
            close_client(client)
            if self.subscriptions:
                raise AssertionError(f"the broker on port {port} refused the recorder: "
                                     f"{self.connack}")
            return
        if self.subscriptions and not self._subscribed.wait(timeout):
            raise AssertionError(f"subscription to {self.subscriptions} not acknowledged")

    # -- hooks for subclasses (they run on paho's thread) ---------------------------------
    def on_connected(self) -> None:
        """After every accepted connection, once the subscriptions are requested."""

    def received(self, message: Message) -> None:
        """After every message received (and recorded): ``on_message``, if given."""
        if self._hook is not None:
            self._hook(message)

    # -- what the broker said ---------------------------------------------------------------
    @property
    def accepted(self) -> bool:
        """The broker accepted the connection (CONNACK success)."""
        return self.connack is not None and not self.connack.is_failure

    def on(self, topic: str) -> list[bytes]:
        """The payloads received on ``topic``, in order."""
        with self._cond:
            return [m.payload for m in self.messages if m.topic == topic]

    def received_pairs(self) -> list[tuple[str, bytes]]:
        """(topic, payload) of everything received, in order."""
        with self._cond:
            return [(m.topic, m.payload) for m in self.messages]

    # -- acting ---------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False,
                timeout: float = 10.0) -> ReasonCode:
        """Publish at QoS 1; the PUBACK's reason code (0x87: not authorised)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._cond:
            if not self._cond.wait_for(lambda: info.mid in self.puback, timeout):
                raise AssertionError(f"no PUBACK for {topic} within {timeout:g} s")
            return self.puback[info.mid]

    def subscribe(self, topic: str, timeout: float = 10.0) -> ReasonCode:
        """Subscribe at QoS 1 (this connection only); the SUBACK's reason code."""
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self.suback, timeout):
                raise AssertionError(f"no SUBACK for {topic} within {timeout:g} s")
            return self.suback[mid][0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        close_client(self.client)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paho callbacks -----------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: ReasonCode,
                    _p: Any) -> None:
        with self._cond:
            self.connack, self.session_present = rc, bool(flags.session_present)
        if not rc.is_failure:
            if self.subscriptions:
                client.subscribe([(t, 1) for t in self.subscriptions])
            self.on_connected()
        self._answered.set()

    def _on_disconnect(self, *_: Any) -> None:
        self._answered.set()  # closed without a CONNACK: refused at the protocol level

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: ReasonCode, _p: Any) -> None:
        with self._cond:
            self.puback[mid] = rc
            self._cond.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, rcs: list[ReasonCode], _p: Any) -> None:
        with self._cond:
            self.suback[mid] = rcs
            self._cond.notify_all()
        self._subscribed.set()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        message = Message(msg.topic, bytes(msg.payload), bool(msg.retain), time.time(),
                          getattr(msg, "properties", None))
        if self._keep:
            with self._cond:
                self.messages.append(message)
        self.received(message)


class Acker(Recorder):
    """A small test-side plant: receives every node's results on ``site`` and acks them.

    It behaves like the plant service's contract (``plant/status`` retained online with an
    offline Last Will; a ``PlantAck`` of the highest contiguous seq per boot after "storing"),
    keeping results in memory, so the edge's delivery can be tested without the real plant.
    ``ack=False`` stores without acknowledging.
    """

    def __init__(self, port: int, site: str = "s1", ack: bool = True) -> None:
        self.site = site
        self.ack = ack
        self.wire = Topics(site)
        #: results per (line, node, boot_id)
        self.results: dict[tuple[str, str, str], dict[int, ItemResult]] = defaultdict(dict)
        self.batches: list[ResultsBatch] = []
        self._contig: dict[tuple[str, str, str], int] = defaultdict(int)
        self._store_lock = threading.Lock()
        #: what it says on every (re)connect: ``go_offline`` must survive a reconnect
        self.state = "online"
        super().__init__(port, [self.wire.all_nodes(NodeLeaf.RESULTS)],
                         client_id=f"test-acker-{site}", keepalive=5,
                         will=(self.wire.plant_status, self._status("offline")),
                         keep_messages=False)

    def _status(self, state: str) -> bytes:
        return dump_payload(PlantStatus(site=self.site, state=state, ts=time.time()))  # type: ignore[arg-type]

    def on_connected(self) -> None:
        self.client.publish(self.wire.plant_status, self._status(self.state), qos=1, retain=True)

    def received(self, message: Message) -> None:
        batch = parse_payload(message.payload, ResultsBatch)
        assert isinstance(batch, ResultsBatch)
        key = (batch.line, batch.node, batch.boot_id)
        with self._store_lock:
            self.batches.append(batch)
            store = self.results[key]
            for r in batch.results:
                store.setdefault(r.seq, r)
            n = self._contig[key]
            while n + 1 in store:
                n += 1
            self._contig[key] = n
        if self.ack:
            ack = PlantAck(site=self.site, line=batch.line, node=batch.node,
                           boot_id=batch.boot_id, acked_seq=n, ts=time.time())
            self.client.publish(self.wire.plant_ack(batch.line, batch.node), dump_payload(ack),
                                qos=1)

    def stored(self) -> int:
        """How many distinct results it holds."""
        with self._store_lock:
            return sum(len(v) for v in self.results.values())

    def wait_stored(self, n: int, timeout: float = 30.0) -> float:
        """Wait until it holds at least ``n`` results; the seconds that took."""
        return wait_until(f"the test plant to store {n} results", lambda: self.stored() >= n,
                          timeout)

    def go_online(self) -> None:
        """Say online (retained), as the plant does when it starts."""
        self.state = "online"
        self.publish(self.wire.plant_status, self._status(self.state), retain=True)

    def go_offline(self) -> None:
        """Say offline (retained), as the plant's own Last Will would."""
        self.state = "offline"
        self.publish(self.wire.plant_status, self._status(self.state), retain=True)

    def close(self) -> None:
        if self.client.is_connected():
            self.go_offline()
        super().close()
