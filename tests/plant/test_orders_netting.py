"""Holds in net demand: the stored hold effect reaches the next forecast and its explanation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from peakline.demo.sample_erp import generate, write
from plant.calendar import HolidayCalendar
from plant.forecast.run import forecast_into_store
from plant.store import Store


def test_forecast_nets_in_the_cancellations_holds_avoid(tmp_path: Path) -> None:
    data = generate(seed=5, years=3, n_skus=9)
    write(data, tmp_path / "erp")
    store = Store.open(f"sqlite:///{tmp_path / 'plant.db'}")
    try:
        store.import_dir(tmp_path / "erp")
        shop = data["skus"].query("channel == 'ecommerce'")["sku"].tolist()
        days = pd.date_range("2026-08-20", periods=5, freq="D")
        effect = pd.DataFrame({"sku": shop[0], "ds": days, "held_boxes": 4,
                               "cancel_avoided": 0.5})
        store.save_hold_effect("holds-1", effect, {"festival": "2026-09-25"})
        run = forecast_into_store(store, HolidayCalendar.default(), horizon=30)
    finally:
        store.close()
    fc = run.frame
    got = fc.set_index(["sku", "ds"])["cancel_avoided"]
    want = fc.set_index(["sku", "ds"])["cancel_p50"].clip(lower=0, upper=0.5)
    rows = [(shop[0], d) for d in days]
    assert np.allclose(got.loc[rows], want.loc[rows]) and got.loc[rows].sum() > 0
    assert got.drop(rows).eq(0).all()
    for q in ("p10", "p50", "p90"):
        assert np.allclose(fc[f"net_{q}"], fc[f"orders_{q}"] - fc["cancel_p50"]
                           + fc["cancel_avoided"])
    holds = run.meta["holds"]
    assert holds["hold_plan"] == "holds-1" and holds["held_boxes"] == 20.0
    assert holds["cancel_avoided_boxes"] == round(float(got.loc[rows].sum()), 1)
    assert 0 < holds["net_from_holds_pct"] < 1
