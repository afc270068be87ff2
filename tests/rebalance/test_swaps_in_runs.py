"""Rebalancing runs that choose a swap: the node is the simulated drain scenario (channels,
flows, earnings), the swaps go to the real Boltz 1.1.0 extension in a real LNbits with the
stand-in backend. Pinned: a swap waits for an approval in apply mode, is created once per
plan step, keeps its channel busy while open, and its cost counts in the budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from lnpilot.base.domain import chan_id_from_scid
from lnpilot.devtools import LNbitsServer, WalletKeys
from lnpilot.devtools.boltz_backend import BoltzBackend
from lnpilot.devtools.clients import client_factory
from lnpilot.devtools.waiting import eventually
from lnpilot.lnbits import LNbitsClient
from lnpilot.rebalance import RebalanceMode, Rebalancer, Request, parse_settings
from lnpilot.rebalance.swaps import SwapDesk
from lnpilot.store import Store, rebalances
from lnpilot.store import swaps as journal

from .conftest import SHOP, WALLET, Drain

SHOP_ID = chan_id_from_scid(SHOP)
REFUND_ADDRESS = "bcrt1qq09wgpk83fvzjdwuamvch03tjd76f0xfasze0z"
SETTINGS = parse_settings(
    f"""
[rebalance.budget]
daily_sat = 100000
monthly_sat = 1000000
earned_share_pct = 100
[rebalance.swap]
enabled = true
refund_address = "{REFUND_ADDRESS}"
funding_feerate_sat_vb = 1
funding_vbytes = 50
"""
)
#: 60,000 sat at an operator's 50,000 ppm: circular may cost 3,000 sat, the swap costs
#: Boltz 60 + miners 1,360 + funding 50 = 1,470 sat.
REQUEST = Request(chan_id=SHOP_ID, amount_msat=60_000_000, max_fee_ppm=50_000)
SWAP_COST_MSAT = 1_470_000


@pytest.fixture
async def boltz_client(
    ext_server: LNbitsServer, ext_wallet: object, boltz_backend: BoltzBackend
) -> AsyncIterator[LNbitsClient]:
    keys = ext_wallet(0)  # type: ignore[operator]
    assert isinstance(keys, WalletKeys)
    async with client_factory(ext_server.url) as build:
        yield build(keys)


async def _earning(drain: Drain, store: Store) -> None:
    """A week of traffic recorded (the earnings share must cover a swap's miner fee), then
    the shop channel drained and the wallet one full, as in ``Drain.drained``."""
    drain.advance(timedelta(days=7))
    await drain.collector(store).cycle()
    drain.move(SHOP, "ours", keep_sat=400_000)
    drain.move(WALLET, "ours", keep_sat=5_400_000)


async def test_a_swap_waits_for_approval_is_made_once_and_counts_in_the_budget(
    drain: Drain,
    store: Store,
    boltz_client: LNbitsClient,
    boltz_backend: BoltzBackend,
) -> None:
    await _earning(drain, store)
    desk = SwapDesk(boltz_client, store, clock=lambda: drain.now)
    rebalancer = Rebalancer(drain.lnd, store, SETTINGS, clock=lambda: drain.now, swap_desk=desk)

    unapproved = await rebalancer.run(RebalanceMode.APPLY, trigger="run", request=REQUEST)
    (planned,) = unapproved.plan.swap_orders
    assert (planned.amount_sat, planned.cost_msat) == (60_000, SWAP_COST_MSAT)
    assert unapproved.swaps == () and unapproved.executed == ()
    assert await boltz_client.boltz.swaps() == []
    async with store.read() as reader:
        decisions = await rebalances.run_decisions(reader, unapproved.run_id)
    shop = next(d for d in decisions if d.chan_id == SHOP_ID)
    assert shop.outcome == "needs_approval" and shop.detail["method"] == "swap_in"

    approved = await rebalancer.run(
        RebalanceMode.APPLY, trigger="run", request=REQUEST, approved_by="alice"
    )
    (started,) = approved.swaps
    swap = started.swap
    assert (swap.state, swap.chan_id, swap.approved_by, swap.cost_msat) == (
        "created",
        SHOP_ID,
        "alice",
        SWAP_COST_MSAT,
    )
    assert [s.id for s in await boltz_client.boltz.swaps()] == [swap.swap_id]
    async with store.read() as reader:
        decisions = await rebalances.run_decisions(reader, approved.run_id)
    shop = next(d for d in decisions if d.chan_id == SHOP_ID)
    assert shop.outcome == "swap_created" and swap.intent_key == f"rebalance:{shop.id}"

    # While the swap is open the channel is busy, and its cost is spent.
    again = await rebalancer.run(
        RebalanceMode.APPLY, trigger="run", request=REQUEST, approved_by="alice"
    )
    assert again.swaps == () and "already in flight" in again.plan.decisions[0].reason
    async with store.read() as reader:
        (latest, *_) = await rebalances.runs(reader, again.node_id)
    assert latest.detail["spent_day_msat"] == SWAP_COST_MSAT
    assert len(await boltz_client.boltz.swaps()) == 1

    assert swap.boltz_id is not None
    boltz_backend.pay_submarine_invoice(swap.boltz_id)

    async def claimed() -> bool | None:
        await desk.follow()
        async with store.read() as reader:
            return True if not await journal.open_swaps(reader) else None

    await eventually(claimed, "the swap to be claimed")
    freed = await rebalancer.run(RebalanceMode.DRY_RUN, trigger="plan", request=REQUEST)
    assert "already in flight" not in freed.plan.decisions[0].reason


async def test_without_a_refund_address_no_swap_is_chosen(
    drain: Drain, store: Store, boltz_client: LNbitsClient
) -> None:
    await _earning(drain, store)
    no_refund = parse_settings(
        "[rebalance.budget]\ndaily_sat = 100000\nearned_share_pct = 100\n"
        "[rebalance.swap]\nenabled = true\n"
    )
    desk = SwapDesk(boltz_client, store, clock=lambda: drain.now)
    rebalancer = Rebalancer(drain.lnd, store, no_refund, clock=lambda: drain.now, swap_desk=desk)
    report = await rebalancer.run(RebalanceMode.DRY_RUN, trigger="plan", request=REQUEST)
    shop = report.plan.decisions[0]
    assert shop.swap is None and shop.detail["method"] == "circular"
    swap_in = next(m for m in shop.detail["methods"] if m["method"] == "swap_in")  # type: ignore[union-attr, index]
    assert "refund_address is not set" in swap_in["reason"]  # type: ignore[index]
