"""Ingest: MQTT messages in, validated and de-duplicated, committed in batches, then acked.

The paho network thread only puts ``(topic, payload, token)`` on a bounded queue
(``submit``). One writer thread takes up to ``max_batch`` messages or whatever arrived within
``flush_ms``, validates each against ``peakline.wire`` (a bad one becomes a dead letter with its
reason), commits them all in ONE transaction and only then calls ``on_commit`` with, per node
boot (site, line, node, boot_id), the highest contiguous sequence stored: the service
publishes those as ``PlantAck`` and releases the MQTT PUBACKs of the committed messages. A
failed commit is retried with back-off; nothing is acknowledged that is not in the database.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from peakline import wire
from peakline.errors import PeaklineError, StoreError
from peakline.procs import die_with_parent
from plant.broker.identities import ProvisionedNodes
from plant.store import DeadLetter, IngestBatch, ResultRows, Store, StreamKey
from plant.store.results import StreamLimitError

__all__ = ["IngestStats", "Ingestor", "Message", "classify", "prepare"]

log = logging.getLogger(__name__)

Key = StreamKey
#: (topic, payload, token, received_ts, its parse in a worker or None); the token goes back
#: to ``on_commit``
Message = tuple[str, bytes, Any, float, "Future[IngestBatch] | None"]


@dataclass
class IngestStats:
    """Running totals since start (read by logs, the dashboard and the bench)."""

    messages: int = 0
    results_stored: int = 0
    dead_letters: int = 0
    erp_rows: int = 0
    commits: int = 0
    commit_retries: int = 0
    poison: int = 0  # messages the database refused, kept as dead letters
    last_commit_ms: float = 0.0
    started: float = field(default_factory=time.time)


#: errors that come from a message's values, not from the database's state: the same rows
#: fail the same way on every retry (PostgreSQL's DataError and IntegrityError; SQLite raises
#: OverflowError for an integer past 64 bits before SQLAlchemy sees it)
POISON: tuple[type[BaseException], ...] = (DataError, IntegrityError, OverflowError,
                                           StreamLimitError)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]


def _parse(raw: bytes, expect: type[Any]) -> Any:
    """``wire.parse_payload(raw, expect)``, with a faster path for results batches.

    pydantic's own JSON parser validates a large results batch about twice as fast as
    ``json.loads`` + ``model_validate``; whatever it does not accept (or accepts only thanks to
    a default ``schema``) goes through ``parse_payload``, which gives the contract's verdict.
    """
    if expect is wire.ResultsBatch and len(raw) <= wire.MAX_PAYLOAD_BYTES:
        try:
            batch = wire.ResultsBatch.model_validate_json(raw)
        except ValueError:
            pass
        else:
            if "schema_" in batch.model_fields_set:
                return batch
    return wire.parse_payload(raw, expect)


def classify(site: str, topic: str, raw: bytes, received: float, batch: IngestBatch,
             nodes: ProvisionedNodes | None = None) -> bool:
    """Validate one node message into ``batch`` (or its dead letters); False if not a node topic.

    With ``nodes``, messages from a node that is not provisioned are dead-lettered too.
    """
    try:
        t_site, line, node, leaf = wire.Topics.split_node_topic(topic)
    except wire.WireError:
        return False
    try:
        if t_site != site:
            raise wire.WireError(f"topic is for site {t_site!r}, this plant serves {site!r}")
        expect = wire.NODE_UPLINK.get(leaf)  # type: ignore[call-overload]
        if expect is None:
            raise wire.WireError(f"unexpected topic leaf {leaf!r}")
        payload: Any = _parse(raw, expect)
        got = (payload.site, payload.line, payload.node)
        if got != (t_site, line, node):
            raise wire.WireError(
                f"payload is from {'/'.join(got)} but the topic names {t_site}/{line}/{node}"
            )
        if nodes is not None and not nodes.is_provisioned(t_site, line, node):
            raise wire.WireError(f"node {t_site}/{line}/{node} is not provisioned; refused")
    except wire.WireError as exc:
        batch.dead_letters.append(DeadLetter(topic, str(exc), raw, received))
        return True
    if leaf == wire.NodeLeaf.RESULTS:
        batch.results.append((payload, received))
    elif leaf == wire.NodeLeaf.STATUS:
        batch.statuses.append((payload, received))
    elif leaf == wire.NodeLeaf.METRICS:
        batch.metrics.append((payload, received))
    else:
        batch.thumbnails.append((payload, received))
    return True


def prepare(site: str, topic: str, raw: bytes, received: float,
            nodes: ProvisionedNodes | None = None) -> IngestBatch:
    """Validate one node message into a batch of ready-to-insert rows (runs in a worker)."""
    batch = IngestBatch()
    if not classify(site, topic, raw, received, batch, nodes):
        batch.dead_letters.append(DeadLetter(topic, "not a topic this plant consumes", raw,
                                             received))
    batch.results = [
        (b if isinstance(b, ResultRows) else ResultRows.from_batch(b, rec), rec)
        for b, rec in batch.results
    ]
    return batch


def _worker_init(parent: int) -> None:
    """Parse workers leave Ctrl-C to the service, which shuts them down in order, and die
    with it when it is killed (SIGKILL leaves no chance to shut them down)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)


def _warm() -> bool:
    return True


class Ingestor:
    """Queue + writer thread between the MQTT client and the store."""

    def __init__(
        self,
        store: Store,
        site: str,
        on_commit: Callable[[dict[Key, int], list[Any]], None],
        *,
        max_batch: int = 200,
        flush_ms: float = 20.0,
        queue_max: int = 10_000,
        queue_max_bytes: int = 256 * 2**20,
        erp: Callable[[str, bytes], int] | None = None,
        replies: Callable[[str, bytes], int] | None = None,
        parse_workers: int = 0,
        nodes: ProvisionedNodes | None = None,
    ) -> None:
        self.store = store
        self.nodes = nodes
        self.site = site
        self.on_commit = on_commit
        self.max_batch = max_batch
        self.flush_s = flush_ms / 1000.0
        self.erp = erp
        self.replies = replies
        self.stats = IngestStats()
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize=queue_max)
        self.queue_max_bytes = queue_max_bytes
        self._queued_bytes = 0
        self._room = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._closed = False
        self._plant_prefix = f"{wire.ROOT}/{site}/plant/"
        self._pool: ProcessPoolExecutor | None = None
        self._workers = parse_workers
        if parse_workers > 0:
            self._pool = ProcessPoolExecutor(parse_workers, mp_context=mp.get_context("spawn"),
                                             initializer=_worker_init, initargs=(os.getpid(),))

    @property
    def backlog(self) -> int:
        """Messages received and not yet committed."""
        return self._queue.qsize()

    def submit(self, topic: str, payload: bytes, token: Any = None) -> None:
        """Queue a message (called from the network thread; blocks while the queue is full).

        With parse workers, a results message starts validating in a worker process at once;
        the queue keeps its place so commits stay in arrival order.
        """
        received = time.time()
        raw = bytes(payload)
        fut: Future[IngestBatch] | None = None
        pool = self._pool
        if pool is not None and topic.endswith("/results"):
            try:
                fut = pool.submit(prepare, self.site, topic, raw, received, self.nodes)
            except RuntimeError as exc:  # broken or shut down: validate in the writer
                self._drop_pool(exc)
        with self._room:  # bounded by bytes as well as by count (a message is up to 1 MB)
            while (self._queued_bytes + len(raw) > self.queue_max_bytes and self._queued_bytes
                   and not self._closed):
                self._room.wait(0.5)
            self._queued_bytes += len(raw)
        while not self._closed:
            try:
                self._queue.put((topic, raw, token, received, fut), timeout=0.5)
                return
            except queue.Full:
                continue
        # stopped: never PUBACKed, so the broker redelivers it in the next session

    def start(self) -> Ingestor:
        """Start the writer thread."""
        if self._pool is not None:  # start the workers now, not with the first message
            for _ in range(self._workers):
                self._pool.submit(_warm)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="plant-ingest", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Commit and acknowledge everything queued so far, then end the writer."""
        if self._thread is None:
            return
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("ingest writer did not finish within %.0f s", timeout)
        self._thread = None
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # --- writer ------------------------------------------------------------------------------
    def _take(self) -> list[Message] | None:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return [] if not self._stopping.is_set() else None
        if first is None:
            return None
        chunk = [first]
        deadline = time.monotonic() + self.flush_s
        while len(chunk) < self.max_batch:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get_nowait() if left <= 0 else self._queue.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                self._stopping.set()
                break
            chunk.append(item)
        with self._room:
            self._queued_bytes -= sum(len(m[1]) for m in chunk)
            self._room.notify_all()
        return chunk

    def _run(self) -> None:
        while True:
            chunk = self._take()
            if chunk is None:
                break
            if chunk:
                try:
                    self.process(chunk)
                except Exception:  # a bug must not end ingest; these stay un-acked
                    log.exception("ingest of %d messages failed", len(chunk))
            if self._stopping.is_set() and self._queue.empty():
                break
        # anything still queued (arrived during shutdown) is committed too
        rest: list[Message] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                rest.append(item)
        for i in range(0, len(rest), self.max_batch):
            self.process(rest[i : i + self.max_batch])

    def process(self, chunk: list[Message]) -> None:
        """Validate, commit (retrying) and acknowledge one chunk of messages."""
        parts: list[tuple[Message, IngestBatch]] = []
        tokens = []
        erp_msgs: list[tuple[Message, IngestBatch]] = []
        for msg in chunk:
            topic, raw, token, received, fut = msg
            tokens.append(token)
            part = IngestBatch()
            parts.append((msg, part))
            if fut is not None:
                try:
                    done = fut.result()
                except Exception as exc:  # a dead worker: validate here from now on
                    self._drop_pool(exc)
                else:
                    part.results += done.results
                    part.dead_letters += done.dead_letters
                    continue
            if (not raw and topic.endswith("/status")) or topic.startswith(self._plant_prefix):
                continue  # a cleared retained status; the plant's own topics
            if not classify(self.site, topic, raw, received, part, self.nodes):
                erp = self.erp is not None and topic.startswith(f"{wire.ROOT}/{self.site}/erp/")
                if erp or (self.replies is not None and self._reply_of(topic) is not None):
                    # ERP inputs and supplier replies: applied in order
                    erp_msgs.append((msg, part))
                else:
                    part.dead_letters.append(
                        DeadLetter(topic, "not a topic this plant consumes", raw, received)
                    )
        for (topic, raw, _token, received, _fut), part in erp_msgs:
            delay = 0.05
            while True:
                try:
                    self.stats.erp_rows += self._erp(topic, raw)
                except POISON as exc:  # the message's values: retrying cannot help
                    reason = f"the database refused it: {_first_line(exc)}"
                    log.error("dead letter on %s: %s", topic, reason)
                    part.dead_letters.append(DeadLetter(topic, reason, raw, received))
                    self.stats.poison += 1
                except (SQLAlchemyError, StoreError) as exc:  # the database, not the message
                    if self._stopping.is_set():
                        log.error("ERP message on %s not applied at shutdown: %s", topic, exc)
                        return
                    log.warning("ERP message on %s: database error, retrying: %s", topic,
                                str(exc).splitlines()[0])
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                except PeaklineError as exc:
                    part.dead_letters.append(DeadLetter(topic, str(exc), raw, received))
                break
        batch = IngestBatch.merged(p for _m, p in parts)
        acks = self._commit(batch, parts)
        if acks is None:
            return  # not stored: no PUBACK, the broker redelivers after a reconnect
        self.stats.messages += len(chunk)
        self.stats.dead_letters += len(batch.dead_letters)
        self.on_commit(acks, tokens)

    def _drop_pool(self, exc: BaseException) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            log.warning("parse workers failed (%s: %s); validating in the writer thread "
                        "from now on", type(exc).__name__, exc)
            pool.shutdown(wait=False, cancel_futures=True)

    def _reply_of(self, topic: str) -> str | None:
        """The supplier of a reply topic of this site, else None."""
        supplier = wire.Topics.supplier_of(topic)
        try:
            if supplier is None or topic != wire.Topics(self.site).supplier_reply(supplier):
                return None
        except wire.WireError:
            return None
        return supplier

    def _erp(self, topic: str, raw: bytes) -> int:
        supplier = self._reply_of(topic)
        if supplier is not None and self.replies is not None:
            return self.replies(supplier, raw)
        assert self.erp is not None
        return self.erp(topic.rsplit("/", 1)[-1], raw)

    def _commit(self, batch: IngestBatch,
                parts: list[tuple[Message, IngestBatch]]) -> dict[Key, int] | None:
        """Commit ``batch`` (retrying the database's transient errors); None if given up.

        A deterministic refusal (a value the database cannot hold) is a property of one
        message, not of the database: the chunk is then committed message by message and the
        message the database refuses becomes a dead letter, so it neither blocks the others
        nor comes back after a restart.
        """
        delay = 0.05
        attempt = 0
        done: dict[int, dict[Key, int]] | None = None
        while True:
            attempt += 1
            t0 = time.perf_counter()
            try:
                if done is None:
                    acks = self.store.write_ingest(batch)
                else:
                    acks = self._commit_each(parts, done)
            except POISON as exc:
                log.warning("the database refused a chunk of %d messages (%s); storing them "
                            "one by one", len(parts), _first_line(exc))
                done = {}
                continue
            except (SQLAlchemyError, StoreError) as exc:
                self.stats.commit_retries += 1
                log.warning("commit of %d messages failed (attempt %d): %s", len(batch), attempt,
                            str(exc).splitlines()[0])
                if self._stopping.is_set() and attempt >= 3:
                    log.error("giving up on %d messages at shutdown; the broker and the "
                              "edges will redeliver them", len(batch))
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.stats.commits += 1
            self.stats.last_commit_ms = (time.perf_counter() - t0) * 1000
            if done is None:
                self.stats.results_stored += batch.stored
            return acks

    def _commit_each(self, parts: list[tuple[Message, IngestBatch]],
                     done: dict[int, dict[Key, int]]) -> dict[Key, int]:
        """Commit message by message, skipping those in ``done`` (a retry after a transient
        error); a message the database refuses is stored as a dead letter instead."""
        for i, ((topic, raw, _token, received, _fut), part) in enumerate(parts):
            if i in done:
                continue
            try:
                done[i] = self.store.write_ingest(part)
                self.stats.results_stored += part.stored
            except POISON as exc:
                reason = f"the database refused it: {_first_line(exc)}"
                log.error("dead letter on %s: %s", topic, reason)
                self.store.write_ingest(
                    IngestBatch(dead_letters=[DeadLetter(topic, reason, raw, received)]))
                self.stats.dead_letters += 1
                self.stats.poison += 1
                done[i] = {}
        acks: dict[Key, int] = {}
        for part_acks in done.values():
            for key, seq in part_acks.items():
                acks[key] = max(acks.get(key, 0), seq)
        return acks
