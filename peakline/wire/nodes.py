"""Payloads between camera nodes and the plant: results, status, metrics, commands, acks.

A node publishes under ``peakline/v1/<site>/<line>/<node>/<leaf>``
(:mod:`peakline.wire.topics`); the plant answers with its retained status and one
acknowledgement per committed batch.
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple

from pydantic import Field, model_validator

from peakline.wire.codec import INT_MAX, Count, Name, Payload, Seq, Short

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
Pixel = Annotated[int, Field(ge=-INT_MAX, le=INT_MAX)]


class NodeId(NamedTuple):
    """A camera node's identity: site, line and node, everywhere (topics, acks, store)."""

    site: str
    line: str
    node: str

    def __str__(self) -> str:
        return f"{self.site}/{self.line}/{self.node}"


class ItemResult(Payload):
    """The decision on one item, made once when it was fully in view."""

    seq: Seq = Field(description="per (node, boot_id) sequence, +1 per result, no gaps")
    item_id: Count = Field(description="tracker id of the item on this boot")
    ts: float = Field(description="capture time of the deciding frame, Unix seconds")
    frame: Count = Field(description="index of the deciding frame in the source")
    bbox: tuple[Pixel, Pixel, Pixel, Pixel] = Field(description="x, y, w, h in frame pixels")
    score: float = Field(description="model score; higher means more anomalous")
    decision: Decision
    defect: Short | None = Field(default=None,
                                 description="defect class, when the model names one")
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
    boot_id: Short = Field(min_length=1)
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
    boot_id: Short = ""
    model: str = Field(default="", max_length=128)
    config_digest: str = Field(default="", max_length=128)
    ts: float = 0.0
    fault: str = Field(default="", max_length=200,
                       description="what keeps the node from inspecting normally (e.g. its "
                       "model failing, every item rejected); empty when all is well")
    last_command: str = Field(default="", max_length=300,
                              description="the last command received: applied or refused, "
                              "why, its id and who sent it")



class NodeMetrics(Payload):
    """Periodic node health over the last window."""

    schema_: Literal["peakline.metrics/1"] = Field(default="peakline.metrics/1", alias="schema")
    site: Name
    line: Name
    node: Name
    boot_id: Short
    ts: float
    window_s: float = Field(gt=0)
    items: Count = Field(description="items decided in the window")
    rejects_by_defect: dict[Short, Count] = Field(default_factory=dict, max_length=64)
    uncertain: Count = 0
    missed_rejects: Count = Field(
        default=0, description="items to reject whose actuator did not fire (too late or "
        "failed)")
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    frames: Count = 0
    dropped_frames: Count = 0
    corrupt_frames: Count = 0
    queue_depth: Count = 0
    outbox_backlog: Count = 0
    outbox_dropped: Count = 0
    score_p50: float | None = Field(
        default=None, allow_inf_nan=False,
        description="median score of the latest items (the drift monitor's window)")
    estimated_frr: float | None = Field(
        default=None, ge=0, le=1,
        description="false-reject rate estimated from the latest items' scores at the current "
        "threshold (robust to a few defects among them); null until enough items")
    frr_band: float | None = Field(
        default=None, ge=0, le=1, description="highest estimated false-reject rate in band")
    drift_alert: bool = Field(
        default=False, description="the estimated false-reject rate is out of its band: "
        "recalibrate on the line or refit")

    @model_validator(mode="after")
    def _rejects_fit(self) -> NodeMetrics:
        if sum(self.rejects_by_defect.values()) > INT_MAX:
            raise ValueError(f"rejects_by_defect adds up to more than {INT_MAX}")
        return self



class RejectThumbnail(Payload):
    """A small JPEG of a rejected or uncertain item, for the dashboard gallery."""

    schema_: Literal["peakline.reject/1"] = Field(default="peakline.reject/1", alias="schema")
    site: Name
    line: Name
    node: Name
    boot_id: Short
    seq: Seq
    ts: float
    score: float
    decision: Decision
    defect: Short | None = None
    jpeg_b64: str = Field(max_length=200_000)



class NodeCommand(Payload):
    """A command to one node (reload the model, change a threshold).

    The node applies a command once (by ``id``), only while it is fresh (``ts``), at a
    limited rate, with thresholds near the model card's calibration, and reports each
    decision with ``sender`` in its status (``edge.remote``).
    """

    schema_: Literal["peakline.cmd/2"] = Field(default="peakline.cmd/2", alias="schema")
    id: Short = Field(min_length=1, description="unique per command: applied at most once")
    ts: float = Field(gt=0, description="when it was sent, Unix seconds; stale ones are refused")
    sender: Short = Field(min_length=1, description="who sent it (operator or service)")
    command: Literal["reload_model", "set_thresholds"]
    reject_threshold: float | None = None
    uncertain_threshold: float | None = None



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
    boot_id: Short
    acked_seq: Count
    ts: float
