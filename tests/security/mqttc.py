"""Small synchronous MQTT v5 helpers for the security tests (real paho client, real broker)."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

__all__ = ["Session", "connect"]


def _close_leaked_sockets(exc: BaseException) -> None:
    """paho 2.2 leaves the TLS socket open when the handshake fails; close it (found here: a
    client retrying against the wrong CA would leak one descriptor per attempt)."""
    tb = exc.__traceback__
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, socket.socket):
                value.close()
        tb = tb.tb_next


class Session:
    """A connected (or refused) paho v5 client with what the broker answered."""

    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self.connack: ReasonCode | None = None
        self.puback: dict[int, ReasonCode] = {}
        self.suback: dict[int, list[ReasonCode]] = {}
        self.messages: list[tuple[str, bytes]] = []
        self._connected = threading.Event()
        self._acked = threading.Condition()

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure

    def publish(self, topic: str, payload: bytes, timeout: float = 5.0) -> ReasonCode:
        """QoS 1 publish; the PUBACK reason code (0x87 = not authorised)."""
        info = self.client.publish(topic, payload, qos=1)
        with self._acked:
            self._acked.wait_for(lambda: info.mid in self.puback, timeout)
        return self.puback[info.mid]

    def subscribe(self, topic: str, timeout: float = 5.0) -> ReasonCode:
        """Subscribe at QoS 1; the SUBACK reason code."""
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        with self._acked:
            self._acked.wait_for(lambda: mid in self.suback, timeout)
        return self.suback[mid][0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(port: int, username: str | None = None, password: str | None = None, *,
            ca: Path | None = None, client_cert: tuple[Path, Path] | None = None,
            client_id: str = "", timeout: float = 5.0) -> Session:
    """Connect with MQTT v5; returns the session whether the broker accepted it or not."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    session = Session(client)
    if username is not None:
        client.username_pw_set(username, password)
    if ca is not None:
        cert, key = (str(client_cert[0]), str(client_cert[1])) if client_cert else (None, None)
        client.tls_set(ca_certs=str(ca), certfile=cert, keyfile=key)

    def on_connect(c: Any, u: Any, flags: Any, rc: ReasonCode, props: Any) -> None:
        session.connack = rc
        session._connected.set()

    def on_publish(c: Any, u: Any, mid: int, rc: ReasonCode, props: Any) -> None:
        with session._acked:
            session.puback[mid] = rc
            session._acked.notify_all()

    def on_subscribe(c: Any, u: Any, mid: int, rcs: list[ReasonCode], props: Any) -> None:
        with session._acked:
            session.suback[mid] = rcs
            session._acked.notify_all()

    def on_message(c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        session.messages.append((msg.topic, bytes(msg.payload)))

    client.on_connect, client.on_publish = on_connect, on_publish
    client.on_subscribe, client.on_message = on_subscribe, on_message
    try:
        client.connect("127.0.0.1", port, keepalive=30)
    except ssl.SSLError as exc:
        _close_leaked_sockets(exc)
        raise
    client.loop_start()
    session._connected.wait(timeout)
    if not session.accepted:
        client.loop_stop()
        client.disconnect()
    return session
