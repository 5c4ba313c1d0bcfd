"""Convert Favorita's daily store transactions (Ecuador) into Peakline's long-format history.

Source: the public GitHub repository ``alexbabits/store-sales-forecasting-model`` at
commit ``87ca29820f3ddd55edcd2692343dd535c8728f14``, file ``transactions.csv`` (from Kaggle's
"Store Sales - Time Series Forecasting" competition of Corporacion Favorita). Mirror it first
(the search tool's fetch verb puts a bare git directory under ``/work/.mirror``), then::

    python bench/fetch_favorita.py \
        --mirror /work/.mirror/alexbabits+store-sales-forecasting-model/repo

Writes ``bench/data/favorita/history.csv`` (``unique_id, ds, y, open``); Ecuador's public
holidays come from the ``holidays`` package (``--country EC``). The data are third-party: the
folder is git-ignored and nothing of it is committed.

One series per store: the number of transactions a day. A store with no row on a day was
closed (Christmas Day and New Year's Day for all of them): that day gets ``y = 0`` and
``open = 0``, a known-in-advance regressor, so closures are modelled as closures. Stores that
opened late or have gaps longer than a week are left out (they are not daily histories).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pandas as pd
from common import convert_main, write_history

REPO = "alexbabits/store-sales-forecasting-model"
COMMIT = "87ca29820f3ddd55edcd2692343dd535c8728f14"
OUT = Path(__file__).resolve().parent / "data" / "favorita"


def _show(mirror: Path, path: str) -> pd.DataFrame:
    raw = subprocess.run(["git", "-C", str(mirror), "show", f"{COMMIT}:{path}"],
                         check=True, capture_output=True).stdout
    return pd.read_csv(io.BytesIO(raw))


def convert(mirror: Path, out: Path = OUT) -> dict:
    """Write history.csv under ``out``; returns a summary."""
    tx = _show(mirror, "transactions.csv")
    tx["ds"] = pd.to_datetime(tx["date"], format="%m/%d/%Y")
    wide = tx.pivot_table(index="ds", columns="store_nbr", values="transactions", aggfunc="sum")
    wide = wide.asfreq("D")
    first, last = wide.index.min(), wide.index.max()
    # keep stores present from the first week on and never missing for more than 7 days
    keep = []
    for store in wide.columns:
        col = wide[store]
        gaps = col.isna().astype(int).groupby(col.notna().cumsum()).sum()
        if col.iloc[:7].notna().any() and gaps.max() <= 7:
            keep.append(store)
    wide = wide[keep]
    long = wide.stack(future_stack=True).rename("y").reset_index()
    long.columns = ["ds", "store", "y"]
    long["open"] = long["y"].notna().astype(int)
    long["y"] = long["y"].fillna(0.0)
    long["unique_id"] = "store_" + long["store"].astype(str).str.zfill(2)
    long["ds"] = long["ds"].dt.strftime("%Y-%m-%d")
    write_history(long, out)
    return {"source": REPO, "commit": COMMIT, "series": len(keep),
            "first": str(first.date()), "last": str(last.date()), "rows": len(long),
            "closed_days": int((long["open"] == 0).sum()), "out": str(out)}


def main() -> int:
    return convert_main(__doc__, REPO, convert, OUT)


if __name__ == "__main__":
    raise SystemExit(main())
