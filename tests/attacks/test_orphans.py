"""Finding 4: a killed plant must not leave its worker processes running.

Before: after a plant was killed with SIGKILL (the fault scenarios do it; so does a crash
under a supervisor), its ``multiprocessing`` parse workers stayed alive, ten of them a
quarter of an hour after one test run. Now each worker asks the kernel to end it when the
plant dies.
"""

from __future__ import annotations

from pathlib import Path

from support.mqtt import Recorder
from support.payloads import batch
from support.procs import exited, peakline
from support.waiting import wait_until

from peakline import wire
from plant.broker.process import Mosquitto


def _children(pid: int) -> list[int]:
    """The multiprocessing workers whose parent is ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                out.append(int(entry.name))
    return out


def test_parse_workers_die_with_a_killed_plant(broker: Mosquitto, tmp_path: Path,
                                               site: str) -> None:
    cfg = tmp_path / "plant.toml"
    cfg.write_text(f'[plant]\nsite = "{site}"\ndb = "sqlite:///{tmp_path / "p.db"}"\n'
                   f'[mqtt]\nport = {broker.port}\nclient_id = "orph-{site}"\n'
                   '[ingest]\nparse_workers = 2\n[erp]\nenabled = false\n')
    plant = peakline("serve", tmp_path, "plant", "serve", "--config", str(cfg)).start()
    try:
        assert plant.pid is not None
        pid = plant.pid
        plant.wait_for("two parse workers", lambda: len(_children(pid)) >= 2, 60)
        workers = _children(pid)
        # the workers are up and parsing: a results batch goes through them to the database
        with Recorder(broker.port, [wire.Topics(site).plant_ack("L1", "n1")]) as rec:
            plant.wait_for("a batch parsed and acknowledged", lambda: rec.messages or (
                rec.publish(wire.Topics(site).node("L1", "n1", "results"),
                            wire.dump_payload(batch([1, 2], site=site))) and False), 60, 1.0)
        assert all(not exited(w) for w in workers)
        plant.kill()  # SIGKILL: no shutdown code runs in the plant
        wait_until("every worker to exit", lambda: all(exited(w) for w in workers), 10)
    finally:
        plant.kill()
