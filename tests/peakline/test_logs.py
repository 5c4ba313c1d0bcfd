"""One log format (peakline.logs): JSON lines with ts, time, level, logger, msg, the process's
fixed fields and, for errors, exc; or text for a terminal."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.procs import Proc

from peakline.logs import JsonFormatter


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines (with ``node``) into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(node="cam7"))
    log = logging.getLogger("peakline.test_logs")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        yield log, out
    finally:
        log.removeHandler(handler)
        log.propagate = True


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_has_every_field(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logger
    before = time.time()
    log.info("started %d workers", 3)
    (line,) = _lines(out)
    assert set(line) == {"ts", "time", "level", "logger", "node", "msg"}
    assert (line["level"], line["logger"], line["node"]) == ("info", "peakline.test_logs", "cam7")
    assert line["msg"] == "started 3 workers"
    ts = line["ts"]
    assert isinstance(ts, float) and before - 0.01 <= ts <= time.time() + 0.01
    assert line["time"] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def test_errors_carry_the_exception(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logger
    try:
        raise ValueError("bad frame\nsecond line")
    except ValueError:
        log.exception("inference failed")
    log.warning("multi\nline")
    error, warning = _lines(out)  # one JSON object per line, newlines escaped
    assert error["level"] == "error" and error["msg"] == "inference failed"
    assert isinstance(error["exc"], str)
    assert error["exc"].startswith("Traceback") and "ValueError: bad frame" in error["exc"]
    assert warning["level"] == "warning" and warning["msg"] == "multi\nline"
    assert "exc" not in warning


_SCRIPT = """
import logging, sys
from peakline.logs import setup_logging
setup_logging("INFO", sys.argv[1], node="cam7")
log = logging.getLogger("edge.node")
log.debug("not shown at INFO")
log.info("ready")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("failed")
"""


def test_setup_logging_writes_json_lines_to_stderr(tmp_path: Path) -> None:
    proc = Proc("json", ["-c", _SCRIPT, "json"], tmp_path)
    assert proc.run(60) == 0, proc.output()
    ready, failed = (json.loads(line) for line in proc.output().splitlines())
    assert (ready["msg"], ready["level"], ready["logger"], ready["node"]) == (
        "ready", "info", "edge.node", "cam7")
    assert "exc" not in ready
    assert failed["level"] == "error" and "ZeroDivisionError" in str(failed["exc"])


def test_setup_logging_writes_text_for_a_terminal(tmp_path: Path) -> None:
    proc = Proc("text", ["-c", _SCRIPT, "text"], tmp_path)
    assert proc.run(60) == 0, proc.output()
    lines = proc.output().splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO edge\.node: ready", lines[0])
    assert lines[1].endswith("ERROR edge.node: failed") and "ZeroDivisionError" in lines[-1]
    assert "not shown" not in proc.output()
