"""The real camera node (``peakline edge run``) against the real plant: ``kill -9`` and restart.

The generators of the other scenarios drive the node's outbox and publisher; this one runs
the whole node on the committed recording (capture, items, inference with a model fitted
here, decisions, outbox, publisher), kills it with SIGKILL while it works, restarts it, stops
it gracefully and counts. The node keeps no journal, so *sent* per boot is the higher of the
highest sequence stored and the highest still in its outbox; every number up to it must be
in the plant database and the outbox must be empty after the graceful stop.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from .counting import Tally, tally
from .harness import LINE, SITE, rig
from .procs import Proc, wait_until

__all__ = ["real_node_kill9"]

RECORDING = Path(__file__).resolve().parents[1] / "data" / "line_short"


def _toml(data: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return json.dumps(str(v))

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


def node_config(workdir: Path, port: int, model: Path) -> Path:
    """A node replaying the committed recording in real time, in a loop."""
    meta = json.loads((RECORDING / "recording.json").read_text())
    data = {
        "site": SITE, "line": LINE, "node": "cam1",
        "source": {"type": "recording", "path": str(RECORDING), "realtime": True, "loop": True},
        "belt": {"y0": meta["belt_y0"], "y1": meta["belt_y1"],
                 "speed_px_s": meta["belt_speed_px_s"]},
        "inference": {"model": str(model), "threads": 1, "batch_size": 8, "max_wait_ms": 5.0},
        "actuator": {"station_x": float(meta["width"]) * 1.5, "latency_ms": 10.0,
                     "plugin": {"type": "log"}},
        "outbox": {"path": str(workdir / "cam1.outbox.db"), "synchronous": "normal"},
        "mqtt": {"port": port, "batch_interval_ms": 50.0, "resend_after_s": 2.0,
                 "reconnect_min_s": 0.2, "reconnect_max_s": 2.0, "keepalive_s": 2,
                 "metrics_interval_s": 1.0, "drain_on_stop_s": 15.0},
        "review": {"dir": str(workdir / "review")},
    }
    path = workdir / "cam1.toml"
    path.write_text(_toml(data))
    return path


def _outbox_rows(path: Path) -> dict[str, int]:
    """Highest seq per boot still in the node's outbox (read-only)."""
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {b: int(s) for b, s in
                db.execute("SELECT boot_id, MAX(seq) FROM results GROUP BY boot_id")}
    finally:
        db.close()


def _outbox_count(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    finally:
        db.close()


def real_node_kill9(workdir: Path) -> Tally:
    """``kill -9`` a real node replaying the line, restart it, stop it gracefully, count."""
    from edge.model.fit import fit_model

    workdir.mkdir(parents=True, exist_ok=True)
    model = workdir / "line.onnx"
    fit_model(RECORDING, model, threads=1)
    with rig(workdir) as r:
        cfg = node_config(workdir, r.broker.port, model)
        node = Proc("cam1", ["-m", "peakline.cli", "edge", "run", "--config", str(cfg)],
                    workdir).start()
        r.gens.append(node)  # stopped with the rig

        def stored() -> dict[tuple[str, str], set[int]]:
            return {k: v for k, v in r.stored().items() if k[0] == "cam1"}

        wait_until("the node to deliver 15 results",
                   lambda: sum(map(len, stored().values())) >= 15 or not node.running, 120)
        assert node.running, node.log_tail()
        assert r.plant is not None
        r.plant.pause()  # acks stall: the node's latest results wait in its outbox ...
        time.sleep(1.5)
        node.kill9()  # ... when it dies
        r.plant.resume()
        at_kill = _outbox_rows(workdir / "cam1.outbox.db")
        killed_stored = stored()
        unacked = sum(top - len(killed_stored.get(("cam1", b), set()))
                      for b, top in at_kill.items())
        node.start()
        healed = time.monotonic()
        target = {("cam1", b): top for b, top in at_kill.items()}
        recover = r.wait_delivered(60, since=healed, target=target)
        time.sleep(3.0)  # the new boot inspects and publishes for a while
        code = node.stop(timeout=40)
        left = _outbox_rows(workdir / "cam1.outbox.db")
        final = stored()
        sent = {k: max(v) for k, v in final.items()}
        for boot, top in {**at_kill, **left}.items():
            sent[("cam1", boot)] = max(sent.get(("cam1", boot), 0), top)
        out = tally(r.db_url, sent)
        out.recover_s = recover
        out.extra.update({"unacked_at_kill": unacked, "boots": len(sent),
                          "left_in_outbox": _outbox_count(workdir / "cam1.outbox.db"),
                          "exit_status": code})
        return out
