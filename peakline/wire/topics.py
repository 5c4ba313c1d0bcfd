"""The MQTT topic tree of one site, and the one registry of its leaves and payloads.

Unified-namespace style, one root, versioned::

    peakline/v1/<site>/<line>/<node>/status      retained, Last Will "offline"      node -> plant
    peakline/v1/<site>/<line>/<node>/results     QoS 1, a batch of item results      node -> plant
    peakline/v1/<site>/<line>/<node>/metrics     periodic node health                node -> plant
    peakline/v1/<site>/<line>/<node>/rejects     rate-limited JPEG thumbnails        node -> plant
    peakline/v1/<site>/<line>/<node>/cmd         commands to the node                plant -> node
    peakline/v1/<site>/plant/status              retained, Last Will "offline"       plant -> all
    peakline/v1/<site>/plant/ack/<line>/<node>   highest contiguous seq committed    plant -> node
    peakline/v1/<site>/erp/<kind>                ERP inputs                          ERP -> plant
    peakline/v1/<site>/plans/<kind>[/<part>]     plans, retained                     plant -> ERP
    peakline/v1/<site>/suppliers/<supplier>/feed   its feed, retained           plant -> supplier
    peakline/v1/<site>/suppliers/<supplier>/reply  confirms and counters        supplier -> plant

:data:`TOPICS` lists every topic with its payload model; the reference in ``docs/wire.md`` is
generated from it (``peakline docs wire``) and a test keeps it current.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from peakline.wire.codec import NAME_PATTERN, Payload, WireError
from peakline.wire.erp import ERP_MESSAGES, ErpKind
from peakline.wire.nodes import (
    NodeCommand,
    NodeMetrics,
    NodeStatus,
    PlantAck,
    PlantStatus,
    RejectThumbnail,
    ResultsBatch,
)
from peakline.wire.plans import PlanKind, PlanMessage
from peakline.wire.suppliers import SupplierFeed, SupplierReply

__all__ = [
    "NODE_UPLINK",
    "RESERVED_NAMES",
    "ROOT",
    "TOPICS",
    "NodeLeaf",
    "TopicSpec",
    "Topics",
]

ROOT = "peakline/v1"


class NodeLeaf(StrEnum):
    """The last level of a camera node's topics."""

    STATUS = "status"
    RESULTS = "results"
    METRICS = "metrics"
    REJECTS = "rejects"
    CMD = "cmd"


#: what a node publishes and the plant ingests: leaf -> payload model
NODE_UPLINK: dict[NodeLeaf, type[Payload]] = {
    NodeLeaf.RESULTS: ResultsBatch,
    NodeLeaf.STATUS: NodeStatus,
    NodeLeaf.METRICS: NodeMetrics,
    NodeLeaf.REJECTS: RejectThumbnail,
}

#: second-level names the plant's own topics use; no line may take one of them
RESERVED_NAMES = frozenset({"plant", "erp", "plans", "suppliers"})


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the tree: where it is, who sends it, and what it carries."""

    title: str
    pattern: str  # below ROOT
    payload: type[Payload]
    sender: str
    notes: str = ""


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("node status", "<site>/<line>/<node>/status", NodeStatus, "camera node",
              "retained; the Last Will publishes state offline"),
    TopicSpec("item results", "<site>/<line>/<node>/results", ResultsBatch, "camera node",
              "QoS 1; deleted from the node's outbox only after the plant's ack"),
    TopicSpec("node metrics", "<site>/<line>/<node>/metrics", NodeMetrics, "camera node",
              "periodic; MQTT 5 message expiry"),
    TopicSpec("reject thumbnails", "<site>/<line>/<node>/rejects", RejectThumbnail,
              "camera node", "rate limited"),
    TopicSpec("commands to a node", "<site>/<line>/<node>/cmd", NodeCommand, "plant", ""),
    TopicSpec("plant status", "<site>/plant/status", PlantStatus, "plant",
              "retained; the Last Will publishes state offline; nodes drain only while online"),
    TopicSpec("plant acknowledgement", "<site>/plant/ack/<line>/<node>", PlantAck, "plant",
              "after the commit of a node's results"),
    *(TopicSpec(f"ERP {kind.value}", f"<site>/erp/{kind.value}", model, "ERP",
                "absolute values, never deltas: a message applied twice changes nothing")
      for kind, model in ERP_MESSAGES.items()),
    *(TopicSpec(f"{kind.value} plan", f"<site>/plans/{kind.value}[/<part>]", PlanMessage,
                "plant", "retained; part 1 on plans/<kind>, parts 2..n on plans/<kind>/<part>")
      for kind in PlanKind),
    TopicSpec("supplier feed", "<site>/suppliers/<supplier>/feed", SupplierFeed, "plant",
              "retained, QoS 1, after every plan; readable only by that supplier's identity"),
    TopicSpec("supplier reply", "<site>/suppliers/<supplier>/reply", SupplierReply,
              "supplier", "QoS 1; only that supplier's identity may publish it"),
)


def _check_name(name: str, what: str) -> str:
    if not NAME_PATTERN.match(name):
        raise WireError(f"invalid {what} name {name!r}")
    return name


class Topics:
    """Topic names for one site."""

    def __init__(self, site: str) -> None:
        self.site = _check_name(site, "site")
        self.base = f"{ROOT}/{site}"

    def node(self, line: str, node: str, leaf: NodeLeaf) -> str:
        """``peakline/v1/<site>/<line>/<node>/<leaf>``; a reserved line name is refused."""
        _check_name(line, "line")
        if line in RESERVED_NAMES:
            raise WireError(f"line name {line!r} is reserved for the plant's own topics "
                            f"({', '.join(sorted(RESERVED_NAMES))}); choose another")
        _check_name(node, "node")
        return f"{self.base}/{line}/{node}/{NodeLeaf(leaf).value}"

    def all_nodes(self, leaf: NodeLeaf) -> str:
        """Subscription filter for one leaf of every node of the site."""
        return f"{self.base}/+/+/{NodeLeaf(leaf).value}"

    @property
    def plant_status(self) -> str:
        return f"{self.base}/plant/status"

    def plant_ack(self, line: str, node: str) -> str:
        """Acks for one node, named by line and node (``+`` for every line's or node's)."""
        for name, what in ((line, "line"), (node, "node")):
            if name != "+":
                _check_name(name, what)
        return f"{self.base}/plant/ack/{line}/{node}"

    def erp(self, kind: ErpKind | str) -> str:
        """ERP inputs: orders, sales, cancellations, inventory."""
        return f"{self.base}/erp/{ErpKind(kind).value}"

    def plan(self, kind: PlanKind | str, part: int = 1) -> str:
        """A plan out, retained: part 1 on ``plans/<kind>``, later parts on ``.../<part>``."""
        base = f"{self.base}/plans/{PlanKind(kind).value}"
        return base if part == 1 else f"{base}/{part}"

    def supplier_feed(self, supplier: str) -> str:
        """One supplier's feed, retained."""
        return f"{self.base}/suppliers/{_check_name(supplier, 'supplier')}/feed"

    def supplier_reply(self, supplier: str) -> str:
        """One supplier's replies (``+`` subscribes to every supplier's)."""
        if supplier != "+":
            _check_name(supplier, "supplier")
        return f"{self.base}/suppliers/{supplier}/reply"

    @staticmethod
    def supplier_of(topic: str) -> str | None:
        """The supplier of a ``.../suppliers/<supplier>/<leaf>`` topic, else None."""
        parts = topic.split("/")
        if len(parts) == 6 and "/".join(parts[:2]) == ROOT and parts[3] == "suppliers":
            return parts[4]
        return None

    @staticmethod
    def split_node_topic(topic: str) -> tuple[str, str, str, str]:
        """(site, line, node, leaf) of a node topic; WireError if it is not one."""
        parts = topic.split("/")
        if len(parts) != 6 or "/".join(parts[:2]) != ROOT or parts[3] in RESERVED_NAMES:
            raise WireError(f"not a node topic: {topic!r}")
        return parts[2], parts[3], parts[4], parts[5]
