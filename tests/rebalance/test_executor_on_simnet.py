"""Circular rebalances through the LND REST face of the simulated node: liquidity really
moves, fees are really paid (and never more than the limit), liquidity failures are retried
on smaller amounts, and no two rebalances touch one channel at once."""

from __future__ import annotations

import asyncio

import pytest

from lnpilot.base.domain import chan_id_from_scid
from lnpilot.lnbits import LNbitsClient
from lnpilot.node import CapabilityMissing, CompositeNode, LNbitsNode
from lnpilot.rebalance import (
    AttemptOutcome,
    RebalanceMode,
    RebalanceOutcome,
    Request,
    executor_for,
    parse_settings,
)
from lnpilot.store import Store, rebalances

from .conftest import DEFAULTS, SHOP, WALLET, Drain, Watched

SHOP_ID, WALLET_ID = chan_id_from_scid(SHOP), chan_id_from_scid(WALLET)
HUB2_SHOP_ID = chan_id_from_scid("800000x6x0")


async def test_a_drained_channel_is_refilled_through_the_circle(drain: Drain, store: Store) -> None:
    await drain.drained(store)
    shop_before, wallet_before = drain.local_msat(SHOP), drain.local_msat(WALLET)

    report = await drain.rebalancer(store, DEFAULTS).run(RebalanceMode.APPLY, trigger="auto")

    (done,) = report.executed
    execution = done.execution
    assert (execution.outcome, done.decision.order.source.scid) == (
        RebalanceOutcome.SUCCEEDED,
        WALLET,
    )  # type: ignore[union-attr]
    (attempt,) = execution.attempts
    assert attempt.route is not None
    hops = [h.chan_id for h in attempt.route.hops]
    assert (hops[0], hops[-1], len(hops)) == (WALLET_ID, SHOP_ID, 5)  # out, 3 hubs, back in
    # The liquidity moved, and the fee is what the simulated network charged.
    moved_msat, fee_msat = execution.moved_msat, execution.fee_paid_msat
    assert moved_msat == 800_000_000  # 20% of the shop channel's capacity
    assert drain.local_msat(SHOP) == shop_before + moved_msat
    assert drain.local_msat(WALLET) == wallet_before - moved_msat - fee_msat
    assert fee_msat == drain.our_payment_fees_msat() == 56_000  # 70 ppm
    assert fee_msat <= done.decision.order.fee_limit_msat  # type: ignore[union-attr]
    async with store.read() as reader:
        (journaled,) = await rebalances.executed(
            reader, report.node_id, drain.now.replace(year=2000)
        )
        (tried,) = await rebalances.attempts(reader, [journaled.id or 0])
    assert (journaled.outcome, journaled.moved_msat, journaled.fee_paid_msat) == (
        "succeeded",
        moved_msat,
        fee_msat,
    )
    assert [h["chan_id"] for h in tried.hops] == hops  # type: ignore[index]
    assert (tried.outcome, tried.fee_paid_msat, tried.route_fee_msat) == (
        "succeeded",
        fee_msat,
        fee_msat,
    )


async def test_a_fee_limit_below_the_route_is_never_paid(drain: Drain, store: Store) -> None:
    await drain.drained(store)
    rebalancer = drain.rebalancer(store, DEFAULTS)
    # The circle costs 70 ppm: at 30 ppm no route is found, down to the minimum amount.
    report = await rebalancer.run(
        RebalanceMode.APPLY, trigger="run", request=Request(chan_id=SHOP_ID, max_fee_ppm=30)
    )
    (done,) = report.executed
    assert done.execution.outcome is RebalanceOutcome.FAILED and done.execution.moved_msat == 0
    assert {a.outcome for a in done.execution.attempts} == {AttemptOutcome.NO_ROUTE}
    assert done.execution.failure == (
        "no route within the fee limit at 50,000 sat; gave up after 5 attempts"
    )
    assert [a.amount_msat for a in done.execution.attempts] == [
        800_000_000,
        400_000_000,
        200_000_000,
        100_000_000,
        50_000_000,
    ]
    assert drain.our_payment_fees_msat() == 0
    # Below the shop's own fee toward us (10 ppm) nothing is even tried.
    refused = await rebalancer.run(
        RebalanceMode.APPLY, trigger="run", request=Request(chan_id=SHOP_ID, max_fee_ppm=5)
    )
    assert refused.executed == ()
    assert refused.plan.decisions[0].reason == (
        "max fee 5 ppm below peer's inbound cost 10 ppm (source 800000x2x0)"
    )


async def test_a_liquidity_failure_is_retried_on_half_the_amount(
    drain: Drain, store: Store
) -> None:
    await drain.drained(store)
    # hub2 keeps 320k, of which its channel reserve (1%: 200k) may not be spent.
    drain.move("800000x6x0", "hub2", keep_sat=320_000)
    report = await drain.rebalancer(store, DEFAULTS).run(
        RebalanceMode.APPLY,
        trigger="run",
        request=Request(chan_id=SHOP_ID, amount_msat=400_000_000),
    )
    (done,) = report.executed
    execution = done.execution
    assert [(a.amount_msat, a.outcome) for a in execution.attempts] == [
        (400_000_000, AttemptOutcome.FAILED),
        (200_000_000, AttemptOutcome.FAILED),
        (100_000_000, AttemptOutcome.SUCCEEDED),
    ]
    first = execution.attempts[0]
    assert (first.failure, first.failure_source_index, first.failed_chan_id) == (
        "TEMPORARY_CHANNEL_FAILURE",
        3,
        HUB2_SHOP_ID,
    )
    assert (execution.outcome, execution.moved_msat) == (RebalanceOutcome.PARTIAL, 100_000_000)
    assert execution.fee_paid_msat == drain.our_payment_fees_msat() == 7_000


async def test_no_two_rebalances_touch_a_channel_at_once(drain: Drain, store: Store) -> None:
    await drain.drained(store)
    ask = Request(chan_id=SHOP_ID, amount_msat=100_000_000)
    async with Watched(drain.face.url, hold_s=0.3) as watched:
        ours = drain.rebalancer(store, DEFAULTS, watched)
        # Two runs of one rebalancer ask for the same rebalance: whichever comes second waits
        # for the channel lock, or, planning after the first took it, skips it as busy.
        both = asyncio.gather(
            ours.run(RebalanceMode.APPLY, trigger="run", request=ask),
            ours.run(RebalanceMode.APPLY, trigger="run", request=ask),
        )
        await watched.sending.wait()
        # Another process (its own rebalancer on the same store) sees the channels busy.
        other = await drain.rebalancer(store, DEFAULTS).run(RebalanceMode.APPLY, request=ask)
        first, second = await both
    assert other.executed == ()
    assert other.plan.decisions[0].reason == "a rebalance on this channel is already in flight"
    outcomes = [e.execution.outcome for e in (*first.executed, *second.executed)]
    assert outcomes in (
        [RebalanceOutcome.SUCCEEDED],
        [RebalanceOutcome.SUCCEEDED, RebalanceOutcome.SUCCEEDED],
    )
    if len(outcomes) == 1:  # the other one planned while the first held the channels
        skipped = first if not first.executed else second
        assert skipped.plan.decisions[0].reason == other.plan.decisions[0].reason
    assert watched.most_at_once == {SHOP_ID: 1, WALLET_ID: 1}


async def test_an_unanswered_htlc_is_not_retried_and_keeps_its_fee_committed(
    drain: Drain, store: Store
) -> None:
    await drain.drained(store)
    settings = parse_settings("[rebalance]\ntimeout_s = 1\n")
    async with Watched(drain.face.url, hold_s=30) as stalled:
        report = await drain.rebalancer(store, settings, stalled).run(
            RebalanceMode.APPLY, trigger="auto"
        )
    (done,) = report.executed
    (attempt,) = done.execution.attempts
    assert (done.execution.outcome, attempt.outcome) == (
        RebalanceOutcome.UNKNOWN,
        AttemptOutcome.UNKNOWN,
    )
    assert attempt.failure == "no answer within 1 s; the outcome is unknown"
    async with store.read() as reader:
        since = [drain.now.replace(hour=0, minute=0)]
        assert await rebalances.spending(reader, report.node_id, since) == [56_000]
    again = await drain.rebalancer(store, settings).run(RebalanceMode.APPLY, trigger="auto")
    assert again.executed == ()
    assert again.plan.decisions[0].reason == "a rebalance on this channel is already in flight"


async def test_lnbits_alone_has_no_channel_targeted_path() -> None:
    async with LNbitsClient("http://127.0.0.1:9", access_token="unused") as client:
        node = CompositeNode([LNbitsNode(client)])
        with pytest.raises(CapabilityMissing) as caught:
            executor_for(node, timeout_s=1, max_attempts=1)
    message = str(caught.value)
    assert "circular rebalancing (circular_rebalance)" in message
    assert "set [lnd] rest_url and macaroon" in message and "configured backend (lnbits)" in message
