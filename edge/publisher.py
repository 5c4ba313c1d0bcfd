"""The MQTT link of a camera node: results from the outbox to the plant, with proof of storage.

One thread owns the paho-mqtt 2.x client (MQTT 5, ``clean_start=False`` with a session
expiry; or, with ``protocol="3.1.1"`` for a broker without MQTT 5, ``clean_session=False``)
and does everything network-side:

- connects with jittered exponential back-off; the Last Will sets the retained status to
  ``offline``; on connect it publishes ``online`` (model, version, config digest);
- subscribes to ``plant/status`` and ``plant/ack/<line>/<node>``, and to its own ``cmd`` topic;
- every ``batch_interval_ms``, while the plant's retained status is ``online``, sends the
  outbox's unsent results in order, many per message at QoS 1 (at most ``batch_max``), keeping
  at most ``max_unacked`` results waiting for the plant's acknowledgement;
- deletes from the outbox only what a :class:`~peakline.wire.PlantAck` covers, and resends what
  stays unacknowledged past ``resend_after_s``, doubling the wait with each resend of the same
  message (the plant de-duplicates by boot and seq);
- marks results ``historical`` when they are resent, from an earlier boot, or older than
  ``historical_after_s``; their timestamps are always the original ones;
- checks PUBACK reason codes, so a publish the broker denies is counted and logged (MQTT 5;
  a 3.1.1 broker acknowledges a denied publish as a success, so there it is not seen);
- publishes metrics periodically (with a message expiry under MQTT 5), and rate-limited
  reject thumbnails.

Neither the session nor the reason codes carry the delivery guarantee: results leave the
outbox only when the plant acknowledges their commit, under either protocol.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config_sections import MqttLinkConfig
from edge.link import Flight, LinkStats, group_rows
from edge.outbox import Outbox, OutboxRow
from peakline.errors import DeliveryError
from peakline.mqtt import close_client, make_client, run_network, warn_mqtt311_acl
from peakline.wire import (
    ItemResult,
    NodeCommand,
    NodeId,
    NodeLeaf,
    NodeMetrics,
    NodeStatus,
    PlantAck,
    PlantStatus,
    RejectThumbnail,
    ResultsBatch,
    Topics,
    WireError,
    dump_payload,
    parse_payload,
)

__all__ = ["LinkStats", "Publisher"]

log = logging.getLogger(__name__)


class Publisher:
    """Drains an :class:`Outbox` to the plant over MQTT; see the module docstring."""

    def __init__(
        self,
        identity: NodeId,
        settings: MqttLinkConfig,
        outbox: Outbox,
        boot_id: str,
        model: str,
        config_digest: str = "",
        metrics: Callable[[], NodeMetrics] | None = None,
        on_command: Callable[[NodeCommand], None] | None = None,
    ) -> None:
        s = self.settings = settings
        self.id = identity
        self.outbox = outbox
        self.boot_id = boot_id
        self.model = model
        self.digest = config_digest
        self.metrics = metrics
        self.on_command = on_command
        self.stats = LinkStats()
        self.topics = Topics(identity.site)
        line, node = identity.line, identity.node
        self.t_results = self.topics.node(line, node, NodeLeaf.RESULTS)
        self.t_status = self.topics.node(line, node, NodeLeaf.STATUS)
        self.t_metrics = self.topics.node(line, node, NodeLeaf.METRICS)
        self.t_rejects = self.topics.node(line, node, NodeLeaf.REJECTS)
        self.t_cmd = self.topics.node(line, node, NodeLeaf.CMD)
        self.t_ack = self.topics.plant_ack(line, node)
        self.connected = False
        self.fault = ""
        self.last_command = ""
        self.plant_online = not s.require_plant_online
        self._flights: deque[Flight] = deque()
        self._cursor = 0
        self._thumbs: deque[RejectThumbnail] = deque(maxlen=16)
        self._tokens = 3.0
        self._stop = threading.Event()
        self._drain_until = 0.0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self.client = self._make_client()

    # -- public -------------------------------------------------------------------------
    def start(self) -> None:
        warn_mqtt311_acl(self.settings, "results stay in the outbox until the plant "
                         "acknowledges them, so check the broker log if the backlog grows")
        self._thread.start()

    def stop(self, drain_s: float = 5.0) -> None:
        """Send what is unacknowledged for up to ``drain_s``, say offline, disconnect."""
        self._drain_until = time.monotonic() + drain_s
        self._stop.set()
        self._thread.join(timeout=drain_s + 10)

    @property
    def unacked(self) -> int:
        return sum(f.n for f in self._flights)

    def offer_thumbnail(self, thumb: RejectThumbnail) -> None:
        """Queue a reject thumbnail; dropped (and counted) beyond the rate limit."""
        if self.settings.thumbnails_per_min <= 0:
            return
        with self._lock:
            if len(self._thumbs) == self._thumbs.maxlen:
                self.stats.thumbnails_dropped += 1
            self._thumbs.append(thumb)

    def wants_thumbnail(self) -> bool:
        """Whether a thumbnail offered now would likely be sent (saves encoding it)."""
        return (
            self.settings.thumbnails_per_min > 0 and self.connected
            and self._tokens >= 1.0 and len(self._thumbs) < 2
        )

    def publish_raw(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish an arbitrary message (the MQTT reject actuator)."""
        self.client.publish(topic, payload, qos=qos)

    # -- client set-up ------------------------------------------------------------------
    def _status(self, state: str) -> bytes:
        i = self.id
        return dump_payload(NodeStatus(
            site=i.site, line=i.line, node=i.node, state=state,  # type: ignore[arg-type]
            boot_id=self.boot_id, model=self.model, config_digest=self.digest, ts=time.time(),
            fault=self.fault if state == "online" else "", last_command=self.last_command,
        ))

    def set_model(self, model: str) -> None:
        """The node now scores with ``model`` (a ``reload_model``): say so in the status."""
        self.model = model
        if self.connected:
            self.client.publish(self.t_status, self._status("online"), qos=1, retain=True)

    def set_last_command(self, note: str) -> None:
        """Report the last command's outcome in the retained status."""
        self.last_command = note[:300]
        if self.connected:
            self.client.publish(self.t_status, self._status("online"), qos=1, retain=True)

    def set_fault(self, fault: str) -> None:
        """Say (in the retained status) what keeps the node from inspecting; "" when it is over."""
        fault = fault[:200]
        if fault == self.fault:
            return
        self.fault = fault
        if self.connected:
            self.client.publish(self.t_status, self._status("online"), qos=1, retain=True)

    @property
    def mqtt5(self) -> bool:
        return self.settings.protocol == "5"

    def _make_client(self) -> mqtt.Client:
        i = self.id
        client = make_client(self.settings, f"peakline-{i.site}-{i.line}-{i.node}",
                             will=(self.t_status, self._status("offline")))
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the connection: %s", rc)
            return
        self.connected = True
        self.stats.connects += 1
        log.info("connected to %s:%d (session present: %s)", self.settings.host,
                 self.settings.port, flags.session_present)
        client.publish(self.t_status, self._status("online"), qos=1, retain=True)
        client.subscribe([(self.topics.plant_status, 1), (self.t_ack, 1), (self.t_cmd, 1)])
        # after a reconnect, resend soon what the plant has not acknowledged yet
        soon = time.monotonic() - self.settings.resend_after_s + 2.0
        for f in self._flights:
            f.sent, f.resends = min(f.sent, soon), 0

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if self.connected:
            self.stats.disconnects += 1
            log.warning("disconnected from the broker: %s", rc)
        self.connected = False

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        if rc.is_failure:  # only MQTT 5 reports a refusal; 3.1.1 always says success
            self.stats.denied += 1
            log.error("broker refused publish %d: %s (results stay in the outbox)", mid, rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic == self.t_ack:
                ack = parse_payload(bytes(msg.payload), PlantAck)
                assert isinstance(ack, PlantAck)
                self._acked(ack)
            elif msg.topic == self.topics.plant_status:
                st = parse_payload(bytes(msg.payload), PlantStatus)
                assert isinstance(st, PlantStatus)
                online = st.state == "online" or not self.settings.require_plant_online
                if online != self.plant_online:
                    log.info("plant is %s", st.state)
                self.plant_online = online
            elif msg.topic == self.t_cmd and msg.retain:
                log.warning("ignored a retained command on %s: commands are never retained",
                            msg.topic)
            elif msg.topic == self.t_cmd and self.on_command is not None:
                cmd = parse_payload(bytes(msg.payload), NodeCommand)
                assert isinstance(cmd, NodeCommand)
                self.on_command(cmd)
        except WireError as exc:
            log.warning("ignored invalid message on %s: %s", msg.topic, exc)

    def _acked(self, ack: PlantAck) -> None:
        if (ack.site, ack.line, ack.node) != tuple(self.id):
            log.warning("ignored an ack addressed to %s/%s/%s", ack.site, ack.line, ack.node)
            return
        try:
            self.stats.acked += self.outbox.ack(ack.boot_id, ack.acked_seq)
        except DeliveryError as exc:  # the flights stay: resent, the plant acks them again
            log.warning("plant ack up to %s seq %d not applied: %s", ack.boot_id,
                        ack.acked_seq, exc)
            return
        self._flights = deque(
            f for f in self._flights
            if not (f.boot_id == ack.boot_id and f.last_seq <= ack.acked_seq)
        )

    # -- the loop -----------------------------------------------------------------------
    def _run(self) -> None:
        next_tick = next_metrics = time.monotonic()

        def tick(now: float) -> None:
            nonlocal next_tick, next_metrics
            s = self.settings
            if now >= next_tick:
                next_tick = now + s.batch_interval_ms / 1000.0
                if self.connected:
                    t = time.perf_counter()
                    self._send_results(now)
                    self.stats.publish_s += time.perf_counter() - t
                    self._send_thumbnails(s.batch_interval_ms / 1000.0)
            if now >= next_metrics and self.connected and self.metrics is not None:
                next_metrics = now + s.metrics_interval_s
                self._send_metrics()

        def done() -> bool:
            return time.monotonic() >= self._drain_until or self._drained()

        socket_open = run_network(self.client, self.settings, self._stop, done=done, tick=tick)
        self._goodbye(socket_open)
        close_client(self.client)

    def _drained(self) -> bool:
        return self.outbox.backlog == 0 or not self.plant_online

    def _goodbye(self, socket_open: bool) -> None:
        if socket_open and self.connected:
            info = self.client.publish(self.t_status, self._status("offline"), qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                self.client.loop(timeout=0.05)
            self.connected = False
            self.client.disconnect()
            self.client.loop(timeout=0.05)

    def _send_results(self, now: float) -> None:
        if not self.plant_online:
            return
        s = self.settings
        budget = 20  # messages per tick, so the network loop keeps turning
        for f in list(self._flights):
            if budget <= 0 or not f.resend_due(now, s.resend_after_s):
                continue
            rows = self.outbox.fetch_range(f.lo, f.hi)
            if not rows:
                self._flights.remove(f)
                continue
            self._publish_rows(rows, historical=True)
            f.sent = now
            f.resends += 1
            self.stats.resent += len(rows)
            budget -= 1
        while budget > 0 and self.unacked < s.max_unacked:
            rows = self.outbox.fetch(self._cursor, s.batch_max)
            if not rows:
                break
            self._cursor = rows[-1].id
            wall = time.time()
            for group in group_rows(rows, self.boot_id, wall - s.historical_after_s):
                historical = group[0].boot_id != self.boot_id or group[0].created < (
                    wall - s.historical_after_s)
                self._publish_rows(group, historical)
                self._flights.append(Flight(
                    group[0].boot_id, group[0].id, group[-1].id, group[-1].seq, len(group), now))
                self.stats.sent += len(group)
                budget -= 1

    def _publish_rows(self, rows: list[OutboxRow], historical: bool) -> None:
        i = self.id
        boot = rows[0].boot_id
        batch = ResultsBatch(
            site=i.site, line=i.line, node=i.node, boot_id=boot,
            model=rows[0].model or self.outbox.model_of(boot) or self.model,
            historical=historical, sent_at=time.time(),
            results=[ItemResult.model_validate_json(r.body) for r in rows],
        )
        info = self.client.publish(self.t_results, dump_payload(batch), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("results publish not queued (%s); will resend", mqtt.error_string(info.rc))
        self.stats.batches += 1

    def _send_metrics(self) -> None:
        assert self.metrics is not None
        props: Properties | None = None
        if self.mqtt5:  # stale metrics are not worth delivering late
            props = Properties(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = max(int(2 * self.settings.metrics_interval_s), 1)
        self.client.publish(self.t_metrics, dump_payload(self.metrics()), qos=0,
                            properties=props)

    def _send_thumbnails(self, dt: float) -> None:
        rate = self.settings.thumbnails_per_min / 60.0
        self._tokens = min(self._tokens + rate * dt, 3.0)
        while self._tokens >= 1.0:
            with self._lock:
                if not self._thumbs:
                    return
                thumb = self._thumbs.popleft()
            self.client.publish(self.t_rejects, dump_payload(thumb), qos=0)
            self.stats.thumbnails += 1
            self._tokens -= 1.0
