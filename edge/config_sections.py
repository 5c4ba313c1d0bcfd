"""Sections of the camera node's configuration (one pydantic model per TOML table).

Every model forbids unknown keys and documents every field, so ``--check-config`` names the
exact key that is wrong and ``docs/edge.md`` can list every option from here.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from peakline.config import MqttClientConfig, Section, Synchronous

__all__ = [
    "ACTUATOR_TYPES",
    "SOURCE_TYPES",
    "ActuatorConfig",
    "BeltConfig",
    "CameraSource",
    "CsvActuator",
    "FileSource",
    "FolderSource",
    "GpioActuator",
    "InferenceConfig",
    "LogActuator",
    "ModbusActuator",
    "MqttActuator",
    "MqttLinkConfig",
    "OutboxConfig",
    "RecordingSource",
    "ReviewConfig",
    "SourceConfig",
    "StreamSource",
    "plugin_tags",
]




class _SourceBase(Section):
    realtime: bool = Field(
        default=True,
        description="replay files at the source's frame rate (true) or as fast as possible",
    )
    fps: float | None = Field(
        default=None, gt=0, description="frame rate to assume when the source does not say"
    )
    ring: int = Field(default=12, ge=3, le=256, description="preallocated frame buffers")
    width: int | None = Field(
        default=None, gt=0, description="expected frame width; other sizes are counted, skipped"
    )
    height: int | None = Field(
        default=None, gt=0, description="expected frame height; other sizes are counted, skipped"
    )
    reopen_min_s: float = Field(
        default=0.5, gt=0, description="first delay before reopening a source that failed"
    )
    reopen_max_s: float = Field(default=30.0, gt=0, description="longest reopen back-off delay")


class FileSource(_SourceBase):
    """A video file (anything OpenCV's FFmpeg backend reads)."""

    type: Literal["file"] = Field(description="source plugin")
    path: Path = Field(description="video file")
    loop: bool = Field(default=False, description="start again at the end (demo, soak)")


class FolderSource(_SourceBase):
    """A folder of still frames, replayed in name order."""

    type: Literal["folder"] = Field(description="source plugin")
    path: Path = Field(description="folder of frames")
    pattern: str = Field(default="*.jpg", description="glob of the frame files in the folder")
    loop: bool = Field(default=False, description="start again at the end (demo, soak)")


class RecordingSource(_SourceBase):
    """A recorded line (recording.json + video.mp4 or frames/): fps from the recording."""

    type: Literal["recording"] = Field(description="source plugin")
    path: Path = Field(description="recording directory")
    loop: bool = Field(default=False, description="start again at the end (demo, soak)")


class CameraSource(_SourceBase):
    """A camera by OpenCV device index (V4L2 on Linux)."""

    type: Literal["camera"] = Field(description="source plugin")
    index: int = Field(default=0, ge=0, description="OpenCV device index")


class StreamSource(_SourceBase):
    """An RTSP URL or a GStreamer pipeline string (ending in ``appsink``)."""

    type: Literal["rtsp", "gstreamer"] = Field(description="source plugin")
    url: str = Field(min_length=1, description="rtsp:// URL or GStreamer pipeline")
    timeout_s: float = Field(
        default=5.0, gt=0,
        description="a stream that opens or delivers no frame within this is reopened",
    )


SourceConfig = Annotated[
    FileSource | FolderSource | RecordingSource | CameraSource | StreamSource,
    Field(discriminator="type"),
]
#: every source plugin's config class: the one registry of sources
SOURCE_TYPES: tuple[type[Section], ...] = typing.get_args(typing.get_args(SourceConfig)[0])


class BeltConfig(Section):
    """Where the belt is in the frame and how items on it are found."""

    y0: int = Field(ge=0, description="top row of the belt region in frame pixels")
    y1: int = Field(gt=0, description="bottom row (exclusive) of the belt region")
    speed_px_s: float = Field(gt=0, description="belt speed in frame pixels per second")
    direction: Literal["left_to_right", "right_to_left"] = Field(
        default="left_to_right", description="direction items travel in the frame"
    )
    method: Literal["color", "background", "threshold"] = Field(
        default="color",
        description=(
            "item mask: color = red minus blue above threshold (baked goods on a grey or blue "
            "belt); background = grey difference from a learned belt; threshold = grey level"
        ),
    )
    threshold: int = Field(
        default=30, ge=1, le=255, description="level (0-255) of the mask feature that is an item"
    )
    polarity: Literal["brighter", "darker"] = Field(
        default="brighter", description="for method=threshold: items brighter or darker than belt"
    )
    downscale: int = Field(default=4, ge=1, le=16, description="mask computed at 1/downscale")
    min_area: int = Field(default=2000, ge=1, description="smallest item area in frame pixels")
    max_area: int = Field(
        default=400_000, ge=1, description="largest item area in frame pixels (bigger = merged)"
    )
    edge_margin: int = Field(
        default=4, ge=0, description="a box this close to the frame edge is not fully in view"
    )
    max_missed: int = Field(
        default=3, ge=0, description="frames a track survives without a detection"
    )
    judge_frames: int = Field(
        default=1, ge=1, le=120,
        description="views judged per item around its most centred one; the median decides",
    )


class InferenceConfig(Section):
    """The model, its execution providers, batching and thresholds."""

    model: Path = Field(description="ONNX model with a Peakline model card")
    providers: list[str] = Field(
        default_factory=lambda: ["CPUExecutionProvider"],
        description="ONNX Runtime execution providers in order of preference",
    )
    threads: int = Field(default=2, ge=1, le=64, description="ONNX Runtime intra-op threads")
    batch_size: int = Field(default=8, ge=1, le=256, description="largest inference batch")
    max_wait_ms: float = Field(
        default=10.0, ge=0, description="longest wait for a batch to fill before it runs"
    )
    preprocess_threads: int = Field(default=1, ge=0, description="threads of the C++ crop path")
    reject_threshold: float | None = Field(
        default=None, description="override of the model card's reject threshold"
    )
    uncertain_threshold: float | None = Field(
        default=None, description="override of the model card's uncertain threshold"
    )
    stall_s: float = Field(
        default=10.0, gt=0, description="the watchdog restarts inference stuck this long"
    )


class OutboxConfig(Section):
    """The durable results outbox (SQLite, WAL)."""

    path: Path = Field(description="SQLite file of the outbox")
    max_rows: int = Field(default=1_000_000, ge=10, description="results kept at most")
    reserve_fraction: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="share of max_rows kept for reject/uncertain results once passes are refused",
    )
    synchronous: Synchronous = Field(
        default="full",
        description="full survives power loss; normal survives a process crash only",
    )
    max_unsaved: int = Field(
        default=100_000, ge=1,
        description="results kept in memory while the outbox refuses writes; more are dropped",
    )


class MqttLinkConfig(MqttClientConfig):
    """The MQTT link to the plant: the broker connection, batching, resends and rates."""

    batch_interval_ms: float = Field(
        default=100.0, gt=0, description="results are sent in one message per this interval"
    )
    batch_max: int = Field(default=500, ge=1, le=2000, description="results per message at most")
    max_unacked: int = Field(
        default=20_000, ge=1, description="results sent but not yet acknowledged by the plant"
    )
    resend_after_s: float = Field(
        default=10.0, gt=0, description="resend results the plant has not acknowledged by then"
    )
    historical_after_s: float = Field(
        default=5.0, gt=0, description="results older than this when sent are marked historical"
    )
    require_plant_online: bool = Field(
        default=True, description="send results only while the plant's retained status is online"
    )
    metrics_interval_s: float = Field(default=10.0, gt=0, description="metrics message period")
    thumbnails_per_min: float = Field(
        default=30.0, ge=0, description="reject thumbnails sent per minute at most (0 = none)"
    )
    drain_on_stop_s: float = Field(
        default=5.0, ge=0, description="on stop, time spent sending what is still unacknowledged"
    )


class LogActuator(Section):
    """Only log each reject (a line without a reject station, or a dry run)."""

    type: Literal["log"] = Field(description="actuator plugin")


class CsvActuator(Section):
    """Append each reject firing to a CSV file (audit trail, tests)."""

    type: Literal["csv"] = Field(description="actuator plugin")
    path: Path = Field(description="CSV file, appended to")


class ModbusActuator(Section):
    """Pulse a coil on a PLC over Modbus TCP (pymodbus)."""

    type: Literal["modbus"] = Field(description="actuator plugin")
    host: str = Field(description="PLC host")
    port: int = Field(default=502, ge=1, le=65535, description="Modbus TCP port")
    coil: int = Field(default=0, ge=0, description="coil address that fires the ejector")
    unit: int = Field(default=1, ge=0, le=255, description="Modbus unit (slave) id")
    pulse_ms: float = Field(default=50.0, gt=0, description="how long the coil stays on")


class GpioActuator(Section):
    """Pulse a GPIO line (libgpiod's Python binding, where installed)."""

    type: Literal["gpio"] = Field(description="actuator plugin")
    chip: str = Field(default="/dev/gpiochip0", description="GPIO chip device")
    line: int = Field(ge=0, description="GPIO line offset")
    pulse_ms: float = Field(default=50.0, gt=0, description="how long the line stays high")


class MqttActuator(Section):
    """Publish a reject command for a PLC gateway that listens on MQTT."""

    type: Literal["mqtt"] = Field(description="actuator plugin")
    topic: str = Field(min_length=1, description="topic the reject commands go to")
    qos: int = Field(default=1, ge=0, le=2, description="QoS of the commands")


ActuatorPlugin = Annotated[
    LogActuator | CsvActuator | ModbusActuator | GpioActuator | MqttActuator,
    Field(discriminator="type"),
]
#: every actuator plugin's config class: the one registry of actuators
ACTUATOR_TYPES: tuple[type[Section], ...] = typing.get_args(typing.get_args(ActuatorPlugin)[0])


def plugin_tags(model: type[Section]) -> tuple[str, ...]:
    """The ``type`` values that select a plugin's config class."""
    return typing.get_args(model.model_fields["type"].annotation)


class ActuatorConfig(Section):
    """Where the reject station is and what fires it."""

    station_x: float = Field(
        description="x of the reject station in frame pixels, extrapolated beyond the frame"
    )
    latency_ms: float = Field(
        default=20.0, ge=0, description="actuator's own delay from command to action"
    )
    reject_uncertain: bool = Field(
        default=False, description="also reject items whose decision is uncertain"
    )
    plugin: ActuatorPlugin = Field(
        default_factory=lambda: LogActuator(type="log"), description="what fires the reject"
    )


class ReviewConfig(Section):
    """Saving rejected and uncertain items for review and retraining."""

    dir: Path | None = Field(
        default=None, description="folder for JPEGs + metadata of reject/uncertain items"
    )
    max_files: int = Field(default=10_000, ge=1, description="oldest files removed beyond this")
    thumb_px: int = Field(default=96, ge=16, le=512, description="longest side of thumbnails")
