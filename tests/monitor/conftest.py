"""Alert engine fixtures: a fresh SQLite store per test, and a simulated network whose
node lnpilot reads through its real LND REST face, at a virtual time the test moves.

`Sim.collect` stands in for the collector (a later issue schedules the real one): it reads
the node through the `LndRest` backend and writes one cycle with the store's own writes,
then rolls up, as the collector's cycle does.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lnpilot.node import LndRest
from lnpilot.simnet.lnd_rest import FaceServer, serve
from lnpilot.simnet.model import Channel, Node, Policy
from lnpilot.simnet.network import AttemptStatus, NetworkConfig, SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of
from lnpilot.store import CollectorState, Store, sqlite_url

MACAROON = "0201036c6e6402f801030a10" + "d4" * 24
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(sqlite_url(tmp_path)) as opened:
        yield opened


@dataclass
class Sim:
    """alice ─ ours ─ carol, ours ─ erin; the clock starts at T0 and moves with `advance`."""

    net: SimNetwork
    lock: threading.RLock
    nodes: dict[str, str]
    chans: dict[str, Channel]
    face: FaceServer
    lnd: LndRest
    now: datetime = T0

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        with self.lock:
            self.net.now_ns = (self.now - EPOCH) // timedelta(microseconds=1) * 1000
        return self.now

    def pay(self, src: str, dst: str, amt_sat: int) -> bool:
        with self.lock:
            outcome = Payer(self.net).pay(self.nodes[src], self.nodes[dst], amt_sat * 1000)
        return outcome.status is AttemptStatus.SETTLED

    async def collect(self, store: Store) -> int:
        """One collector cycle at `now`; returns the node's id in the store."""
        info = await self.lnd.get_info()
        channels = await self.lnd.get_policies(await self.lnd.list_channels())
        closed = await self.lnd.list_closed_channels()
        peers = await self.lnd.list_peers()
        forwards, _ = await self.lnd.forwarding_history(max_events=50_000)
        async with store.transaction() as tx:
            node_id = await tx.upsert_node(info, self.now)
            await tx.record_channels(node_id, channels, self.now)
            await tx.record_closed_channels(node_id, closed, self.now)
            await tx.record_peers(node_id, peers, self.now)
            await tx.append_forwards(node_id, forwards)
            await tx.save_collector_state(node_id, CollectorState(len(forwards), self.now))
        await store.rollup([node_id])
        return node_id


def _build() -> tuple[SimNetwork, dict[str, str], dict[str, Channel]]:
    net = SimNetwork(seed=11, config=NetworkConfig(start=EPOCH))
    nodes: dict[str, str] = {}
    for key, name in enumerate(("alice", "ours", "carol", "erin"), start=41):
        pubkey = pubkey_of(key).hex()
        net.add_node(Node(pubkey, name, privkey=key, onchain_balance_sat=5_000_000))
        nodes[name] = pubkey
    chans = {}
    for scid, (a, b) in {
        "800000x1x0": ("alice", "ours"),
        "800000x2x0": ("ours", "carol"),
        "800000x3x0": ("ours", "erin"),
    }.items():
        chans[f"{a}-{b}"] = net.add_channel(
            nodes[a],
            nodes[b],
            1_000_000,
            500_000_000,
            Policy(1000, 100, max_htlc_msat=990_000_000),
            Policy(1000, 100, max_htlc_msat=990_000_000),
            scid=scid,
        )
    return net, nodes, chans


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    net, nodes, chans = _build()
    lock = threading.RLock()
    face = serve(OurNode(net, Payer(net), nodes["ours"]), MACAROON, lock=lock)
    try:
        async with LndRest(face.url, MACAROON) as lnd:
            world = Sim(net, lock, nodes, chans, face, lnd)
            world.advance(timedelta(0))
            yield world
    finally:
        face.stop()
