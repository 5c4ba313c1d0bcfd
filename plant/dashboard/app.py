"""The dashboard's web application (Starlette): the page, its JSON API and the live stream.

Routes::

    GET  /                      the wall-screen page (static HTML + vendored uPlot)
    GET  /login, POST /login    token form; sets an HMAC session cookie (off-loopback only)
    GET  /api/live              lines overview, alerts and versions of the slower parts
    GET  /api/stream            the same snapshot as server-sent events, every refresh_s
    GET  /api/history           items/min per node over the last 15 min (seeds the chart)
    GET  /api/rejects           recent rejected items with their JPEG thumbnails
    GET  /api/forecast          forecast bands per series with festival dates
    GET  /api/backtest          the latest backtest's accuracy table
    GET  /api/plans/{kind}      production | inventory | packaging plan as a table
    GET  /api/plans/{kind}.csv  the same plan as a CSV download
    GET  /api/scenarios         the twin: baseline and scenarios of the newest simulated plan
    GET  /api/simulations/{id}  one simulation: stock over time, line-by-day Gantt
    GET  /suppliers, /materials the suppliers page (feeds, answers, gaps) and the materials
                                page (price bands, alerts, buy-ahead calls)
    GET  /api/suppliers         every supplier's newest feed, its replies and the gaps
    GET  /api/suppliers/{supplier}/feed.csv  one supplier's newest feed as CSV
    GET  /api/materials         price models, bands, alerts, buy-ahead calls, season cost
    GET  /orders, /api/orders   web shop orders: cancellation risk of open orders, hold offers,
                                safekeeping stock against capacity, last season's replay
    GET  /healthz               "ok"
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from peakline.wire import PLAN_KINDS
from plant.csvout import to_csv
from plant.dashboard.auth import (
    COOKIE,
    SESSION_S,
    ASGIApp,
    Receive,
    Scope,
    Send,
    TokenAuth,
    session_value,
)
from plant.dashboard.config import DashboardConfig
from plant.dashboard.guard import RequestGuard, allowed_hosts
from plant.dashboard.orders import orders_view
from plant.dashboard.procurement import materials_view, suppliers_view
from plant.dashboard.state import DashboardState
from plant.dashboard.views import DashboardStore, plan_frame
from plant.planning.config import PlanConfig

__all__ = ["STATIC_DIR", "DashboardApp", "create_app"]

STATIC_DIR = Path(__file__).parent / "static"
_NO_CACHE = {"Cache-Control": "no-store"}


def _json(value: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(value, allow_nan=False, default=str),
        status_code=status,
        media_type="application/json",
        headers=_NO_CACHE,
    )


class DashboardApp:
    """The ASGI app plus its shared state (``state.stopping`` ends the live streams)."""

    def __init__(self, asgi: ASGIApp, state: DashboardState) -> None:
        self.asgi = asgi
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)


def create_app(
    store: DashboardStore, config: DashboardConfig | None = None, token: str | None = None,
    listen: str | None = None, planning: PlanConfig | None = None,
) -> DashboardApp:
    """The ASGI app for ``store``; with a ``token``, every request must carry it. It answers
    only to the ``Host`` names of ``listen`` (default ``config.host``) and
    ``config.allowed_hosts`` (:mod:`plant.dashboard.guard`). ``planning``: the plant's
    ``[planning]`` section, whose calendar and peak the materials page checks new prices with
    and the countdown shows before any plan."""
    config = config or DashboardConfig()
    hosts = allowed_hosts(config.host if listen is None else listen, config.allowed_hosts)
    state = DashboardState(store, config, planning)

    async def run(fn: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=_NO_CACHE)

    async def login_form(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "login.html", headers=_NO_CACHE)

    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        given = (form.get("token") or [""])[0]
        if token is None:
            return RedirectResponse("/", status_code=303)
        if not hmac.compare_digest(given.encode(), token.encode()):
            await asyncio.sleep(0.5)  # slow down guessing
            return RedirectResponse("/login?failed=1", status_code=303)
        response = RedirectResponse("/", status_code=303)
        tls = request.url.scheme == "https" or \
            request.headers.get("x-forwarded-proto", "").lower() == "https"
        response.set_cookie(COOKIE, session_value(token), max_age=SESSION_S, httponly=True,
                            samesite="strict", secure=tls)
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def live(request: Request) -> Response:
        return _json(await run(state.live))

    async def stream(request: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            yield "retry: 3000\n\n"
            n = 0
            while not state.stopping.is_set():
                snapshot = await run(state.live)
                n += 1
                data = json.dumps(snapshot, allow_nan=False, default=str)
                yield f"event: live\nid: {n}\ndata: {data}\n\n"
                waited = 0.0
                while waited < config.refresh_s and not state.stopping.is_set():
                    await asyncio.sleep(min(0.2, config.refresh_s))
                    waited += 0.2

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    async def history(request: Request) -> Response:
        return _json(await run(state.history))

    async def rejects(request: Request) -> Response:
        return _json(await run(state.gallery))

    async def forecast(request: Request) -> Response:
        return _json(await run(state.forecast))

    async def backtest(request: Request) -> Response:
        return _json(await run(state.backtest))

    async def plan(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in PLAN_KINDS:
            return _json({"error": f"unknown plan {kind!r}; one of {PLAN_KINDS}"}, 404)
        return _json(await run(state.plan, kind))

    async def plan_csv(request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in PLAN_KINDS:
            return PlainTextResponse(f"unknown plan {kind!r}\n", status_code=404)
        found = await run(plan_frame, store, kind)
        if found is None:
            return PlainTextResponse(f"no {kind} plan yet\n", status_code=404)
        meta, df = found
        plan_id = str(meta.get("plan_id") or meta.get("id") or "latest")
        name = f"peakline-{kind}-plan-{plan_id}.csv".replace('"', "")
        return Response(
            to_csv(df),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', **_NO_CACHE},
        )

    async def scenarios(request: Request) -> Response:
        return _json(await run(state.scenarios))

    async def simulation(request: Request) -> Response:
        found = await run(state.simulation, request.path_params["sim_id"])
        if found is None:
            return _json({"error": "no such simulation"}, 404)
        return _json(found)

    async def page(request: Request) -> Response:
        name = request.url.path.strip("/")
        return FileResponse(STATIC_DIR / f"{name}.html", headers=_NO_CACHE)

    async def suppliers(request: Request) -> Response:
        return _json(await run(suppliers_view, store))

    async def materials(request: Request) -> Response:
        return _json(await run(materials_view, store, planning))

    async def orders(request: Request) -> Response:
        return _json(await run(orders_view, store))

    async def feed_csv(request: Request) -> Response:
        from plant.suppliers.publish import feed_frame

        name = request.path_params["supplier"]
        feed = await run(store.latest_feed, name)
        if feed is None:
            return PlainTextResponse(f"no feed for supplier {name!r} yet\n", status_code=404)
        df = feed_frame(feed)
        file = f"peakline-feed-{feed.supplier}-v{feed.version}.csv"
        return Response(to_csv(df), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{file}"',
                                 **_NO_CACHE})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    routes = [
        Route("/", index),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout),
        Route("/healthz", health),
        Route("/api/live", live),
        Route("/api/stream", stream),
        Route("/api/history", history),
        Route("/api/rejects", rejects),
        Route("/api/forecast", forecast),
        Route("/api/backtest", backtest),
        Route("/api/plans/{kind}.csv", plan_csv),
        Route("/api/plans/{kind}", plan),
        Route("/api/scenarios", scenarios),
        Route("/api/simulations/{sim_id}", simulation),
        Route("/suppliers", page),
        Route("/materials", page),
        Route("/orders", page),
        Route("/api/orders", orders),
        Route("/api/suppliers", suppliers),
        Route("/api/suppliers/{supplier}/feed.csv", feed_csv),
        Route("/api/materials", materials),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    guarded = RequestGuard(TokenAuth(Starlette(routes=routes), token), hosts,
                           max_streams=config.max_streams)
    return DashboardApp(guarded, state)
