"""Both backends on the same simulated node, held to the same answers where both can give them.

`lnd` is LndRest straight on the node's LND REST face; `lnbits` is LNbitsNode through a
real LNbits 1.6.2 whose funding source is that same face. The expected values come from
the simulation itself, never from the other backend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from lnpilot.base.domain import Channel, ChannelState, PolicyUpdate
from lnpilot.node import NodeBackend
from lnpilot.node.backend import CapabilityMissing, NodeError
from lnpilot.simnet.network import FUNDING_TX_VBYTES

from .conftest import World

_T = TypeVar("_T")
WAIT_S = 20.0

BACKENDS = [pytest.param("lnd"), pytest.param("lnbits", marks=pytest.mark.lnbits)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> NodeBackend:
    node: NodeBackend = request.getfixturevalue(request.param)
    return node


async def eventually(probe: Callable[[], Awaitable[_T | None]], what: str) -> _T:
    """Poll `probe` until it returns something (LNbits closes channels in the background)."""
    deadline = time.monotonic() + WAIT_S
    while (result := await probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
    return result


def _by_point(channels: list[Channel], point: str) -> Channel | None:
    return next((c for c in channels if c.channel_point == point), None)


async def test_info_is_our_node(world: World, backend: NodeBackend) -> None:
    info = await backend.get_info()
    assert (info.pubkey, info.alias) == (world.nodes["bob"], "bob")
    assert info.block_height == world.net.chain.block_height
    assert info.num_peers == len(world.ours.peers())


async def test_channels_are_the_simulated_ones(world: World, backend: NodeBackend) -> None:
    listed = {c.channel_point: c for c in await backend.list_channels()}
    views = world.ours.channels()
    assert set(listed) == {v.channel_point for v in views}
    for view in views:
        chan = listed[view.channel_point]
        assert (chan.scid, chan.chan_id) == (view.scid, view.chan_id)
        assert chan.peer_pubkey == view.remote_pubkey
        assert chan.capacity_sat == view.capacity_sat
        # LND lists balances in whole sat, so both backends round down to the sat.
        assert chan.local_balance_msat == view.local_balance_msat // 1000 * 1000
        assert chan.remote_balance_msat == view.remote_balance_msat // 1000 * 1000
        assert chan.state is (ChannelState.ACTIVE if view.active else ChannelState.INACTIVE)
        assert chan.opened_at_height == int(view.scid.split("x")[0])


async def test_peers_are_the_connected_ones(world: World, backend: NodeBackend) -> None:
    assert {p.pubkey for p in await backend.list_peers()} == {p.pubkey for p in world.ours.peers()}


async def test_onchain_balance(world: World, backend: NodeBackend) -> None:
    balance = await backend.onchain_balance()
    assert (balance.total_sat, balance.confirmed_sat) == world.ours.wallet_balance()


async def test_outbound_fee_update_reads_back(world: World, backend: NodeBackend) -> None:
    """Both fee fields, then one alone: the other keeps its value on either backend."""
    chan = next(c for c in await backend.list_channels() if c.scid == "800000x1x0")
    sim_chan = world.chan("alice", "bob")
    sim_policy = sim_chan.policies[sim_chan.side_of(world.nodes["bob"])]
    await backend.update_policy(chan, PolicyUpdate(base_fee_msat=1234, fee_rate_ppm=321))
    (read,) = await backend.get_policies([chan])
    assert read.local_policy is not None
    assert (read.local_policy.base_fee_msat, read.local_policy.fee_rate_ppm) == (1234, 321)
    assert (sim_policy.base_fee_msat, sim_policy.fee_rate_ppm) == (1234, 321)

    await backend.update_policy(chan, PolicyUpdate(fee_rate_ppm=99))
    (read,) = await backend.get_policies([chan])
    assert read.local_policy is not None
    assert (read.local_policy.base_fee_msat, read.local_policy.fee_rate_ppm) == (1234, 99)
    assert (sim_policy.base_fee_msat, sim_policy.fee_rate_ppm) == (1234, 99)


async def test_fee_estimate_is_the_chains_rate(world: World, lnd: NodeBackend) -> None:
    """LND prices a funding output at the chain's fee rate; LNbits' node API has no call."""
    with world.lock:
        rate = world.net.chain.fee_rate_sat_per_vbyte
    estimate = await lnd.estimate_fee(100_000, target_conf=3)
    assert (estimate.sat_per_vbyte, estimate.target_conf) == (rate, 3)
    assert estimate.fee_sat == FUNDING_TX_VBYTES * rate
    with pytest.raises(NodeError, match="insufficient funds"):
        await lnd.estimate_fee(10**15)


@pytest.mark.lnbits
async def test_lnbits_has_no_fee_estimate(lnbits: NodeBackend) -> None:
    with pytest.raises(CapabilityMissing, match="on-chain fee estimates"):
        await lnbits.estimate_fee(100_000)


async def test_channel_opened_is_pending_then_active(world: World, backend: NodeBackend) -> None:
    """Each backend opens its own channel to dave (a peer nothing else uses)."""
    point = await backend.open_channel(world.nodes["dave"], 300_000, push_amount_sat=2_000)
    pending = _by_point(await backend.list_pending_channels(), point)
    assert pending is not None and pending.state is ChannelState.PENDING_OPEN
    assert (pending.peer_pubkey, pending.capacity_sat) == (world.nodes["dave"], 300_000)
    assert pending.scid is None
    world.mine(world.net.config.open_confirmations)
    active = _by_point(await backend.list_channels(), point)
    assert active is not None and active.state is ChannelState.ACTIVE
    assert active.local_balance_msat == 298_000_000
    assert _by_point(await backend.list_pending_channels(), point) is None


async def test_channel_closed_is_pending_close_then_closed(
    world: World, backend: NodeBackend
) -> None:
    """A channel to frank opened for this test alone, closed through the backend."""
    with world.lock:
        sim_chan = world.ours.open_channel(world.nodes["frank"], 200_000)
    world.mine(world.net.config.open_confirmations)
    chan = _by_point(await backend.list_channels(), sim_chan.channel_point)
    assert chan is not None

    await backend.close_channel(chan)

    async def closing() -> Channel | None:
        return _by_point(await backend.list_pending_channels(), chan.channel_point)

    pending = await eventually(closing, "the channel to show as closing")
    assert pending.state is ChannelState.PENDING_CLOSE
    assert _by_point(await backend.list_channels(), chan.channel_point) is None
    world.mine(1)
    closed = {c.channel_point: c for c in await backend.list_closed_channels()}
    assert closed[chan.channel_point].scid == chan.scid
    assert closed[chan.channel_point].capacity_sat == 200_000
    assert closed[chan.channel_point].peer_pubkey == world.nodes["frank"]
    assert _by_point(await backend.list_pending_channels(), chan.channel_point) is None


async def test_peer_connected_then_disconnected(world: World, backend: NodeBackend) -> None:
    frank = world.nodes["frank"]
    with world.lock:
        if frank in {p.pubkey for p in world.ours.peers()}:
            world.ours.disconnect_peer(frank)
    await backend.connect_peer(frank, "frank.simnet.invalid:9735")
    assert frank in {p.pubkey for p in await backend.list_peers()}
    await backend.disconnect_peer(frank)
    assert frank not in {p.pubkey for p in await backend.list_peers()}
