"""A simulated network with our node's LND REST face, and a real LNbits on top of it.

alice ─ bob (ours) ─ carol ─ frank, bob ─ erin, carol ─ alice (a circle through us for
rebalancing); dave has no channel yet. Channels hold 1M sat, split evenly. The network's
time zero is the Unix epoch and its clock is set to now, so LND's Unix times are real ones.

Everything is session-scoped: LNbits takes seconds to start. Tests that change the network
use channels and peers no other test depends on, and say so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from lnpilot.devtools import (
    LNbitsServer,
    LndRestFunding,
)
from lnpilot.lnbits import LNbitsClient, TransportSettings
from lnpilot.node import LNbitsNode, LndRest
from lnpilot.simnet.lnd_rest import FaceServer, serve
from lnpilot.simnet.model import Channel, Node, Policy
from lnpilot.simnet.network import NetworkConfig, SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of
from real_lnbits import lnbits_for_tests

MACAROON = "0201036c6e6402f801030a10" + "c3" * 24

CHANNELS = {
    "800000x1x0": ("alice", "bob"),
    "800000x2x0": ("bob", "carol"),
    "800000x3x0": ("carol", "frank"),
    "800000x4x0": ("bob", "erin"),
    "800000x5x0": ("carol", "alice"),
}


@dataclass
class World:
    """The simulation and its LND REST face; mutate the network only under `lock`."""

    net: SimNetwork
    payer: Payer
    ours: OurNode
    lock: threading.RLock
    nodes: dict[str, str]
    chans: dict[str, Channel]
    face: FaceServer

    def mine(self, blocks: int = 1) -> None:
        with self.lock:
            for _ in range(blocks):
                self.net.mine_block()

    def chan(self, a: str, b: str) -> Channel:
        return self.chans.get(f"{a}-{b}") or self.chans[f"{b}-{a}"]


def _network() -> tuple[SimNetwork, dict[str, str], dict[str, Channel]]:
    net = SimNetwork(seed=7, config=NetworkConfig(start=datetime(1970, 1, 1, tzinfo=UTC)))
    net.now_ns = time.time_ns()
    nodes: dict[str, str] = {}
    for key, name in enumerate(("alice", "bob", "carol", "dave", "erin", "frank"), start=21):
        pubkey = pubkey_of(key).hex()
        net.add_node(Node(pubkey, name, privkey=key, onchain_balance_sat=10_000_000))
        nodes[name] = pubkey
    chans: dict[str, Channel] = {}
    for scid, (a, b) in CHANNELS.items():
        chans[f"{a}-{b}"] = net.add_channel(
            nodes[a],
            nodes[b],
            1_000_000,
            500_000_000,
            Policy(1000, 100, max_htlc_msat=990_000_000),
            Policy(2000, 500, max_htlc_msat=990_000_000),
            scid=scid,
        )
    return net, nodes, chans


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    net, nodes, chans = _network()
    payer = Payer(net)
    ours = OurNode(net, payer, nodes["bob"])
    lock = threading.RLock()
    face = serve(ours, MACAROON, lock=lock)
    try:
        yield World(net, payer, ours, lock, nodes, chans, face)
    finally:
        face.stop()


@pytest.fixture(scope="session")
async def lnd(world: World) -> AsyncIterator[LndRest]:
    async with LndRest(world.face.url, MACAROON) as backend:
        yield backend


@pytest.fixture(scope="session")
def lnbits_on_simnet(world: World) -> Iterator[LNbitsServer]:
    """A real LNbits 1.6.2 whose funding source (LndRestWallet) is our node's face."""
    with lnbits_for_tests(LNbitsServer(funding=LndRestFunding(world.face.url, MACAROON))) as server:
        yield server


@pytest.fixture(scope="session")
async def lnbits(lnbits_on_simnet: LNbitsServer) -> AsyncIterator[LNbitsNode]:
    """LNbitsNode as the superuser; no read cache, since tests change the network under it."""
    su = lnbits_on_simnet.superuser
    async with LNbitsClient(
        lnbits_on_simnet.url,
        username=su.username,
        password=su.password,
        settings=TransportSettings(cache_ttl_s=0),
    ) as client:
        yield LNbitsNode(client)
