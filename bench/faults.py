"""Every fault scenario of the delivery guarantee, counted: sent, stored, lost, stored twice.

Runs the scenarios of ``tests/faults/catalog.py`` (the same code the ``faults`` pytest
marker runs), each against its own Mosquitto, the real plant service and generator processes
on the node's own outbox and publisher. Prints a table, then as its LAST line one JSON
object::

    {"scenarios": {"<name>": {"sent": n, "stored": n, "lost": n, "duplicated": n,
                              "recover_s": x, ...}, ...},
     "lost_total": n, "duplicated_total": n, "broken": {...}}

``recover_s`` is the time from the end of the fault until everything sent before it was
stored. Exit status 1 when any scenario broke a promise.

    python bench/faults.py [--only NAME ...] [--extra] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "bench"))
sys.path.insert(2, str(REPO / "tests"))  # the suites' own helpers (support)

from common import emit_json, print_table  # noqa: E402

from tests.faults.catalog import EXTRA, SCENARIOS, problems  # noqa: E402

COLUMNS = ["scenario", "sent", "stored", "lost", "duplicated", "policy_dropped", "recover_s",
           "wall_s", "ok", "notes"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = {**SCENARIOS, **EXTRA}
    parser.add_argument("--only", nargs="*", choices=sorted(every), help="run only these")
    parser.add_argument("--extra", action="store_true",
                        help="also run the longer scenarios (saturated slow link, 5 s keep-alive)")
    parser.add_argument("--keep", action="store_true", help="keep the work folders (logs)")
    args = parser.parse_args(argv)
    names = args.only or [*SCENARIOS, *(EXTRA if args.extra else [])]
    root = Path(tempfile.mkdtemp(prefix="peakline-faults-"))
    rows: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}
    broken: dict[str, list[str]] = {}
    for name in names:
        began = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            tally = every[name](root / name)
        except Exception as exc:  # report and go on with the other scenarios
            traceback.print_exc()
            broken[name] = [f"{type(exc).__name__}: {str(exc).splitlines()[0]}"]
            rows.append({"scenario": name, "ok": "ERROR", "notes": broken[name][0][:60]})
            continue
        wall = time.monotonic() - began
        row = tally.row()
        results[name] = row
        bad = problems(name, tally)
        if bad:
            broken[name] = bad
        notes = {k: v for k, v in row.items() if k not in COLUMNS}
        rows.append({"scenario": name, **row, "wall_s": round(wall, 1),
                     "ok": "yes" if not bad else "NO",
                     "notes": " ".join(f"{k}={v}" for k, v in notes.items())})
    print_table(rows, COLUMNS)
    if args.keep:
        print(f"work folders kept in {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)
    emit_json({
        "scenarios": results,
        "lost_total": sum(int(r["lost"]) for r in results.values()),
        "duplicated_total": sum(int(r["duplicated"]) for r in results.values()),
        "broken": broken,
    })
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
