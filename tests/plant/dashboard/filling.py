"""Filling a real plant store the way ingest and planning do, for the dashboard tests."""

from __future__ import annotations

import base64
import datetime as dt
import time
from typing import Literal

import cv2
import numpy as np
import pandas as pd
from support.payloads import draft

from peakline.wire import ItemResult, NodeMetrics, NodeStatus, RejectThumbnail, ResultsBatch
from plant.store import IngestBatch, Store

__all__ = ["EXCEPTIONS", "NODES", "SITE", "Line", "write_plans"]

SITE = "mooncake-1"
NODES = (("line1", "cam1"), ("line1", "cam2"), ("line2", "cam3"))
DEFECTS = ("crack", "burnt_spot", "chipped_edge")


def _jpeg(defect: str | None) -> str:
    img = np.full((64, 64, 3), (40, 60, 70), np.uint8)
    cv2.circle(img, (32, 32), 26, (60, 140, 200), -1)
    if defect:
        cv2.line(img, (14, 20), (48, 40), (15, 15, 15), 3)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


class Line:
    """Writes what camera nodes would send, through Store.write_ingest (the ingest's path)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq = {node: 0 for _, node in NODES}

    def status(self, line: str, node: str, state: Literal["online", "offline"] = "online") -> None:
        st = NodeStatus(site=SITE, line=line, node=node, state=state, boot_id="b1", ts=time.time())
        self.store.write_ingest(IngestBatch(statuses=[(st, time.time())]))

    def items(self, line: str, node: str, n: int, reject_every: int = 10) -> None:
        now = time.time()
        results, thumbs = [], []
        for i in range(n):
            self.seq[node] += 1
            seq = self.seq[node]
            reject = seq % reject_every == 0
            defect = DEFECTS[seq % len(DEFECTS)] if reject else None
            results.append(ItemResult(seq=seq, **draft(
                seq, "reject" if reject else "pass", ts=now - (n - i) * 0.01,
                defect=defect)))
            if reject:
                thumbs.append(
                    (
                        RejectThumbnail(
                            site=SITE,
                            line=line,
                            node=node,
                            boot_id="b1",
                            seq=seq,
                            ts=now,
                            score=0.9,
                            decision="reject",
                            defect=defect,
                            jpeg_b64=_jpeg(defect),
                        ),
                        now,
                    )
                )
        batch = ResultsBatch(
            site=SITE,
            line=line,
            node=node,
            boot_id="b1",
            model="padim-1",
            sent_at=now,
            results=results,
        )
        metrics = NodeMetrics(
            site=SITE,
            line=line,
            node=node,
            boot_id="b1",
            ts=now,
            window_s=5,
            items=n,
            latency_p99_ms=12.0,
            outbox_backlog=3,
        )
        self.store.write_ingest(
            IngestBatch(results=[(batch, now)], metrics=[(metrics, now)], thumbnails=thumbs)
        )


EXCEPTIONS = [
    {
        "kind": "late_order_by",
        "what": "salted_yolk",
        "date": "2026-07-15",
        "value_at_risk": 4836432.0,
        "detail": "material salted_yolk: order-by passed; runs out 2026-08-06 before the festival",
    }
]


def write_plans(store: Store, as_of: dt.date) -> None:
    """A forecast, a backtest and plans in the shapes the planning code stores."""
    ds = pd.date_range(as_of, periods=60)
    peak = 120 + 800 * np.exp(-(((np.arange(60) - 50) / 6.0) ** 2))
    rows = [
        {
            "sku": sku,
            "ds": d,
            "orders_p10": p * 0.8 * k,
            "orders_p50": p * k,
            "orders_p90": p * 1.3 * k,
            "net_p10": p * 0.7 * k,
            "net_p50": p * 0.9 * k,
            "net_p90": p * 1.2 * k,
        }
        for k, sku in ((1.0, "LOTUS-GIFT-OEM"), (0.5, "REDBEAN-TIN-ECOM"))
        for d, p in zip(ds, peak, strict=True)
    ]
    store.save_forecast("F-test-1", pd.DataFrame(rows), {"model": "test"})
    store.save_backtest(
        "B-test-1",
        pd.DataFrame(
            [
                {"model": "peakline", "window": "festival", "mase": 0.6, "bias": 0.01},
                {"model": "AutoETS", "window": "festival", "mase": 0.9, "bias": -0.1},
            ]
        ),
        {"forecast_id": "F-test-1", "folds": 3},
    )
    store.save_plan(
        "production",
        "P-test-1",
        "F-test-1",
        pd.DataFrame(
            {
                "date": [d.date() for d in ds[:10]],
                "line": "line1",
                "sku": "LOTUS-GIFT-OEM",
                "qty": range(1000, 1010),
            }
        ),
        {"as_of": as_of.isoformat(), "yield": 0.97},
    )
    store.save_plan(
        "exceptions", "P-test-1", "F-test-1", pd.DataFrame(EXCEPTIONS),
        {"as_of": as_of.isoformat(), "count": len(EXCEPTIONS)},
    )
    store.save_plan(
        "materials",
        "P-test-1",
        "F-test-1",
        pd.DataFrame({"item": ["flour"], "days_of_cover": [12.0], "lead_time_days": [None]}),
        {"as_of": as_of.isoformat()},
    )
    store.save_plan(
        "purchases",
        "P-test-1",
        "F-test-1",
        pd.DataFrame(
            {
                "item": ["flour", "lotus_paste", "salted_yolk"],
                "order_by": [
                    as_of + dt.timedelta(days=40),
                    as_of - dt.timedelta(days=2),
                    as_of + dt.timedelta(days=3),
                ],
                "order_qty": [900.0, 500.0, 200.0],
                "moq": [None, None, None],
            }
        ),
        {"as_of": as_of.isoformat()},
    )
    store.save_plan(
        "packaging",
        "K-test-1",
        "F-test-1",
        pd.DataFrame(
            {
                "item": ["gift_box_red", "tin_gold"],
                "week": ["W33", "W34"],
                "order_by": [as_of + dt.timedelta(days=20), as_of + dt.timedelta(days=30)],
                "qty": [4000, 2000],
            }
        ),
        {"as_of": as_of.isoformat()},
    )
