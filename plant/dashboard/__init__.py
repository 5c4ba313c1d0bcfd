"""The plant-manager dashboard: lines live, rejected items, forecasts, plans and alerts.

Served by the plant service (and by ``peakline demo``) in the same process as ingest::

    from plant.dashboard import serve_dashboard
    handle = serve_dashboard(store, host="127.0.0.1", port=8080)
    print(handle.url)
    ...
    handle.stop()

Listens on 127.0.0.1 by default; any other address requires an operator-set token
(``$PEAKLINE_DASHBOARD_TOKEN`` or a file named by ``$PEAKLINE_DASHBOARD_TOKEN_FILE``).
Everything it serves is in the package (the charting library uPlot is vendored under
``static/vendor``), so it works with no internet access.
"""

from __future__ import annotations

from plant.dashboard.app import STATIC_DIR, DashboardApp, create_app
from plant.dashboard.auth import is_loopback, require_token_for, resolve_token
from plant.dashboard.config import DashboardConfig
from plant.dashboard.server import DashboardServer, serve_dashboard
from plant.dashboard.views import DashboardStore

__all__ = [
    "STATIC_DIR",
    "DashboardApp",
    "DashboardConfig",
    "DashboardServer",
    "DashboardStore",
    "create_app",
    "is_loopback",
    "require_token_for",
    "resolve_token",
    "serve_dashboard",
]
