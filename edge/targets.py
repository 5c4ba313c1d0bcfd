"""The hardware catalogue: cameras, lenses and edge devices from ``hardware/targets.toml``.

Strict pydantic models (unknown keys are errors that name the key). Every figure says where it
comes from: ``source`` is ``datasheet ...`` for vendor figures and ``measured`` for figures run
with ``peakline edge bench-ep``; edge-device throughput exists only as measured figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from peakline.config import format_errors, read_toml
from peakline.errors import ConfigError

__all__ = ["DEFAULT_TARGETS", "Camera", "EdgeDevice", "Lens", "Targets", "Throughput",
           "load_targets"]

def _default_targets() -> Path:
    """``hardware/targets.toml`` of a source checkout, else the copy installed with the wheel."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "hardware" / "targets.toml"
    return checkout if checkout.exists() else here / "hardware" / "targets.toml"


DEFAULT_TARGETS = _default_targets()


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Camera(_Entry):
    """An area-scan camera; figures from its datasheet at full resolution, 8-bit mono."""

    id: str = Field(description="short key, used on the command line")
    name: str = Field(description="vendor and model")
    interface: Literal["GigE Vision", "USB3 Vision", "UVC", "CoaXPress", "MIPI CSI-2"]
    width_px: int = Field(gt=0, description="sensor columns")
    height_px: int = Field(gt=0, description="sensor rows")
    pixel_um: float = Field(gt=0, description="pixel pitch in micrometres")
    max_fps: float = Field(gt=0, description="frame rate at full resolution (datasheet)")
    shutter: Literal["global", "rolling"]
    min_exposure_us: float = Field(gt=0, description="shortest exposure (datasheet)")
    mount: str = Field(description="lens mount: C, CS, S (M12) or fixed")
    hardware_trigger: bool = Field(description="has a trigger input for a photo-eye or encoder")
    sensor: str = Field(default="", description="sensor part number")
    source: str = Field(description="where the figures come from (datasheet, measured)")
    notes: str = ""


class Lens(_Entry):
    """A fixed-focal-length machine-vision lens."""

    id: str
    name: str
    focal_mm: float = Field(gt=0)
    mount: str
    max_sensor_diag_mm: float = Field(gt=0, description="image circle the lens is made for")
    source: str
    notes: str = ""


class Throughput(_Entry):
    """Images/s of the reference model (``peakline edge bench-ep``) on one execution provider."""

    ep: str = Field(description="ONNX Runtime execution provider")
    model: str = Field(description="benchmark model and input size")
    batch: int = Field(gt=0)
    images_per_s: float = Field(gt=0)
    batch_latency_ms: float = Field(gt=0, description="median latency of one batch")
    source: Literal["measured", "datasheet"] = Field(
        description="'measured' = run with `peakline edge bench-ep`; 'datasheet' = vendor figure"
    )
    measured_on: str = Field(default="", description="machine and date of the measurement")


class EdgeDevice(_Entry):
    """An edge computer and the ONNX Runtime execution providers it runs."""

    id: str
    name: str
    arch: Literal["x86_64", "aarch64"]
    cpu_cores: int = Field(gt=0)
    accelerator: str = Field(description="GPU/NPU/VPU, or 'none'")
    datasheet_int8_tops: float | None = Field(default=None, description="vendor peak INT8 TOPS")
    eps: list[str] = Field(min_length=1, description="execution providers, preferred first")
    install: str = Field(description="how to install ONNX Runtime with those providers")
    camera_ports: str = Field(description="what cameras it can take (GigE ports, USB3, CSI)")
    notes: str = ""
    measured: list[Throughput] = Field(
        default_factory=list, description="throughput figures; empty until someone measures"
    )


class Targets(_Entry):
    """The catalogue in hardware/targets.toml."""

    cameras: list[Camera]
    lenses: list[Lens]
    edge_devices: list[EdgeDevice]


def load_targets(path: Path | None = None) -> Targets:
    """Read and validate ``hardware/targets.toml``; ConfigError naming the key if invalid."""
    path = path or DEFAULT_TARGETS
    try:
        return Targets.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, str(path), model=Targets)) from exc
