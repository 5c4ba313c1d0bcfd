"""``peakline demo``: a whole mooncake plant on one machine, stopped cleanly with Ctrl-C.

Starts, under one work dir: an MQTT broker (Mosquitto with the shipped settings when it is
installed, else the embedded amqtt broker, MQTT 3.1.1; see :mod:`peakline.demo.broker`), the
plant service (ingest, ERP bridge, plan publishing, and the dashboard in the same process)
on the sample ERP history, forecasts and plans, and two or three camera nodes replaying
seeded recordings of their lines in real time, looping. Prints the dashboard's URL and which
broker it started. On Ctrl-C or SIGTERM it stops the nodes first (they flush their
outboxes), then the planning jobs, the plant and the broker; every child runs in its own
session with a parent-death signal, so none outlives it.

The dashboard comes up first and shows, from a progress file, what the demo prepares
(recordings, the model, the ERP history, forecast and plans); then the line goes live.
Recordings, the model and the ERP files are cached in the work dir; a second start takes
seconds.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from peakline.demo.assets import (
    DemoPaths,
    LineSpec,
    ensure_erp,
    ensure_model,
    ensure_recording,
    ensure_training,
    line_specs,
    node_config_text,
    plant_config_text,
)
from peakline.demo.broker import DemoBroker, choose_broker
from peakline.demo.procs import ChildGroup, demo_child
from peakline.errors import ConfigError, PeaklineError
from peakline.procs import ProcessError, peakline_argv, wait_for_port
from peakline.progress import Progress
from peakline.wire import PlanKind
from plant.dashboard.auth import require_token_for, resolve_token

__all__ = ["DemoLine", "DemoOptions"]

log = logging.getLogger(__name__)
SITE = "shunde"


@dataclass(frozen=True)
class DemoOptions:
    """What ``peakline demo`` was asked for."""

    workdir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    nodes: int = 3
    minutes: float | None = None
    seconds_per_line: float = 60.0
    fps: float = 15.0
    seed: int = 2026
    progress: bool = True


@dataclass
class DemoLine:
    """The demo's processes; ``start()`` brings them up, ``stop()`` takes them down in order."""

    options: DemoOptions
    paths: DemoPaths = field(init=False)
    specs: list[LineSpec] = field(init=False)
    broker_port: int = 0
    broker: DemoBroker | None = None
    url: str = ""
    _infra: ChildGroup = field(default_factory=ChildGroup)
    _jobs: ChildGroup = field(default_factory=ChildGroup)
    _nodes: ChildGroup = field(default_factory=ChildGroup)
    _reported: set[str] = field(default_factory=set)
    _store: Any = None  # opened to watch for the first plans

    def __post_init__(self) -> None:
        if not 1 <= self.options.nodes <= 3:
            raise ConfigError(f"--nodes must be 1, 2 or 3, got {self.options.nodes}")
        # refuse now, not minutes later when the plant service starts the dashboard
        require_token_for(self.options.host, resolve_token())
        with socket.socket(socket.AF_INET6 if ":" in self.options.host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((self.options.host, self.options.port))
            except OSError as exc:
                raise ConfigError(
                    f"the dashboard cannot listen on {self.options.host}:{self.options.port} "
                    f"({exc.strerror}); choose another port with --port"
                ) from exc
        self.paths = DemoPaths(self.options.workdir.resolve())
        self.specs = line_specs(self.options.nodes, self.options.seed)

    # --- preparing -------------------------------------------------------------------------
    def plan_steps(self) -> Progress:
        """The progress file the dashboard shows while the demo prepares, with every step."""
        progress = Progress(self.paths.progress, "Preparing the demo line")
        progress.add("erp", "sample ERP history (four years of orders)")
        for spec in self.specs:
            progress.add(f"rec:{spec.line}", f"recording {spec.line} ({spec.node})")
        progress.add("training", "training recording for the inspection model")
        progress.add("model", "fitting the inspection model")
        progress.add("import", "importing the ERP history into the plant")
        progress.add("plans", "forecast, plans and backtest")
        progress.add("nodes", "starting the camera nodes")
        return progress

    def prepare(self, progress: Progress, stop: threading.Event) -> bool:
        """Make (or reuse) the ERP files, the recordings and the model; import the ERP data.

        Returns False if ``stop`` was set on the way."""
        opts, paths = self.options, self.paths

        def step(key: str, run: Callable[[], object], detail: str = "") -> bool:
            if stop.is_set():
                return False
            progress.start(key, detail)
            try:
                run()
            except PeaklineError as exc:
                progress.fail(key, str(exc).splitlines()[0])
                raise
            progress.done(key)
            return True

        if not step("erp", lambda: ensure_erp(paths, seed=opts.seed)):
            return False
        for spec in self.specs:
            if not step(f"rec:{spec.line}", lambda s=spec: ensure_recording(  # type: ignore[misc]
                    paths.recordings / s.line, seed=s.seed, seconds=opts.seconds_per_line,
                    fps=opts.fps, defect_rate=s.defect_rate, progress=opts.progress),
                    f"{opts.seconds_per_line:.0f} s at {opts.fps:.0f} fps"):
                return False
        if not step("training", lambda: ensure_training(paths, seed=opts.seed, fps=opts.fps,
                                                        progress=opts.progress)):
            return False
        if not step("model", lambda: ensure_model(paths, seed=opts.seed, fps=opts.fps,
                                                  progress=opts.progress)):
            return False
        return step("import", self._import_erp)

    def _import_erp(self) -> None:
        from plant.store import Store

        with Store.open(self.paths.db_url, synchronous="normal") as store:
            counts = store.import_dir(self.paths.erp)
        log.info("ERP history imported: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))

    # --- starting --------------------------------------------------------------------------
    def start_plant(self) -> str:
        """Start the broker and the plant with its dashboard (on an empty store); the URL."""
        for folder in (self.paths.root, self.paths.plant, self.paths.nodes, self.paths.logs,
                       self.paths.broker):
            folder.mkdir(parents=True, exist_ok=True)
        self._start_broker()
        self._start_plant()
        return self.url

    def start_line(self, progress: Progress) -> None:
        """Start the planning job and the camera nodes; the dashboard goes live."""
        progress.start("plans")
        self._start_planning()
        progress.start("nodes")
        self._start_nodes()
        progress.done("nodes", f"{len(self.specs)} camera nodes")
        progress.set_phase("live")

    def plans_ready(self) -> bool:
        """Whether the planning job has stored its first plans."""
        from plant.store import Store

        if self._store is None:
            self._store = Store.open(self.paths.db_url, synchronous="normal")
        return self._store.latest_plan_id(PlanKind.PRODUCTION) is not None

    def _start_broker(self) -> None:
        broker = self.broker = choose_broker(self.paths.broker)
        child = self._infra.start(demo_child("broker", broker.argv, self.paths.logs / "broker.log"))
        try:
            wait_for_port(broker.port, 15)
        except ProcessError as exc:
            raise PeaklineError(f"the broker did not start: {exc}\n{child.log_tail()}") from exc
        self.broker_port = broker.port
        log.info("broker: %s", broker.description)

    @property
    def started_broker(self) -> DemoBroker:
        """The broker :meth:`start` chose and started."""
        assert self.broker is not None, "start the broker first"
        return self.broker

    def _start_plant(self) -> None:
        opts = self.options
        cfg = self.paths.plant / "plant.toml"
        cfg.write_text(plant_config_text(self.paths, SITE, self.broker_port, opts.host, opts.port,
                                         self.started_broker.client_toml()))
        self.paths.progress.unlink(missing_ok=True)  # not the last run's
        plant = self._infra.start(
            demo_child(
                "plant",
                peakline_argv("plant", "serve", "--config", str(cfg)),
                self.paths.logs / "plant.log",
                env=self.started_broker.client_env,
            )
        )
        probe = "127.0.0.1" if opts.host in ("0.0.0.0", "::") else opts.host
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not plant.alive:
                raise PeaklineError(f"the plant service exited:\n{plant.log_tail()}")
            try:
                wait_for_port(opts.port, 0.5, probe)
                break
            except Exception:
                continue
        else:
            raise PeaklineError(f"the dashboard did not come up on port {opts.port}")
        shown = "localhost" if opts.host in ("127.0.0.1", "0.0.0.0", "::") else opts.host
        self.url = f"http://{shown}:{opts.port}/"

    def _start_planning(self) -> None:
        """Forecast, backtest and plans from the imported history, as one background job."""
        argv = [sys.executable, "-P", "-m", "peakline.demo.planning", "--db", self.paths.db_url]
        self._jobs.start(demo_child("planning", argv, self.paths.logs / "planning.log"))

    def _start_nodes(self) -> None:
        for spec in self.specs:
            home = self.paths.nodes / spec.node
            home.mkdir(parents=True, exist_ok=True)
            cfg = home / "node.toml"
            cfg.write_text(
                node_config_text(
                    self.paths, spec, SITE, self.broker_port, self.paths.recordings / spec.line,
                    self.started_broker.client_toml(),
                )
            )
            self._nodes.start(
                demo_child(
                    spec.node,
                    peakline_argv("edge", "run", "--config", str(cfg)),
                    self.paths.logs / f"{spec.node}.log",
                    env=self.started_broker.client_env,
                )
            )

    # --- running ---------------------------------------------------------------------------
    def check(self) -> None:
        """Report (once each) children that exited on their own; a dead plant is fatal."""
        for group in (self._infra, self._nodes, self._jobs):
            for child in group.dead():
                if child.name in self._reported:
                    continue
                self._reported.add(child.name)
                code = child.returncode
                if group is self._jobs and code == 0:
                    log.info("%s finished; the dashboard shows its results", child.name)
                    continue
                log.error(
                    "%s exited with status %s; its log ends:\n%s",
                    child.name,
                    code,
                    child.log_tail(1500),
                )
                if group is self._infra:
                    raise PeaklineError(f"the {child.name} process stopped; see {child.log_path}")

    def stop(self) -> None:
        """Nodes first (they flush), then jobs, then plant and broker; no child left behind."""
        if self._store is not None:
            self._store.close()
            self._store = None
        for name, group in (
            ("camera nodes", self._nodes),
            ("planning jobs", self._jobs),
            ("plant and broker", self._infra),
        ):
            statuses = group.stop(timeout=20)
            if statuses:
                log.info(
                    "stopped %s: %s", name, ", ".join(f"{k} ({v})" for k, v in statuses.items())
                )


def run_demo(options: DemoOptions) -> int:
    """Start the dashboard, prepare, start the line, wait for Ctrl-C / SIGTERM / ``minutes``,
    stop; the exit status."""
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, stopping the demo line", signal.Signals(signum).name)
        stop.set()

    old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    demo = DemoLine(options)
    try:
        url = demo.start_plant()
        progress = demo.plan_steps()
        print(f"\nPeakline dashboard: {url} (it shows what the demo prepares, then the live "
              "line)\n", flush=True)
        if not demo.prepare(progress, stop):
            return 130
        demo.start_line(progress)
        lines = ", ".join(f"{s.line}/{s.node}" for s in demo.specs)
        print(
            f"\nPeakline demo line is running: {lines}\n"
            f"  dashboard:  {url}\n"
            f"  broker:     {demo.started_broker.description}\n"
            f"  work dir:   {demo.paths.root} (logs in {demo.paths.logs})\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        deadline = None if options.minutes is None else time.monotonic() + 60 * options.minutes
        plans_pending = True
        while not stop.wait(1.0):
            demo.check()
            if plans_pending and demo.plans_ready():
                progress.done("plans")
                plans_pending = False
            if deadline is not None and time.monotonic() >= deadline:
                log.info("ran for %.1f minutes, stopping", options.minutes)
                break
        return 0
    finally:
        demo.stop()
        for sig, handler in old.items():
            signal.signal(sig, handler)
        print("Peakline demo stopped.", file=sys.stderr, flush=True)
