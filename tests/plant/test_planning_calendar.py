"""The calendar plans are made with follows the plant's TOML: `[planning] events` (a closure, a
festival on another date) reaches `plant plan --config`, `plant holds --config` and the plant
service's re-plans alike, and the checks of a hold when it is stored; `--events` overrides it;
check-config reads the file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from support.configs import plant_config, to_toml

from peakline.cli import main
from peakline.demo.sample_erp import generate, write
from peakline.errors import ConfigError, DataError
from plant.calendar import HolidayCalendar
from plant.config import load_config
from plant.forecast.run import forecast_into_store
from plant.service import PlantService
from plant.store import Store

#: Mid-Autumn 2026 is 09-25; this plant's market keeps it a week later
MOVED = "date,name,kind\n2026-10-02,mid_autumn,festival\n"
#: and this file another week later still
LATER = "date,name,kind\n2026-10-09,mid_autumn,festival\n"


@pytest.fixture(scope="module")
def forecast_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the sample ERP data (ending before the festival) and a forecast."""
    tmp = tmp_path_factory.mktemp("calendar")
    write(generate(seed=11, years=2, n_skus=4), tmp / "erp")
    with Store.open(f"sqlite:///{tmp / 'plant.db'}") as store:
        store.import_dir(tmp / "erp")
        forecast_into_store(store, HolidayCalendar.default(), horizon=30)
    return tmp / "plant.db"


def _copy(db: Path, tmp: Path) -> str:
    (tmp / "plant.db").write_bytes(db.read_bytes())
    return f"sqlite:///{tmp / 'plant.db'}"


def _toml(tmp: Path, events: str) -> Path:
    (tmp / "cfg").mkdir(exist_ok=True)
    (tmp / "cfg" / "moved.csv").write_text(MOVED)
    path = tmp / "cfg" / "plant.toml"
    path.write_text(to_toml({"planning": {"events": events}}))
    return path


def _festival(db: str) -> str:
    with Store.open(db) as store:
        found = store.latest_plan("inventory")
    assert found is not None
    return str(found[0]["explanation"]["festival"])


def test_planning_events_are_relative_to_the_toml_and_read_when_checked(tmp_path: Path) -> None:
    cfg = load_config(_toml(tmp_path, "moved.csv"))
    assert cfg.planning.events == str(tmp_path / "cfg" / "moved.csv")
    assert cfg.planning.calendar().festival("mid_autumn", 2026).isoformat() == "2026-10-02"
    assert load_config().planning.calendar().festival("mid_autumn", 2026).isoformat() \
        == "2026-09-25"
    (tmp_path / "cfg" / "bad.csv").write_text("date,name,kind\n2026-10-02,x,party\n")
    with pytest.raises(ConfigError, match=r"planning\.events: .*bad\.csv: row 2, column kind"):
        load_config(_toml(tmp_path, "bad.csv"))
    with pytest.raises(ConfigError, match=r"planning\.events: .*cannot read events file"):
        load_config(_toml(tmp_path, "missing.csv"))
    assert main(["plant", "check-config", str(_toml(tmp_path, "missing.csv"))]) == 2


def test_plan_and_holds_take_the_config_s_events_unless_events_is_given(
        forecast_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _copy(forecast_db, tmp_path)
    toml = str(_toml(tmp_path, "moved.csv"))
    assert main(["plant", "plan", "--db", db]) == 0
    assert _festival(db) == "2026-09-25"
    assert main(["plant", "plan", "--db", db, "--config", toml]) == 0
    assert _festival(db) == "2026-10-02"
    (tmp_path / "later.csv").write_text(LATER)
    assert main(["plant", "plan", "--db", db, "--config", toml,
                 "--events", str(tmp_path / "later.csv")]) == 0
    assert _festival(db) == "2026-10-09"
    capsys.readouterr()
    assert main(["plant", "holds", "--db", db, "--config", toml]) == 0
    out = capsys.readouterr().out
    assert "Mid-Autumn 2026-10-02" in out
    assert json.loads(out.strip().splitlines()[-1])["festival"] == "2026-10-02"


def test_the_service_re_plans_with_the_config_s_calendar(forecast_db: Path,
                                                         tmp_path: Path) -> None:
    db = _copy(forecast_db, tmp_path)
    base = plant_config(1, "calendar", db)
    cfg = base.model_copy(update={
        "erp": base.erp.model_copy(update={"replan_after_s": 0.01}),
        "planning": load_config(_toml(tmp_path, "moved.csv")).planning})
    service = PlantService(cfg)  # not started: no broker needed to re-plan
    try:
        service._replan_at = 0.0  # as after ERP data, once the bridge was quiet
        assert service.replan_if_due()
    finally:
        service.store.close()
    assert _festival(db) == "2026-10-02"


#: a snow skin box keeps 21 days; a hold must leave it 7 on delivery
SNOW = {"sku": "SNW-GB4-ECO01", "flavour": "snow_skin", "packaging": "gift_box_4",
        "channel": "ecommerce", "price": 118.0, "unit_cost": 40.0, "salvage_value": 12.0,
        "shelf_life_days": 21, "units_per_case": 12}
SHOP = ("order_id,customer,placed_at,sku,qty,unit_price,region,delivery_date,cancelled_at\n"
        "W1,C1,2026-09-01T10:00,SNW-GB4-ECO01,2,118,shenzhen,2026-09-20,\n")
#: made on the festival's eve, kept to 10-12: beyond the shelf life for an eve of 09-24
#: (delivered by 10-08 at the latest), within it for the plant's eve of 10-01 (by 10-15)
HOLD = "order_id,held_until\nW1,2026-10-12\n"


def test_a_hold_is_checked_against_the_plant_s_festival_when_stored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``plant import --config`` and the service's ERP bridge check a hold's shelf life with
    the festival's eve of the plant's calendar, not the packaged one."""
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    with Store.open(db) as store:
        store.upsert_rows("skus", [SNOW])
    (tmp_path / "shop_orders.csv").write_text(SHOP)
    (tmp_path / "holds.csv").write_text(HOLD)
    toml = str(_toml(tmp_path, "moved.csv"))
    assert main(["plant", "import", "--db", db, "--kind", "shop_orders",
                 str(tmp_path / "shop_orders.csv")]) == 0
    imp = ["plant", "import", "--db", db, "--kind", "holds", str(tmp_path / "holds.csv")]
    assert main(imp) == 2
    assert "beyond the shelf life: made on 2026-09-24 at the latest" in capsys.readouterr().err
    assert main([*imp, "--config", toml]) == 0
    with Store.open(db) as store:
        assert store.holds()["held_until"].tolist() == [pd.Timestamp("2026-10-12")]
    # the same hold over MQTT: the service checks it with its own [planning] events
    msg = json.dumps({"schema": "peakline.erp.holds/1", "source": "shop",
                      "rows": [{"order_id": "W1", "held_until": "2026-10-13"}]}).encode()
    for events, stored in ((None, False), ("moved.csv", True)):
        base = plant_config(1, "calendar", db)
        planning = load_config(_toml(tmp_path, events)).planning if events else base.planning
        service = PlantService(base.model_copy(update={"planning": planning}))
        try:
            if stored:
                assert service._apply_erp("holds", msg) == 1
            else:
                with pytest.raises(DataError, match="made on 2026-09-24 at the latest"):
                    service._apply_erp("holds", msg)
        finally:
            service.store.close()
    with Store.open(db) as store:
        assert store.holds()["held_until"].tolist() == [pd.Timestamp("2026-10-13")]
