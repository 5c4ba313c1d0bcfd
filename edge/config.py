"""The camera node's configuration: strict pydantic models loaded from a TOML file.

``load_config(path)`` reads and validates; errors raise :class:`peakline.errors.ConfigError`
with one line per problem naming the key (``belt.speed_px_s: Input should be greater than 0``).
Secrets (the broker password) come from an environment variable or a file, never the TOML.
"""

from __future__ import annotations

import hashlib
import os
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.config_sections import (
    ACTUATOR_TYPES,
    SOURCE_TYPES,
    ActuatorConfig,
    BeltConfig,
    InferenceConfig,
    MqttLinkConfig,
    OutboxConfig,
    ReviewConfig,
    SourceConfig,
    plugin_tags,
)
from peakline.config import Section, format_errors, read_toml
from peakline.errors import ConfigError
from peakline.wire import NAME_PATTERN

__all__ = [
    "NodeConfig",
    "config_digest",
    "load_config",
    "reference_markdown",
]


class NodeConfig(BaseModel):
    """A whole camera node: identity, source, belt, model, reject, outbox, MQTT."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(pattern=NAME_PATTERN.pattern, description="site name (MQTT topic level)")
    line: str = Field(pattern=NAME_PATTERN.pattern, description="production line name")
    node: str = Field(pattern=NAME_PATTERN.pattern, description="this camera node's name")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="logging level of the node"
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line (for a log shipper)"
    )
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="Prometheus /metrics port (unset = off)"
    )
    metrics_host: str = Field(default="127.0.0.1", description="address /metrics listens on")
    source: SourceConfig = Field(description="where frames come from (chosen by type)")
    belt: BeltConfig = Field(description="belt region and item finding")
    inference: InferenceConfig = Field(description="model, batching and thresholds")
    actuator: ActuatorConfig = Field(description="reject station and actuator plugin")
    outbox: OutboxConfig = Field(description="durable results outbox")
    mqtt: MqttLinkConfig = Field(
        default_factory=MqttLinkConfig, description="MQTT link to the plant"
    )
    review: ReviewConfig = Field(
        default_factory=ReviewConfig, description="saving reject/uncertain items for review"
    )

    @model_validator(mode="after")
    def _check(self) -> NodeConfig:
        if self.belt.y1 <= self.belt.y0:
            raise ValueError("belt.y1 must be greater than belt.y0")
        if self.mqtt.reconnect_max_s < self.mqtt.reconnect_min_s:
            raise ValueError("mqtt.reconnect_max_s must be >= mqtt.reconnect_min_s")
        if self.source.reopen_max_s < self.source.reopen_min_s:
            raise ValueError("source.reopen_max_s must be >= source.reopen_min_s")
        return self


_TAGS = {tag for model in (*SOURCE_TYPES, *ACTUATOR_TYPES) for tag in plugin_tags(model)}


def _is_key(loc: list[str], i: int) -> bool:
    """False for the tag a discriminated union inserts into a location ("source.file.path")."""
    return not (i > 0 and loc[i] in _TAGS and loc[i - 1] in {"source", "plugin"})


def _is_path(annotation: Any) -> bool:
    return annotation is Path or Path in typing.get_args(annotation)


def _path_keys(models: tuple[type[BaseModel], ...]) -> set[str]:
    """Keys of any of ``models`` that hold a file system path."""
    return {name for m in models for name, f in m.model_fields.items() if _is_path(f.annotation)}


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative paths in the file are relative to the config file's folder."""
    act = data.get("actuator")
    tables: list[tuple[Any, tuple[type[BaseModel], ...]]] = [
        (data.get("source"), SOURCE_TYPES),
        (act.get("plugin") if isinstance(act, dict) else None, ACTUATOR_TYPES),
    ]
    for name, field in NodeConfig.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            tables.append((data.get(name), (field.annotation,)))
    for table, models in tables:
        if not isinstance(table, dict):
            continue
        for key in _path_keys(models):
            if isinstance(table.get(key), str):
                path = Path(table[key]).expanduser()
                table[key] = os.path.normpath(path if path.is_absolute() else base / path)
    return data


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> NodeConfig:
    """Read and validate a node config from TOML; ConfigError names every bad key."""
    path = Path(path)
    data = _resolve_paths(read_toml(path), path.resolve().parent)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    try:
        return NodeConfig.model_validate(data)
    except ValidationError as exc:
        problems = format_errors(exc, str(path), _is_key, NodeConfig)
        raise ConfigError(f"invalid configuration\n{problems}") from exc


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def config_digest(config: NodeConfig) -> str:
    """Short stable digest of the effective configuration (sent in the node status)."""
    text = config.model_dump_json(exclude={"mqtt": {"password_env", "password_file"}})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reference_markdown() -> str:
    """Markdown tables of every config key, its default and description (for docs/edge.md)."""
    from pydantic_core import PydanticUndefined

    from edge import config_sections as cs

    out: list[str] = []

    def table(title: str, model: type[BaseModel]) -> None:
        out.extend([f"#### `{title}`", "", "| key | default | meaning |", "|---|---|---|"])
        for name, f in model.model_fields.items():
            if f.default is not PydanticUndefined:
                default = f"`{f.default!r}`" if f.default is not None else "unset"
            elif f.default_factory is not None:
                value = f.default_factory()  # type: ignore[call-arg]
                default = "(table)" if isinstance(value, BaseModel) else f"`{value!r}`"
            else:
                default = "**required**"
            out.append(f"| `{name}` | {default} | {f.description or ''} |")
        out.append("")

    table("top level", NodeConfig)
    def plugins(key: str, models: tuple[type[Section], ...]) -> list[tuple[str, type[BaseModel]]]:
        return [(f"{key} (type = {' | '.join(cs.plugin_tags(m))})", m) for m in models]

    sections: list[tuple[str, type[BaseModel]]] = [
        *plugins("source", cs.SOURCE_TYPES), ("belt", cs.BeltConfig),
        ("inference", cs.InferenceConfig), ("actuator", cs.ActuatorConfig),
        *plugins("actuator.plugin", cs.ACTUATOR_TYPES), ("outbox", cs.OutboxConfig),
        ("mqtt", cs.MqttLinkConfig), ("review", cs.ReviewConfig),
    ]
    for title, model in sections:
        table(title, model)
    return "\n".join(out)
