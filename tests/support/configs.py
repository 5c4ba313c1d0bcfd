"""Configs for the real services the tests start: a camera node, a plant; a small TOML writer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plant.config import PlantConfig

__all__ = ["node_config", "plant_config", "to_toml"]


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for configs (scalars, lists, nested tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v))  # a TOML basic string is a JSON string

    lines: list[str] = []

    def table(prefix: str, d: dict[str, Any]) -> None:
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {value(v)}" for k, v in d.items() if not isinstance(v, dict))
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines) + "\n"


def node_config(
    tmp: Path, port: int, recording: Path, model: Path, *,
    site: str = "s1", line: str = "l1", node: str = "n1", **sections: dict[str, Any],
) -> Path:
    """Write ``tmp/<node>.toml``, a node replaying ``recording`` with ``model``; its path.

    Its files (outbox, review folder, the csv of fired rejects) are under ``tmp``; each of
    ``sections`` updates that config table (one level of nested tables merged, too).
    """
    meta = json.loads((recording / "recording.json").read_text())
    data: dict[str, Any] = {
        "site": site, "line": line, "node": node, "metrics_port": 0,
        "source": {"type": "recording", "path": str(recording), "realtime": False},
        "belt": {"y0": meta["belt_y0"], "y1": meta["belt_y1"],
                 "speed_px_s": meta["belt_speed_px_s"]},
        "inference": {"model": str(model), "threads": 1, "batch_size": 8, "max_wait_ms": 5.0},
        "actuator": {"station_x": float(meta["width"]) * 1.5, "latency_ms": 10.0,
                     "plugin": {"type": "csv", "path": str(tmp / "rejects.csv")}},
        "outbox": {"path": str(tmp / "outbox.db"), "synchronous": "normal"},
        "mqtt": {"port": port, "batch_interval_ms": 50, "resend_after_s": 3.0,
                 "reconnect_min_s": 0.1, "reconnect_max_s": 1.0, "keepalive_s": 5,
                 "metrics_interval_s": 1.0, "drain_on_stop_s": 10.0},
        "review": {"dir": str(tmp / "review")},
    }
    for name, values in sections.items():
        target = data.setdefault(name, {})
        for k, v in values.items():
            if isinstance(v, dict):
                target.setdefault(k, {}).update(v)
            else:
                target[k] = v
    path = tmp / f"{node}.toml"
    path.write_text(to_toml(data))
    return path


def plant_config(port: int, site: str, db: str, **ingest: Any) -> PlantConfig:
    """A config for a plant on ``site`` (a unique client id, so sessions don't cross)."""
    return PlantConfig.model_validate({
        "plant": {"site": site, "db": db},
        "mqtt": {"port": port, "client_id": f"plant-{site}", "keepalive_s": 5,
                 "reconnect_max_s": 1},
        "ingest": {"parse_workers": 0, "flush_interval_ms": 10, **ingest},
        "erp": {"plan_poll_s": 0.2},
    })
