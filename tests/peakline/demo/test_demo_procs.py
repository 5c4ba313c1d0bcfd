"""The demo's children (peakline.demo.procs): stopped in reverse order, sessions and all."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from support.procs import exited
from support.waiting import wait_until

from peakline.demo.procs import ChildGroup, demo_child


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

    def printed() -> list[str]:  # the child's own lines, after the start header
        return [ln for ln in (tmp_path / "a.log").read_text().splitlines()
                if not ln.startswith("--- start")]

    wait_until("the stubborn child to start its grandchild", printed, 10)
    grandchild = int(printed()[0])
    assert stubborn.alive and polite.alive
    statuses = group.stop(timeout=1.0)
    assert list(statuses) == ["polite", "stubborn"]
    assert statuses["polite"] == -signal.SIGTERM
    assert statuses["stubborn"] == -signal.SIGKILL
    wait_until("the grandchild to go with its session", lambda: exited(grandchild), 10)
