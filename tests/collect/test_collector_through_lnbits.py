"""The collector through a real LNbits 1.6.2 whose funding source is the simulated node's LND
face: alone (LNbits' node API: channels, peers, our fees, closes without their type) and
composed with the direct LND connection (everything, forwards included).

The network is shared by the module (LNbits takes seconds to start); each test uses its own
store and the clock follows the wall clock, as LNbits expects.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from lnpilot.base.domain import Capability, ChannelState, PolicyUpdate
from lnpilot.collect import Collector
from lnpilot.devtools import (
    LNbitsServer,
    LndRestFunding,
)
from lnpilot.lnbits import LNbitsClient, TransportSettings
from lnpilot.node import CompositeNode, LNbitsNode
from lnpilot.store import EventKind, Store
from real_lnbits import lnbits_for_tests

from .conftest import EPOCH, MACAROON, Sim, running_sim

pytestmark = pytest.mark.lnbits


@dataclass
class World:
    sim: Sim
    lnbits: LNbitsNode

    def tick(self) -> None:
        """Bring the simulation's clock to now (LNbits and the collector read real time)."""
        with self.sim.lock:
            self.sim.net.now_ns = max(self.sim.net.now_ns + 1000, time.time_ns())


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    async with running_sim(datetime.now(UTC)) as sim:
        server = LNbitsServer(funding=LndRestFunding(sim.face.url, MACAROON))
        with lnbits_for_tests(server):
            su = server.superuser
            async with LNbitsClient(
                server.url,
                username=su.username,
                password=su.password,
                settings=TransportSettings(cache_ttl_s=0),
            ) as client:
                yield World(sim, LNbitsNode(client))


async def test_through_lnbits_alone(world: World, store: Store) -> None:
    sim = world.sim
    collector = Collector(world.lnbits, store)
    world.tick()
    first = await collector.cycle()
    assert first.first and (first.channels, first.peers) == (6, 6)
    assert first.missing == {
        Capability.READ_POLICIES,
        Capability.READ_FORWARDS,
        Capability.READ_FAILED_FORWARDS,
    }
    async with store.read() as reader:
        channels = {c.scid: c for c in await reader.channels(first.node_id)}
    assert set(channels) == set(sim.chans)
    carol = channels["800000x2x0"]
    assert carol.local_policy is not None and carol.local_policy.fee_rate_ppm == 100
    assert carol.local_policy.inbound_fee_rate_ppm is None  # LNbits does not show it
    assert carol.remote_policy is None

    gina, dave = sim.nodes["gina"], sim.chans["800000x3x0"]
    [ours] = [c for c in await sim.lnd.list_channels() if c.scid == "800000x1x0"]
    await sim.lnd.update_policy(ours, PolicyUpdate(fee_rate_ppm=333))  # someone else, on LND
    with sim.lock:
        sim.net.set_online(gina, False)
        sim.ours.close_channel(dave.channel_point)
    world.tick()
    changed = await collector.cycle()
    assert sorted((e.kind, e.payload.get("scid") or e.peer_pubkey) for e in changed.events) == [
        (EventKind.CHANNEL_CLOSING, "800000x3x0"),
        (EventKind.CHANNEL_INACTIVE, "800000x6x0"),
        (EventKind.OUR_POLICY_CHANGED, "800000x1x0"),
        (EventKind.PEER_DISCONNECTED, gina),
    ]
    [policy] = [e for e in changed.events if e.kind == EventKind.OUR_POLICY_CHANGED]
    assert policy.payload["changes"] == {"fee_rate_ppm": [100, 333]}

    sim.mine()
    with sim.lock:
        sim.net.set_online(gina, True)
    world.tick()
    closed = await collector.cycle()
    assert sorted(e.kind for e in closed.events) == [
        EventKind.CHANNEL_ACTIVE,
        EventKind.CHANNEL_CLOSED,
        EventKind.PEER_RECONNECTED,
    ]
    [event] = [e for e in closed.events if e.kind == EventKind.CHANNEL_CLOSED]
    assert (event.chan_id, event.payload["close_type"]) == (dave.chan_id, "unknown")
    async with store.read() as reader:
        assert {c.scid for c in await reader.closed_channels(closed.node_id)} == {"800000x3x0"}
        states = {c.scid: c.state for c in await reader.channels(closed.node_id)}
    assert set(states.values()) == {ChannelState.ACTIVE} and "800000x3x0" not in states


async def test_through_lnbits_and_lnd_together(world: World, store: Store) -> None:
    sim = world.sim
    node = CompositeNode([sim.lnd, world.lnbits])
    collector = Collector(node, store)
    world.tick()
    first = await collector.cycle()
    sim.traffic(3, every=timedelta(milliseconds=1))
    world.tick()
    report = await collector.cycle()
    assert report.missing == frozenset()
    assert report.forwards_new == 3
    assert report.forward_index == first.forward_index + 3 == len(sim.ours.forwards)
    async with store.read() as reader:
        stored = await reader.forwards(report.node_id, EPOCH, datetime.now(UTC) + timedelta(1))
        policies = await reader.current_policies(report.node_id)
    assert [f.timestamp_ns for f in stored] == [f.timestamp_ns for f in sim.ours.forwards]
    assert len(policies) == 2 * report.channels  # both directions, through LND
