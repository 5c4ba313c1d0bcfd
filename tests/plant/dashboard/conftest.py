"""Fixtures for the dashboard tests: a real plant store written through its own write path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from plant.dashboard import DashboardConfig, DashboardServer, serve_dashboard
from plant.store import Store

from .filling import NODES, Line, write_plans


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite plant store in tmp_path."""
    st = Store.open(f"sqlite:///{tmp_path / 'plant.db'}")
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def line(store: Store) -> Line:
    """Three nodes online with some results, rejects, thumbnails; plans and a forecast."""
    ln = Line(store)
    for line_name, node in NODES:
        ln.status(line_name, node)
        ln.items(line_name, node, 60)
    write_plans(store, dt.date(2026, 8, 1))
    return ln


@pytest.fixture
def dashboard(
    store: Store, line: Line, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DashboardServer]:
    """The dashboard on a free loopback port, refreshing every 0.2 s, no token."""
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)
    handle = serve_dashboard(store, "127.0.0.1", 0, config=DashboardConfig(refresh_s=0.2))
    try:
        yield handle
    finally:
        handle.stop()
