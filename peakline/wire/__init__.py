"""Wire contracts: MQTT topics and the versioned JSON payloads of nodes, plant, ERP and plans.

This is the one place the camera nodes, the plant and the ERP agree on what travels over MQTT.
Every payload carries a ``schema`` tag; receivers validate with the models here and dead-letter
anything that does not parse. ``docs/wire.md`` is generated from :data:`TOPICS`.
"""

from peakline.wire.codec import (
    MAX_PAYLOAD_BYTES,
    NAME_PATTERN,
    SCHEMAS,
    Name,
    Payload,
    WireError,
    dump_payload,
    load_json_object,
    parse_payload,
)
from peakline.wire.erp import ERP_KINDS, ERP_MESSAGES, ErpKind, parse_erp
from peakline.wire.nodes import (
    MAX_RESULTS_PER_BATCH,
    MODEL_ERROR,
    Decision,
    ItemResult,
    NodeCommand,
    NodeId,
    NodeMetrics,
    NodeStatus,
    PlantAck,
    PlantStatus,
    RejectThumbnail,
    ResultsBatch,
)
from peakline.wire.plans import (
    FORECAST_PLAN_KINDS,
    HOLD_PLAN_KINDS,
    PLAN_KINDS,
    PlanKind,
    PlanMessage,
)
from peakline.wire.suppliers import SupplierFeed, SupplierReply
from peakline.wire.topics import (
    NODE_UPLINK,
    RESERVED_NAMES,
    ROOT,
    TOPICS,
    NodeLeaf,
    Topics,
    TopicSpec,
)

__all__ = [
    "ERP_KINDS",
    "ERP_MESSAGES",
    "FORECAST_PLAN_KINDS",
    "HOLD_PLAN_KINDS",
    "MAX_PAYLOAD_BYTES",
    "MAX_RESULTS_PER_BATCH",
    "MODEL_ERROR",
    "NAME_PATTERN",
    "NODE_UPLINK",
    "PLAN_KINDS",
    "RESERVED_NAMES",
    "ROOT",
    "SCHEMAS",
    "TOPICS",
    "Decision",
    "ErpKind",
    "ItemResult",
    "Name",
    "NodeCommand",
    "NodeId",
    "NodeLeaf",
    "NodeMetrics",
    "NodeStatus",
    "Payload",
    "PlanKind",
    "PlanMessage",
    "PlantAck",
    "PlantStatus",
    "RejectThumbnail",
    "ResultsBatch",
    "SupplierFeed",
    "SupplierReply",
    "TopicSpec",
    "Topics",
    "WireError",
    "dump_payload",
    "load_json_object",
    "parse_erp",
    "parse_payload",
]
