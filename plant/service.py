"""The long-running plant service: MQTT ingest, the ERP bridge, plans and supplier feeds.

``PlantService(config).run()`` opens the store, starts the ingest writer, connects to the
broker (persistent MQTT 5 session, retained ``online`` status, Last Will ``offline``),
publishes each new plan retained, then each supplier's feed of it (and stores the suppliers'
replies), re-plans after new ERP data if ``erp.replan_after_s`` is set (the hold plan, then
every plan: :mod:`plant.planning.replan`) and, if the config has a ``[dashboard]`` section,
serves the dashboard in the same process on the same store. Other components can be attached with
``add_component`` (anything with ``stop()``). SIGTERM or Ctrl-C stop it cleanly: the queue
is flushed and committed, acks are published, then ``offline``.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from peakline import wire
from peakline.wire.erp import ERP_KINDS
from plant.broker.identities import ProvisionedNodes
from plant.config import PlantConfig
from plant.erp.bridge import apply_erp_message
from plant.erp.plans import plan_messages
from plant.ingest import Ingestor
from plant.mqttlink import PlantLink
from plant.store import Store
from plant.suppliers.publish import feed_message, refresh_feeds
from plant.suppliers.replies import apply_reply

if TYPE_CHECKING:
    from plant.calendar import HolidayCalendar

__all__ = ["Component", "PlantService"]

log = logging.getLogger(__name__)


class Component(Protocol):
    """Something that runs beside the service and is stopped with it (e.g. the dashboard)."""

    def stop(self) -> None: ...


class PlantService:
    """Ingest + ERP bridge + plan publishing around one Store and one MQTT connection."""

    def __init__(self, config: PlantConfig, store: Store | None = None) -> None:
        self.config = config
        self.site = config.plant.site
        self.topics = wire.Topics(self.site)
        self._own_store = store is None
        self.store = store or Store.open(config.plant.db,
                                         synchronous=config.plant.sqlite_synchronous)
        self.store.thumbnails_per_node = config.ingest.thumbnails_per_node
        ing = config.ingest
        nodes = ProvisionedNodes(Path(ing.provisioned_acl)) if ing.provisioned_acl else None
        if nodes is not None and not len(nodes):
            log.warning("ingest.provisioned_acl: %s lists no camera node yet; results are "
                        "dead letters until nodes are provisioned (peakline plant provision "
                        "node)", ing.provisioned_acl)
        self.ingest = Ingestor(
            self.store, self.site, self._on_commit,
            max_batch=ing.max_batch_messages, flush_ms=ing.flush_interval_ms,
            queue_max=ing.queue_max, queue_max_bytes=ing.queue_max_bytes,
            parse_workers=ing.workers(),
            nodes=nodes,
            erp=self._apply_erp if config.erp.enabled else None,
            replies=self._apply_reply if config.erp.enabled else None,
        )
        subs = [self.topics.all_nodes(leaf) for leaf in wire.NODE_UPLINK]
        if config.erp.enabled:
            subs += [self.topics.erp(kind) for kind in ERP_KINDS]
            subs.append(self.topics.supplier_reply("+"))
        self.link = PlantLink(config.mqtt, self.site, subs, self.ingest.submit,
                              manual_ack=ing.manual_ack, on_connect=self._on_connect)
        self.components: list[Component] = []
        self._published: dict[str, str] = {}
        self._replan_at: float | None = None  # monotonic time of the next re-plan
        self._plan_lock = threading.Lock()
        self._stop = threading.Event()
        self._plans_thread: threading.Thread | None = None
        self._started = False

    # --- lifecycle ---------------------------------------------------------------------------
    def add_component(self, component: Component) -> None:
        """Stop ``component`` together with the service (before the store closes)."""
        self.components.append(component)

    def start_dashboard(self) -> Component | None:
        """Serve the dashboard on this service's store if the config has ``[dashboard]``."""
        if self.config.dashboard is None:
            return None
        from plant.dashboard import serve_dashboard

        server: Any = serve_dashboard(self.store, config=self.config.dashboard,
                                      planning=self.config.planning)
        log.info("dashboard on %s", server.url)
        self.add_component(server)
        return server

    def start(self) -> PlantService:
        """Start the writer, the MQTT link and the plan publisher; returns at once (a
        ``[planning] peak`` the calendar does not know is a ConfigError before anything
        starts)."""
        _ = self.calendar
        self.ingest.start()
        self.link.start()
        if self.config.erp.enabled and self.config.erp.publish_plans:
            self._plans_thread = threading.Thread(target=self._plans_loop, name="plant-plans",
                                                  daemon=True)
            self._plans_thread.start()
        self._started = True
        return self

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """True once connected to the broker."""
        return self.link.connected.wait(timeout)

    def stop(self) -> None:
        """Flush and commit the queue, publish its acks, publish ``offline``, disconnect."""
        if not self._started:
            return
        self._started = False
        self._stop.set()
        if self._plans_thread is not None:
            self._plans_thread.join(10)
        self.ingest.stop()
        self.link.stop()
        for component in reversed(self.components):
            try:
                component.stop()
            except Exception:
                log.exception("stopping %r failed", component)
        if self._own_store:
            self.store.close()
        s = self.ingest.stats
        log.info("plant stopped: %d messages, %d results stored, %d dead letters",
                 s.messages, s.results_stored, s.dead_letters)

    def run(self) -> int:
        """Run until SIGTERM/SIGINT, then stop cleanly; returns the exit status."""
        done = threading.Event()

        def _signal(signum: int, _frame: Any) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            done.set()

        old = {sig: signal.signal(sig, _signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start_dashboard()
            self.start()
            if not self.wait_connected(10):
                log.warning("no broker at %s:%d yet; retrying in the background",
                            self.config.mqtt.host, self.config.mqtt.port)
            every = self.config.ingest.stats_interval_s
            while not done.wait(every):
                s = self.ingest.stats
                log.info("ingest: %d messages, %d results stored, %d dead letters, "
                         "backlog %d, last commit %.1f ms", s.messages, s.results_stored,
                         s.dead_letters, self.ingest.backlog, s.last_commit_ms)
        finally:
            self.stop()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        return 0

    @cached_property
    def calendar(self) -> HolidayCalendar:
        """The plant's calendar, as ``peakline plant plan --config`` makes it: ``[planning]
        events``, if any, which knows its ``[planning] peak``; re-plans and the ERP bridge's
        hold checks use them."""
        cal = self.config.planning.calendar()
        cal.check_peak(self.config.planning.peak)
        return cal

    # --- callbacks ---------------------------------------------------------------------------
    def _on_commit(self, acks: dict[tuple[str, str, str, str], int], tokens: list[Any]) -> None:
        now = time.time()
        for (site, line, node, boot_id), seq in acks.items():
            ack = wire.PlantAck(site=site, line=line, node=node, boot_id=boot_id,
                                acked_seq=seq, ts=now)
            self.link.publish(self.topics.plant_ack(line, node), wire.dump_payload(ack), qos=1)
        self.link.release(tokens)

    def _apply_erp(self, kind: str, raw: bytes) -> int:
        n = apply_erp_message(self.store, kind, raw, self.calendar, self.config.planning.peak)
        log.info("erp/%s: %d rows applied", kind, n)
        delay = self.config.erp.replan_after_s
        if n and delay is not None:
            with self._plan_lock:
                self._replan_at = time.monotonic() + delay
        return n

    def _apply_reply(self, supplier: str, raw: bytes) -> int:
        n = apply_reply(self.store, self.site, supplier, raw)
        log.info("supplier %s: reply with %d lines stored", supplier, n)
        return n

    def _on_connect(self) -> None:
        with self._plan_lock:
            self._published.clear()  # re-publish plans after every (re)connect

    # --- plans out ---------------------------------------------------------------------------
    def publish_plan(self, kind: str) -> str | None:
        """Publish the latest plan of ``kind`` (retained, QoS 1); returns its id or None."""
        msgs = plan_messages(self.store, self.site, kind, self.config.erp.plan_part_bytes)
        if not msgs:
            return None
        infos = [self.link.publish(topic, payload, qos=1, retain=True) for topic, payload in msgs]
        plan_id = str(json.loads(msgs[0][1])["plan_id"])
        with self._plan_lock:
            old_parts = int(self._published.get(f"{kind}#parts", "1"))
            self._published[kind] = plan_id
            self._published[f"{kind}#parts"] = str(len(msgs))
        for part in range(len(msgs) + 1, old_parts + 1):  # clear stale retained parts
            self.link.publish(f"{self.topics.plan(kind)}/{part}", b"", qos=1, retain=True)
        log.info("published %s plan %s in %d message(s)", kind, plan_id, len(infos))
        return plan_id

    def publish_feeds(self) -> int:
        """Publish every supplier's feed of the newest plan not published yet (retained).

        The retained feed of a supplier removed from the master data is cleared (an empty
        retained message), once per connection."""
        sent = 0
        for feed in refresh_feeds(self.store, self.site):
            key = f"feed:{feed.supplier}"
            with self._plan_lock:
                if self._published.get(key) == str(feed.version):
                    continue
            topic, payload = feed_message(feed)
            self.link.publish(topic, payload, qos=1, retain=True)
            with self._plan_lock:
                self._published[key] = str(feed.version)
            sent += 1
            log.info("published feed %d of supplier %s (plan %s)", feed.version, feed.supplier,
                     feed.plan_id)
        for supplier in self.store.removed_feed_suppliers():
            key = f"feed:{supplier}"
            with self._plan_lock:
                if self._published.get(key) == "cleared":
                    continue
            self.link.publish(self.topics.supplier_feed(supplier), b"", qos=1, retain=True)
            with self._plan_lock:
                self._published[key] = "cleared"
            log.info("cleared the retained feed of supplier %s (no longer in the master data)",
                     supplier)
        return sent

    def replan_if_due(self) -> bool:
        """Re-plan (:func:`plant.planning.replan.replan`) if ERP data arrived and the bridge
        has been quiet for ``erp.replan_after_s``; True if it did."""
        with self._plan_lock:
            due = self._replan_at is not None and time.monotonic() >= self._replan_at
            if due:
                self._replan_at = None
        if not due:
            return False
        from plant.planning.replan import replan

        done = replan(self.store, self.config.planning, self.calendar)
        log.info("re-planned after ERP data: hold plan %s, plans %s",
                 "made" if done.holds is not None else "not made",
                 done.plans.plan_id if done.plans is not None else "not made")
        return True

    def _plans_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.replan_if_due()
            except Exception:
                log.exception("re-planning failed")
            if self.link.connected.is_set():
                for kind in wire.PLAN_KINDS:
                    try:
                        latest = self.store.latest_plan_id(kind)
                        with self._plan_lock:
                            known = self._published.get(kind)
                        if latest is not None and latest != known:
                            self.publish_plan(kind)
                    except Exception:
                        log.exception("publishing the %s plan failed", kind)
                try:
                    self.publish_feeds()
                except Exception:
                    log.exception("publishing the supplier feeds failed")
            self._stop.wait(self.config.erp.plan_poll_s)
