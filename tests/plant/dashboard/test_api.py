"""The dashboard's HTTP API against a real store: data, CSV, SSE, offline assets, errors."""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text
from support.payloads import draft

from peakline.wire import ItemResult, ResultsBatch
from plant.dashboard import STATIC_DIR, DashboardServer
from plant.store import IngestBatch, Store

from .filling import SITE, Line


def get(
    url: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(url: str, path: str) -> Any:
    status, _, body = get(url, path)
    assert status == 200, body
    return json.loads(body)


def test_live_overview_reports_every_node(dashboard: DashboardServer) -> None:
    live = get_json(dashboard.url, "/api/live")
    nodes = {f"{n['line']}/{n['node']}": n for n in live["nodes"]}
    assert set(nodes) == {"line1/cam1", "line1/cam2", "line2/cam3"}
    cam1 = nodes["line1/cam1"]
    assert cam1["online"] is True
    assert cam1["items"] == 60 and cam1["rejects"] == 6
    assert sum(cam1["rejects_by_defect"].values()) == 6
    assert cam1["latency_p99_ms"] == 12.0 and cam1["outbox_backlog"] == 3
    assert live["totals"]["nodes_online"] == 3
    assert live["totals"]["items"] == 180
    assert live["errors"] == []
    assert live["festival"]["name"] == "Mid-Autumn"


def test_offline_node_raises_an_alert(dashboard: DashboardServer, line: Line) -> None:
    line.status("line2", "cam3", "offline")
    time.sleep(0.3)  # past the snapshot cache
    live = get_json(dashboard.url, "/api/live")
    cam3 = next(n for n in live["nodes"] if n["node"] == "cam3")
    assert cam3["online"] is False
    assert any(
        a["id"] == "offline:line2/cam3" and a["severity"] == "critical" for a in live["alerts"]
    )


def test_history_matches_the_live_window(dashboard: DashboardServer) -> None:
    hist = get_json(dashboard.url, "/api/history")
    assert set(hist["nodes"]) == {"line1/cam1", "line1/cam2", "line2/cam3"}
    assert hist["ts"] == sorted(hist["ts"]) and len(hist["ts"]) == 2  # leading empties cut
    live = get_json(dashboard.url, "/api/live")
    for node in live["nodes"]:
        series = hist["nodes"][f"{node['line']}/{node['node']}"]
        assert series == [0.0, node["items_per_min"]] == [0.0, 60.0]


def test_gallery_has_thumbnails_newest_first(dashboard: DashboardServer) -> None:
    items = get_json(dashboard.url, "/api/rejects")
    assert len(items) == 18
    assert all(i["defect"] in ("crack", "burnt_spot", "chipped_edge") for i in items)
    assert all(i["jpeg_b64"].startswith("/9j/") for i in items)  # JPEG magic, base64
    assert [i["ts"] for i in items] == sorted((i["ts"] for i in items), reverse=True)


def test_forecast_bands_and_festival_markers(dashboard: DashboardServer) -> None:
    fc = get_json(dashboard.url, "/api/forecast")
    assert fc["series"][0]["name"] == "All SKUs (sum)"
    total, lotus = fc["series"][0], fc["series"][1]
    assert lotus["name"] == "LOTUS-GIFT-OEM"
    assert len(total["net_p50"]) == len(fc["ds"]) == 60
    assert all(
        a <= b <= c
        for a, b, c in zip(total["net_p10"], total["net_p50"], total["net_p90"], strict=True)
    )
    assert {"date": "2026-09-25", "name": "Mid-Autumn"} in fc["holidays"]
    bt = get_json(dashboard.url, "/api/backtest")
    assert [r["model"] for r in bt["rows"]] == ["peakline", "AutoETS"]


def test_plan_tables_and_order_by_marks(dashboard: DashboardServer) -> None:
    plan = get_json(dashboard.url, "/api/plans/purchases")
    assert plan["as_of"] == "2026-08-01" and plan["row_count"] == 3
    order = plan["table"]
    assert order["columns"] == ["item", "order_by", "order_qty"]  # empty columns dropped
    assert order["order_by_columns"] == ["order_by"]
    assert [r["item"] for r in order["rows"]] == ["lotus_paste", "salted_yolk", "flour"]
    assert [m["order_by"] for m in order["marks"]] == ["overdue", "soon", "ok"]
    assert order["rows"][0]["order_by"] == "2026-07-30"
    cover = get_json(dashboard.url, "/api/plans/materials")["table"]
    assert cover["columns"] == ["item", "days_of_cover"]
    exceptions = get_json(dashboard.url, "/api/plans/exceptions")["table"]
    assert exceptions["rows"][0]["what"] == "salted_yolk"


def test_planner_exceptions_become_alerts(dashboard: DashboardServer) -> None:
    live = get_json(dashboard.url, "/api/live")
    found = [a for a in live["alerts"] if a["kind"] == "plan_exception"]
    assert len(found) == 1
    assert found[0]["severity"] == "critical"
    assert found[0]["title"] == "salted_yolk: late order by (4,836,432 at risk)"


def test_plan_csv_download(dashboard: DashboardServer, store: Store) -> None:
    status, headers, body = get(dashboard.url, "/api/plans/production.csv")
    assert status == 200
    assert headers["content-type"].startswith("text/csv")
    assert (
        headers["content-disposition"]
        == 'attachment; filename="peakline-production-plan-P-test-1.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 10 and rows[0]["sku"] == "LOTUS-GIFT-OEM" and rows[0]["qty"] == "1000"
    assert get(dashboard.url, "/api/plans/nonsense.csv")[0] == 404
    assert get(dashboard.url, "/api/plans/nonsense")[0] == 404


def test_sse_stream_delivers_updates(dashboard: DashboardServer, line: Line) -> None:
    parts = urlsplit(dashboard.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request("GET", "/api/stream")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("content-type", "").startswith("text/event-stream")

    def next_event() -> dict[str, Any]:
        fields: dict[str, str] = {}
        while True:
            raw = resp.fp.readline().decode()
            assert raw, "stream ended"
            if raw == "\n" and "data" in fields:
                return json.loads(fields["data"])
            if ":" in raw:
                key, _, value = raw.partition(":")
                fields[key] = value.strip()

    first = next_event()
    items_before = first["totals"]["items"]
    line.items("line1", "cam1", 40)
    deadline = time.monotonic() + 10
    while True:
        event = next_event()
        if event["totals"]["items"] > items_before:
            break
        assert time.monotonic() < deadline, "stream never showed the new items"
    assert event["totals"]["items"] == items_before + 40
    conn.close()


def test_page_and_assets_are_served_offline(dashboard: DashboardServer) -> None:
    status, _, html = get(dashboard.url, "/")
    assert status == 200
    page = html.decode()
    assert "/static/vendor/uplot/uPlot.iife.min.js" in page
    for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert get(dashboard.url, path)[0] == 200, path
    # nothing is fetched from another host: no absolute URLs in our HTML, CSS and JS
    for name in ("index.html", "login.html", "app.js", "app.css"):
        source = (STATIC_DIR / name).read_text()
        assert not re.search(
            r"""(src|href|url|fetch|EventSource)\s*[=(]\s*["']?(https?:)?//""", source
        ), name
    assert (STATIC_DIR / "vendor" / "uplot" / "LICENSE").is_file()


def test_store_failure_shows_on_page_not_500(dashboard: DashboardServer, store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE metrics"))
    time.sleep(0.3)
    live = get_json(dashboard.url, "/api/live")
    assert any(e.startswith("lines:") for e in live["errors"])
    assert get(dashboard.url, "/healthz")[0] == 200


def test_history_is_a_trailing_window(store: Store) -> None:
    now = 1_800_000_000.0
    results = [
        ItemResult(seq=i + 1, **draft(i, ts=now - 300 + i))
        for i in range(300)  # one item a second for the last five minutes
    ]
    batch = ResultsBatch(
        site=SITE, line="line9", node="cam9", boot_id="b", model="m", sent_at=now, results=results
    )
    store.write_ingest(IngestBatch(results=[(batch, now)]))
    hist = store.throughput_history(600.0, 10.0, 60.0, now=now)
    series = hist["nodes"]["line9/cam9"]
    assert len(series) == len(hist["ts"]) and hist["ts"][-1] == now
    assert series[0] == 0.0 and series[-1] == 60.0  # 60 items in the last 60 s
    assert max(series) == 60.0 and series.count(60.0) >= 20  # steady once a minute is full
    ramp = series[1:7]
    assert ramp == sorted(ramp) and ramp[0] < 60.0  # the first minute ramps up


def test_live_carries_the_preparing_job_until_it_is_live(store: Store, line: Line,
                                                         tmp_path: Path) -> None:
    from peakline.progress import Progress
    from plant.dashboard import DashboardConfig, serve_dashboard

    progress = Progress(tmp_path / "progress.json", "Preparing the demo line")
    progress.add("model", "fitting the inspection model")
    progress.start("model")
    handle = serve_dashboard(store, "127.0.0.1", 0, config=DashboardConfig(
        refresh_s=0.2, progress_file=str(tmp_path / "progress.json")))
    try:
        prep = get_json(handle.url, "/api/live")["preparing"]
        assert prep["phase"] == "preparing"
        assert [(s["key"], s["state"]) for s in prep["steps"]] == [("model", "running")]
        progress.done("model")
        progress.set_phase("live")
        time.sleep(0.3)  # past the snapshot's refresh
        assert get_json(handle.url, "/api/live")["preparing"]["phase"] == "live"
    finally:
        handle.stop()
