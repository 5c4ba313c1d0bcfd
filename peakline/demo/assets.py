"""What the demo line needs on disk, made once and cached in the work dir.

Seeded recordings of each line (``edge.recording``), one inspection model fitted on a
separate training recording (``edge.model.fit``), the sample ERP history
(``peakline.demo.sample_erp``), and the config files of the camera nodes and the plant service.
Each step writes a small ``demo-stamp.json`` with its parameters and Peakline's version; a
later run with the same parameters and version reuses the files instead of making them again.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peakline

__all__ = [
    "DemoPaths",
    "LineSpec",
    "ensure_erp",
    "ensure_model",
    "ensure_recording",
    "ensure_training",
    "line_specs",
    "node_config_text",
    "plant_config_text",
]

log = logging.getLogger(__name__)
STAMP = "demo-stamp.json"
#: assets made by another version of Peakline are made again (recorder, model and sample data
#: change between versions); the same version reuses them, from any checkout
ASSETS_VERSION = peakline.__version__


@dataclass(frozen=True)
class LineSpec:
    """One demo line: its name, camera node, recording seed and defect rate."""

    line: str
    node: str
    seed: int
    defect_rate: float


@dataclass(frozen=True)
class DemoPaths:
    """The layout of the demo's work dir."""

    root: Path

    @property
    def recordings(self) -> Path:
        return self.root / "recordings"

    @property
    def model(self) -> Path:
        return self.root / "model" / "mooncake.onnx"

    @property
    def erp(self) -> Path:
        return self.root / "erp"

    @property
    def broker(self) -> Path:
        return self.root / "broker"

    @property
    def plant(self) -> Path:
        return self.root / "plant"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.plant / 'plant.db'}"

    @property
    def nodes(self) -> Path:
        return self.root / "nodes"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def progress(self) -> Path:
        return self.root / "progress.json"

    @property
    def training(self) -> Path:
        return self.root / "model" / "training"


def line_specs(n: int, seed: int) -> list[LineSpec]:
    """``n`` lines (1..3), each with its own camera, seed and defect rate."""
    rates = (0.06, 0.09, 0.14)
    return [
        LineSpec(f"line{i + 1}", f"cam{i + 1}", seed + 101 * (i + 1), rates[i % 3])
        for i in range(n)
    ]


def _stamped(folder: Path, params: dict[str, Any], marker: Path) -> bool:
    stamp = folder / STAMP
    if not marker.exists() or not stamp.exists():
        return False
    try:
        return bool(json.loads(stamp.read_text()) == params)
    except (OSError, ValueError):
        return False


def _stamp(folder: Path, params: dict[str, Any]) -> None:
    (folder / STAMP).write_text(json.dumps(params, sort_keys=True))


def _run(argv: list[str], what: str, progress: bool) -> None:
    """Run a ``peakline`` step in a child process (its crash cannot take the demo down)."""
    from peakline.procs import run_step

    run_step(argv, what, quiet=not progress)


def ensure_recording(
    out: Path, *, seed: int, seconds: float, fps: float, defect_rate: float, progress: bool = True
) -> Path:
    """A seeded recording in ``out`` (``peakline record``, unless the same one is there)."""
    from peakline.procs import peakline_argv

    params = {
        "version": ASSETS_VERSION,
        "seed": seed,
        "seconds": seconds,
        "fps": fps,
        "defect_rate": defect_rate,
        "width": 1280,
        "height": 720,
        "lanes": 2,
    }
    if _stamped(out, params, out / "recording.json"):
        return out
    log.info("recording %s (seed %d, %.0f s at %.0f fps)", out.name, seed, seconds, fps)
    argv = peakline_argv(
        "record",
        "--out",
        str(out),
        "--seed",
        str(seed),
        "--seconds",
        str(seconds),
        "--fps",
        str(fps),
        "--width",
        "1280",
        "--height",
        "720",
        "--lanes",
        "2",
        "--defect-rate",
        str(defect_rate),
        "--overwrite",
    )
    _run([*argv, *([] if progress else ["--quiet"])], f"recording {out.name}", progress)
    _stamp(out, params)
    return out


def ensure_training(paths: DemoPaths, *, seed: int, fps: float, progress: bool = True) -> Path:
    """The recording the model is fitted on: one that no demo line replays. A fifth of its
    slots hold defects, so that the model's naming head learns every defect type from a few
    labelled examples (the anomaly model itself fits on the good items only)."""
    return ensure_recording(
        paths.training, seed=seed + 7, seconds=60, fps=fps, defect_rate=0.2, progress=progress
    )


def ensure_model(paths: DemoPaths, *, seed: int, fps: float, progress: bool = True) -> Path:
    """The inspection model (``peakline model fit``) on the training recording."""
    from peakline.procs import peakline_argv

    training = ensure_training(paths, seed=seed, fps=fps, progress=progress)
    params = {"version": ASSETS_VERSION, "seed": seed, "fps": fps, "size": 64,
              "target_frr": 0.01, "classifier": True}
    if _stamped(paths.model.parent, params, paths.model):
        return paths.model
    log.info("fitting the inspection model on %s", training)
    argv = peakline_argv(
        "model",
        "fit",
        "--data",
        str(training),
        "--out",
        str(paths.model),
        "--size",
        "64",
        "--target-frr",
        "0.01",
        "--name",
        "mooncake-padim",
        "--classifier",
    )
    _run(argv, "fitting the model", progress)
    _stamp(paths.model.parent, params)
    return paths.model


def ensure_erp(paths: DemoPaths, *, seed: int) -> Path:
    """The sample ERP history as CSV files (skus, demand, orders, inventory, BOM ...)."""
    from peakline.demo import sample_erp as demand_sample

    params = {"version": ASSETS_VERSION, "seed": seed,
              "end": demand_sample.DEFAULT_END.isoformat()}
    if _stamped(paths.erp, params, paths.erp / "skus.csv"):
        return paths.erp
    if paths.erp.exists():
        shutil.rmtree(paths.erp)
    log.info("generating the sample ERP history (seed %d)", seed)
    demand_sample.write(demand_sample.generate(seed=seed), paths.erp)
    _stamp(paths.erp, params)
    return paths.erp


def node_config_text(
    paths: DemoPaths, spec: LineSpec, site: str, broker_port: int, recording: Path,
    mqtt_extra: str = "",
) -> str:
    """The TOML of one camera node replaying ``recording`` in real time, looping;
    ``mqtt_extra``: more lines for its ``[mqtt]`` table (protocol, credentials)."""
    from edge.recording import read_recording

    meta = read_recording(recording).meta
    home = paths.nodes / spec.node
    return f"""# Demo camera node {spec.node} on {spec.line}, written by `peakline demo`.
site = "{site}"
line = "{spec.line}"
node = "{spec.node}"
log_level = "INFO"

[source]
type = "recording"
path = "{recording}"
realtime = true
loop = true

[belt]
y0 = {meta.belt_y0}
y1 = {meta.belt_y1}
speed_px_s = {meta.belt_speed_px_s}
direction = "{meta.direction}"
method = "color"

[inference]
model = "{paths.model}"
providers = ["CPUExecutionProvider"]
threads = 1
batch_size = 8
max_wait_ms = 20.0

[actuator]
station_x = {meta.width + 400.0}
latency_ms = 20.0
[actuator.plugin]
type = "csv"
path = "{home / "rejects.csv"}"

[outbox]
path = "{home / "outbox.db"}"
synchronous = "normal"

[mqtt]
host = "127.0.0.1"
port = {broker_port}
metrics_interval_s = 2.0
thumbnails_per_min = 40
batch_interval_ms = 200
{mqtt_extra}
[review]
dir = "{home / "review"}"
max_files = 500
"""


def plant_config_text(
    paths: DemoPaths, site: str, broker_port: int, host: str, port: int, mqtt_extra: str = ""
) -> str:
    """The TOML of the demo's plant service, with the dashboard in the same process;
    ``mqtt_extra``: more lines for its ``[mqtt]`` table (protocol, credentials)."""
    return f"""# Demo plant service, written by `peakline demo`.
[plant]
site = "{site}"
db = "{paths.db_url}"
sqlite_synchronous = "normal"

[mqtt]
host = "127.0.0.1"
port = {broker_port}
client_id = "peakline-plant-demo"
{mqtt_extra}
[ingest]
stats_interval_s = 30

[erp]
plan_poll_s = 5

[dashboard]
host = "{host}"
port = {port}
site = "{site} (demo)"
refresh_s = 1.0
progress_file = "{paths.progress}"
"""
