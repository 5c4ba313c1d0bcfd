"""The seeded sample ERP data set: contract columns, determinism, festival behaviour."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from peakline.demo.sample_erp import generate, write
from plant.calendar import festival_date

COLUMNS = {
    "skus": ["sku", "flavour", "packaging", "channel", "price", "unit_cost", "salvage_value",
             "shelf_life_days", "units_per_case"],
    "demand": ["sku", "date", "orders", "cancellations"],
    "open_orders": ["order_id", "sku", "order_date", "due_date", "qty", "channel"],
    "inventory": ["item", "kind", "on_hand", "as_of"],
    "materials": ["item", "kind", "unit", "lead_time_days", "moq", "pack_multiple",
                  "unit_cost", "shelf_life_days"],
    "bom": ["sku", "item", "qty_per_unit"],
    "lines": ["line", "units_per_hour", "hours_per_shift", "shifts_per_day", "days_per_week"],
    "suppliers": ["supplier", "name"],
    "supplier_items": ["supplier", "item", "lead_time_days", "lead_time_sd_days", "moq",
                       "pack_multiple", "capacity_per_week"],
    "prices": ["item", "date", "price"],
    "purchase_orders": ["po_id", "supplier", "item", "order_date", "due_date", "qty"],
    "shop_orders": ["order_id", "customer", "placed_at", "sku", "qty", "unit_price", "region",
                    "delivery_date", "days_to_holiday", "cancelled_at", "held_until"],
}


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return generate(seed=3, years=4, n_skus=36)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    write(generate(seed=11, years=2, n_skus=8), tmp_path / "a")
    write(generate(seed=11, years=2, n_skus=8), tmp_path / "b")
    write(generate(seed=12, years=2, n_skus=8), tmp_path / "c")
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b
    assert a["demand.csv"] != c["demand.csv"]
    assert set(a) == {f"{k}.csv" for k in COLUMNS}


def test_contract_columns_and_sane_values(sample: dict[str, pd.DataFrame]) -> None:
    for kind, cols in COLUMNS.items():
        assert list(sample[kind].columns) == cols, kind
    demand, skus = sample["demand"], sample["skus"]
    assert (demand[["orders", "cancellations"]] >= 0).all().all()
    assert set(demand["sku"]) == set(skus["sku"])
    assert skus["sku"].is_unique
    assert set(skus["channel"]) == {"oem", "retail", "ecommerce"}
    assert (skus["price"] > skus["unit_cost"]).all()
    assert (skus["unit_cost"] > skus["salvage_value"]).all()
    assert set(sample["bom"]["item"]) == set(sample["materials"]["item"])
    assert set(sample["open_orders"]["sku"]) <= set(skus["sku"])
    assert (sample["open_orders"]["due_date"] > sample["open_orders"]["order_date"]).all()
    po, terms = sample["purchase_orders"], sample["supplier_items"]
    pairs = set(zip(terms["supplier"], terms["item"], strict=True))
    assert set(zip(po["supplier"], po["item"], strict=True)) <= pairs
    assert (po["due_date"] > po["order_date"]).all() and (po["qty"] > 0).all()


def test_mid_autumn_peak_moves_with_the_lunar_calendar(sample: dict[str, pd.DataFrame]) -> None:
    d = sample["demand"].merge(sample["skus"][["sku", "channel"]])
    d["date"] = pd.to_datetime(d["date"])
    eco = d[d["channel"] == "ecommerce"].groupby("date")["orders"].sum()
    for year in (2023, 2024, 2025):
        fest = pd.Timestamp(festival_date("mid_autumn", year))
        before = eco[fest - pd.Timedelta(days=20): fest - pd.Timedelta(days=2)].mean()
        after = eco[fest + pd.Timedelta(days=10): fest + pd.Timedelta(days=28)].mean()
        spring = eco[f"{year}-04-01": f"{year}-04-30"].mean()
        assert before > 8 * spring, year
        assert after < spring, year
        # OEM orders are placed weeks ahead of the festival
        oem = d[(d["channel"] == "oem") & (d["date"].dt.year == year)]
        peak_day = oem.groupby("date")["orders"].sum().idxmax()
        assert fest - pd.Timedelta(days=101) <= peak_day <= fest - pd.Timedelta(days=34)


def test_ecommerce_cancellations_surge_before_the_festival(
    sample: dict[str, pd.DataFrame],
) -> None:
    d = sample["demand"].merge(sample["skus"][["sku", "channel"]])
    d = d[d["channel"] == "ecommerce"].copy()
    d["date"] = pd.to_datetime(d["date"])
    daily = d.groupby("date")[["orders", "cancellations"]].sum()
    fest = pd.Timestamp(festival_date("mid_autumn", 2025))
    pre = daily[fest - pd.Timedelta(days=5): fest - pd.Timedelta(days=1)]
    early = daily[fest - pd.Timedelta(days=25): fest - pd.Timedelta(days=15)]
    assert pre["cancellations"].sum() / pre["orders"].sum() > 3 * (
        early["cancellations"].sum() / early["orders"].sum())


def test_scales_to_a_thousand_skus() -> None:
    data = generate(seed=1, years=1, n_skus=1000, shop=False)
    assert data["skus"]["sku"].nunique() == 1000
    assert data["demand"]["sku"].nunique() == 1000
