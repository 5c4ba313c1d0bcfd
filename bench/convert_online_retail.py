r"""Convert the UCI Online Retail transaction log into Peakline's shop order format.

    python bench/convert_online_retail.py --parquet online_retail.parquet \
        --out bench/data/online_retail

Source: the UCI "Online Retail" data set (Chen, Sain and Guo 2012; CC BY 4.0): 541,909 invoice
lines of a UK online gift-ware shop, 2010-12-01 to 2011-12-09; an invoice number starting with
``C`` cancels earlier lines. The copy used here is the parquet file
``Data/Raw/online_retail.parquet`` of the public GitHub repository WhiteHorse101/OnlineEcommerce
at commit
a41b2cc02dd3c0f81b8333bf9687c825f0d42b0f (mirrored with the search tool, read with
``git show <commit>:Data/Raw/online_retail.parquet``). The data stays out of the repository:
``bench/data/`` is git-ignored.

Conversion: each invoice with a customer becomes an order (its product lines, quantities and
unit prices; the country is the delivery region). A cancelling line (``C`` invoice, negative
quantity) is matched to the latest earlier line of the same customer and product within
``--window`` days; the order is marked cancelled at the first such time. The log has no delivery
dates: ``delivery_date`` is set ``--window`` days after the order, the time in which a
cancellation is counted. ``days_to_holiday`` counts to the coming Christmas. Postage, fees,
discounts and manual adjustments (non-product stock codes) are left out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

_NOT_PRODUCTS = {"POST", "D", "M", "C2", "DOT", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS",
                 "S", "B", "m"}


def _days_to_christmas(ts: pd.Series) -> np.ndarray:
    day = ts.dt.normalize()
    xmas = pd.to_datetime(day.dt.year.astype(str) + "-12-25")
    nxt = xmas.where(xmas >= day, pd.to_datetime((day.dt.year + 1).astype(str) + "-12-25"))
    return (nxt - day).dt.days.to_numpy()


def convert(raw: pd.DataFrame, window: int = 30) -> pd.DataFrame:
    """Shop order lines (Peakline's ``shop_orders`` columns) from the raw invoice lines."""
    df = raw.dropna(subset=["CustomerID"]).copy()
    df = df[~df["StockCode"].astype(str).isin(_NOT_PRODUCTS)]
    df["InvoiceNo"] = df["InvoiceNo"].astype(str)
    df["customer"] = "C" + df["CustomerID"].astype(int).astype(str)
    df["StockCode"] = df["StockCode"].astype(str)
    is_cancel = df["InvoiceNo"].str.startswith("C")
    orders = df[~is_cancel & (df["Quantity"] > 0) & (df["UnitPrice"] > 0)].copy()
    cancels = df[is_cancel].sort_values("InvoiceDate")
    orders = orders.sort_values("InvoiceDate").reset_index(drop=True)
    orders["line"] = np.arange(len(orders))
    # the latest earlier order line of the same customer and product, within the window
    m = pd.merge_asof(
        cancels[["customer", "StockCode", "InvoiceDate"]].rename(
            columns={"InvoiceDate": "cancel_time"}),
        orders[["customer", "StockCode", "InvoiceDate", "line"]],
        left_on="cancel_time", right_on="InvoiceDate", by=["customer", "StockCode"],
        direction="backward", tolerance=pd.Timedelta(days=window))
    m = m.dropna(subset=["line"])
    first_cancel = m.groupby("line")["cancel_time"].min()
    orders["cancel_time"] = orders["line"].map(first_cancel)
    per_order = orders.groupby("InvoiceNo")["cancel_time"].transform("min")
    placed = orders["InvoiceDate"]
    return pd.DataFrame({
        "order_id": "INV" + orders["InvoiceNo"],
        "customer": orders["customer"],
        "placed_at": placed.dt.strftime("%Y-%m-%dT%H:%M"),
        "sku": orders["StockCode"],
        "qty": orders["Quantity"].astype(int),
        "unit_price": orders["UnitPrice"].astype(float),
        "region": orders["Country"].astype(str).str.lower().str.replace(" ", "_"),
        "delivery_date": (placed.dt.normalize() + pd.Timedelta(days=window)).dt.strftime(
            "%Y-%m-%d"),
        "days_to_holiday": _days_to_christmas(placed),
        "cancelled_at": per_order.dt.strftime("%Y-%m-%dT%H:%M").fillna(""),
        "held_until": "",
    })


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parquet", required=True, type=Path,
                    help="online_retail.parquet (or .xlsx / .csv of the same columns)")
    ap.add_argument("--out", type=Path, default=Path("bench/data/online_retail"))
    ap.add_argument("--window", type=int, default=30)
    args = ap.parse_args()
    src = args.parquet
    if src.suffix == ".parquet":
        raw = pd.read_parquet(src)
    elif src.suffix == ".xlsx":
        raw = pd.read_excel(src)
    else:
        raw = pd.read_csv(src, encoding="latin-1", parse_dates=["InvoiceDate"])
    raw["InvoiceDate"] = pd.to_datetime(raw["InvoiceDate"])
    out = convert(raw, args.window)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "shop_orders.csv"
    out.to_csv(path, index=False, lineterminator="\n")
    n_orders = out["order_id"].nunique()
    n_cancel = out.loc[out["cancelled_at"] != "", "order_id"].nunique()
    print(f"{path}: {len(out)} lines, {n_orders} orders, {n_cancel} with a cancellation "
          f"({100 * n_cancel / n_orders:.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
