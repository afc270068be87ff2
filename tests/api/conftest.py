"""API fixtures: the simulated network's node (through its real LND REST face) collected into a
fresh SQLite store, the app over it, and a read and an admin token. ``api_on_each_store`` is the
same over the store tests' databases: SQLite, and PostgreSQL when asked (see store/conftest.py).

The clock is the simulation's: reads, audit entries and the health registry all use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from collect.conftest import T0, Sim, running_sim
from lnpilot.api.app import create_app
from lnpilot.config import Settings
from lnpilot.service import Services
from lnpilot.store import Store, sqlite_url
from lnpilot.store.tokens import Scope, create_token
from store.conftest import database_url, store

__all__ = ["database_url", "store"]

POLICY = """
[safety]
max_step_pct = 1000
max_step_floor_ppm = 100000
max_base_step_msat = 100000
min_interval = "1s"
hysteresis_pct = 0
hysteresis_ppm = 0

[[rule]]
name = "default"
strategy = "static"
static.fee_rate_ppm = 321
"""


@dataclass
class Api:
    sim: Sim
    store: Store
    services: Services
    http: httpx.AsyncClient
    read_token: str
    admin_token: str

    def auth(self, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token if admin else self.read_token}"}


def settings_for(tmp_path: Path, **sections: dict[str, object]) -> Settings:
    policy = tmp_path / "fees.toml"
    policy.write_text(POLICY, encoding="utf-8")
    service = {"fees_policy_file": str(policy), **sections.pop("service", {})}
    return Settings(
        lnbits={"url": "http://127.0.0.1:9"}, data_dir=tmp_path, service=service, **sections
    )


async def collected(sim: Sim, store: Store) -> None:
    """Two collector cycles around 20 payments through our node, 30 s apart."""
    collector = sim.collector(store)
    await collector.run_once()
    sim.traffic(20)
    sim.advance(timedelta(minutes=10))
    await collector.run_once()


@asynccontextmanager
async def serving(sim: Sim, store: Store, tmp_path: Path) -> AsyncIterator[Api]:
    """The app over ``store`` (collected from ``sim``) with a read and an admin token."""
    await collected(sim, store)
    async with store.transaction() as tx:
        _, read = await create_token(tx, "viewer", Scope.READ, T0)
        _, admin = await create_token(tx, "operator", Scope.ADMIN, T0)
    services = Services(
        store=store, node=sim.lnd, settings=settings_for(tmp_path), clock=lambda: sim.now
    )
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://lnpilot") as http:
        try:
            yield Api(sim, store, services, http, read, admin)
        finally:
            await services.background.aclose()  # no backtest outlives its app


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with (
        running_sim(T0) as sim,
        await Store.open(sqlite_url(tmp_path)) as opened,
        serving(sim, opened, tmp_path) as served,
    ):
        yield served


@pytest.fixture
async def api_on_each_store(store: Store, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_sim(T0) as sim, serving(sim, store, tmp_path) as served:
        yield served
