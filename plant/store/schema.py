"""Tables of the plant database and the numbered migrations that create them.

One SQLAlchemy Core ``MetaData`` describes every table; migrations are plain numbered
functions applied in order inside one transaction each and recorded in ``schema_version``
(version, applied_at, description), so an existing database is brought forward on open and a
newer database than this code refuses to open.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
    text,
)

__all__ = ["MIGRATIONS", "metadata", "migrate", "schema_version"]

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
    Column("description", String(200), nullable=False),
)

# --- ingest side -----------------------------------------------------------------------------
results = Table(
    "results",
    metadata,
    Column("site", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("node", String(64), nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("ts", Float, nullable=False),
    Column("frame", Integer, nullable=False),
    Column("bbox_x", Integer, nullable=False),
    Column("bbox_y", Integer, nullable=False),
    Column("bbox_w", Integer, nullable=False),
    Column("bbox_h", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("defect", String(64)),
    Column("latency_ms", Float, nullable=False),
    Column("rejected", Boolean, nullable=False),
    Column("missed_reject", Boolean, nullable=False),
    Column("historical", Boolean, nullable=False),
    Column("model", String(128), nullable=False),
    Column("received_ts", Float, nullable=False),
    UniqueConstraint("site", "line", "node", "boot_id", "seq", name="uq_results_identity_seq"),
)
Index("ix_results_ts", results.c.ts)

seq_ranges = Table(
    "seq_ranges",
    metadata,
    Column("site", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("node", String(64), nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("first_seq", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    PrimaryKeyConstraint("site", "line", "node", "boot_id", "first_seq",
                         name="pk_seq_ranges_identity"),
)

nodes = Table(
    "nodes",
    metadata,
    Column("site", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("node", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("model", String(128), nullable=False),
    Column("config_digest", String(128), nullable=False),
    Column("status_ts", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("fault", String(200), nullable=False, server_default=""),
    Column("last_command", String(300), nullable=False, server_default=""),
    PrimaryKeyConstraint("site", "line", "node", name="pk_nodes_identity"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("node", String(64), nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("window_s", Float, nullable=False),
    Column("items", Integer, nullable=False),
    Column("rejects", Integer, nullable=False),
    Column("rejects_by_defect", Text, nullable=False),
    Column("uncertain", Integer, nullable=False),
    Column("missed_rejects", Integer, nullable=False),
    Column("latency_p50_ms", Float, nullable=False),
    Column("latency_p99_ms", Float, nullable=False),
    Column("frames", Integer, nullable=False),
    Column("dropped_frames", Integer, nullable=False),
    Column("corrupt_frames", Integer, nullable=False),
    Column("queue_depth", Integer, nullable=False),
    Column("outbox_backlog", Integer, nullable=False),
    Column("outbox_dropped", Integer, nullable=False),
    Column("received_ts", Float, nullable=False),
    # the node's drift monitor (migration 9): estimated false-reject rate and its band
    Column("score_p50", Float, nullable=True),
    Column("estimated_frr", Float, nullable=True),
    Column("frr_band", Float, nullable=True),
    Column("drift_alert", Boolean, nullable=False, server_default=text("false")),
)
Index("ix_metrics_node_ts", metrics.c.node, metrics.c.ts)  # node alone: migration 1

thumbnails = Table(
    "thumbnails",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("line", String(64), nullable=False),
    Column("node", String(64), nullable=False),
    Column("boot_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("ts", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("defect", String(64)),
    Column("jpeg_b64", Text, nullable=False),
    Column("received_ts", Float, nullable=False),
)
Index("ix_thumbnails_node_id", thumbnails.c.node, thumbnails.c.id)  # node alone: migration 1

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(512), nullable=False),
    Column("reason", Text, nullable=False),
    Column("received_ts", Float, nullable=False),
    Column("size", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False),
)

# --- ERP side (quantities in sellable units) -------------------------------------------------
skus = Table(
    "skus",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("flavour", String(64), nullable=False),
    Column("packaging", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("price", Float, nullable=False),
    Column("unit_cost", Float, nullable=False),
    Column("salvage_value", Float, nullable=False),
    Column("shelf_life_days", Integer, nullable=False),
    Column("units_per_case", Integer, nullable=False),
)
demand = Table(
    "demand",
    metadata,
    Column("sku", String(64), nullable=False),
    Column("date", Date, nullable=False),
    Column("orders", Float, nullable=False, default=0.0),
    Column("cancellations", Float, nullable=False, default=0.0),
    PrimaryKeyConstraint("sku", "date"),
)
open_orders = Table(
    "open_orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("order_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("qty", Float, nullable=False),
    Column("channel", String(64), nullable=False),
)
inventory = Table(
    "inventory",
    metadata,
    Column("item", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("on_hand", Float, nullable=False),
    Column("as_of", Date, nullable=False),
    PrimaryKeyConstraint("item", "as_of"),
)
materials = Table(
    "materials",
    metadata,
    Column("item", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("lead_time_days", Integer, nullable=False),
    Column("moq", Float, nullable=False),
    Column("pack_multiple", Float, nullable=False),
    Column("unit_cost", Float, nullable=False),
    Column("shelf_life_days", Integer, nullable=False),
)
bom = Table(
    "bom",
    metadata,
    Column("sku", String(64), nullable=False),
    Column("item", String(64), nullable=False),
    Column("qty_per_unit", Float, nullable=False),
    PrimaryKeyConstraint("sku", "item"),
)
lines = Table(
    "lines",
    metadata,
    Column("line", String(64), primary_key=True),
    Column("units_per_hour", Float, nullable=False),
    Column("hours_per_shift", Float, nullable=False),
    Column("shifts_per_day", Integer, nullable=False),
    Column("days_per_week", Integer, nullable=False),
)

# --- web shop orders and holds for delivery after the festival --------------------------------
shop_orders = Table(
    "shop_orders",
    metadata,
    Column("order_id", String(64), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("customer", String(64), nullable=False),
    Column("placed_at", DateTime, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_price", Float, nullable=False),
    Column("region", String(64), nullable=False),
    Column("delivery_date", Date, nullable=False),
    Column("cancelled_at", DateTime),
    PrimaryKeyConstraint("order_id", "sku"),
)
Index("ix_shop_orders_placed", shop_orders.c.placed_at)
holds = Table(
    "holds",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("held_until", Date, nullable=False),
)

# --- forecasts, backtests, plans (a frame per id, stored as pandas "table" JSON) --------------
artifacts = Table(
    "artifacts",
    metadata,
    Column("artifact_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("forecast_id", String(128)),
    Column("created_at", Float, nullable=False),
    Column("meta", Text, nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("kind", "artifact_id"),
)
Index("ix_artifacts_kind_created", artifacts.c.kind, artifacts.c.created_at)

# --- suppliers and material prices -------------------------------------------------------
suppliers = Table(
    "suppliers",
    metadata,
    Column("supplier", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
)
supplier_items = Table(
    "supplier_items",
    metadata,
    Column("supplier", String(64), nullable=False),
    Column("item", String(64), nullable=False),
    Column("lead_time_days", Integer, nullable=False),
    Column("lead_time_sd_days", Float, nullable=False),
    Column("moq", Float, nullable=False),
    Column("pack_multiple", Float, nullable=False),
    Column("capacity_per_week", Float, nullable=False),
    PrimaryKeyConstraint("supplier", "item"),
)
supplier_feeds = Table(
    "supplier_feeds",
    metadata,
    Column("supplier", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("plan_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("payload", Text, nullable=False),
    PrimaryKeyConstraint("supplier", "version"),
)
supplier_replies = Table(
    "supplier_replies",
    metadata,
    Column("supplier", String(64), nullable=False),
    Column("item", String(64), nullable=False),
    Column("week", Date, nullable=False),
    Column("feed_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("qty", Float, nullable=False),
    Column("delivery", Date, nullable=False),
    Column("received_at", Float, nullable=False),
    PrimaryKeyConstraint("supplier", "item", "week"),
)
prices = Table(
    "prices",
    metadata,
    Column("item", String(64), nullable=False),
    Column("date", Date, nullable=False),
    Column("price", Float, nullable=False),
    PrimaryKeyConstraint("item", "date"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("po_id", String(64), nullable=False),
    Column("item", String(64), nullable=False),
    Column("supplier", String(64), nullable=False),
    Column("order_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("qty", Float, nullable=False),
    PrimaryKeyConstraint("po_id", "item"),
)

_INGEST = [results, seq_ranges, nodes, metrics, thumbnails, dead_letters]
_ERP = [skus, demand, open_orders, inventory, materials, bom, lines]
_SUPPLY = [suppliers, supplier_items, supplier_feeds, supplier_replies, prices]


def _create(tables: list[Table]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return apply


def _identity_keys(conn: Connection) -> None:
    """Key results, sequence ranges and presence on site/line/node, not on the node name.

    Databases from migration 1 keyed them on the node name alone, so ``cam1`` on two lines
    shared one de-duplication key and one presence row. Each table is rebuilt with its new
    key and its rows copied; the sequence ranges are recomputed from the stored results
    (consecutive runs of ``seq`` per site/line/node/boot), which is exactly what they record.
    A database created by migration 1 of this code already has the new keys: nothing to do.
    """
    if "line" in {c["name"] for c in inspect(conn).get_columns("seq_ranges")}:
        return
    idx = [*results.indexes, *seq_ranges.indexes, *nodes.indexes]
    for table in (results, seq_ranges, nodes):
        conn.execute(text(f"ALTER TABLE {table.name} RENAME TO {table.name}_v1"))
    for ix in idx:
        conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
    if conn.dialect.name == "postgresql":  # constraint names are per schema there
        for old, constraint in (("results", "uq_results_node_boot_seq"),
                                ("seq_ranges", "seq_ranges_pkey"), ("nodes", "nodes_pkey")):
            conn.execute(text(f"ALTER TABLE {old}_v1 DROP CONSTRAINT IF EXISTS {constraint}"))
    for table in (results, seq_ranges, nodes):
        table.create(conn)
    for table in (results, nodes):
        cols = ", ".join(f'"{c.name}"' for c in table.columns
                         if c.name not in ("fault", "last_command"))
        conn.execute(text(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {table.name}_v1"))
    conn.execute(text(
        "INSERT INTO seq_ranges (site, line, node, boot_id, first_seq, last_seq) "
        "SELECT site, line, node, boot_id, MIN(seq), MAX(seq) FROM ("
        " SELECT site, line, node, boot_id, seq, seq - ROW_NUMBER() OVER ("
        "  PARTITION BY site, line, node, boot_id ORDER BY seq) AS run FROM results) AS runs "
        "GROUP BY site, line, node, boot_id, run"
    ))
    for table in (results, seq_ranges, nodes):
        conn.execute(text(f"DROP TABLE {table.name}_v1"))


def _node_column(name: str, width: int) -> Callable[[Connection], None]:
    """Add a text column (empty by default) to ``nodes``, unless migration 4 made it."""

    def apply(conn: Connection) -> None:
        if name not in {c["name"] for c in inspect(conn).get_columns("nodes")}:
            conn.execute(text(
                f"ALTER TABLE nodes ADD COLUMN {name} VARCHAR({width}) NOT NULL DEFAULT ''"))

    return apply


def _drift_columns(conn: Connection) -> None:
    """Add the drift monitor's columns to ``metrics``, unless migration 1 of this code made
    them."""
    have = {c["name"] for c in inspect(conn).get_columns("metrics")}
    for name in ("score_p50", "estimated_frr", "frr_band"):
        if name not in have:
            conn.execute(text(f"ALTER TABLE metrics ADD COLUMN {name} FLOAT"))
    if "drift_alert" not in have:
        conn.execute(text(
            "ALTER TABLE metrics ADD COLUMN drift_alert BOOLEAN NOT NULL DEFAULT false"))


#: (version, description, apply) in order; append, never edit a released one.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "ingest: results, nodes, metrics, thumbnails, dead letters", _create(_INGEST)),
    (2, "ERP: skus, demand, open orders, inventory, materials, bom, lines", _create(_ERP)),
    (3, "forecasts, backtests and plans", _create([artifacts])),
    (4, "a device is site/line/node: results, sequence ranges and presence keyed on all three",
     _identity_keys),
    (5, "suppliers, their items, feeds and replies; material prices", _create(_SUPPLY)),
    (6, "nodes: the fault a node reports (its model failing)", _node_column("fault", 200)),
    (7, "nodes: the last command a node received, applied or refused, and who sent it",
     _node_column("last_command", 300)),
    (8, "web shop orders and holds for delivery after the festival",
     _create([shop_orders, holds])),
    (9, "metrics: the node's drift monitor (estimated false-reject rate, its band, alert)",
     _drift_columns),
    (10, "open purchase orders to suppliers (goods on order)", _create([purchase_orders])),
]


def migrate(conn: Connection) -> int:
    """Apply the migrations this database lacks; return the resulting version."""
    schema_version.create(conn, checkfirst=True)
    current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
    latest = MIGRATIONS[-1][0]
    if current > latest:
        raise RuntimeError(f"database schema version {current} is newer than this code ({latest})")
    for version, description, apply in MIGRATIONS:
        if version > current:
            apply(conn)
            conn.execute(
                schema_version.insert().values(
                    version=version, applied_at=time.time(), description=description
                )
            )
            current = version
    return current
