"""Scenario files: what they change in the world, and what they refuse."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.paths import REPO
from support.twin import START, tables, world

from peakline.errors import ConfigError, DataError
from plant.twin.scenario import apply_scenario, load_scenario
from plant.twin.sim import simulate_run

LOT = "LOT-GB4-OEM01"


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_line_down_makes_nothing_on_its_days_and_catches_up_after(tmp_path: Path) -> None:
    w = world([("L1", 0, LOT, 500), ("L1", 1, LOT, 500)])
    sc = load_scenario(_scenario(tmp_path, f'''
name = "L1 down"
[[line_down]]
line = "L1"
start = {START.isoformat()}
days = 2
'''))
    down = apply_scenario(w, sc)
    assert down.lines[0].down_days == {0, 1} and w.lines[0].down_days == set()
    r = simulate_run(down, 1, 0, gantt=True)
    assert min(b[1] for b in r.gantt) >= 48  # nothing before day 2
    assert r.made_good == pytest.approx(950, rel=1e-3)  # all of it, later


def test_down_before_a_channels_cutoff(tmp_path: Path) -> None:
    w = world([])
    sc = load_scenario(_scenario(tmp_path, '''
[[line_down]]
line = "L1"
before_cutoff = "oem"
days = 3
'''))
    cutoff = w.cutoffs["oem"]
    assert apply_scenario(w, sc).lines[0].down_days == {cutoff - 3, cutoff - 2, cutoff - 1}


def test_rejects_doubled_demand_up_supplier_late_extra_shift_overtime(tmp_path: Path) -> None:
    w = world([("L1", 0, LOT, 100)])
    sc = load_scenario(_scenario(tmp_path, '''
[[reject_rate]]
line = "L1"
factor = 2
[[demand]]
channel = "ecommerce"
factor = 1.3
[[supplier_late]]
item = "*"
days = 10
[[extra_shift]]
line = "L1"
hours = 8
[overtime]
max_hours = 4
'''))
    changed = apply_scenario(w, sc)
    assert changed.lines[0].reject_factor == 2
    assert list(changed.demand_factor) == [1.0, 1.3]
    assert changed.lines[0].overtime_max == 4
    assert changed.lines[0].extra_hours[5] == 8  # the first Saturday becomes a working day
    assert changed.working(0, 5) and not w.working(0, 5)
    r = simulate_run(changed, 1, 0)
    assert r.rejects == pytest.approx(10, rel=1e-2)


@pytest.mark.parametrize(("text", "says"), [
    ('[[line_down]]\nline = "L9"\nstart = 2026-08-03\ndays = 1\n', "no line 'L9'"),
    ('[[demand]]\nsku = "NOPE"\nfactor = 2\n', "no SKU 'NOPE'"),
    ('[[demand]]\nchannel = "wholesale"\nfactor = 2\n', "no channel 'wholesale'"),
    ('[[supplier_late]]\nitem = "cocoa"\ndays = 3\n', "no item 'cocoa'"),
])
def test_a_name_the_world_does_not_have_is_refused(tmp_path: Path, text: str, says: str) -> None:
    sc = load_scenario(_scenario(tmp_path, text))
    with pytest.raises(DataError, match=says):
        apply_scenario(world([], data=tables()), sc, "s.toml")


@pytest.mark.parametrize(("text", "key"), [
    ('[[reject_rate]]\nline = "L1"\nfactor = -1\n', "reject_rate.0.factor"),
    ('[[demand]]\nchannel = "oem"\nsku = "X"\nfactor = 1\n', "demand.0"),
    ('[[line_down]]\nline = "L1"\ndays = 2\n', "line_down.0"),
    ('[[line_dwn]]\nline = "L1"\n', "did you mean 'line_down'"),
])
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_scenario(_scenario(tmp_path, text))


SHIPPED = sorted((REPO / "docs" / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_the_documented_scenarios_apply_to_the_sample_factory(path: Path) -> None:
    from peakline.demo.sample_master import lines_table

    data = tables()
    data["lines"] = lines_table()
    data["skus"].loc[1, "packaging"] = "gift_box_8"
    data["materials"] = pd.concat([data["materials"], data["materials"].assign(
        item="gift_box_8", kind="packaging")], ignore_index=True)
    changed = apply_scenario(world([], data=data), load_scenario(path), path.name)
    assert changed is not None


def test_a_suppliers_deliveries_late_and_its_lead_time_spread(tmp_path: Path) -> None:
    data = tables()
    data["supplier_items"] = pd.DataFrame([{
        "supplier": "MILL", "item": "flour", "lead_time_days": 10, "lead_time_sd_days": 3.0,
        "moq": 0.0, "pack_multiple": 1.0, "capacity_per_week": 1e6}])
    purchases = pd.DataFrame([{"item": "flour", "order_by": START, "lead_time_days": 10,
                               "qty": 100.0}])
    w = world([], data=data, purchases=purchases)
    assert w.arrivals[0].cv == pytest.approx(0.3)  # the supplier's spread, not the default
    sc = load_scenario(_scenario(tmp_path, '[[supplier_late]]\nsupplier = "MILL"\ndays = 10\n'))
    assert apply_scenario(w, sc).arrivals[0].late_days == 10
    nope = load_scenario(_scenario(tmp_path, '[[supplier_late]]\nsupplier = "X"\ndays = 1\n'))
    with pytest.raises(DataError, match="no supplier 'X'"):
        apply_scenario(w, nope)
