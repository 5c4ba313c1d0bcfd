"""What every Peakline configuration shares: the TOML reader, errors that name the key,
the one rule for secrets, and the MQTT client settings of both deployables.

Every config (camera node, plant service, hardware catalogue) is a TOML file checked by a
strict pydantic model (``extra="forbid"``, a description on every field).

Secrets never live in a config file. A secret is read from the environment variable the
config names (``*_env``); when that is unset or empty, from the file it names (``*_file``) or
else from the file named by the variable ``<env>_FILE``; the first line of the file, stripped.
A variable or file the config names explicitly must exist.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from peakline.errors import ConfigError

__all__ = [
    "MqttClientConfig",
    "Section",
    "Synchronous",
    "format_errors",
    "known_keys",
    "read_secret",
    "read_toml",
]


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; ConfigError saying why it cannot be read."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def format_errors(
    exc: ValidationError, source: str, keep: Callable[[list[str], int], bool] | None = None,
    model: type[BaseModel] | None = None,
) -> str:
    """One line per problem: ``source: dotted.key: message (got value)``.

    ``keep(loc, i)`` may drop parts of the location that are not keys a user writes (the tag a
    discriminated union inserts, for example). With the validated ``model``, an unknown key
    says which key was probably meant (``belt.sped_px_s: unknown key; did you mean
    'speed_px_s'?``) or, failing that, which keys that table takes.
    """
    lines = []
    for err in exc.errors():
        raw = [str(p) for p in err["loc"]]
        loc = raw
        if keep is not None:
            loc = [p for i, p in enumerate(raw) if keep(raw, i)]
        key = ".".join(loc) or "(top level)"
        quiet = err["type"] in ("missing", "extra_forbidden")  # the input says nothing here
        got = "" if quiet else f" (got {err.get('input')!r})"
        message = err["msg"]
        if err["type"] == "extra_forbidden" and model is not None and raw:
            message = _unknown_key(raw[-1], known_keys(model, raw[:-1]))
        lines.append(f"{source}: {key}: {message}{got}")
    return "\n".join(lines)


def _unknown_key(key: str, known: list[str]) -> str:
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if near:
        return f"unknown key; did you mean {near[0]!r}?"
    if known and len(known) <= 20:
        return f"unknown key; this table takes {', '.join(known)}"
    return "unknown key"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field can hold: through Optional, unions, Annotated, lists and dicts."""
    out: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            out.append(item)
        else:
            stack.extend(typing.get_args(item))
    return out


def _selects(model: type[BaseModel], part: str) -> bool:
    """Whether ``part`` is the union tag (or class name) pydantic puts in a location for
    ``model``."""
    if part == model.__name__:
        return True
    return any(typing.get_origin(f.annotation) is Literal and part in typing.get_args(f.annotation)
               for f in model.model_fields.values())


def known_keys(model: type[BaseModel], path: Sequence[str]) -> list[str]:
    """The keys a user may write in the table at ``path`` (a validation location) of
    ``model``: its field names, or the union of them where a union leaves it open."""
    models = [model]
    for part in path:
        inner = [m for m in models if part in m.model_fields]
        if inner:
            models = [t for m in inner for t in _models_in(m.model_fields[part].annotation)]
        else:  # a list index, a dict key or a union's tag: the same tables, or the tagged one
            models = [m for m in models if _selects(m, part)] or models
        if not models:
            return []
    names = {name for m in models for name in m.model_fields}
    names |= {f.alias for m in models for f in m.model_fields.values() if f.alias}
    return sorted(names)


def read_secret(key: str, env: str | None, file: str | os.PathLike[str] | None = None,
                *, required: bool = False) -> str | None:
    """The secret behind config key ``key`` (see the module docstring); None if none is set.

    ``required`` makes a missing secret an error (the config named the variable itself).
    """
    value = os.environ.get(env, "").strip() if env else ""
    if value:
        return value
    path = file or (os.environ.get(f"{env}_FILE") if env else None) or None
    if path is None:
        if required:
            raise ConfigError(f"{key}_env: variable {env} is not set")
        return None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{key}_file: cannot read {path}: {exc}") from exc
    value = lines[0].strip() if lines else ""
    if not value:
        raise ConfigError(f"{key}_file: {path} is empty")
    return value


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


#: how hard SQLite syncs: full survives a power cut, normal only a process crash
Synchronous = Annotated[Literal["full", "normal"], BeforeValidator(_lower)]


class MqttClientConfig(Section):
    """How a Peakline process connects to the broker (MQTT 5 or 3.1.1, TLS, persistent session)."""

    host: str = Field(default="127.0.0.1", description="broker host name or address")
    port: int = Field(default=1883, ge=1, le=65535, description="broker TCP port")
    client_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="MQTT client id; stable across restarts so the broker keeps the session "
        "(default: derived from the identity)",
    )
    username: str | None = Field(default=None, description="broker user name")
    password_env: str = Field(
        default="PEAKLINE_MQTT_PASSWORD",
        description="environment variable holding the broker password",
    )
    password_file: Path | None = Field(
        default=None, description="file holding the password (first line), if the variable is unset"
    )
    tls_ca: Path | None = Field(
        default=None, description="CA certificate file; set to connect to the broker with TLS"
    )
    tls_cert: Path | None = Field(
        default=None, description="client certificate for mutual TLS (with tls_key)"
    )
    tls_key: Path | None = Field(default=None, description="private key of tls_cert")
    protocol: Literal["5", "3.1.1"] = Field(
        default="5",
        description="MQTT version: 5, or 3.1.1 for a broker without MQTT 5 (no session "
        "expiry, message expiry or reason codes: a denied publish goes unnoticed)",
    )
    keepalive_s: int = Field(default=15, ge=2, le=600, description="MQTT keep-alive interval")
    session_expiry_s: int = Field(
        default=86_400, ge=0,
        description="how long the broker keeps the session (and queues QoS 1) while away "
        "(MQTT 5 only; a 3.1.1 broker decides itself)",
    )
    reconnect_min_s: float = Field(default=0.5, gt=0, description="first reconnect delay")
    reconnect_max_s: float = Field(default=30.0, gt=0, description="longest reconnect delay")

    def password(self) -> str | None:
        """The broker password (environment or file); ConfigError if a named one is missing."""
        return read_secret("mqtt.password", self.password_env, self.password_file,
                           required="password_env" in self.model_fields_set)
