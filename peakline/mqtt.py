"""One MQTT client for every Peakline process: protocol, credentials, TLS, Last Will, back-off.

:func:`make_client` builds a paho-mqtt 2.x client from a :class:`~peakline.config.MqttClientConfig`
(MQTT 5 with a persistent session, or 3.1.1 with ``clean_session=False``; username and the
password by the secrets rule; TLS with an optional client certificate; a retained Last Will).
:func:`run_network` is the one network loop: it connects, reconnects with jittered exponential
back-off (so fifty nodes that lost the broker together do not come back in lock-step), turns
paho's loop and calls the owner's ``tick`` between turns. The camera node and the plant each run
it in a thread of their own.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from peakline.config import MqttClientConfig

__all__ = ["Backoff", "close_client", "connect", "make_client", "run_network", "warn_mqtt311_acl"]

log = logging.getLogger(__name__)


class Backoff:
    """Jittered exponential back-off: each delay is 50-100% of a bound that doubles to ``max_s``."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.min_s, self.max_s = min_s, max(max_s, min_s)
        self.bound = min_s
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The next delay in seconds (and double the bound)."""
        delay = self._rng.uniform(0.5, 1.0) * self.bound
        self.bound = min(self.bound * 2, self.max_s)
        return delay

    def reset(self) -> None:
        """Back to the shortest delay (after a connection succeeded)."""
        self.bound = self.min_s


def make_client(
    config: MqttClientConfig,
    client_id: str,
    *,
    will: tuple[str, bytes] | None = None,
    manual_ack: bool = False,
) -> mqtt.Client:
    """A paho client set up from ``config``; ``client_id`` is used when the config names none.

    (The shipped Mosquitto config sets ``use_username_as_clientid``: there the broker makes a
    client's id its username whatever it asks for, so no device can take the plant's session.
    Clients do not do it themselves: a bench broker may give every client one shared account.)

    ``will`` is a (topic, payload) Last Will, published retained at QoS 1. Messages are never
    queued by paho while disconnected beyond its in-flight window (the owners keep their own).
    """
    mqtt5 = config.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=config.client_id or client_id,
        protocol=mqtt.MQTTv5 if mqtt5 else mqtt.MQTTv311,
        # 3.1.1: a persistent session; MQTT 5 sets clean_start at connect instead
        clean_session=None if mqtt5 else False,
        manual_ack=manual_ack,
    )
    if config.username:
        client.username_pw_set(config.username, config.password())
    if config.tls_ca:
        client.tls_set(
            ca_certs=str(config.tls_ca),
            certfile=str(config.tls_cert) if config.tls_cert else None,
            keyfile=str(config.tls_key) if config.tls_key else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.max_queued_messages_set(0)
    return client


def connect(client: mqtt.Client, config: MqttClientConfig) -> None:
    """Open the connection (blocking); OSError if the broker cannot be reached."""
    if config.protocol == "5":
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = config.session_expiry_s
        client.connect(config.host, config.port, keepalive=config.keepalive_s,
                       clean_start=False, properties=props)
    else:
        client.connect(config.host, config.port, keepalive=config.keepalive_s)


def close_client(client: mqtt.Client) -> None:
    """Close a finished client's sockets now: its connection and paho's wake-up socket pair.

    paho 2.2 opens that pair (two loopback TCP sockets) in ``loop()``/``loop_start()`` and closes
    it only in ``Client.__del__``. A client whose callbacks are its owner's bound methods sits
    in a reference cycle; the garbage collector may finalise the pair before the client and
    Python then reports an unclosed socket. Call this once the network loop has ended and the
    client will not be used again (``_reset_sockets`` is what ``__del__`` itself calls).
    """
    client._reset_sockets()


def warn_mqtt311_acl(config: MqttClientConfig, consequence: str) -> None:
    """Say once that under 3.1.1 a publish the broker's ACL denies cannot be seen."""
    if config.protocol == "3.1.1" and config.username:
        log.warning("MQTT 3.1.1: a publish that the broker's ACL denies is acknowledged as a "
                    "success and cannot be detected here; %s", consequence)


def run_network(
    client: mqtt.Client,
    config: MqttClientConfig,
    stop: threading.Event,
    *,
    done: Callable[[], bool] = lambda: True,
    tick: Callable[[float], None] | None = None,
    poll_s: float = 0.02,
) -> bool:
    """Connect, turn paho's loop and call ``tick(now)`` until ``stop`` is set and ``done()``.

    Reconnects with :class:`Backoff` between ``reconnect_min_s`` and ``reconnect_max_s``.
    Returns whether the socket is still open (so the owner can say goodbye on it).
    """
    backoff = Backoff(config.reconnect_min_s, config.reconnect_max_s)
    socket_open = False
    while True:
        now = time.monotonic()
        if stop.is_set() and done():
            return socket_open
        if not socket_open:
            try:
                connect(client, config)
                socket_open = True
            except OSError as exc:
                log.debug("connect to %s:%d failed: %s", config.host, config.port, exc)
                delay = backoff.next()
                if stop.is_set():
                    time.sleep(min(delay, 0.2))
                else:
                    stop.wait(delay)
                continue
        if client.loop(timeout=poll_s) != mqtt.MQTT_ERR_SUCCESS:
            socket_open = False
            continue
        if client.is_connected():
            backoff.reset()
        if tick is not None:
            tick(now)
