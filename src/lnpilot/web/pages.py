"""The dashboard's routes: one handler per page, each a store read then a template.

Every page depends on :class:`Viewer`, which signs the browser in (:mod:`lnpilot.web.auth`)
and finds this daemon's node in the store; when it cannot, the page is answered for it by
:class:`Elsewhere`: a redirect to the sign-in form, or a waiting page for a node the
collector has not recorded yet (or that cannot be reached while the store holds no record
of it), the normal state of a fresh daemon for its first cycle. A node that cannot be
reached but was collected before is shown from the store, under a line saying since when
it is unreachable (:class:`Outage`). Pages refresh themselves
(``templating.REFRESH_S``, a meta refresh, no script), so a screen left open follows the node.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the ``Seen`` dependency
# each route declares, which is local to :func:`router`, as an object, not as a name.
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from lnpilot.node.backend import NodeError
from lnpilot.service.context import Services
from lnpilot.store import backtests
from lnpilot.store.coltypes import is_store_id
from lnpilot.web import acting, auth, charts, lifecycle, views
from lnpilot.web import backtests as backtest_pages
from lnpilot.web.session import Elsewhere, Outage, Viewer
from lnpilot.web.templating import PREFIX, missing, render, render_page

STATIC_DIR = Path(__file__).with_name("static")
#: Backtests listed on the fees page.
RECENT_BACKTESTS = 5


async def _outage(services: Services, node_id: int) -> Outage | None:
    status = services.health.get("collect")
    if status is None or status.failing_since is None:
        return None
    async with services.store.read() as reader:
        state = await reader.collector_state(node_id)
    last = state.last_cycle_at if state is not None else None
    return Outage(status.failing_since, status.last_error, last)


def router(services: Services) -> APIRouter:
    """The pages, reading ``services``; each needs a read token (:mod:`lnpilot.web.auth`)."""
    pages = APIRouter(prefix=PREFIX, include_in_schema=False)
    store = services.store
    csrf = auth.Csrf(services.secret_key)

    async def viewer(request: Request) -> Viewer:
        elsewhere = await auth.gate(request, services)
        if elsewhere is not None:
            raise Elsewhere(elsewhere)
        who = await auth.session_token(services, request.cookies.get(auth.COOKIE))
        if who is None:  # revoked between the two reads
            raise Elsewhere(RedirectResponse(f"{PREFIX}/login", status_code=303))
        try:
            node_id = await services.node_id()
        except NodeError as exc:
            reason = f"the node cannot be reached: {exc}"
            raise Elsewhere(render("waiting.html", 503, reason=reason)) from None
        if node_id is None:
            reason = "the collector has not recorded it yet"
            raise Elsewhere(render("waiting.html", 503, reason=reason))
        return Viewer(
            node_id,
            services.clock(),
            await _outage(services, node_id),
            who,
            csrf.token_for(auth.session_of(request)),
        )

    Seen = Annotated[Viewer, Depends(viewer)]
    # The acting routes first: their fixed paths (``/fees/apply``) must win over the pages'
    # parametrised ones (``/fees/{run_id}``).
    acting.add_routes(pages, services, viewer, csrf)
    lifecycle.add_routes(pages, services, viewer, csrf)
    backtest_pages.add_routes(pages, services, viewer, csrf)

    @pages.get("", response_class=HTMLResponse)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=308)

    @pages.get("/", response_class=HTMLResponse)
    async def overview(seen: Seen) -> HTMLResponse:
        found = await views.overview(store, seen.node_id, await services.pubkey(), seen.now)
        return render_page(
            "overview.html",
            seen,
            view=found,
            days_chart=charts.overview_chart(found.days),
            loops=services.health.all(),
            nav="overview",
        )

    @pages.get("/channels", response_class=HTMLResponse)
    async def channel_table(seen: Seen) -> HTMLResponse:
        table = await views.channel_table(store, seen.node_id, seen.now)
        return render_page("channels.html", seen, table=table, nav="channels")

    @pages.get("/channels/{scid}", response_class=HTMLResponse)
    async def channel(seen: Seen, scid: str, range: str = "7d") -> HTMLResponse:
        if range not in views.RANGES:
            raise HTTPException(404, f"range must be one of {', '.join(views.RANGES)}")
        found = await views.channel_page(store, seen.node_id, scid, range, seen.now)
        if found is None:
            return missing(f"channel {scid}", seen.now)
        return render_page(
            "channel.html",
            seen,
            view=found,
            charts=charts.channel_charts(found.series, found.our_changes, found.policies),
            ranges=list(views.RANGES),
            nav="channels",
        )

    @pages.get("/fees", response_class=HTMLResponse)
    async def fees(seen: Seen) -> HTMLResponse:
        runs = await views.fee_runs(store, seen.node_id)
        async with store.read() as reader:
            tried = await backtests.recent(reader, limit=RECENT_BACKTESTS)
        return render_page("fees.html", seen, runs=runs, backtests=tried, nav="fees")

    @pages.get("/fees/{run_id}", response_class=HTMLResponse)
    async def fee_run(seen: Seen, run_id: int) -> HTMLResponse:
        found = await views.fee_run(store, seen.node_id, run_id) if is_store_id(run_id) else None
        if found is None:
            return missing(f"fee run {run_id}", seen.now)
        return render_page("fee_run.html", seen, summary=found, nav="fees")

    @pages.get("/rebalances", response_class=HTMLResponse)
    async def rebalances(seen: Seen) -> HTMLResponse:
        found = await views.rebalance_page(store, seen.node_id, seen.now)
        return render_page("rebalances.html", seen, view=found, nav="rebalances")

    @pages.get("/forwards", response_class=HTMLResponse)
    async def forwards(
        seen: Seen,
        period: str = "7d",
        channel: str | None = None,
        peer: str | None = None,
        page: int = 1,
    ) -> HTMLResponse:
        if period not in views.FORWARD_PERIODS:
            raise HTTPException(404, f"period must be one of {', '.join(views.FORWARD_PERIODS)}")
        if not 1 <= page <= 1_000_000:
            raise HTTPException(404, "page must be a number from 1")
        found = await views.forwards_page(
            store,
            seen.node_id,
            seen.now,
            period=period,
            channel=channel or None,
            peer=peer or None,
            page=page,
        )
        if found is None:
            return missing(f"channel or peer {channel or peer}", seen.now)
        return render_page(
            "forwards.html", seen, view=found, periods=list(views.FORWARD_PERIODS), nav="forwards"
        )

    @pages.get("/peers", response_class=HTMLResponse)
    async def peers(seen: Seen) -> HTMLResponse:
        found = await views.peers_page(store, seen.node_id, seen.now)
        return render_page("peers.html", seen, view=found, nav="peers")

    @pages.get("/failed", response_class=HTMLResponse)
    async def failed(seen: Seen) -> HTMLResponse:
        found = await views.failed_page(store, seen.node_id, seen.now)
        return render_page("failed.html", seen, view=found, scid=views.scid_or_dash, nav="failed")

    @pages.get("/pnl", response_class=HTMLResponse)
    async def pnl(seen: Seen, range: str = "90d", period: str = "month") -> HTMLResponse:
        if range not in views.PNL_RANGES:
            raise HTTPException(404, f"range must be one of {', '.join(views.PNL_RANGES)}")
        if period not in views.PNL_PERIODS:
            raise HTTPException(404, f"period must be one of {', '.join(views.PNL_PERIODS)}")
        found = await views.pnl_page(store, seen.node_id, seen.now, range, period)
        return render_page(
            "pnl.html",
            seen,
            view=found,
            ranges=list(views.PNL_RANGES),
            periods=views.PNL_PERIODS,
            nav="pnl",
        )

    @pages.get("/alerts", response_class=HTMLResponse)
    async def alerts(seen: Seen) -> HTMLResponse:
        found = await views.alerts_page(store, seen.node_id, seen.now)
        return render_page("alerts.html", seen, view=found, nav="alerts")

    @pages.get("/incidents/{incident_id}", response_class=HTMLResponse)
    async def incident(seen: Seen, incident_id: int) -> HTMLResponse:
        found = (
            await views.incident_page(store, seen.node_id, incident_id, seen.now)
            if is_store_id(incident_id)
            else None
        )
        if found is None:
            return missing(f"incident {incident_id}", seen.now)
        return render_page("incident.html", seen, view=found, nav="alerts")

    auth.add_routes(pages, services)
    return pages


async def _answer_elsewhere(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Elsewhere)
    return exc.response


def mount(app: FastAPI, services: Services) -> None:
    """Serve the dashboard under ``/dashboard`` on ``app``, reading ``services``; the
    bare address leads to it, since a person who opens it wants the dashboard."""

    async def to_dashboard() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)

    app.add_api_route("/", to_dashboard, include_in_schema=False)
    app.include_router(router(services))
    app.add_exception_handler(Elsewhere, _answer_elsewhere)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
