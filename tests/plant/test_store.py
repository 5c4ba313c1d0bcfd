"""The plant store on SQLite and PostgreSQL: migrations, results, dedup, gaps, ERP, plans."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from support.payloads import SITE, batch, metrics, status, thumb

from peakline.errors import DataError, StoreError
from plant.store import DeadLetter, IngestBatch, Store
from plant.store import schema as t


def test_migrations_are_recorded_and_applied_once(db_url: str) -> None:
    with Store.open(db_url) as store:
        with store.engine.connect() as conn:
            versions = conn.execute(select(t.schema_version.c.version)).scalars().all()
        assert versions == [v for v, _, _ in t.MIGRATIONS]
    with Store.open(db_url) as store, store.engine.connect() as conn:
        assert conn.execute(select(t.schema_version.c.version)).scalars().all() == versions


def test_a_newer_schema_is_refused(db_url: str) -> None:
    with Store.open(db_url) as store, store.engine.begin() as conn:
        conn.execute(t.schema_version.insert().values(version=999, applied_at=0.0,
                                                      description="from the future"))
    with pytest.raises(StoreError, match="newer than this code"):
        Store.open(db_url)


def test_unreachable_or_bad_databases_give_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(f"sqlite:///{tmp_path}/no/such/folder/plant.db")
    with pytest.raises(StoreError):
        Store.open("nosuchdialect://x/y")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "p.db")) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_duplicates_and_reordering_store_each_result_once(store: Store) -> None:
    acks = store.write_batches([(batch(range(1, 6)), time.time())])
    assert acks == {(SITE, "L1", "n1", "boot-a"): 5}
    # a resend, an overlap, a later batch ahead of a missing one
    acks = store.write_batches([(batch(range(1, 6)), time.time()),
                                (batch(range(4, 9)), time.time()),
                                (batch(range(12, 15)), time.time())])
    assert acks == {(SITE, "L1", "n1", "boot-a"): 8}
    assert store.count_results() == 11
    gaps = store.gaps()
    assert gaps[["node", "boot_id", "first_missing", "last_missing", "missing"]].values.tolist() \
        == [["n1", "boot-a", 9, 11, 3]]
    # the gap fills: the contiguous ack jumps past the later batch
    acks = store.write_batches([(batch([11, 10, 9]), time.time())])
    assert acks == {(SITE, "L1", "n1", "boot-a"): 14}
    assert store.gaps().empty
    assert store.count_results() == 14
    assert sorted(store.results()["seq"]) == list(range(1, 15))


def test_dedup_state_survives_a_reopen(db_url: str) -> None:
    with Store.open(db_url) as store:
        store.write_batches([(batch([1, 2, 3, 7]), time.time())])
    with Store.open(db_url) as store:  # a restarted plant: no in-memory watermark yet
        assert store.acked_seq(SITE, "L1", "n1", "boot-a") == 3
        acks = store.write_batches([(batch([2, 3, 4]), time.time())])
        assert acks == {(SITE, "L1", "n1", "boot-a"): 4}
        assert store.count_results() == 5
        assert store.gaps()[["first_missing", "last_missing"]].values.tolist() == [[5, 6]]


def test_boots_and_nodes_are_separate_sequences(store: Store) -> None:
    acks = store.write_batches([
        (batch([1, 2]), time.time()),
        (batch([1, 2, 3], boot="boot-b"), time.time()),
        (batch([1], node="n2"), time.time()),
    ])
    assert acks == {(SITE, "L1", "n1", "boot-a"): 2, (SITE, "L1", "n1", "boot-b"): 3,
                    (SITE, "L1", "n2", "boot-a"): 1}
    assert store.count_results() == 6


def test_unique_constraint_backs_up_the_watermark(db_url: str) -> None:
    with Store.open(db_url) as first, Store.open(db_url) as second:
        first.write_batches([(batch([1, 2, 3]), time.time())])
        # a second writer with a stale watermark must still not store duplicates
        second.write_batches([(batch([1, 2, 3, 4]), time.time())])
        assert first.count_results() == 4


def test_line_summary_rejects_and_reject_rate(store: Store) -> None:
    now = time.time()
    store.write_ingest(IngestBatch(
        results=[(batch(range(1, 101), reject_every=10), now),
                 (batch(range(1, 51), node="n2", line="L2"), now)],
        statuses=[(status("online"), now), (status("online", node="n2", line="L2"), now)],
        metrics=[(metrics(p99=15.5, backlog=7), now)],
    ))
    summary = store.line_summary(window_s=60)
    assert list(summary.columns) == [
        "site", "line", "node", "state", "fault", "last_command", "last_seen", "items",
        "items_per_min", "rejects", "reject_rate", "uncertain", "missed_rejects",
        "latency_p99_ms", "outbox_backlog", "estimated_frr", "frr_band", "drift_alert"]
    row = summary.set_index("node").loc["n1"]
    assert (row["items"], row["rejects"], row["state"]) == (100, 10, "online")
    assert row["reject_rate"] == pytest.approx(0.1)
    assert row["items_per_min"] == pytest.approx(100.0)
    assert (row["latency_p99_ms"], row["outbox_backlog"]) == (15.5, 7)
    assert pd.isna(row["estimated_frr"]) and not row["drift_alert"]  # no estimate reported
    n2 = summary.set_index("node").loc["n2"]
    assert n2["rejects"] == 0 and pd.isna(n2["latency_p99_ms"]) and not n2["drift_alert"]
    by_defect = store.rejects_by_defect(3600)
    assert by_defect.values.tolist() == [["L1", "n1", "crack", 10]]
    assert store.reject_rate() == pytest.approx(10 / 150)
    assert store.reject_rate(line="L1") == pytest.approx(0.1)
    assert store.reject_rate(line="nope") is None
    # an old window holds nothing
    assert store.line_summary(window_s=60, now=now + 3600)["items"].sum() == 0


def test_node_status_goes_offline_and_keeps_last_seen(store: Store) -> None:
    t0 = time.time()
    store.write_ingest(IngestBatch(statuses=[(status("online"), t0)]))
    store.write_ingest(IngestBatch(statuses=[(status("offline"), t0 + 5)]))
    row = store.node_status().iloc[0]
    assert row["state"] == "offline"
    assert row["last_seen"] == pytest.approx(t0)
    assert store.line_summary()["state"].tolist() == ["offline"]


def test_thumbnails_keep_the_newest_per_node(store: Store) -> None:
    store.thumbnails_per_node = 3
    for seq in range(1, 6):
        store.write_ingest(IngestBatch(thumbnails=[(thumb(seq), time.time()),
                                                   (thumb(seq, node="n2"), time.time())]))
    thumbs = store.recent_thumbnails(limit=10)
    assert sorted(thumbs[thumbs["node"] == "n1"]["seq"]) == [3, 4, 5]
    assert sorted(thumbs[thumbs["node"] == "n2"]["seq"]) == [3, 4, 5]
    assert store.recent_thumbnails(limit=2)["seq"].tolist() == [5, 5]


def test_dead_letters_keep_reason_and_truncated_bytes(store: Store) -> None:
    raw = b"x" * 10_000
    store.write_ingest(IngestBatch(dead_letters=[DeadLetter("a/b", "not JSON", raw, 1.0)]))
    store.add_dead_letter("c/d", "wrong schema", b"{}", 2.0)
    dead = store.dead_letters()
    assert dead["topic"].tolist() == ["c/d", "a/b"]
    old = dead.iloc[1]
    assert old["reason"] == "not JSON" and old["size"] == 10_000
    assert bytes(old["raw"]) == b"x" * 4096


def test_metrics_history(store: Store) -> None:
    store.write_ingest(IngestBatch(metrics=[(metrics(), time.time())]))
    hist = store.metrics_history(node="n1")
    assert hist["rejects"].tolist() == [2] and hist["items"].tolist() == [100]


# --- ERP tables ------------------------------------------------------------------------------
SKUS = [
    {"sku": "LOTUS-GB-OEM", "flavour": "lotus", "packaging": "gift_box", "channel": "oem",
     "price": 12.5, "unit_cost": 4.0, "salvage_value": 1.0, "shelf_life_days": 45,
     "units_per_case": 24},
    {"sku": "REDBEAN-TIN-EC", "flavour": "red_bean", "packaging": "tin", "channel": "ecommerce",
     "price": 18, "unit_cost": 5.5, "salvage_value": 2, "shelf_life_days": 60,
     "units_per_case": 12},
]


def test_upserts_are_idempotent_and_readers_type_their_columns(store: Store) -> None:
    for _ in range(2):
        store.upsert_rows("skus", SKUS)
        store.upsert_rows("demand", [
            {"sku": "LOTUS-GB-OEM", "date": "2025-09-01", "orders": 10, "cancellations": 1},
            {"sku": "LOTUS-GB-OEM", "date": "2025-09-02", "orders": 12, "cancellations": 0},
        ])
    skus = store.skus()
    assert skus["sku"].tolist() == ["LOTUS-GB-OEM", "REDBEAN-TIN-EC"]
    assert skus["units_per_case"].tolist() == [24, 12]
    hist = store.demand_history()
    assert list(hist.columns) == ["sku", "ds", "orders", "cancellations"]
    assert pd.api.types.is_datetime64_any_dtype(hist["ds"])
    assert hist["orders"].tolist() == [10, 12]
    # a changed value overwrites; the row count stays
    store.upsert_rows("demand", [{"sku": "LOTUS-GB-OEM", "date": "2025-09-01", "orders": 11,
                                  "cancellations": 1}])
    assert store.demand_history()["orders"].tolist() == [11, 12]


def test_sales_and_cancellations_update_one_measure_each(store: Store) -> None:
    store.upsert_rows("skus", SKUS)
    store.upsert_rows("sales", [{"sku": "LOTUS-GB-OEM", "date": "2025-09-01", "orders": 40}])
    store.upsert_rows("cancellations", [{"sku": "LOTUS-GB-OEM", "date": "2025-09-01",
                                         "cancellations": 3}])
    store.upsert_rows("sales", [{"sku": "LOTUS-GB-OEM", "date": "2025-09-01", "orders": 42}])
    assert store.demand_history()[["orders", "cancellations"]].values.tolist() == [[42, 3]]


def test_inventory_reader_gives_the_latest_count(store: Store) -> None:
    store.upsert_rows("skus", SKUS)
    store.upsert_rows("inventory", [
        {"item": "LOTUS-GB-OEM", "kind": "sku", "on_hand": 100, "as_of": "2025-09-01"},
        {"item": "LOTUS-GB-OEM", "kind": "sku", "on_hand": 80, "as_of": "2025-09-03"},
    ])
    inv = store.inventory()
    assert inv[["item", "on_hand"]].values.tolist() == [["LOTUS-GB-OEM", 80]]
    assert inv["as_of"].dt.strftime("%Y-%m-%d").tolist() == ["2025-09-03"]


def test_orders_open_and_close(store: Store) -> None:
    store.upsert_rows("skus", SKUS)
    row = {"order_id": "SO-1", "sku": "REDBEAN-TIN-EC", "order_date": "2025-08-01",
           "due_date": "2025-09-01", "qty": 500, "channel": "ecommerce"}
    store.upsert_rows("open_orders", [row, {**row, "order_id": "SO-2"}])
    assert store.close_orders(["SO-1"]) == 1
    orders = store.open_orders()
    assert orders["order_id"].tolist() == ["SO-2"]
    assert pd.api.types.is_datetime64_any_dtype(orders["due_date"])


def test_unknown_sku_in_rows_is_refused(store: Store) -> None:
    store.upsert_rows("skus", SKUS)
    with pytest.raises(DataError, match=r"row 2 .*column 'sku': unknown SKU 'NOPE'"):
        store.upsert_rows("demand", [
            {"sku": "LOTUS-GB-OEM", "date": "2025-09-01", "orders": 1, "cancellations": 0},
            {"sku": "NOPE", "date": "2025-09-01", "orders": 1, "cancellations": 0}])
    assert store.demand_history().empty


# --- forecasts and plans ---------------------------------------------------------------------
def test_forecasts_backtests_and_plans_round_trip(store: Store) -> None:
    assert store.latest_forecast() is None and store.latest_plan("production") is None
    fc = pd.DataFrame({"sku": ["A", "A"], "ds": pd.to_datetime(["2025-09-01", "2025-09-02"]),
                       "net_p10": [1.0, 2.0], "net_p50": [2.0, 3.0], "net_p90": [3.0, 4.5]})
    store.save_forecast("fc-1", fc, {"model": "mfles", "horizon": 2})
    store.save_forecast("fc-2", fc.assign(net_p50=[5.0, 6.0]), {"model": "mfles"})
    meta, got = store.latest_forecast()  # type: ignore[misc]
    assert meta["id"] == "fc-2" and meta["model"] == "mfles"
    assert got["net_p50"].tolist() == [5.0, 6.0]
    assert pd.api.types.is_datetime64_any_dtype(got["ds"])
    plan = pd.DataFrame({"line": ["L1"], "date": pd.to_datetime(["2025-09-01"]),
                         "units": [1200], "shifts": [2]})
    store.save_plan("production", "plan-1", "fc-2", plan, {"yield": 0.97, "why": ["capacity"]})
    meta, got = store.latest_plan("production")  # type: ignore[misc]
    assert (meta["id"], meta["forecast_id"]) == ("plan-1", "fc-2")
    assert meta["explanation"] == {"yield": 0.97, "why": ["capacity"]}
    assert got["units"].tolist() == [1200]
    assert store.latest_plan_id("production") == "plan-1"
    assert store.latest_plan("inventory") is None
    store.save_backtest("bt-1", pd.DataFrame({"model": ["ours"], "mase": [0.8]}), {"folds": 3})
    meta, got = store.latest_backtest()  # type: ignore[misc]
    assert meta["folds"] == 3 and got["mase"].tolist() == [0.8]
    with pytest.raises(DataError, match="unknown plan kind"):
        store.save_plan("nonsense", "p", "f", plan, {})


def test_drift_estimate_reaches_the_line_summary(store: Store) -> None:
    m = metrics().model_copy(
        update={"estimated_frr": 0.042, "frr_band": 0.03, "drift_alert": True, "score_p50": 5.5}
    )
    store.write_ingest(IngestBatch(metrics=[(m, time.time())], statuses=[(status("online"),
                                                                           time.time())]))
    row = store.line_summary(window_s=60).set_index("node").loc["n1"]
    assert row["estimated_frr"] == pytest.approx(0.042) and bool(row["drift_alert"])
    assert row["frr_band"] == pytest.approx(0.03)
