"""Collector fixtures: a simulated network whose node lnpilot reads through its real LND REST
face, and a store per test — SQLite, and PostgreSQL too when ``CI=true`` (the store tests'
own database fixtures, imported below, so both suites run on the same databases).

The network: alice ─ ours ─ carol carries the traffic (alice pays carol through us); dave,
erin, frank and gina each have one channel with us for a test to close or take offline.
The clock is virtual: it starts at ``start`` and moves only with ``Sim.advance``, and the
collector stamps its cycles with it.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from lnpilot.collect import Collector
from lnpilot.node import LndRest
from lnpilot.simnet.lnd_rest import FaceServer, serve
from lnpilot.simnet.model import Channel, Node, Policy
from lnpilot.simnet.network import AttemptStatus, NetworkConfig, SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of
from lnpilot.store import Store
from store.conftest import database_url, store

__all__ = ["database_url", "store"]

MACAROON = "0201036c6e6402f801030a10" + "e5" * 24
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NAMES = ("alice", "ours", "carol", "dave", "erin", "frank", "gina")
#: scid -> (node1, node2); the opener is node1, so frank opened his channel with us.
CHANNELS = {
    "800000x1x0": ("alice", "ours"),
    "800000x2x0": ("ours", "carol"),
    "800000x3x0": ("ours", "dave"),
    "800000x4x0": ("ours", "erin"),
    "800000x5x0": ("frank", "ours"),
    "800000x6x0": ("ours", "gina"),
}


def build_network(start: datetime) -> tuple[SimNetwork, dict[str, str], dict[str, Channel]]:
    """The network above, 1M sat channels split evenly, its clock at ``start``."""
    net = SimNetwork(seed=5, config=NetworkConfig(start=EPOCH))
    net.now_ns = (start - EPOCH) // timedelta(microseconds=1) * 1000
    nodes: dict[str, str] = {}
    for key, name in enumerate(NAMES, start=61):
        pubkey = pubkey_of(key).hex()
        net.add_node(Node(pubkey, name, privkey=key, onchain_balance_sat=5_000_000))
        nodes[name] = pubkey
    chans = {}
    for scid, (a, b) in CHANNELS.items():
        chans[scid] = net.add_channel(
            nodes[a],
            nodes[b],
            1_000_000,
            500_000_000,
            Policy(1000, 100, max_htlc_msat=990_000_000),
            Policy(1000, 100, max_htlc_msat=990_000_000),
            scid=scid,
            opener=nodes[a],
        )
    return net, nodes, chans


@dataclass
class Sim:
    """The network, our node and its face; change the network only under ``lock``."""

    net: SimNetwork
    payer: Payer
    ours: OurNode
    lock: threading.RLock
    nodes: dict[str, str]
    chans: dict[str, Channel]
    face: FaceServer
    lnd: LndRest

    @property
    def now(self) -> datetime:
        return self.net.now()

    def advance(self, delta: timedelta) -> datetime:
        with self.lock:
            self.net.now_ns += delta // timedelta(microseconds=1) * 1000
        return self.now

    def pay(self, src: str, dst: str, amt_sat: int) -> None:
        """One payment; it must settle (the tests count the forwards it makes)."""
        with self.lock:
            outcome = self.payer.pay(self.nodes[src], self.nodes[dst], amt_sat * 1000)
        assert outcome.status is AttemptStatus.SETTLED, outcome.failure_reason

    def traffic(self, payments: int, every: timedelta = timedelta(seconds=30)) -> None:
        """Payments from alice to carol through us, ``every`` apart (both ways in turn)."""
        for n in range(payments):
            self.advance(every)
            self.pay(*(("alice", "carol") if n % 2 == 0 else ("carol", "alice")), 1_000 + n)

    def mine(self, blocks: int = 1) -> None:
        with self.lock:
            for _ in range(blocks):
                self.net.mine_block()

    def stop_face(self) -> None:
        self.face.stop()

    def restart_face(self) -> None:
        """Serve the face again on the same port: the same URL works again."""
        self.face = serve(self.ours, MACAROON, port=self.face.port, lock=self.lock)

    def collector(self, on: Store, **options: int) -> Collector:
        return Collector(self.lnd, on, clock=lambda: self.now, **options)


@asynccontextmanager
async def running_sim(start: datetime) -> AsyncIterator[Sim]:
    """The network with its clock at ``start``, our node's face serving, an LndRest on it."""
    net, nodes, chans = build_network(start)
    payer = Payer(net)
    ours = OurNode(net, payer, nodes["ours"])
    lock = threading.RLock()
    face = serve(ours, MACAROON, lock=lock)
    world = None
    try:
        async with LndRest(face.url, MACAROON, timeout_s=5) as lnd:
            world = Sim(net, payer, ours, lock, nodes, chans, face, lnd)
            yield world
    finally:
        (world.face if world is not None else face).stop()


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_sim(T0) as world:
        yield world
