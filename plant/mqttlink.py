"""The plant's MQTT connection: persistent session, Last Will, subscriptions, acks.

Connects with ``clean_start=False`` and a session expiry (MQTT 5), or ``clean_session=False``
(``protocol = "3.1.1"``, for a broker without MQTT 5), so the broker keeps the plant's
subscriptions and queues QoS 1 messages while it is away; sets a retained Last Will
``PlantStatus(offline)`` and publishes ``online`` (retained) on every connect. With
``manual_ack`` the PUBACK of a message is sent only after its commit (``release``), so a
plant crash makes the broker redeliver it. Tokens from an earlier connection are never
acked on a newer one (packet ids are per connection).

Under 3.1.1 the broker's reason codes are gone (a publish its ACL denies is acknowledged as
a success) and subscriptions cannot say ``noLocal`` (none of the plant's subscriptions match
what it publishes). The edge trusts only the plant's acknowledgement after commit, so the
delivery guarantee holds under either protocol.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from peakline import wire
from peakline.mqtt import close_client, make_client, run_network, warn_mqtt311_acl
from plant.config import PlantMqttConfig

__all__ = ["PlantLink"]

log = logging.getLogger(__name__)


class PlantLink:
    """paho client wrapper for the plant service."""

    def __init__(
        self,
        config: PlantMqttConfig,
        site: str,
        subscriptions: list[str],
        on_message: Callable[[str, bytes, Any], None],
        *,
        manual_ack: bool = True,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.topics = wire.Topics(site)
        self.subscriptions = subscriptions
        self._on_message_cb = on_message
        self._on_connect_cb = on_connect
        self.manual_ack = manual_ack
        self.generation = 0
        self.connected = threading.Event()
        self.mqtt5 = config.protocol == "5"
        self.client = make_client(
            config, "peakline-plant", will=(self.topics.plant_status, self._status("offline")),
            manual_ack=manual_ack,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="plant-mqtt", daemon=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe

    def _status(self, state: Literal["online", "offline"]) -> bytes:
        site = self.topics.site
        return wire.dump_payload(wire.PlantStatus(site=site, state=state, ts=time.time()))

    def start(self) -> None:
        """Connect in the background (retrying with back-off) and run the network loop."""
        warn_mqtt311_acl(self.config, "check the broker log if camera nodes keep resending "
                         "(a plant ack or a plan may have been denied)")
        self._thread.start()

    def _run(self) -> None:
        run_network(self.client, self.config, self._stop, poll_s=0.2)

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any,
                    _props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self.generation += 1
        log.info("connected to %s:%d (session present: %s)", self.config.host,
                 self.config.port, flags.session_present)
        if self.mqtt5:
            opts = SubscribeOptions(qos=1, noLocal=True)  # never our own acks or plans
            client.subscribe([(topic, opts) for topic in self.subscriptions])
        else:
            client.subscribe([(topic, 1) for topic in self.subscriptions])
        client.publish(self.topics.plant_status, self._status("online"), qos=1, retain=True)
        self.connected.set()
        if self._on_connect_cb is not None:
            self._on_connect_cb()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        if reason.is_failure:
            log.warning("disconnected from the broker: %s; reconnecting", reason)

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        if reason.is_failure:  # only MQTT 5 tells us; e.g. an ACL denies the plant's ack topic
            log.error("the broker refused a publish (mid %d): %s", mid, reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[Any],
                      _p: Any) -> None:
        for topic, reason in zip(self.subscriptions, reasons, strict=False):
            if reason.is_failure:
                log.error("the broker refused the subscription to %s: %s", topic, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._on_message_cb(msg.topic, bytes(msg.payload), (self.generation, msg.mid, msg.qos))

    def release(self, tokens: list[Any]) -> None:
        """PUBACK committed messages that arrived on the current connection."""
        if not self.manual_ack:
            return
        for token in tokens:
            gen, mid, qos = token
            if qos > 0 and gen == self.generation:
                self.client.ack(mid, qos)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1,
                retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Publish (queued by paho while disconnected)."""
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline`` (retained), wait for it, disconnect and stop the loop."""
        if self.connected.is_set():
            info = self.client.publish(self.topics.plant_status, self._status("offline"),
                                       qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("could not publish offline status: %s", exc)
        self._stop.set()  # the network loop ends first, or it would connect again
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.client.disconnect()
        self.client.loop(timeout=0.05)  # send the DISCONNECT from this thread
        close_client(self.client)
