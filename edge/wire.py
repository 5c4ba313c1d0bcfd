"""Wire contracts between camera nodes and the plant: MQTT topics and versioned JSON payloads.

This is the one place the edge and the plant agree on what travels over MQTT. Every payload
carries a ``schema`` tag (``peakline.<kind>/<version>``); receivers validate with the models
here and dead-letter anything that does not parse. ``docs/wire.md`` is generated from this
module (``peakline docs wire``).

Topic tree (unified-namespace style, one root, versioned)::

    peakline/v1/<site>/<line>/<node>/status      retained, Last Will "offline"
    peakline/v1/<site>/<line>/<node>/results     QoS 1, a batch of item results
    peakline/v1/<site>/<line>/<node>/metrics     periodic node health
    peakline/v1/<site>/<line>/<node>/rejects     rate-limited JPEG thumbnails
    peakline/v1/<site>/<line>/<node>/cmd         commands to the node
    peakline/v1/<site>/plant/status              retained, Last Will "offline"
    peakline/v1/<site>/plant/ack/<node>          highest contiguous sequence committed
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.errors import PeaklineError

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_RESULTS_PER_BATCH",
    "ROOT",
    "ItemResult",
    "NodeCommand",
    "NodeMetrics",
    "NodeStatus",
    "PlantAck",
    "PlantStatus",
    "RejectThumbnail",
    "ResultsBatch",
    "Topics",
    "WireError",
    "dump_payload",
    "load_json_object",
    "parse_payload",
]

ROOT = "peakline/v1"
MAX_RESULTS_PER_BATCH = 2000
MAX_PAYLOAD_BYTES = 1_000_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

Name = Annotated[str, Field(pattern=_NAME.pattern, description="site, line or node name")]
Decision = Literal["pass", "reject", "uncertain"]


class WireError(PeaklineError, ValueError):
    """A payload or topic that does not follow the wire contract."""


class _Payload(BaseModel):
    # allow_inf_nan=False: NaN/inf would serialise as null and never parse again (fuzzing)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ItemResult(_Payload):
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
    rejected: bool = Field(description="the reject actuator was scheduled in time")
    missed_reject: bool = Field(default=False, description="reject decided too late to fire")


class ResultsBatch(_Payload):
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

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NodeStatus(_Payload):
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

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NodeMetrics(_Payload):
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
    missed_rejects: int = Field(default=0, ge=0)
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    frames: int = Field(default=0, ge=0)
    dropped_frames: int = Field(default=0, ge=0)
    corrupt_frames: int = Field(default=0, ge=0)
    queue_depth: int = Field(default=0, ge=0)
    outbox_backlog: int = Field(default=0, ge=0)
    outbox_dropped: int = Field(default=0, ge=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RejectThumbnail(_Payload):
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

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NodeCommand(_Payload):
    """A command to one node (reload the model, change a threshold)."""

    schema_: Literal["peakline.cmd/1"] = Field(default="peakline.cmd/1", alias="schema")
    command: Literal["reload_model", "set_thresholds"]
    reject_threshold: float | None = None
    uncertain_threshold: float | None = None
    ts: float = 0.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PlantStatus(_Payload):
    """Retained plant presence; edges drain their backlog only while it is ``online``."""

    schema_: Literal["peakline.plant_status/1"] = Field(
        default="peakline.plant_status/1", alias="schema"
    )
    site: Name
    state: Literal["online", "offline"]
    ts: float = 0.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PlantAck(_Payload):
    """The plant has committed every result of ``boot_id`` up to ``acked_seq`` (contiguous)."""

    schema_: Literal["peakline.ack/1"] = Field(default="peakline.ack/1", alias="schema")
    site: Name
    node: Name
    boot_id: str
    acked_seq: int = Field(ge=0)
    ts: float

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_SCHEMAS: dict[str, type[_Payload]] = {
    "peakline.results/1": ResultsBatch,
    "peakline.status/1": NodeStatus,
    "peakline.metrics/1": NodeMetrics,
    "peakline.reject/1": RejectThumbnail,
    "peakline.cmd/1": NodeCommand,
    "peakline.plant_status/1": PlantStatus,
    "peakline.ack/1": PlantAck,
}


def load_json_object(raw: bytes | str) -> dict[str, Any]:
    """Parse a payload into a JSON object, within the size limit; WireError saying why not."""
    if isinstance(raw, str):
        try:
            raw = raw[: MAX_PAYLOAD_BYTES + 1].encode()  # the limit is in bytes
        except UnicodeEncodeError as exc:
            raise WireError(f"not UTF-8 text: {exc}") from exc
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise WireError(f"payload exceeds {MAX_PAYLOAD_BYTES} bytes")
    from pydantic_core import from_json

    # pydantic's JSON parser, not json.loads: json.loads raised RecursionError on deeply nested
    # input and accepted NaN and lone surrogates that no payload can be written back with.
    try:
        data = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise WireError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise WireError("payload is not a JSON object")
    return data


def parse_payload(raw: bytes | str, expect: type[_Payload] | None = None) -> _Payload:
    """Validate a JSON payload against its declared schema; raise WireError saying why not."""
    data = load_json_object(raw)
    tag = data.get("schema")
    model = _SCHEMAS.get(tag) if isinstance(tag, str) else None
    if model is None:
        raise WireError(f"unknown schema {tag!r}")
    if expect is not None and model is not expect:
        raise WireError(f"expected {expect.__name__}, got schema {tag!r}")
    try:
        return model.model_validate(data)
    except ValueError as exc:
        raise WireError(f"invalid {tag}: {exc}") from exc


def dump_payload(payload: _Payload) -> bytes:
    """Serialise a payload with its ``schema`` tag."""
    return payload.model_dump_json(by_alias=True).encode()


class Topics:
    """Topic names for one site."""

    def __init__(self, site: str) -> None:
        if not _NAME.match(site):
            raise WireError(f"invalid site name {site!r}")
        self.site = site
        self.base = f"{ROOT}/{site}"

    def node(self, line: str, node: str, leaf: str) -> str:
        """``peakline/v1/<site>/<line>/<node>/<leaf>``."""
        for name in (line, node):
            if not _NAME.match(name):
                raise WireError(f"invalid line or node name {name!r}")
        return f"{self.base}/{line}/{node}/{leaf}"

    def all_nodes(self, leaf: str) -> str:
        """Subscription filter for one leaf of every node of the site."""
        return f"{self.base}/+/+/{leaf}"

    @property
    def plant_status(self) -> str:
        return f"{self.base}/plant/status"

    def plant_ack(self, node: str) -> str:
        return f"{self.base}/plant/ack/{node}"

    def erp(self, kind: str) -> str:
        """ERP inputs: orders, sales, cancellations, inventory."""
        return f"{self.base}/erp/{kind}"

    def plan(self, kind: str) -> str:
        """Plans out, retained: production, inventory, packaging."""
        return f"{self.base}/plans/{kind}"

    @staticmethod
    def split_node_topic(topic: str) -> tuple[str, str, str, str]:
        """(site, line, node, leaf) of a node topic; WireError if it is not one."""
        parts = topic.split("/")
        if len(parts) != 6 or "/".join(parts[:2]) != ROOT or parts[3] == "plant":
            raise WireError(f"not a node topic: {topic!r}")
        return parts[2], parts[3], parts[4], parts[5]
