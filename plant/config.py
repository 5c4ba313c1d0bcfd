"""Configuration of the plant service (``peakline plant serve``), strict and self-documenting.

Loaded from TOML; every section is a pydantic model with ``extra="forbid"`` and a
description on every field, so a typo is an error that names the key
(``mqtt.prot: unknown key; did you mean 'port'?``). Secrets (the MQTT password) never live in
the file: :func:`peakline.config.read_secret` reads them from the environment or a file.
``peakline plant check-config FILE`` validates a file and prints the effective settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from peakline.cliargs import DEFAULT_DB
from peakline.config import MqttClientConfig, Section, Synchronous, format_errors, read_toml
from peakline.errors import ConfigError
from plant.dashboard.config import DashboardConfig
from plant.planning.config import PlanConfig
from plant.twin.config import TwinConfig

__all__ = [
    "ErpConfig",
    "IngestConfig",
    "PlantConfig",
    "PlantMqttConfig",
    "PlantSection",
    "load_config",
]


class PlantSection(Section):
    """The site and its database."""

    site: str = Field(
        default="site1", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="site name, the <site> level of every MQTT topic",
    )
    db: str = Field(
        default=DEFAULT_DB,
        description="database URL: sqlite:///path.db (or a path) or postgresql+psycopg://...; "
        "unset: $PEAKLINE_DB, else sqlite:///peakline.db (as every `peakline plant` command)",
    )
    sqlite_synchronous: Synchronous = Field(
        default="full",
        description="SQLite fsync: FULL survives a power cut after an ack, NORMAL a crash",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="log lines as text or as one JSON object per line"
    )


class PlantMqttConfig(MqttClientConfig):
    """How the plant connects to the broker: one stable client id and a week-long session."""

    client_id: str | None = Field(
        default="peakline-plant", min_length=1, max_length=64,
        description="client id; stable across restarts so the broker keeps the session",
    )
    keepalive_s: int = Field(default=30, ge=2, le=600, description="MQTT keep-alive interval")
    session_expiry_s: int = Field(
        default=7 * 86400, ge=0,
        description="how long the broker keeps the session (and queues QoS 1) while away "
        "(MQTT 5 only; a 3.1.1 broker decides itself)",
    )
    reconnect_min_s: float = Field(default=1.0, gt=0, description="first reconnect delay")


class IngestConfig(Section):
    """Batching of database writes and what is kept for the dashboard."""

    max_batch_messages: int = Field(
        default=200, ge=1, le=10_000, description="messages committed together at most"
    )
    flush_interval_ms: float = Field(
        default=20.0, gt=0, le=5000, description="longest a message waits before its commit"
    )
    queue_max_bytes: int = Field(
        default=256 * 2**20, ge=2**20,
        description="bytes of messages waiting for their commit, at most (the network thread "
        "waits beyond it, and the broker keeps the rest)",
    )
    queue_max: int = Field(
        default=10_000, ge=10, description="messages buffered between network and writer"
    )
    thumbnails_per_node: int = Field(
        default=50, ge=1, le=10_000, description="reject thumbnails kept per node"
    )
    parse_workers: int = Field(
        default=-1, ge=-1, le=32,
        description="processes validating results payloads beside the writer "
        "(0: validate in the writer thread; -1: one per CPU core beyond the first, at most 4)",
    )
    manual_ack: bool = Field(
        default=True,
        description="PUBACK a message only after its commit, so the broker redelivers on a crash",
    )
    stats_interval_s: float = Field(
        default=60.0, gt=0, description="seconds between ingest statistics log lines"
    )
    provisioned_acl: str | None = Field(
        default=None,
        description="Mosquitto ACL file written by `peakline plant provision`; when set, "
        "messages from nodes without an identity there are dead-lettered, not stored",
    )


    def workers(self) -> int:
        """The number of parse worker processes ``parse_workers`` asks for on this machine."""
        if self.parse_workers >= 0:
            return self.parse_workers
        return max(0, min(4, (os.cpu_count() or 1) - 1))


class ErpConfig(Section):
    """The ERP bridge: ERP topics in, plans out."""

    enabled: bool = Field(default=True, description="subscribe to the ERP topics and publish plans")
    publish_plans: bool = Field(default=True, description="publish new plans, retained")
    plan_poll_s: float = Field(
        default=2.0, gt=0, description="seconds between checks for a newer plan in the database "
        "(plans and supplier feeds go out within this long of a plan)"
    )
    plan_part_bytes: int = Field(
        default=512_000, ge=10_000, le=1_000_000,
        description="largest plan message; bigger plans are split into numbered parts",
    )
    replan_after_s: float | None = Field(
        default=None, gt=0,
        description="re-plan when ERP data has arrived and none more for this many seconds: "
        "the hold plan with its latest settings, then every plan from the latest forecast "
        "(unset: plans come only from `peakline plant plan` and `peakline plant holds`)",
    )


class PlantConfig(Section):
    """The whole plant service configuration."""

    plant: PlantSection = Field(default_factory=PlantSection, description="site and database")
    mqtt: PlantMqttConfig = Field(
        default_factory=PlantMqttConfig, description="broker connection"
    )
    ingest: IngestConfig = Field(default_factory=IngestConfig, description="ingest batching")
    erp: ErpConfig = Field(default_factory=ErpConfig, description="ERP bridge")
    planning: PlanConfig = Field(
        default_factory=PlanConfig, description="how plans are made (peak, season, cutoffs)"
    )
    twin: TwinConfig = Field(
        default_factory=TwinConfig,
        description="the digital twin: changeovers, breakdowns, overtime, storage, costs",
    )
    dashboard: DashboardConfig | None = Field(
        default=None, description="serve the dashboard in the same process (omit: no dashboard)"
    )


def load_config(path: str | Path | None = None, data: dict[str, Any] | None = None) -> PlantConfig:
    """Read and validate a TOML file (or a dict); ConfigError naming every bad key."""
    source = str(path) if path is not None else "config"
    if data is None:
        if path is None:
            return PlantConfig()
        data = _relative_to(read_toml(path), Path(path).resolve().parent)
    try:
        return PlantConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source, model=PlantConfig)) from exc


def _relative_to(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``planning.events``, a file the service reads while it runs, relative to the TOML
    file's folder (the service's working directory says nothing about where the file is)."""
    planning = data.get("planning")
    if not isinstance(planning, dict):
        return data
    events = planning.get("events")
    if isinstance(events, str) and events:
        given = Path(events).expanduser()
        planning["events"] = os.path.normpath(given if given.is_absolute() else folder / given)
    return data
