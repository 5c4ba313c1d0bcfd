"""The camera node: every stage wired together, a watchdog, and a graceful stop.

``Node(config).run()`` starts the stages in pipeline order and then watches them until the
source ends or SIGTERM/SIGINT arrives; on the way out it scores what is in flight, fires the
rejects still due, and sends what the plant has not acknowledged for up to
``mqtt.drain_on_stop_s`` (everything stays in the outbox for the next start anyway).
A missing or invalid model raises :class:`peakline.errors.ModelError` before anything starts.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
import uuid
from types import FrameType
from typing import Any

from edge.actuator import RejectScheduler, make_actuator
from edge.capture import Capture, FrameRef
from edge.config import NodeConfig, config_digest
from edge.decision import Decider, Thresholds
from edge.drift import DriftMonitor
from edge.inference import Inference
from edge.metrics import Gauge, Snapshot, Telemetry, Total
from edge.outbox import Outbox
from edge.pipeline import DecisionStage, ItemStage
from edge.publisher import Publisher
from edge.remote import CommandGate
from edge.review import ReviewStore
from edge.sources import make_source
from peakline.wire import (
    MODEL_ERROR,
    ItemResult,
    NodeCommand,
    NodeId,
    NodeMetrics,
    RejectThumbnail,
)

__all__ = ["Node", "new_boot_id"]

log = logging.getLogger(__name__)


def model_id(card: Any) -> str:
    """A model card's id as results and the status carry it: ``name:version``."""
    return f"{card.name}:{card.version}"


def new_boot_id() -> str:
    """A new id for this process start: sortable by time, unique across restarts."""
    return f"{int(time.time()):x}-{uuid.uuid4().hex[:8]}"


class Node:
    """One camera node built from a :class:`NodeConfig`."""

    def __init__(self, config: NodeConfig) -> None:
        from edge.model.scorer import Scorer

        self.config = c = config
        self.boot_id = new_boot_id()
        inf = c.inference

        def make_scorer() -> Scorer:
            return Scorer(inf.model, providers=inf.providers, threads=inf.threads)

        scorer = make_scorer()  # ModelError here stops the node before anything starts
        card = scorer.card
        self.model_id = model_id(card)  # the model scoring now (a reload_model changes it)
        self.decider = Decider(Thresholds(
            inf.reject_threshold if inf.reject_threshold is not None else card.thresholds.reject,
            inf.uncertain_threshold if inf.uncertain_threshold is not None
            else card.thresholds.uncertain,
        ))
        self.outbox = Outbox(c.outbox.path, c.outbox.max_rows, c.outbox.reserve_fraction,
                             c.outbox.synchronous)
        self.outbox.begin_boot(self.boot_id, self.model_id)
        self.publisher = Publisher(
            NodeId(c.site, c.line, c.node), c.mqtt,
            self.outbox, self.boot_id, self.model_id, config_digest(c),
            metrics=self.node_metrics, on_command=self._command,
        )
        self.telemetry = Telemetry(self.snapshot)
        self.drift = DriftMonitor(lambda: self.decider.thresholds.reject,
                                  card.calibration.target_frr)
        self.rejects = RejectScheduler(make_actuator(c.actuator, self.publisher.publish_raw),
                                       c.actuator, c.belt)
        self.frames: queue.Queue[FrameRef | None] = queue.Queue(maxsize=c.source.ring)
        self.capture = Capture(make_source(c.source), c.source, self.frames)
        review = ReviewStore(c.review.dir, c.review.max_files) if c.review.dir else None
        self.decisions = DecisionStage(
            self.decider, self.rejects, self.outbox, self.boot_id, self.telemetry,
            lambda: self.capture.ring, c.actuator.reject_uncertain, review,
            self._thumbnail, self.publisher.wants_thumbnail, c.review.thumb_px,
            on_score=self.drift.add, max_unsaved=c.outbox.max_unsaved,
            model=lambda: self._model_of(self.inference.scored_by),
        )
        scorers = iter([scorer])
        self.card = card  # the loaded model's card (a reload_model replaces it)
        self.inference = Inference(
            lambda: next(scorers, None) or make_scorer(),
            lambda box, w, h: self.card.roi_for(box, w, h), self.decisions.scored,
            inf.batch_size, inf.max_wait_ms, inf.preprocess_threads, inf.stall_s,
        )
        self.items = ItemStage(c.belt, self.capture, self.frames, self.inference,
                               self.decisions.closed, self.telemetry)
        self._stop = threading.Event()
        #: set when the latest reload_model command has finished (or failed)
        self._reload_done = threading.Event()
        self._reload_done.set()  # no reload running
        self.commands = CommandGate()
        self.metrics_port: int | None = None

    # -- running -----------------------------------------------------------------------
    def run(self, install_signals: bool = True) -> int:
        """Start every stage, watch them until the source ends or a stop, then shut down."""
        if install_signals:
            self._install_signals()
        self.publisher.start()
        self.rejects.start()
        self.inference.start()
        self.items.start()
        self.capture.start()
        self._serve_metrics()
        log.info("node %s/%s/%s running (boot %s, model %s)", self.config.site,
                 self.config.line, self.config.node, self.boot_id, self.model_id)
        self._watch()
        self.shutdown()
        return 0

    def stop(self) -> None:
        """Ask the node to stop (what SIGTERM does)."""
        self._stop.set()

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: stopping", signum)
            self._stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _serve_metrics(self) -> None:
        if self.config.metrics_port is not None:
            self.metrics_port = self.telemetry.serve(self.config.metrics_port,
                                                     self.config.metrics_host)
            log.info("Prometheus metrics on http://%s:%d/metrics", self.config.metrics_host,
                     self.metrics_port)

    def _watch(self) -> None:
        """Watchdog loop: restart a stalled inference stage; return at the end or on stop."""
        while not self._stop.wait(0.2):
            self.inference.check()
            self.publisher.set_fault(self._fault())
            if self.items.done.is_set():
                self.inference.wait_idle(30.0)
                break

    def shutdown(self) -> None:
        """Stop capture, score what is in flight, fire due rejects (and store their results),
        drain, close."""
        self.capture.stop()
        self.items.join(10.0)
        self.inference.close(10.0)
        self.rejects.stop(fire_pending=True)
        self.decisions.close()
        self.publisher.stop(self.config.mqtt.drain_on_stop_s)
        self.telemetry.close()
        self.outbox.close()
        log.info("node stopped: %d items decided, %d left for the plant in the outbox",
                 self.decisions.decided, self.outbox.backlog)

    def _fault(self) -> str:
        inf, unsaved = self.inference, self.decisions.unsaved
        if unsaved.failing:
            return (f"outbox refuses writes ({unsaved.error}): results wait in memory and are "
                    f"retried; beyond {unsaved.max_items} they are lost")[:200]
        if not inf.model_failing:
            return ""
        return (f"model failing: {inf.failing_streak} batches in a row raised; every item is "
                f"rejected as {MODEL_ERROR} ({inf.model_errors} so far)")

    # -- commands, thumbnails, metrics ----------------------------------------------------
    def _command(self, cmd: NodeCommand) -> None:
        """Apply a command from the plant if :class:`~edge.remote.CommandGate` allows it."""
        who = f"{cmd.command} {cmd.id} from {cmd.sender}"
        t = self.card.thresholds
        why = self.commands.refusal(cmd, Thresholds(t.reject, t.uncertain),
                                    self.card.kind == "classes",
                                    reloading=not self._reload_done.is_set())
        if why is None and cmd.command == "set_thresholds":
            try:
                new = self.decider.set(cmd.reject_threshold, cmd.uncertain_threshold)
            except Exception as exc:
                why = str(exc)
            else:
                note = f"applied {who}: reject {new.reject:g}, uncertain {new.uncertain:g}"
        elif why is None:
            self._reload_done.clear()
            threading.Thread(target=self._reload, name="reload", daemon=True).start()
            note = f"applied {who}"
        if why is not None:
            note = f"refused {who}: {why}"
            log.warning("command %s", note)
        else:
            log.info("command %s", note)
        self.publisher.set_last_command(note)

    def _reload(self) -> None:
        """Load the model file again: its input, crop policy and (unless the config sets
        them) thresholds come from the new card."""
        try:
            self._reload_model()
        finally:
            self._reload_done.set()

    def _reload_model(self) -> None:
        try:
            scorer = self.inference.reload()
        except Exception as exc:
            log.error("model reload failed, the old model stays: %s", exc)
            return
        card = getattr(scorer, "card", self.card)
        self.card = card
        inf = self.config.inference
        try:
            t = self.decider.set(
                inf.reject_threshold if inf.reject_threshold is not None
                else card.thresholds.reject,
                inf.uncertain_threshold if inf.uncertain_threshold is not None
                else card.thresholds.uncertain,
            )
        except Exception as exc:
            log.error("model reloaded, but its thresholds were refused (%s); the old ones stay",
                      exc)
            return
        self.model_id = model_id(card)
        self.publisher.set_model(self.model_id)
        log.info("model %s reloaded by command (thresholds reject %.4f uncertain %.4f)",
                 self.model_id, t.reject, t.uncertain)

    def _model_of(self, scorer: object) -> str:
        """The model id of the scorer of a batch (results carry it)."""
        card = getattr(scorer, "card", None)
        return self.model_id if card is None else model_id(card)

    def _thumbnail(self, result: ItemResult, jpeg_b64: str) -> None:
        c = self.config
        self.publisher.offer_thumbnail(RejectThumbnail(
            site=c.site, line=c.line, node=c.node, boot_id=self.boot_id, seq=result.seq,
            ts=result.ts, score=result.score, decision=result.decision, defect=result.defect,
            jpeg_b64=jpeg_b64,
        ))

    def node_metrics(self) -> NodeMetrics:
        """The periodic MQTT metrics payload (one window)."""
        c, w, cs = self.config, self.telemetry.take_window(), self.capture.stats
        drift = self.drift.status()
        return NodeMetrics(
            site=c.site, line=c.line, node=c.node, boot_id=self.boot_id, ts=time.time(),
            window_s=w.window_s, items=w.items, rejects_by_defect=w.rejects_by_defect,
            uncertain=w.uncertain, missed_rejects=w.missed_rejects,
            latency_p50_ms=w.latency_p50_ms, latency_p99_ms=w.latency_p99_ms,
            frames=cs.frames, dropped_frames=cs.dropped, corrupt_frames=cs.corrupt + cs.wrong_shape,
            queue_depth=self.frames.qsize() + self.inference.pending,
            outbox_backlog=self.outbox.backlog + self.decisions.unsaved.waiting,
            outbox_dropped=sum(self.outbox.dropped.values()) + self.decisions.unsaved.dropped,
            score_p50=drift.score_p50, estimated_frr=drift.estimated_frr,
            frr_band=drift.band, drift_alert=drift.alert,
        )

    def snapshot(self) -> Snapshot:
        """Stage counters for Prometheus, read at scrape time."""
        cs, ps = self.capture.stats, self.publisher.stats
        drift = self.drift.status()
        values: dict[str, Any] = {
            "estimated_frr": Gauge("false-reject rate estimated from the latest items' scores "
                                   "(-1 until enough items)",
                                   -1.0 if drift.estimated_frr is None else drift.estimated_frr),
            "drift_alert": Gauge("1 while the estimated false-reject rate is out of its band",
                                 float(drift.alert)),
            "frames": Total("frames captured", cs.frames),
            "corrupt_frames": Total("frames that could not be decoded", cs.corrupt),
            "wrong_shape_frames": Total("frames of the wrong shape", cs.wrong_shape),
            "dropped_frames": Total("frames dropped because the pipeline was behind", cs.dropped),
            "source_reopens": Total("times the source was reopened", cs.reopens),
            "inference_restarts": Total("inference stalls restarted by the watchdog",
                                        self.inference.restarts),
            "model_errors": Total("items rejected because the model failed on their batch",
                                  self.inference.model_errors),
            "missed_rejects": Total("rejects decided too late to fire", self.rejects.missed),
            "rejects_fired": Total("rejects fired", self.rejects.fired),
            "stage_seconds": Total("seconds each pipeline stage has worked",
                                   dict(self.telemetry.stage_s)),
            "actuator_errors": Total("reject actuator failures", self.rejects.errors),
            "unjudged_items": Total("items that left without a full view",
                                    self.items.tracker.unjudged if self.items.tracker else 0),
            "outbox_backlog": Gauge("results not yet acknowledged by the plant",
                                    self.outbox.backlog),
            "results_unsaved": Gauge("results kept in memory because the outbox refuses writes",
                                     self.decisions.unsaved.waiting),
            "outbox_write_failures": Total("outbox writes that failed (retried)",
                                           self.decisions.unsaved.failures),
            "results_lost": Total("results dropped because the outbox refused writes and the "
                                  "memory bound was reached", self.decisions.unsaved.dropped),
            "outbox_dropped": Total("results refused because the outbox was full",
                                    {k: float(v) for k, v in self.outbox.dropped.items()}),
            "queue_depth": Gauge("frames and items waiting", self.frames.qsize()
                                 + self.inference.pending),
            "mqtt_connected": Gauge("1 while connected to the broker",
                                    float(self.publisher.connected)),
            "plant_online": Gauge("1 while the plant says it is online",
                                  float(self.publisher.plant_online)),
            "results_sent": Total("results published (first time)", ps.sent),
            "results_resent": Total("results published again (unacknowledged)", ps.resent),
            "results_acked": Total("results acknowledged by the plant", ps.acked),
            "publish_denied": Total("publishes the broker refused", ps.denied),
            "mqtt_connects": Total("successful connections to the broker", ps.connects),
        }
        return values
