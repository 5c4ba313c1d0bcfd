"""Convert Walmart's daily unit sales per store (M5) into Peakline's long-format history.

Sources (the M5 competition's data, Walmart via the University of Nicosia; its full files are
over the fetch tool's 4 MiB limit, so two public repositories' small derived files are used):

- sales: ``datumorphism/dataset-m5-simplified`` at commit
  ``a7d14d679e292178a70f66f69524f783239e81d3``, file ``dataset/m5_store_sales.csv``: the daily
  unit sales of all products summed per store, ten stores in California, Texas and
  Wisconsin, 2011-01-29 to 2016-04-24 (M5's ``d_1``..``d_1913``);
- SNAP days: ``mrdhruvaggarwalhere/sales-forecasting`` at commit
  ``fb8494794ea0857e99d5fc0c4f13b2792c0ea204``, file ``data/dataset/total_daily_sales.csv``:
  the chain's total a day with M5 calendar's ``snap_CA, snap_TX, snap_WI`` columns. Its
  totals are checked against the sum of the ten stores, day by day (they must agree).

Mirror both first (the search tool's fetch verb puts bare git directories under
``/work/.mirror``), then::

    python bench/fetch_m5.py \
        --mirror /work/.mirror/datumorphism+dataset-m5-simplified/repo \
        --snap-mirror /work/.mirror/mrdhruvaggarwalhere+sales-forecasting/repo

Writes ``bench/data/m5/history.csv`` (``unique_id, ds, y, open, snap``); the US public
holidays come from the ``holidays`` package (``--country US``), and the peaks (Christmas,
Thanksgiving, Easter) are built in. The data are third-party: the folder is git-ignored
and nothing of it is committed.

One series per store (``CA_1`` .. ``WI_3``). Two known-in-advance regressors:

- ``snap``: 1 on the days the store's state lets SNAP (food stamp) benefits be spent, a
  schedule published ahead (ten fixed days a month per state);
- ``open``: 0 on the days the whole chain was closed, i.e. every store sold under 1% of
  its median day (Christmas Day, every year: 0-13 units against thousands). A single store's
  bad day (a blizzard in Wisconsin, 2011-02-02) is not known in advance and stays demand.

No prices: M5's weekly sell prices are one 200 MB file per item and store, out of reach here.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
from pathlib import Path

import pandas as pd
from common import write_history

SALES_REPO = "datumorphism/dataset-m5-simplified"
SALES_COMMIT = "a7d14d679e292178a70f66f69524f783239e81d3"
SNAP_REPO = "mrdhruvaggarwalhere/sales-forecasting"
SNAP_COMMIT = "fb8494794ea0857e99d5fc0c4f13b2792c0ea204"
OUT = Path(__file__).resolve().parent / "data" / "m5"
#: a day is closed chain-wide when every store sold under this share of its median day
CLOSED_SHARE = 0.01


def _show(mirror: Path, commit: str, path: str) -> pd.DataFrame:
    raw = subprocess.run(["git", "-C", str(mirror), "show", f"{commit}:{path}"],
                         check=True, capture_output=True).stdout
    return pd.read_csv(io.BytesIO(raw))


def to_long(sales: pd.DataFrame, snap: pd.DataFrame) -> pd.DataFrame:
    """The long history from the wide store sales (``date``, state totals, one column per
    store named ``('CA', 'CA_1')``) and the SNAP table (``date, sales, snap_CA, ...``)."""
    sales = sales.assign(ds=pd.to_datetime(sales["date"])).set_index("ds")
    stores = {c: c.split("'")[3] for c in sales.columns if c.startswith("(")}
    if not stores:
        raise SystemExit("store sales: no store columns like \"('CA', 'CA_1')\"")
    wide = sales[list(stores)].rename(columns=stores)
    snap = snap.assign(ds=pd.to_datetime(snap["date"])).set_index("ds")
    missing = wide.index.difference(snap.index)
    if len(missing):
        raise SystemExit(f"SNAP table: no row for {missing[0].date()} "
                         f"({len(missing)} days missing)")
    snap = snap.loc[wide.index]
    off = snap["sales"] != wide.sum(axis=1)
    if off.any():
        day = off.idxmax()
        raise SystemExit(f"SNAP table's total on {day.date()} ({snap.loc[day, 'sales']}) is "
                         f"not the stores' sum ({wide.loc[day].sum()}): different data")
    if len(pd.date_range(wide.index.min(), wide.index.max())) != len(wide):
        raise SystemExit("store sales: not one row per day")
    closed = (wide < CLOSED_SHARE * wide.median()).all(axis=1)
    long = wide.stack().rename("y").reset_index()
    long.columns = ["ds", "unique_id", "y"]
    long["open"] = (~long["ds"].map(closed)).astype(int)
    state = long["unique_id"].str.split("_").str[0]
    long["snap"] = [int(snap.at[d, f"snap_{s}"]) for d, s in zip(long["ds"], state,
                                                                   strict=True)]
    long["ds"] = long["ds"].dt.strftime("%Y-%m-%d")
    return long


def convert(mirror: Path, snap_mirror: Path, out: Path = OUT) -> dict:
    """Write history.csv under ``out``; returns a summary."""
    sales = _show(mirror, SALES_COMMIT, "dataset/m5_store_sales.csv")
    snap = _show(snap_mirror, SNAP_COMMIT, "data/dataset/total_daily_sales.csv")
    long = to_long(sales, snap)
    write_history(long, out, regressors=("open", "snap"))
    closed = sorted(long.loc[long["open"] == 0, "ds"].unique())
    return {"source": SALES_REPO, "commit": SALES_COMMIT, "snap_source": SNAP_REPO,
            "snap_commit": SNAP_COMMIT, "series": int(long["unique_id"].nunique()),
            "first": long["ds"].min(), "last": long["ds"].max(), "rows": len(long),
            "closed_days": closed, "snap_share": round(float(long["snap"].mean()), 3),
            "out": str(out)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, required=True,
                    help="bare git directory of " + SALES_REPO)
    ap.add_argument("--snap-mirror", type=Path, required=True,
                    help="bare git directory of " + SNAP_REPO)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    print(json.dumps(convert(args.mirror, args.snap_mirror, args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
