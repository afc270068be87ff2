"""How fast the REST API answers on a store holding a year of data for 200 channels, each
figure next to a reference measured in the same run (machines are noisy: compare ratios).

- ``channels_api_p50_ms`` / ``channels_api_p99_ms`` (target p99 <= 50): ``GET
  /api/v1/channels``, every channel with its forwards over 1, 7 and 30 days.
- ``series_year_api_p50_ms`` / ``series_year_api_p99_ms`` (target p99 <= 150): ``GET
  /api/v1/channels/{scid}/series`` over the year (resolution picked: daily).
- ``api_p50_ms`` / ``api_p99_ms``: the two together, as a dashboard issues them.
- References: the same store reads called directly (no HTTP, no FastAPI, no JSON), so
  ``*_ratio_api_vs_store`` is what the API adds over the store.
- ``dashboard_page_ms``: Debian's Chromium loading the dashboard's overview until its chart
  is drawn (:func:`page_figures`), against the sign-in page of the same app.

The data: the hourly and daily rollups of a year for 200 channels, written straight into the
tables by ``store_speed.fill_rollups`` (the same synthetic year the store's benchmark reads),
then the 200 channels recorded with their policies. The app is served by uvicorn over
loopback in a process of its own, and requested through one keep-alive connection with a
read token, as Grafana or a browser would.

Prints ``name=value`` lines. ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import uvicorn

import store_speed  # beside this file: its synthetic year of rollups
from lnpilot.api.app import create_app
from lnpilot.api.channels import LIST_WINDOWS
from lnpilot.base.domain import Channel, ChannelPolicy, ChannelState, NodeInfo, scid_from_chan_id
from lnpilot.config import Settings
from lnpilot.node import LndRest
from lnpilot.service import Services
from lnpilot.service.heap import settle_heap
from lnpilot.store import Store, sqlite_url
from lnpilot.store.tokens import Scope, create_token
from lnpilot.web.browser import CHROMIUM, LAUNCH_ARGS
from lnpilot.web.templating import PREFIX

CHANNELS = 200
NOW = store_speed.NOW
PUBKEY = "02" + "cd" * 32
CHANNELS_TARGET_MS = 50
SERIES_TARGET_MS = 150
Figures = dict[str, float | int | str]


def channel(k: int) -> Channel:
    chan_id = store_speed.FIRST_CHAN_ID + k
    return Channel(
        scid=scid_from_chan_id(chan_id),
        chan_id=chan_id,
        channel_point=f"{k:064x}:0",
        peer_pubkey=f"03{k:064x}",
        capacity_sat=1_000_000,
        local_balance_msat=300_000_000 + k * 1_000_000,
        remote_balance_msat=700_000_000 - k * 1_000_000,
        state=ChannelState.ACTIVE,
        peer_alias=f"peer-{k}",
        local_policy=ChannelPolicy(1000, 100 + k),
        remote_policy=ChannelPolicy(1000, 50 + k),
    )


async def fill(path: Path) -> str:
    """The year of data; returns a read token."""
    async with await Store.open(sqlite_url(path)) as store, store.transaction() as tx:
        node_id = await tx.upsert_node(NodeInfo(PUBKEY, "bench", 900_000, True), NOW)
    assert node_id == 1, "store_speed's rows are for node 1"
    store_speed.CHANNELS = CHANNELS  # its fill is sized by this module constant
    store_speed.fill_rollups(path, NOW - timedelta(days=366), NOW)
    async with await Store.open(sqlite_url(path)) as store, store.transaction() as tx:
        await tx.record_channels(node_id, [channel(k) for k in range(CHANNELS)], NOW)
        _, token = await create_token(tx, "bench", Scope.READ, NOW)
    return token


def serve(path: Path, port: int) -> None:
    """The app on ``path``'s store, in a process of its own (the client's GIL stays apart)."""

    async def main() -> None:
        async with await Store.open(sqlite_url(path)) as store:
            services = Services(
                store=store,
                node=LndRest("http://127.0.0.1:9", "00"),  # never asked: the API reads the store
                settings=Settings(lnbits={"url": "http://127.0.0.1:9"}, data_dir=path),
                clock=lambda: NOW,
                node_pubkey=PUBKEY,
            )
            config = uvicorn.Config(create_app(services), port=port, log_level="warning")
            settle_heap()  # as ``lnpilot run`` does once started
            await uvicorn.Server(config).serve()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def timed(call: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


async def store_reference(path: Path, runs: int) -> tuple[list[float], list[float]]:
    """The reads behind each endpoint, called directly: the floor the API stands on."""

    async def channel_list(store: Store) -> None:
        async with store.read() as reader:
            await reader.channels(1)
            await reader.channel_totals_over(
                1, [(NOW - span, NOW) for span in LIST_WINDOWS.values()], now=NOW
            )

    async def year(store: Store) -> None:
        async with store.read() as reader:
            await reader.channel_series(
                1, store_speed.FIRST_CHAN_ID, NOW - timedelta(days=365), NOW, now=NOW
            )

    async def times(store: Store, work: Callable[[Store], Awaitable[None]]) -> list[float]:
        for _ in range(5):
            await work(store)
        found = []
        for _ in range(runs):
            started = time.perf_counter()
            await work(store)
            found.append((time.perf_counter() - started) * 1000)
        return found

    async with await Store.open(sqlite_url(path)) as store:
        return await times(store, channel_list), await times(store, year)


def page_figures(url: str, token: str) -> Figures:
    """``dashboard_page_ms``: Debian's Chromium (Playwright, headless) loading the dashboard's
    overview until its chart is drawn, median over repeated loads in one signed-in browser;
    the reference is the sign-in page, served by the same app without any store read or
    chart, so ``dashboard_ratio_overview_vs_login`` is what the overview's reads and chart
    cost. Without Debian's Chromium (``make chromium``) the figure says so instead."""
    from playwright.sync_api import sync_playwright  # only this figure needs a browser

    if not CHROMIUM.exists():
        return {"dashboard_page_ms": f"no {CHROMIUM} (make chromium)"}
    runs = 20
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(LAUNCH_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}{PREFIX}/?token={token}")  # signs in: the token goes to a cookie

            def overview() -> None:
                page.goto(f"{url}{PREFIX}/", wait_until="load")
                page.wait_for_selector("#chart-days[data-drawn]", state="attached")

            def login() -> None:
                page.goto(f"{url}{PREFIX}/login", wait_until="load")

            timed(overview, 3)
            timed(login, 3)
            overview_ms, login_ms = timed(overview, runs), timed(login, runs)
        finally:
            browser.close()
    return {
        "dashboard_page_ms": round(statistics.median(overview_ms), 1),
        "dashboard_page_p99_ms": p(overview_ms, 99),
        "dashboard_login_page_ms": round(statistics.median(login_ms), 1),
        "dashboard_ratio_overview_vs_login": round(
            statistics.median(overview_ms) / statistics.median(login_ms), 2
        ),
    }


def measure_api(url: str, token: str, runs: int) -> tuple[list[float], list[float]]:
    scid = scid_from_chan_id(store_speed.FIRST_CHAN_ID)
    year = {"start": (NOW - timedelta(days=365)).isoformat(), "end": NOW.isoformat()}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(300):  # the server process starting
            try:
                http.get("/health")
                break
            except httpx.TransportError:
                time.sleep(0.1)

        # what the requests answer, checked once: the timed calls do not parse the JSON
        assert len(http.get("/api/v1/channels").json()) == CHANNELS
        answer = http.get(f"/api/v1/channels/{scid}/series", params=year).json()
        assert answer["resolution"] == "1d" and len(answer["points"]) >= 365

        def channels() -> None:
            assert http.get("/api/v1/channels").status_code == 200

        def series() -> None:
            assert http.get(f"/api/v1/channels/{scid}/series", params=year).status_code == 200

        timed(channels, 5)
        timed(series, 5)
        return timed(channels, runs), timed(series, runs)


def run(quick: bool) -> Figures:
    runs = 30 if quick else 300
    with tempfile.TemporaryDirectory(prefix="lnpilot-api-bench-") as tmp:
        path = Path(tmp)
        token = asyncio.run(fill(path))
        ref_list, ref_year = asyncio.run(store_reference(path, runs))
        port = free_port()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(path, port))
        server.start()
        url = f"http://127.0.0.1:{port}"
        try:
            list_ms, year_ms = measure_api(url, token, runs)
            figures = page_figures(url, token)
        finally:
            server.terminate()
            server.join(30)
    both = [a + b for a, b in zip(list_ms, year_ms, strict=True)]
    return {
        "channels_api_p50_ms": p(list_ms, 50),
        "channels_api_p99_ms": p(list_ms, 99),
        "channels_api_target_p99_ms": CHANNELS_TARGET_MS,
        "channels_store_p50_ms": p(ref_list, 50),
        "channels_ratio_api_vs_store": round(p(list_ms, 50) / p(ref_list, 50), 2),
        "series_year_api_p50_ms": p(year_ms, 50),
        "series_year_api_p99_ms": p(year_ms, 99),
        "series_year_api_target_p99_ms": SERIES_TARGET_MS,
        "series_year_store_p50_ms": p(ref_year, 50),
        "series_year_ratio_api_vs_store": round(p(year_ms, 50) / p(ref_year, 50), 2),
        "api_p50_ms": p(both, 50),
        "api_p99_ms": p(both, 99),
        "channels": CHANNELS,
        "runs": runs,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few requests")
    started = time.perf_counter()
    for name, value in run(parser.parse_args().quick).items():
        print(f"{name}={value}")
    print(f"bench_s={time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
