"""Reading TOML configuration files, and naming the key behind each validation error.

Every Peakline config (camera node, plant service, hardware catalogue) is a TOML file checked
by a strict pydantic model; these two functions give them the same messages.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from peakline.errors import ConfigError

__all__ = ["format_errors", "read_toml"]


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
    exc: ValidationError, source: str, keep: Callable[[list[str], int], bool] | None = None
) -> str:
    """One line per problem: ``source: dotted.key: message (got value)``.

    ``keep(loc, i)`` may drop parts of the location that are not keys a user writes (the tag a
    discriminated union inserts, for example).
    """
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if keep is not None:
            loc = [p for i, p in enumerate(loc) if keep(loc, i)]
        key = ".".join(loc) or "(top level)"
        quiet = err["type"] in ("missing", "extra_forbidden")  # the input says nothing here
        got = "" if quiet else f" (got {err.get('input')!r})"
        lines.append(f"{source}: {key}: {err['msg']}{got}")
    return "\n".join(lines)
