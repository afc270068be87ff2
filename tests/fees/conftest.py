"""A simulated node served as LND REST, a real LNbits on top of it, and a store.

bob is ours, with channels to alice, carol and erin (1M sat each, split evenly, 100 ppm
out, no inbound fee). The network's time zero is the Unix epoch and its clock is set to
now, so the times LND shows are real ones. Session-scoped (LNbits takes seconds to start):
each test that changes fees puts back what it changed, or uses its own channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from lnpilot.devtools import (
    LNbitsServer,
    LndRestFunding,
)
from lnpilot.lnbits import LNbitsClient, TransportSettings
from lnpilot.node import CompositeNode, LNbitsNode, LndRest
from lnpilot.simnet.lnd_rest import FaceServer, serve
from lnpilot.simnet.our_node import ChannelView
from lnpilot.simnet.scenario import parse_scenario
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import Store, sqlite_url
from real_lnbits import lnbits_for_tests

MACAROON = "0201036c6e64" + "fe" * 26

SCENARIO = """
[simulation]
our_node = "bob"
seed = 5
start = 1970-01-01T00:00:00Z

[[nodes]]
name = "alice"
[[nodes]]
name = "bob"
[[nodes]]
name = "carol"
[[nodes]]
name = "erin"

[[channels]]
a = "bob"
b = "alice"
capacity_sat = 1_000_000
scid = "800000x1x0"
policy_a = { base_fee_msat = 1000, fee_rate_ppm = 100 }
policy_b = { base_fee_msat = 1000, fee_rate_ppm = 400 }

[[channels]]
a = "bob"
b = "carol"
capacity_sat = 1_000_000
scid = "800000x2x0"
policy_a = { base_fee_msat = 1000, fee_rate_ppm = 100 }
policy_b = { base_fee_msat = 1000, fee_rate_ppm = 400 }

[[channels]]
a = "bob"
b = "erin"
capacity_sat = 1_000_000
scid = "800000x3x0"
policy_a = { base_fee_msat = 1000, fee_rate_ppm = 100 }
policy_b = { base_fee_msat = 1000, fee_rate_ppm = 400 }
"""


@dataclass
class World:
    sim: Simulation
    lock: threading.RLock
    face: FaceServer

    def view(self, scid: str) -> ChannelView:
        with self.lock:
            return next(v for v in self.sim.our_node.channels() if v.scid == scid)


@contextmanager
def served(scenario: str, macaroon: str) -> Iterator[World]:
    """A scenario's simulation, its clock set to now, served as LND REST until exit."""
    sim = Simulation(parse_scenario(scenario))
    sim.network.now_ns = time.time_ns()
    lock = threading.RLock()
    face = serve(sim.our_node, macaroon, lock=lock)
    try:
        yield World(sim, lock, face)
    finally:
        face.stop()


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    with served(SCENARIO, MACAROON) as served_world:
        yield served_world


@pytest.fixture(scope="session")
def lnbits_on_simnet(world: World) -> Iterator[LNbitsServer]:
    with lnbits_for_tests(LNbitsServer(funding=LndRestFunding(world.face.url, MACAROON))) as server:
        yield server


@pytest.fixture
async def lnd(world: World) -> AsyncIterator[LndRest]:
    backend = LndRest(world.face.url, MACAROON)
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture
async def lnbits(lnbits_on_simnet: LNbitsServer) -> AsyncIterator[LNbitsNode]:
    su = lnbits_on_simnet.superuser
    async with LNbitsClient(
        lnbits_on_simnet.url,
        username=su.username,
        password=su.password,
        settings=TransportSettings(cache_ttl_s=0),
    ) as client:
        yield LNbitsNode(client)


@pytest.fixture
def lnbits_only(lnbits: LNbitsNode) -> CompositeNode:
    return CompositeNode([lnbits])


@pytest.fixture
def lnd_and_lnbits(lnd: LndRest, lnbits: LNbitsNode) -> CompositeNode:
    return CompositeNode([lnd, lnbits])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(sqlite_url(tmp_path)) as opened:
        yield opened
