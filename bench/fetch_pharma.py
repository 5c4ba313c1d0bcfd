"""Convert a Serbian pharmacy's daily sales by drug class into Peakline's long-format history.

Source: the public GitHub repository ``Hanoudahind/PharmaPredict`` at commit
``c488dfd1dbfab6a4efbef4f78de8d027148ee570``, file ``salesdaily.csv`` (the "Pharma sales data"
set: one pharmacy's point-of-sale records, 2014-01-02 to 2019-10-08, summed per day for eight
ATC drug classes - anti-inflammatories M01AB and M01AE, analgesics N02BA and N02BE,
anxiolytics N05B, hypnotics N05C, obstructive airway drugs R03, antihistamines R06). Mirror it
first (the search tool's fetch verb puts a bare git directory under ``/work/.mirror``), then::

    python bench/fetch_pharma.py --mirror /work/.mirror/Hanoudahind+PharmaPredict/repo

Writes ``bench/data/pharma/history.csv`` (``unique_id, ds, y, open``) and
``bench/data/pharma/events.csv``. The data are third-party: the folder is git-ignored and
nothing of it is committed.

One series per drug class (units, fractional where packs are split). The pharmacy was closed
on the days when every class sold nothing (26 days: Orthodox Christmas, Orthodox Easter
Sunday, New Year's Day, Labour Day, St Nicholas' Day on 19 December): those get ``open = 0``,
a known-in-advance regressor. Serbia's public holidays come from the ``holidays`` package
(``--country RS``); its two moving feasts are the Orthodox Church's, which the built-in peaks
(Western Easter, 25 December) are not, so ``events.csv`` names them as the market's own
festivals, ``orthodox_easter`` (dateutil's Orthodox computus) and ``orthodox_christmas``
(7 January), for ``--peak`` to choose.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path

import pandas as pd
from common import convert_main, write_history
from dateutil.easter import EASTER_ORTHODOX, easter

REPO = "Hanoudahind/PharmaPredict"
COMMIT = "c488dfd1dbfab6a4efbef4f78de8d027148ee570"
OUT = Path(__file__).resolve().parent / "data" / "pharma"
CLASSES = ("M01AB", "M01AE", "N02BA", "N02BE", "N05B", "N05C", "R03", "R06")


def events(first_year: int, last_year: int) -> pd.DataFrame:
    """The Orthodox feasts as ``festival`` rows of an events file, one a year."""
    rows = []
    for year in range(first_year, last_year + 1):
        rows.append((easter(year, EASTER_ORTHODOX), "orthodox_easter"))
        rows.append((dt.date(year, 1, 7), "orthodox_christmas"))
    return pd.DataFrame([(d.isoformat(), n, "festival") for d, n in sorted(rows)],
                        columns=["date", "name", "kind"])


def convert(mirror: Path, out: Path = OUT) -> dict:
    """Write history.csv and events.csv under ``out``; returns a summary."""
    raw = subprocess.run(["git", "-C", str(mirror), "show", f"{COMMIT}:salesdaily.csv"],
                         check=True, capture_output=True).stdout
    wide = pd.read_csv(io.BytesIO(raw), sep=";")
    wide["ds"] = pd.to_datetime(wide["datum"], format="%m/%d/%Y")
    wide = wide.set_index("ds")[list(CLASSES)].sort_index()
    days = pd.date_range(wide.index.min(), wide.index.max(), freq="D")
    if len(days) != len(wide) or wide.index.duplicated().any():
        raise SystemExit("salesdaily.csv is not one row per day")
    closed = (wide == 0).all(axis=1)
    long = wide.stack().rename("y").reset_index()
    long.columns = ["ds", "unique_id", "y"]
    long["open"] = (~long["ds"].map(closed)).astype(int)
    long["ds"] = long["ds"].dt.strftime("%Y-%m-%d")
    write_history(long, out)
    events(days[0].year - 1, days[-1].year + 2).to_csv(out / "events.csv", index=False)
    return {"source": REPO, "commit": COMMIT, "series": len(CLASSES),
            "first": str(days[0].date()), "last": str(days[-1].date()), "rows": len(long),
            "closed_days": int(closed.sum()), "out": str(out)}


def main() -> int:
    return convert_main(__doc__, REPO, convert, OUT)


if __name__ == "__main__":
    raise SystemExit(main())
