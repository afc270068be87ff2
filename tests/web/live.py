"""A live simulated node for the dashboard's action tests: the collector fixtures' network
(our node behind its real LND REST face), collected into a fresh store, with a hub and a
lone node we have no channel with (to open to), a firing alert and the incident the monitor
opens for it, a read and an admin token, and the API's app (with the dashboard) over it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from api.conftest import POLICY
from collect.conftest import T0, Sim, running_sim
from lifecycle.test_open_suggest import _grow
from lnpilot.api.app import create_app
from lnpilot.config import Settings
from lnpilot.monitor.config import RuleKind
from lnpilot.monitor.incidents import open_or_update
from lnpilot.service import Services
from lnpilot.store import Store, sqlite_url
from lnpilot.store.alerts import Alert, AlertStatus, monitor_book
from lnpilot.store.outbox import Severity
from lnpilot.store.tokens import Scope, create_token

#: The rebalancer's part of the policy file (the fee part is the API tests').
REBALANCE = """
[rebalance]
min_amount_sat = 20_000
max_fee_ppm = 3_000
[rebalance.budget]
daily_sat = 20_000
monthly_sat = 100_000
earned_share_pct = 100
"""


@dataclass
class Live:
    sim: Sim
    store: Store
    services: Services
    app: object
    read_token: str
    admin_token: str
    node_id: int
    incident_id: int
    alert_id: int
    hub: str


async def _incident(store: Store, node_id: int, sim: Sim) -> tuple[int, int]:
    """A firing peer-offline alert on dave's channel and the incident the monitor opens for
    it, with its plan (disable, contact, close), through the monitor's own function."""
    now = sim.now
    alert = Alert(
        fingerprint="web-actions-dave",
        rule="peer_offline",
        severity=Severity.WARNING,
        status=AlertStatus.FIRING,
        labels={"alertname": "peer_offline", "scid": "800000x3x0", "node": "ours"},
        summary="peer dave offline for 30 min",
        active_since=now,
        last_seen_at=now,
        fired_at=now,
    )
    async with monitor_book(store, write=True) as book:
        [saved] = await book.save_alerts(node_id, [alert])
        incident_id = await open_or_update(book, node_id, saved, RuleKind.PEER_OFFLINE, now)
    assert incident_id is not None and saved.id is not None
    return incident_id, saved.id


def _settings(tmp: Path) -> Settings:
    """The API tests' settings, with a rebalancing table added to their policy file."""
    policy = tmp / "policy.toml"
    policy.write_text(POLICY + REBALANCE, encoding="utf-8")
    return Settings(
        lnbits={"url": "http://127.0.0.1:9"}, data_dir=tmp, service={"fees_policy_file": policy}
    )


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    async with live_node(tmp_path_factory.mktemp("web-actions")) as found:
        yield found


@asynccontextmanager
async def live_node(tmp: Path) -> AsyncIterator[Live]:
    """The live node of the module docstring, its store and policy file under ``tmp``."""
    async with running_sim(T0) as sim, await Store.open(sqlite_url(tmp)) as store:
        collector = sim.collector(store)
        node_id = (await collector.cycle()).node_id
        sim.traffic(20)
        sim.advance(timedelta(minutes=10))
        await collector.cycle()
        hub = _grow(sim)["hub"]  # after the traffic, which would take the hub's cheaper path
        async with store.transaction() as tx:
            _, read = await create_token(tx, "web-viewer", Scope.READ, T0)
            _, admin = await create_token(tx, "web-operator", Scope.ADMIN, T0)
        incident_id, alert_id = await _incident(store, node_id, sim)
        settings = _settings(tmp)
        services = Services(store=store, node=sim.lnd, settings=settings, clock=lambda: sim.now)
        try:
            yield Live(
                sim,
                store,
                services,
                create_app(services),
                read,
                admin,
                node_id,
                incident_id,
                alert_id,
                hub,
            )
        finally:
            await services.background.aclose()  # no backtest outlives the node
