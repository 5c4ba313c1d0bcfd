"""Payloads between camera nodes and the plant: results, status, metrics, commands, acks.

A node publishes under ``peakline/v1/<site>/<line>/<node>/<leaf>``
(:mod:`peakline.wire.topics`); the plant answers with its retained status and one
acknowledgement per committed batch.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import Field

from peakline.wire.codec import Name, Payload

__all__ = [
    "MAX_RESULTS_PER_BATCH",
    "MODEL_ERROR",
    "Decision",
    "ItemResult",
    "NodeCommand",
    "NodeId",
    "NodeMetrics",
    "NodeStatus",
    "PlantAck",
    "PlantStatus",
    "RejectThumbnail",
    "ResultsBatch",
]

MAX_RESULTS_PER_BATCH = 2000
#: the defect of an item rejected because the model failed on it (inspection fails safe)
MODEL_ERROR = "model_error"
Decision = Literal["pass", "reject", "uncertain"]


class NodeId(NamedTuple):
    """A camera node's identity: site, line and node, everywhere (topics, acks, store)."""

    site: str
    line: str
    node: str

    def __str__(self) -> str:
        return f"{self.site}/{self.line}/{self.node}"


class ItemResult(Payload):
    """The decision on one item, made once when it was fully in view."""

    seq: int = Field(ge=1, description="per (node, boot_id) sequence, +1 per result, no gaps")
    item_id: int = Field(ge=0, description="tracker id of the item on this boot")
    ts: float = Field(description="capture time of the deciding frame, Unix seconds")
    frame: int = Field(ge=0, description="index of the deciding frame in the source")
    bbox: tuple[int, int, int, int] = Field(description="x, y, w, h in frame pixels")
    score: float = Field(description="model score; higher means more anomalous")
    decision: Decision
    defect: str | None = Field(default=None, description="defect class, when the model names one")
    latency_ms: float = Field(ge=0, description="frame arrival to decision")
    rejected: bool = Field(description="the reject actuator fired for this item")
    missed_reject: bool = Field(
        default=False, description="the item was to be rejected but the actuator did not fire "
        "(decided too late, or the actuator failed)")


class ResultsBatch(Payload):
    """A batch of item results from one node boot, in sequence order."""

    schema_: Literal["peakline.results/1"] = Field(default="peakline.results/1", alias="schema")
    site: Name
    line: Name
    node: Name
    boot_id: str = Field(min_length=1, max_length=64)
    model: str = Field(max_length=128, description="model id and version from the model card")
    historical: bool = Field(default=False, description="replayed from the outbox after an outage")
    sent_at: float
    results: list[ItemResult] = Field(min_length=1, max_length=MAX_RESULTS_PER_BATCH)



class NodeStatus(Payload):
    """Retained node presence; the Last Will publishes ``state="offline"``."""

    schema_: Literal["peakline.status/1"] = Field(default="peakline.status/1", alias="schema")
    site: Name
    line: Name
    node: Name
    state: Literal["online", "offline"]
    boot_id: str = ""
    model: str = ""
    config_digest: str = ""
    ts: float = 0.0
    fault: str = Field(default="", max_length=200,
                       description="what keeps the node from inspecting normally (e.g. its "
                       "model failing, every item rejected); empty when all is well")



class NodeMetrics(Payload):
    """Periodic node health over the last window."""

    schema_: Literal["peakline.metrics/1"] = Field(default="peakline.metrics/1", alias="schema")
    site: Name
    line: Name
    node: Name
    boot_id: str
    ts: float
    window_s: float = Field(gt=0)
    items: int = Field(ge=0, description="items decided in the window")
    rejects_by_defect: dict[str, int] = Field(default_factory=dict)
    uncertain: int = Field(default=0, ge=0)
    missed_rejects: int = Field(
        default=0, ge=0, description="items to reject whose actuator did not fire (too late or "
        "failed)")
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    frames: int = Field(default=0, ge=0)
    dropped_frames: int = Field(default=0, ge=0)
    corrupt_frames: int = Field(default=0, ge=0)
    queue_depth: int = Field(default=0, ge=0)
    outbox_backlog: int = Field(default=0, ge=0)
    outbox_dropped: int = Field(default=0, ge=0)



class RejectThumbnail(Payload):
    """A small JPEG of a rejected or uncertain item, for the dashboard gallery."""

    schema_: Literal["peakline.reject/1"] = Field(default="peakline.reject/1", alias="schema")
    site: Name
    line: Name
    node: Name
    boot_id: str
    seq: int = Field(ge=1)
    ts: float
    score: float
    decision: Decision
    defect: str | None = None
    jpeg_b64: str = Field(max_length=200_000)



class NodeCommand(Payload):
    """A command to one node (reload the model, change a threshold)."""

    schema_: Literal["peakline.cmd/1"] = Field(default="peakline.cmd/1", alias="schema")
    command: Literal["reload_model", "set_thresholds"]
    reject_threshold: float | None = None
    uncertain_threshold: float | None = None
    ts: float = 0.0



class PlantStatus(Payload):
    """Retained plant presence; edges drain their backlog only while it is ``online``."""

    schema_: Literal["peakline.plant_status/1"] = Field(
        default="peakline.plant_status/1", alias="schema"
    )
    site: Name
    state: Literal["online", "offline"]
    ts: float = 0.0



class PlantAck(Payload):
    """The plant has committed every result of ``boot_id`` up to ``acked_seq`` (contiguous).

    Addressed to one node by its whole identity (site, line and node): two lines may each
    have a ``cam1``, and neither may read or act on the other's acknowledgements.
    """

    schema_: Literal["peakline.ack/2"] = Field(default="peakline.ack/2", alias="schema")
    site: Name
    line: Name
    node: Name
    boot_id: str
    acked_seq: int = Field(ge=0)
    ts: float
