"""The real camera node (``peakline edge run``) against the real plant: ``kill -9`` and restart.

The generators of the other scenarios drive the node's outbox and publisher; this one runs
the whole node on the committed recording (capture, items, inference with a model fitted
here, decisions, outbox, publisher), kills it with SIGKILL while it works, restarts it, stops
it gracefully and counts. The node keeps no journal, so *sent* per boot is the higher of the
highest sequence stored and the highest still in its outbox; every number up to it must be
in the plant database and the outbox must be empty after the graceful stop.
"""

from __future__ import annotations

import time
from pathlib import Path

from support.configs import node_config
from support.paths import RECORDING
from support.procs import peakline
from support.replay import read_outbox

from .counting import Tally, tally
from .harness import LINE, SITE, rig

__all__ = ["real_node_kill9"]


def _outbox_tops(path: Path) -> dict[str, int]:
    """Highest seq per boot still in the node's outbox."""
    tops: dict[str, int] = {}
    for boot, seq in read_outbox(path):
        tops[boot] = max(tops.get(boot, 0), seq)
    return tops


def real_node_kill9(workdir: Path) -> Tally:
    """``kill -9`` a real node replaying the line, restart it, stop it gracefully, count."""
    from edge.model.fit import fit_model

    workdir.mkdir(parents=True, exist_ok=True)
    model = workdir / "line.onnx"
    fit_model(RECORDING, model, threads=1)
    with rig(workdir) as r:
        # a node replaying the committed recording in real time, in a loop
        cfg = node_config(
            workdir, r.broker.port, RECORDING, model, site=SITE, line=LINE, node="cam1",
            source={"realtime": True, "loop": True},
            outbox={"path": str(workdir / "cam1.outbox.db")},
            mqtt={"batch_interval_ms": 50.0, "resend_after_s": 2.0, "reconnect_min_s": 0.2,
                  "reconnect_max_s": 2.0, "keepalive_s": 2, "drain_on_stop_s": 15.0},
        )
        node = peakline("cam1", workdir, "edge", "run", "--config", str(cfg)).start()
        r.gens.append(node)  # stopped with the rig

        def stored() -> dict[tuple[str, str], set[int]]:
            return {k: v for k, v in r.stored().items() if k[0] == "cam1"}

        node.wait_for("the node to deliver 15 results",
                      lambda: sum(map(len, stored().values())) >= 15, 120, 0.1)
        assert r.plant is not None
        r.plant.pause()  # acks stall: the node's latest results wait in its outbox ...
        time.sleep(1.5)
        node.kill()  # ... when it dies
        r.plant.resume()
        at_kill = _outbox_tops(workdir / "cam1.outbox.db")
        killed_stored = stored()
        unacked = sum(top - len(killed_stored.get(("cam1", b), set()))
                      for b, top in at_kill.items())
        node.start()
        healed = time.monotonic()
        target = {("cam1", b): top for b, top in at_kill.items()}
        recover = r.wait_delivered(60, since=healed, target=target)
        time.sleep(3.0)  # the new boot inspects and publishes for a while
        code = node.stop(timeout=40)
        left = _outbox_tops(workdir / "cam1.outbox.db")
        final = stored()
        sent = {k: max(v) for k, v in final.items()}
        for boot, top in {**at_kill, **left}.items():
            sent[("cam1", boot)] = max(sent.get(("cam1", boot), 0), top)
        out = tally(r.db_url, sent)
        out.recover_s = recover
        out.extra.update({"unacked_at_kill": unacked, "boots": len(sent),
                          "left_in_outbox": len(read_outbox(workdir / "cam1.outbox.db")),
                          "exit_status": code})
        return out
