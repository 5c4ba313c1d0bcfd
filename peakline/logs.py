"""One log format for every Peakline process: text for a terminal, JSON lines for a shipper.

``setup_logging(level, fmt, **fields)`` configures the root logger once; with ``fmt="json"``
every line is one JSON object with ``ts``, ``time``, ``level``, ``logger``, ``msg``, the
process's fixed fields (a camera node adds ``node``) and, for errors, ``exc``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Literal

__all__ = ["TEXT_FORMAT", "JsonFormatter", "LogFormat", "setup_logging"]

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, time, level, logger, msg, fixed fields (and exc)."""

    def __init__(self, **fields: str) -> None:
        super().__init__()
        self.fields = fields

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            **self.fields,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(level: int | str | None = None, fmt: LogFormat = "text",
                  **fields: str) -> None:
    """Configure the root logger: ``level`` (None: keep it), text or JSON lines on stderr."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=TEXT_FORMAT)
    if level is not None:
        root.setLevel(level)
    formatter: logging.Formatter = (
        JsonFormatter(**fields) if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    )
    for handler in root.handlers:
        handler.setFormatter(formatter)
