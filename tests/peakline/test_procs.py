"""Child processes (peakline.procs): no orphans when the parent is killed; failed steps say why."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from support.procs import Proc, exited
from support.waiting import wait_until

from peakline.errors import PeaklineError
from peakline.procs import run_step


def test_children_die_with_a_killed_parent(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = (
        "import time\n"
        "from pathlib import Path\n"
        "from peakline.procs import ChildProcess\n"
        f"c = ChildProcess('sleeper', ['sleep', '300'], Path({str(tmp_path / 'c.log')!r}),\n"
        "                 new_session=True)\n"
        "c.start()\n"
        f"Path({str(pidfile)!r}).write_text(str(c.pid))\n"
        "time.sleep(300)\n"
    )
    parent = Proc("parent", ["-c", script], tmp_path).start()
    try:
        parent.wait_for("the parent to start its child",
                        lambda: pidfile.exists() and pidfile.read_text() != "", 20)
        child = int(pidfile.read_text())
        os.kill(child, 0)  # running
        parent.kill()  # like kill -9 of peakline demo
        wait_until("the child to die with its parent", lambda: exited(child), 10)
    finally:
        parent.kill()


def test_failed_step_reports_its_output() -> None:
    with pytest.raises(PeaklineError, match=r"making toast failed \(exit status 3\):\nburnt"):
        run_step(
            [sys.executable, "-c", "print('burnt'); raise SystemExit(3)"],
            "making toast",
            quiet=True,
        )
