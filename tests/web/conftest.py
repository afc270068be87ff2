"""The dashboard under test: the API's app, on a store filled by a short simnet run, opened in
Debian's Chromium through Playwright.

The store is filled the way the daemon fills it: the shipped demo scenario runs in virtual
time while the real collector reads our node through its LND REST face every hour, the fee
engine applies its policy every few hours (so policy changes get marked), the rebalancer
runs in apply mode, and the alert engine judges every other cycle. The pages then show a day
and a half of real history. The app is served by uvicorn in the test session's event loop,
which also drives Playwright's async API, so the store is used from one loop only.

Chromium is Debian's package (``make chromium``), never a Playwright download. Without it the
browser tests skip, unless ``CI=true``, where its absence is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright

from lnpilot.api.app import create_app
from lnpilot.collect import Collector
from lnpilot.config import Settings
from lnpilot.fees import evaluate, parse_policy
from lnpilot.monitor import Monitor, MonitorConfig
from lnpilot.node import CompositeNode, LndRest
from lnpilot.rebalance.run import RebalanceMode, Rebalancer
from lnpilot.rebalance.settings import parse_settings
from lnpilot.service.context import Services
from lnpilot.simnet.lnd_rest import serve
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import Store, sqlite_url
from lnpilot.store.tokens import Scope, create_token
from lnpilot.web.browser import CHROMIUM, LAUNCH_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MACAROON = "0201036c6e64" + "3c" * 26
#: Virtual time simulated, and how often the daemon's engines run in it.
RUN_FOR = timedelta(hours=36)
COLLECT_EVERY = timedelta(hours=1)
FEES_EVERY = 3  # collector cycles
MONITOR_EVERY = 2  # collector cycles
#: Background payments per day: the scenario's 20,000 would cost seconds of the test run.
PAYMENTS_PER_DAY = 5000
REBALANCE_EVERY = 4  # collector cycles
#: The rebalancer's part of the policy: a budget large enough for the run's few rebalances.
REBALANCE_POLICY = """
[rebalance]
min_amount_sat = 20_000
max_fee_ppm = 3_000
[rebalance.budget]
daily_sat = 20_000
monthly_sat = 100_000
earned_share_pct = 100
"""
FEE_POLICY = """
[safety]
min_interval = "2h"
max_step_pct = 50
[[rule]]
name = "default"
strategy = "flow_adaptive"
"""


@dataclass(frozen=True)
class Filled:
    """A store after the run: its file's URL, our node, the run's end, a read token."""

    url: str
    pubkey: str
    now: datetime
    token: str
    scids: tuple[str, ...]
    fee_runs: int
    alerts_fired: int
    rebalances: int


async def fill(directory: Path) -> Filled:
    """Run the demo scenario with the collector, fee engine and alert engine on it."""
    scenario = load_scenario(Path("demo.toml"))
    demand = scenario.demand.model_copy(update={"payments_per_day": PAYMENTS_PER_DAY})
    sim = Simulation(scenario.model_copy(update={"demand": demand}))
    lock = threading.RLock()
    face = serve(sim.our_node, MACAROON, lock=lock)
    url = sqlite_url(directory)
    pubkey = sim.names["lnpilot"]
    policy = parse_policy(FEE_POLICY)
    fee_runs = fired = rebalanced = 0
    try:
        async with await Store.open(url) as store, LndRest(face.url, MACAROON) as lnd:
            collector = Collector(lnd, store, clock=sim.network.now)
            monitor = Monitor(store, MonitorConfig(), pubkey)
            node = CompositeNode([lnd])
            rebalancer = Rebalancer(
                node, store, parse_settings(REBALANCE_POLICY), clock=sim.network.now
            )
            for cycle in range(RUN_FOR // COLLECT_EVERY):
                with lock:
                    sim.run_for(COLLECT_EVERY.total_seconds())
                now = sim.network.now()
                await collector.cycle()
                if cycle % FEES_EVERY == FEES_EVERY - 1:
                    await evaluate(node, store, policy, now, apply=True)
                    fee_runs += 1
                if cycle % REBALANCE_EVERY == REBALANCE_EVERY - 1:
                    rebalanced += len((await rebalancer.run(RebalanceMode.APPLY)).executed)
                if cycle % MONITOR_EVERY == MONITOR_EVERY - 1:
                    fired += len((await monitor.run_once(now)).fired)
            async with store.transaction() as tx:
                _, token = await create_token(tx, "dashboard-test", Scope.READ, now)
            async with store.read() as reader:
                node_id = await reader.node_id(pubkey)
                assert node_id is not None
                scids = tuple(c.scid for c in await reader.channels(node_id) if c.scid)
    finally:
        face.stop()
    return Filled(url, pubkey, now, token, scids, fee_runs, fired, rebalanced)


@pytest.fixture(scope="session")
async def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    return await fill(tmp_path_factory.mktemp("dashboard-store"))


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    filled: Filled
    services: Services

    def url(self, path: str, *, token: bool = False) -> str:
        query = f"?token={self.filled.token}" if token else ""
        return f"{self.base}/dashboard{path}{query}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def served(filled: Filled) -> AsyncIterator[Served]:
    """The API's app (with the dashboard it mounts) on the filled store, on 127.0.0.1.

    The node is not needed: the faces read the store, and the pubkey is given."""
    # A backend never started nor called: its HTLC event reader would only retry in vain.
    unreachable = LndRest("https://127.0.0.1:9", MACAROON)
    async with await Store.open(filled.url) as store:
        services = Services(
            store=store,
            node=unreachable,
            settings=Settings(lnbits={"url": "http://127.0.0.1:9"}),
            clock=lambda: filled.now,
            node_pubkey=filled.pubkey,
        )
        port = free_port()
        config = uvicorn.Config(
            create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        try:
            yield Served(f"http://127.0.0.1:{port}", filled, services)
        finally:
            server.should_exit = True
            await task
            await unreachable.aclose()


def chromium_missing() -> str | None:
    if CHROMIUM.exists() and shutil.which(str(CHROMIUM)):
        return None
    return f"{CHROMIUM} not found: run `make chromium` (apt-get install chromium)"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    missing = chromium_missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(LAUNCH_ARGS)
        )
        try:
            yield launched
        finally:
            await launched.close()
