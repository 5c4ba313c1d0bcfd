"""bench/fetch_m5.py's conversion of M5 store sales and SNAP days, on a tiny inline sample."""

from __future__ import annotations

import importlib
import io
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

SALES = """date,CA,TX,"('CA', 'CA_1')","('TX', 'TX_1')"
2015-12-23,100,200,100,200
2015-12-24,90,150,90,150
2015-12-25,0,1,0,1
2015-12-26,80,140,80,140
2015-12-27,3,130,3,130
"""
SNAP = """d,sales,date,snap_CA,snap_TX
d_1,300,2015-12-23,0,1
d_2,240,2015-12-24,1,0
d_3,1,2015-12-25,1,1
d_4,220,2015-12-26,0,0
d_5,133,2015-12-27,0,1
"""


@pytest.fixture
def fetch_m5(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("fetch_m5")


def test_to_long_marks_chain_closures_and_each_states_snap_days(fetch_m5: ModuleType) -> None:
    long = fetch_m5.to_long(pd.read_csv(io.StringIO(SALES)), pd.read_csv(io.StringIO(SNAP)))
    ca = long[long["unique_id"] == "CA_1"].set_index("ds")
    tx = long[long["unique_id"] == "TX_1"].set_index("ds")
    assert sorted(long["unique_id"].unique()) == ["CA_1", "TX_1"]
    # every store near zero: the chain was closed; one store's bad day stays demand
    assert ca["open"].tolist() == [1, 1, 0, 1, 1]
    assert tx["open"].tolist() == [1, 1, 0, 1, 1]
    assert ca.loc["2015-12-27", "y"] == 3
    assert ca["snap"].tolist() == [0, 1, 1, 0, 0]
    assert tx["snap"].tolist() == [1, 0, 1, 0, 1]


def test_to_long_refuses_a_snap_table_from_other_data(fetch_m5: ModuleType) -> None:
    other = SNAP.replace("d_4,220,", "d_4,221,")
    with pytest.raises(SystemExit, match=r"2015-12-26 \(221\) is not the stores' sum \(220\)"):
        fetch_m5.to_long(pd.read_csv(io.StringIO(SALES)), pd.read_csv(io.StringIO(other)))


def test_to_long_refuses_days_without_snap_flags(fetch_m5: ModuleType) -> None:
    short = "\n".join(SNAP.splitlines()[:-1]) + "\n"
    with pytest.raises(SystemExit, match=r"no row for 2015-12-27"):
        fetch_m5.to_long(pd.read_csv(io.StringIO(SALES)), pd.read_csv(io.StringIO(short)))
