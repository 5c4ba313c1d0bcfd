"""Convert the IMF's monthly commodity prices into Peakline's price history (``prices.csv``).

Source: the public GitHub repository ``datasets/commodity-prices`` at commit
``6df9fa442d4cd012c3cd6d8c169cd7d3feec33a1``, file ``data/commodity-prices.csv`` (the IMF's
Primary Commodity Prices, monthly, 1980-2017; the IMF allows personal, non-commercial use and
no redistribution). Mirror it first (the search tool's fetch verb puts a bare git directory
under ``/work/.mirror``), then::

    python bench/fetch_commodity_prices.py --mirror /work/.mirror/datasets+commodity-prices/repo

Writes ``bench/data/commodity_prices/prices.csv`` (``item, date, price``, the columns of
``plant import --kind prices``) for the commodities a mooncake factory buys or whose prices
drive what it buys: sugar, wheat (flour), groundnuts (peanut oil and the five-kernel filling),
soybean, palm, rapeseed and sunflower oil, and maize. The folder is git-ignored: nothing of
the data is committed.
"""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

import pandas as pd

REPO, COMMIT, PATH = ("datasets/commodity-prices", "6df9fa442d4cd012c3cd6d8c169cd7d3feec33a1",
                      "data/commodity-prices.csv")
#: item code -> IMF column
COLUMNS = {
    "sugar": "Sugar Free Market", "wheat": "Wheat", "groundnuts": "Groundnuts peanuts",
    "soybean_oil": "Soybean Oil", "palm_oil": "Palm oil", "rapeseed_oil": "Rapeseed oil",
    "sunflower_oil": "Sunflower oil", "maize": "Maize corn",
}
OUT = Path(__file__).resolve().parent / "data" / "commodity_prices" / "prices.csv"


def convert(mirror: Path) -> pd.DataFrame:
    """The long-format price history from the mirrored repository at :data:`COMMIT`."""
    raw = subprocess.run(["git", "--git-dir", str(mirror), "show", f"{COMMIT}:{PATH}"],
                         check=True, capture_output=True).stdout
    wide = pd.read_csv(io.BytesIO(raw))
    frames = []
    for item, column in COLUMNS.items():
        s = wide[["Date", column]].dropna()
        s = s[s[column] > 0]
        frames.append(pd.DataFrame({"item": item, "date": s["Date"], "price": s[column]}))
    return pd.concat(frames, ignore_index=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, required=True, help=f"bare git mirror of {REPO}")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    df = convert(args.mirror)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    span = df.groupby("item")["date"].agg(["min", "max", "count"])
    print(span.to_string())
    print(f"{args.out}: {len(df)} prices of {df['item'].nunique()} commodities")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
