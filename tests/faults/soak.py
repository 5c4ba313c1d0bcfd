"""The soak: steady load for a while, sampling what must stay flat.

Four generator nodes (one process) publish ``rate`` results a second each to the real plant
service through a real Mosquitto. Every ``every_s`` seconds it samples, per process (plant,
generator, broker), the resident memory (``VmRSS``) and open file descriptors from
``/proc``, plus the nodes' outbox backlog and the outbox files' size on disk (the database
files, which must stay flat, and their write-ahead logs, which grow to SQLite's checkpoint
size of about 4 MB each and are then reused). At the end
production stops, everything sent must be stored, and ``flatness`` compares the samples after
the warm-up (the first fifth) with the last ones.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .counting import Tally
from .harness import rig

__all__ = ["Sample", "flatness", "proc_stats", "run_soak"]

NODES = ["soak1", "soak2", "soak3", "soak4"]


@dataclass
class Sample:
    """One sampling instant."""

    t: float
    rss_kb: dict[str, int] = field(default_factory=dict)
    fds: dict[str, int] = field(default_factory=dict)
    backlog: int = 0
    outbox_bytes: int = 0  # the database files (rows live here)
    wal_bytes: int = 0  # their write-ahead logs (reused after each checkpoint, ~4 MB cap)
    stored: int = 0


def proc_stats(pid: int | None) -> tuple[int, int]:
    """(VmRSS in kB, open file descriptors) of a live process; (0, 0) if it is gone."""
    if pid is None:
        return 0, 0
    try:
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0, 0


def run_soak(workdir: Path, seconds: float, every_s: float = 2.0,
             rate: float = 100.0) -> tuple[Tally, list[Sample]]:
    """Run the soak for ``seconds``; the delivery tally and the samples."""
    samples: list[Sample] = []
    with rig(workdir) as r:
        assert r.plant is not None
        gen = r.start_generator("gen", NODES, rate=rate, count=None, per_store=10,
                                link={"metrics_interval_s": 5.0})
        r.wait_flowing(NODES[0], 50)
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            s = Sample(t=round(time.monotonic() - began, 1))
            for name, pid in (("plant", r.plant.pid), ("edge", gen.pid),
                              ("broker", r.broker.pid)):
                s.rss_kb[name], s.fds[name] = proc_stats(pid)
            s.backlog = sum(int(r.status(n).get("backlog", 0)) for n in NODES)
            s.outbox_bytes = _size(workdir.glob("*.outbox.db"))
            s.wal_bytes = _size(workdir.glob("*.outbox.db-wal"))
            s.stored = sum(len(v) for v in r.stored().values())
            samples.append(s)
            time.sleep(max(0.0, every_s - (time.monotonic() - began - s.t)))
        for node in NODES:
            (workdir / f"{node}.hold").touch()
        time.sleep(1.0)
        r.wait_delivered(60)
        result = r.finish()
    result.extra.update(flatness(samples))
    return result, samples


def _size(paths: Any) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            total += path.stat().st_size
    return total


def flatness(samples: list[Sample]) -> dict[str, Any]:
    """Growth from the end of the warm-up to the end, per process and for the outbox."""
    if len(samples) < 5:
        return {"samples": len(samples)}
    warm = samples[len(samples) // 5]
    tail = samples[-3:]
    out: dict[str, Any] = {"samples": len(samples), "minutes": round(samples[-1].t / 60, 2)}
    for name in warm.rss_kb:
        end_rss = max(s.rss_kb[name] for s in tail)
        out[f"{name}_rss_mb"] = round(end_rss / 1024, 1)
        out[f"{name}_rss_growth_mb"] = round((end_rss - warm.rss_kb[name]) / 1024, 1)
        out[f"{name}_fd_growth"] = max(s.fds[name] for s in tail) - warm.fds[name]
    out["backlog_max"] = max(s.backlog for s in samples)
    out["outbox_mb_max"] = round(max(s.outbox_bytes for s in samples) / 2**20, 2)
    out["outbox_wal_mb_max"] = round(max(s.wal_bytes for s in samples) / 2**20, 2)
    out["outbox_mb_growth"] = round(
        (max(s.outbox_bytes for s in tail) - warm.outbox_bytes) / 2**20, 2)
    elapsed = max(samples[-1].t - samples[0].t, 1e-9)
    out["results_per_s"] = round((samples[-1].stored - samples[0].stored) / elapsed, 1)
    return out
