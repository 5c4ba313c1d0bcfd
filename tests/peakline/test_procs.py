"""The demo's child processes: ordered stop, and no orphans even when the demo is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peakline.demo.procs import ChildGroup, demo_child
from peakline.errors import PeaklineError
from peakline.procs import run_step


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie of ours counts as gone once reaped; children of others are reaped by init
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_children_stop_in_reverse_order_and_take_their_session(tmp_path: Path) -> None:
    group = ChildGroup()
    # a child that starts a grandchild in its own session and then ignores SIGTERM
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "p = subprocess.Popen(['sleep', '300'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    stubborn = group.start(
        demo_child("stubborn", [sys.executable, "-c", script], tmp_path / "a.log"))
    polite = group.start(demo_child("polite", ["sleep", "300"], tmp_path / "b.log"))
    deadline = time.monotonic() + 10

    def printed() -> list[str]:  # the child's own lines, after the start header
        return [ln for ln in (tmp_path / "a.log").read_text().splitlines()
                if not ln.startswith("--- start")]

    while not printed() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(printed()[0])
    assert stubborn.alive and polite.alive
    statuses = group.stop(timeout=1.0)
    assert list(statuses) == ["polite", "stubborn"]
    assert statuses["polite"] == -signal.SIGTERM
    assert statuses["stubborn"] == -signal.SIGKILL
    assert _gone(grandchild)


def test_children_die_with_a_killed_parent(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from peakline.demo.procs import demo_child\n"
            f"c = demo_child('sleeper', ['sleep', '300'], Path({str(tmp_path / 'c.log')!r}))\n"
            "c.start()\n"
            f"Path({str(pidfile)!r}).write_text(str(c.pid))\n"
            "time.sleep(300)\n",
        ],
    )
    try:
        deadline = time.monotonic() + 20
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline, "parent never started its child"
            time.sleep(0.05)
        child = int(pidfile.read_text())
        os.kill(child, 0)  # running
        parent.kill()  # like kill -9 of peakline demo
        parent.wait(10)
        assert _gone(child), "the child outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)


def test_failed_step_reports_its_output() -> None:
    with pytest.raises(PeaklineError, match=r"making toast failed \(exit status 3\):\nburnt"):
        run_step(
            [sys.executable, "-c", "print('burnt'); raise SystemExit(3)"],
            "making toast",
            quiet=True,
        )
