"""The model card: everything the runtime must know about a model, stored inside the ONNX file.

The card is JSON under the ``metadata_props`` key ``peakline.card``. It is the one source of truth
for how an item is cropped from a frame (:meth:`ModelCard.roi_for`), how the crop becomes the input
tensor (:meth:`ModelCard.preprocess_spec`), what the output means and where the thresholds are, so
``peakline model eval`` and the camera node give the same item the same score.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from peakline.errors import ModelError

__all__ = [
    "CARD_KEY",
    "Calibration",
    "CropPolicy",
    "InputSpec",
    "ModelCard",
    "OutputSpec",
    "Thresholds",
    "read_card",
    "square_roi",
    "write_card",
]

CARD_KEY = "peakline.card"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    """The input tensor: size, colour order, scaling and how the crop is resized."""

    width: int = Field(gt=0, description="input width in pixels")
    height: int = Field(gt=0, description="input height in pixels")
    color: Literal["rgb", "bgr", "gray"] = Field(
        default="rgb", description="channel order of the input"
    )
    layout: Literal["NCHW"] = Field(default="NCHW", description="tensor layout")
    scale: float = Field(
        default=1.0 / 255.0, description="pixel values are multiplied by this first"
    )
    mean: tuple[float, ...] = Field(default=(0.0, 0.0, 0.0), description="subtracted after scaling")
    std: tuple[float, ...] = Field(
        default=(1.0, 1.0, 1.0), description="divided per channel after mean"
    )
    resize: Literal["linear", "area"] = Field(default="area", description="resampling of the crop")
    fit: Literal["stretch", "letterbox"] = Field(
        default="stretch", description="how the crop fills it"
    )
    dtype: Literal["float32", "uint8"] = Field(
        default="float32", description="input tensor element type"
    )
    name: str = Field(default="image", description="name of the graph input")

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    def preprocess_spec(self) -> Any:
        """The :class:`edge.fastpath.PreprocessSpec` for this input."""
        from edge.fastpath import PreprocessSpec

        return PreprocessSpec(
            width=self.width,
            height=self.height,
            color=self.color,
            scale=self.scale,
            mean=tuple(self.mean),
            std=tuple(self.std),
            resize=self.resize,
            fit=self.fit,
            output=self.dtype,
        )


class CropPolicy(_Strict):
    """How the item region is cut from a frame: a square around the bbox centre, plus a margin."""

    kind: Literal["square"] = Field(default="square", description="crop shape around the item")
    margin: float = Field(
        default=0.15, ge=0.0, le=2.0, description="margin as a fraction of the bbox side"
    )


class OutputSpec(_Strict):
    """The output the runtime reads."""

    name: str = Field(default="score", description="name of the graph output")
    kind: Literal["anomaly_score", "class_probs"] = Field(description="what the output holds")
    map_name: str | None = Field(default=None, description="optional per-cell anomaly map output")
    class_name: str | None = Field(
        default=None, description="optional output of per-defect probabilities (names: classes)"
    )


class Thresholds(_Strict):
    """Decision thresholds on the anomaly score: reject at or above ``reject``; ``uncertain``
    below it marks a band of items to be checked by a person."""

    reject: float = Field(description="score at or above which an item is rejected")
    uncertain: float = Field(description="score at or above which an item is uncertain")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.uncertain > self.reject:
            raise ValueError("the uncertain threshold must not exceed the reject threshold")
        return self


class Calibration(_Strict):
    """Where the thresholds came from."""

    target_frr: float = Field(gt=0, lt=1, description="false-reject rate the threshold aims at")
    frr: float = Field(ge=0, le=1, description="false-reject rate measured on the held-out goods")
    n_good: int = Field(ge=0, description="good items used to fit the statistics")
    n_val: int = Field(ge=0, description="held-out good items the threshold was set on")
    method: str = Field(default="out-of-fold", description="how held-out scores were obtained")
    data: str = Field(default="", description="the data the threshold was calibrated on")
    trust: str = Field(default="", description="how far the threshold can be trusted")


class ModelCard(_Strict):
    """The card of one model (stored in its ONNX metadata under ``peakline.card``)."""

    schema_id: str = Field(default="peakline.card/1", alias="schema", description="card format")
    name: str = Field(description="model name")
    version: str = Field(description="model version")
    created: str = Field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"),
        description="when the model was built (UTC, ISO 8601)",
    )
    kind: Literal["anomaly", "classes"] = Field(description="one-class anomaly model or classifier")
    input: InputSpec = Field(description="input tensor")
    crop: CropPolicy = Field(default_factory=CropPolicy, description="crop policy on frames")
    output: OutputSpec = Field(description="output tensor")
    thresholds: Thresholds = Field(description="decision thresholds")
    calibration: Calibration = Field(description="how the thresholds were set")
    classes: list[str] = Field(default_factory=list, description="class names (classifier)")
    data_digest: str = Field(description="sha256 of the data the model was fitted on")
    metrics: dict[str, Any] = Field(default_factory=dict, description="figures at fit time")
    options: dict[str, Any] = Field(default_factory=dict, description="fit options chosen")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def roi_for(
        self, bbox: tuple[int, int, int, int] | list[int], frame_w: int, frame_h: int
    ) -> tuple[int, int, int, int]:
        """The crop (x, y, w, h) for an item's bbox: a square around its centre with the margin,
        shifted (and if need be shrunk) to lie inside the frame."""
        return square_roi(bbox, self.crop.margin, frame_w, frame_h)

    def preprocess_spec(self) -> Any:
        """The :class:`edge.fastpath.PreprocessSpec` that turns crops into this model's input."""
        return self.input.preprocess_spec()

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def square_roi(
    bbox: tuple[int, int, int, int] | list[int], margin: float, frame_w: int, frame_h: int
) -> tuple[int, int, int, int]:
    """A square crop around the bbox centre, side ``max(w, h) * (1 + margin)``, in the frame."""
    x, y, w, h = (float(v) for v in bbox)
    side = max(1, min(round(max(w, h) * (1.0 + margin)), frame_w, frame_h))
    x0 = round(x + w / 2.0 - side / 2.0)
    y0 = round(y + h / 2.0 - side / 2.0)
    x0 = min(max(x0, 0), frame_w - side)
    y0 = min(max(y0, 0), frame_h - side)
    return x0, y0, side, side


def _load_onnx(path: Path) -> Any:
    import onnx

    if not path.is_file():
        raise ModelError(
            f"model file {path} does not exist; build one with 'peakline model fit' "
            "(docs/models.md) or point the config's [model] path at an existing model"
        )
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... for non-ONNX bytes
        raise ModelError(f"{path} is not an ONNX model ({type(exc).__name__}: {exc})") from exc


def read_card(path: str | Path) -> ModelCard:
    """The card of the ONNX model at ``path``; :class:`ModelError` if it is missing or invalid."""
    p = Path(path)
    proto = _load_onnx(p)
    if not proto.graph.node and not proto.graph.input:
        raise ModelError(f"{p} is not an ONNX model (it holds no graph)")
    props = {m.key: m.value for m in proto.metadata_props}
    if CARD_KEY not in props:
        raise ModelError(
            f"{p} has no Peakline model card (metadata key {CARD_KEY!r}); build it with "
            "'peakline model fit' or add a card to the model's metadata"
        )
    try:
        return ModelCard.model_validate_json(props[CARD_KEY])
    except ValidationError as exc:
        raise ModelError(f"{p}: the model card is invalid: {exc}") from exc


def write_card(path: str | Path, card: ModelCard, proto: Any | None = None) -> None:
    """Store ``card`` in the ONNX model at ``path`` (replacing any card it had)."""
    import onnx

    p = Path(path)
    model = _load_onnx(p) if proto is None else proto
    keep = [m for m in model.metadata_props if m.key != CARD_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    entry = model.metadata_props.add()
    entry.key, entry.value = CARD_KEY, card.to_json()
    onnx.save(model, str(p))
