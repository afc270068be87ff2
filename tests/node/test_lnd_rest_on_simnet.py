"""What only the direct LND REST backend can do, on the simulated node's LND REST face.

Traffic is made by simulated senders (a fresh `Payer` each time, so no test inherits
another's mission control); the node's records in the simulation are the expected values.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from lnpilot.base.domain import Channel, FailedForward, Forward, PolicyUpdate
from lnpilot.node import LndRest, LndRestError
from lnpilot.node.lnd_json import DOWNSTREAM_FAILURE
from lnpilot.simnet.lnd_rest import FaceServer, create_app, serve
from lnpilot.simnet.model import Channel as SimChannel
from lnpilot.simnet.model import Policy
from lnpilot.simnet.payments import Payer, PaymentOutcome

from .conftest import MACAROON, World

_T = TypeVar("_T")
WAIT_S = 10.0


async def eventually(probe: Callable[[], Awaitable[_T | None]], what: str) -> _T:
    deadline = time.monotonic() + WAIT_S
    while (result := await probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return result


def pay(world: World, src: str, dst: str, amt_sat: int) -> PaymentOutcome:
    """A spontaneous payment between simulated nodes, routed by a fresh sender, made now.

    The simulation's clock moves only when told to; it is set to the wall clock so that
    event times compare with times taken here.
    """
    with world.lock:
        world.net.now_ns = max(world.net.now_ns, time.time_ns())
        return Payer(world.net).pay(world.nodes[src], world.nodes[dst], amt_sat * 1000)


def our_policy(world: World, a: str, b: str) -> Policy:
    chan = world.chan(a, b)
    return chan.policies[chan.side_of(world.nodes["bob"])]


@contextmanager
def drained(world: World, chan: SimChannel, owner: str, keep_sat: int) -> Iterator[None]:
    """`owner`'s side of `chan` holds only `keep_sat` for a while (moved to the other side)."""
    side = chan.side_of(world.nodes[owner])
    with world.lock:
        moved = chan.balance_msat[side] - keep_sat * 1000
        chan.balance_msat[side] -= moved
        chan.balance_msat[1 - side] += moved
    try:
        yield
    finally:
        with world.lock:
            chan.balance_msat[side] += moved
            chan.balance_msat[1 - side] -= moved


async def channel(lnd: LndRest, scid: str) -> Channel:
    return next(c for c in await lnd.list_channels() if c.scid == scid)


async def test_forwards_appear_after_traffic_and_page_by_index(world: World, lnd: LndRest) -> None:
    _, start = await lnd.forwarding_history(max_events=50_000)
    for amt_sat in (10_000, 20_000, 30_000):
        assert pay(world, "erin", "carol", amt_sat).attempts  # erin → bob → carol
    pages: list[Forward] = []
    offset = start
    while True:
        page, offset = await lnd.forwarding_history(index_offset=offset, max_events=2)
        if not page:
            break
        pages += page
    expected = world.ours.forwards[start:]
    assert len(pages) == len(expected) == 3
    for got, sim in zip(pages, expected, strict=True):
        assert (got.chan_id_in, got.chan_id_out) == (sim.chan_id_in, sim.chan_id_out)
        assert (got.amt_in_msat, got.amt_out_msat, got.fee_msat) == (
            sim.amt_in_msat,
            sim.amt_out_msat,
            sim.fee_msat,
        )
        assert got.fee_msat > 0 and got.timestamp.tzinfo is UTC
    assert [f.amt_out_msat for f in pages] == [10_000_000, 20_000_000, 30_000_000]
    assert offset == start + 3


async def test_failed_forwards_carry_their_reason(world: World, lnd: LndRest) -> None:
    await lnd.start()

    async def subscribed() -> datetime | None:
        return lnd.htlc_events_since

    since = await eventually(subscribed, "the HTLC event subscription")
    bob_carol, carol_frank = world.chan("bob", "carol"), world.chan("carol", "frank")
    with drained(world, bob_carol, "bob", keep_sat=20_000):
        pay(world, "erin", "carol", 100_000)  # bob cannot pass it on: refused here
    with drained(world, carol_frank, "carol", keep_sat=20_000):
        pay(world, "erin", "frank", 100_000)  # bob passes it on, carol fails it

    def of_kind(failed: list[FailedForward], failure: str) -> list[FailedForward]:
        return [f for f in failed if f.failure == failure]

    async def both() -> list[FailedForward] | None:
        failed = await lnd.failed_forwards(since)
        kinds = of_kind(failed, "INSUFFICIENT_BALANCE"), of_kind(failed, DOWNSTREAM_FAILURE)
        return failed if all(kinds) else None

    failed = await eventually(both, "a refused and a downstream-failed forward")
    refused = of_kind(failed, "INSUFFICIENT_BALANCE")[0]
    assert refused.for_lack_of_liquidity
    assert (refused.chan_id_in, refused.chan_id_out) == (
        world.chan("bob", "erin").chan_id,
        bob_carol.chan_id,
    )
    assert refused.amt_out_msat == 100_000_000 and refused.amt_in_msat is not None
    assert refused.amt_in_msat > refused.amt_out_msat
    downstream = of_kind(failed, DOWNSTREAM_FAILURE)[0]
    assert downstream.chan_id_in == world.chan("bob", "erin").chan_id
    assert downstream.amt_out_msat is not None and downstream.amt_out_msat > 100_000_000
    assert all(f.timestamp >= since for f in failed)


async def test_inbound_fee_set_read_back_and_kept_by_other_updates(
    world: World, lnd: LndRest
) -> None:
    chan = await channel(lnd, "800000x4x0")  # bob-erin
    await lnd.update_policy(
        chan, PolicyUpdate(inbound_base_fee_msat=-500, inbound_fee_rate_ppm=-40)
    )
    (read,) = await lnd.get_policies([chan])
    assert read.local_policy is not None
    assert (read.local_policy.inbound_base_fee_msat, read.local_policy.inbound_fee_rate_ppm) == (
        -500,
        -40,
    )
    await lnd.update_policy(chan, PolicyUpdate(base_fee_msat=700, fee_rate_ppm=70))
    (read,) = await lnd.get_policies([chan])
    assert read.local_policy is not None
    assert (read.local_policy.base_fee_msat, read.local_policy.fee_rate_ppm) == (700, 70)
    assert (read.local_policy.inbound_base_fee_msat, read.local_policy.inbound_fee_rate_ppm) == (
        -500,
        -40,
    )
    sim = our_policy(world, "bob", "erin")
    assert (sim.inbound_base_fee_msat, sim.inbound_fee_rate_ppm) == (-500, -40)


async def test_htlc_limits_and_cltv_set_and_kept(world: World, lnd: LndRest) -> None:
    chan = await channel(lnd, "800000x4x0")
    limits = PolicyUpdate(min_htlc_msat=5_000, max_htlc_msat=400_000_000, cltv_delta=144)
    await lnd.update_policy(chan, limits)
    await lnd.update_policy(chan, PolicyUpdate(fee_rate_ppm=75))
    (read,) = await lnd.get_policies([chan])
    policy = read.local_policy
    assert policy is not None
    assert (policy.min_htlc_msat, policy.max_htlc_msat, policy.cltv_delta) == (
        5_000,
        400_000_000,
        144,
    )
    assert policy.fee_rate_ppm == 75
    remote = read.remote_policy
    assert remote is not None and remote.base_fee_msat != policy.base_fee_msat
    sim = our_policy(world, "bob", "erin")
    assert (sim.min_htlc_msat, sim.max_htlc_msat, sim.cltv_delta) == (5_000, 400_000_000, 144)


async def test_policy_update_refused_by_lnd_raises(lnd: LndRest) -> None:
    chan = await channel(lnd, "800000x4x0")
    with pytest.raises(LndRestError, match="too small"):
        await lnd.update_policy(chan, PolicyUpdate(cltv_delta=5))
    with pytest.raises(ValueError, match="changes nothing"):
        await lnd.update_policy(chan, PolicyUpdate())


async def test_disable_then_enable(world: World, lnd: LndRest) -> None:
    chan = await channel(lnd, "800000x4x0")
    await lnd.set_channel_enabled(chan, False)
    (read,) = await lnd.get_policies([chan])
    assert read.local_policy is not None and read.local_policy.disabled
    assert our_policy(world, "bob", "erin").disabled
    await lnd.set_channel_enabled(chan, True)
    (read,) = await lnd.get_policies([chan])
    assert read.local_policy is not None and not read.local_policy.disabled


async def test_backup_is_the_nodes_multi_channel_backup(world: World, lnd: LndRest) -> None:
    backup = await lnd.export_backup()
    with world.lock:
        singles = world.ours.channel_backup()
        expected = world.ours.multi_channel_backup(singles)
    assert backup.multi_chan_backup == expected
    assert backup.channel_points == tuple(singles)
    assert await lnd.verify_backup(backup.multi_chan_backup) == backup.channel_points


async def test_verify_refuses_a_corrupted_or_truncated_backup(lnd: LndRest) -> None:
    blob = bytearray((await lnd.export_backup()).multi_chan_backup)
    blob[len(blob) // 2] ^= 0x01
    with pytest.raises(LndRestError, match="invalid multi channel backup") as caught:
        await lnd.verify_backup(bytes(blob))
    assert caught.value.status == 500
    with pytest.raises(LndRestError, match="invalid multi channel backup"):
        await lnd.verify_backup(bytes(blob[:-1]))


async def test_circular_rebalance_by_built_route(world: World, lnd: LndRest) -> None:
    """bob → carol → alice → bob, paying an invoice of bob's own: liquidity moves."""
    bob_carol, alice_bob = world.chan("bob", "carol"), world.chan("alice", "bob")
    bob = world.nodes["bob"]
    with world.lock:
        invoice = world.ours.add_invoice(40_000_000, "rebalance")
        before = (
            bob_carol.balance_msat[bob_carol.side_of(bob)],
            alice_bob.balance_msat[alice_bob.side_of(bob)],
        )
    route = await lnd.build_route(
        40_000_000,
        [world.nodes["carol"], world.nodes["alice"], bob],
        outgoing_chan_id=bob_carol.chan_id,
        payment_addr=invoice.payment_addr.hex(),
    )
    assert [h.chan_id for h in route.hops] == [
        bob_carol.chan_id,
        world.chan("carol", "alice").chan_id,
        alice_bob.chan_id,
    ]
    assert route.hops[-1].amt_to_forward_msat == 40_000_000 and route.total_fees_msat > 0
    assert route.payment_addr == invoice.payment_addr.hex()

    attempt = await lnd.send_to_route(invoice.payment_hash, route)

    assert attempt.succeeded and attempt.preimage is not None
    assert hashlib.sha256(bytes.fromhex(attempt.preimage)).hexdigest() == invoice.payment_hash
    with world.lock:
        after = (
            bob_carol.balance_msat[bob_carol.side_of(bob)],
            alice_bob.balance_msat[alice_bob.side_of(bob)],
        )
    assert after[0] == before[0] - route.total_amt_msat
    assert after[1] == before[1] + 40_000_000


async def test_own_invoice_is_settled_by_a_circular_route(world: World, lnd: LndRest) -> None:
    """The invoice comes from the node through REST, as the rebalancer makes it."""
    invoice = await lnd.create_own_invoice(25_000_000, memo="rebalance", expiry_s=600)
    with world.lock:
        stored = world.ours.lookup_invoice(invoice.payment_hash)
    assert (stored.value_msat, stored.payment_addr.hex()) == (25_000_000, invoice.payment_addr)
    assert stored.payment_request == invoice.payment_request
    route = await lnd.build_route(
        25_000_000,
        [world.nodes["carol"], world.nodes["alice"], world.nodes["bob"]],
        outgoing_chan_id=world.chan("bob", "carol").chan_id,
        payment_addr=invoice.payment_addr,
    )
    attempt = await lnd.send_to_route(invoice.payment_hash, route)
    assert attempt.succeeded and attempt.preimage is not None
    assert hashlib.sha256(bytes.fromhex(attempt.preimage)).hexdigest() == invoice.payment_hash
    with pytest.raises(ValueError, match="positive"):
        await lnd.create_own_invoice(0)


async def test_route_through_a_drained_channel_fails_at_that_hop(
    world: World, lnd: LndRest
) -> None:
    carol_alice = world.chan("carol", "alice")
    with world.lock:
        invoice = world.ours.add_invoice(30_000_000, "rebalance")
    route = await lnd.build_route(
        30_000_000,
        [world.nodes["carol"], world.nodes["alice"], world.nodes["bob"]],
        outgoing_chan_id=world.chan("bob", "carol").chan_id,
        payment_addr=invoice.payment_addr.hex(),
    )
    with drained(world, carol_alice, "carol", keep_sat=20_000):
        attempt = await lnd.send_to_route(invoice.payment_hash, route)
    assert not attempt.succeeded and attempt.preimage is None
    assert (attempt.failure, attempt.failure_source_index) == ("TEMPORARY_CHANNEL_FAILURE", 1)


async def test_query_routes_to_a_distant_node(world: World, lnd: LndRest) -> None:
    bob_carol = world.chan("bob", "carol")
    routes = await lnd.query_routes(
        world.nodes["frank"], 50_000_000, outgoing_chan_ids=[bob_carol.chan_id]
    )
    (route,) = routes
    assert [h.pubkey for h in route.hops] == [world.nodes["carol"], world.nodes["frank"]]
    assert route.hops[0].chan_id == bob_carol.chan_id
    assert route.hops[-1].amt_to_forward_msat == 50_000_000
    assert route.total_amt_msat == 50_000_000 + route.total_fees_msat


async def test_close_returns_the_closing_txid(world: World, lnd: LndRest) -> None:
    with world.lock:
        sim_chan = world.ours.open_channel(world.nodes["dave"], 150_000)
    world.mine(world.net.config.open_confirmations)
    chan = next(c for c in await lnd.list_channels() if c.channel_point == sim_chan.channel_point)
    txid = await lnd.close_channel(chan, force=True)
    assert txid == sim_chan.closing_txid and txid
    world.mine(1)
    closed = {c.channel_point: c for c in await lnd.list_closed_channels()}
    summary = closed[chan.channel_point]
    assert (summary.close_type.value, summary.close_initiator.value) == ("local_force", "local")
    assert summary.closing_txid == txid and summary.close_height is not None


async def test_wrong_macaroon_is_refused_without_leaking_either(world: World) -> None:
    wrong = "0201036c6e64" + "99" * 30
    async with LndRest(world.face.url, wrong) as other:
        with pytest.raises(LndRestError) as caught:
            await other.get_info()
        assert caught.value.status == 403
        assert wrong not in repr(other)
    for text in (str(caught.value), repr(caught.value)):
        assert wrong not in text and MACAROON not in text


async def test_unreachable_node_is_an_lnd_rest_error() -> None:
    async with LndRest("http://127.0.0.1:9", MACAROON, timeout_s=2) as gone:
        with pytest.raises(LndRestError) as caught:
            await gone.list_channels()
    assert caught.value.status is None and "ConnectError" in str(caught.value)


def test_bad_settings_are_refused_before_any_call() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        LndRest("127.0.0.1:8080", MACAROON)
    with pytest.raises(ValueError, match="hex"):
        LndRest("http://127.0.0.1:8080", "not-hex")


async def test_htlc_event_reader_reconnects_after_the_node_goes_away(world: World) -> None:
    """A face of its own, stopped and served again on the same port: listening resumes."""
    first = serve(world.ours, MACAROON, lock=world.lock)
    async with LndRest(first.url, MACAROON) as lnd:
        await lnd.start()

        async def subscribed() -> datetime | None:
            return lnd.htlc_events_since

        before = await eventually(subscribed, "the first subscription")
        first.stop()

        async def lost() -> bool | None:
            return True if lnd.htlc_events_since is None else None

        await eventually(lost, "the reader to notice the stream is gone")
        app = create_app(world.ours, MACAROON, lock=world.lock)
        with FaceServer(app, first.host, first.port):
            after = await eventually(subscribed, "the reader to subscribe again")
            assert after > before
            with drained(world, world.chan("bob", "carol"), "bob", keep_sat=20_000):
                pay(world, "erin", "carol", 100_000)

            async def refused() -> list[FailedForward] | None:
                return await lnd.failed_forwards(after) or None

            assert (await eventually(refused, "a failed forward"))[0].failure == (
                "INSUFFICIENT_BALANCE"
            )
