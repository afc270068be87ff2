"""The open procedure on the simulated node through its LND face: planned with its checks,
dry run, then connect → open → (confirmation) → policy set → agreement stored, read back."""

from __future__ import annotations

import pytest

from lnpilot.lifecycle.open import OPEN_VBYTES, OpenError, OpenTerms, plan_open, run_open
from lnpilot.node.backend import NodeError
from lnpilot.store import Store, lifecycle

from .conftest import Sim
from .test_open_suggest import _grow


async def test_open_sets_the_agreed_policy_and_stores_the_agreement(sim: Sim, store: Store) -> None:
    hub = _grow(sim)["hub"]
    node_id = (await sim.collector(store).cycle()).node_id
    terms = OpenTerms(
        fee_rate_ppm=250,
        base_fee_msat=0,
        cltv_delta=80,
        min_htlc_msat=5_000,
        remote_reserve_sat=10_000,
        name="hub",
        contact="ops@hub.example",
    )
    for peer, capacity, words in (
        ("zz", 500_000, "is not a node pubkey"),
        (hub, 10_000, "below LND's minimum of 20,000"),
        (hub, 50_000_000, "above the wallet's confirmed"),
        ("02" + "ab" * 32, 500_000, "not in the public graph: give its address"),
        (hub, 40_000, "reserve 10,000 sat asked of the peer: give 354 to 8,000 sat"),
    ):
        with pytest.raises(OpenError, match=words):
            await plan_open(
                sim.lnd, store, node_id, peer, capacity, by="op", now=sim.now, terms=terms
            )

    # The LND face refuses what LND refuses, should a caller skip the plan's check.
    with pytest.raises(NodeError, match="below 20% of the capacity"):
        await sim.lnd.open_channel(hub, 40_000, remote_reserve_sat=20_000)

    plan = await plan_open(
        sim.lnd,
        store,
        node_id,
        hub,
        500_000,
        by="op",
        now=sim.now,
        terms=terms,
        address="hub.example:9735",
        sat_per_vbyte=3,
    )
    assert plan.id is not None
    dry = await run_open(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now)
    assert [s.outcome for s in dry.steps] == ["dry_run"]
    funded_at = sim.now
    first = await run_open(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert [(s.step, s.outcome) for s in first.steps] == [
        ("connect", "done"),
        ("open", "done"),
        ("policy", "waiting"),
    ]
    again = await run_open(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert [(s.step, s.outcome) for s in again.steps] == [("policy", "waiting")]  # not twice
    for _ in range(10):
        sim.mine()
    done = await run_open(sim.lnd, store, plan.id, by="op", clock=lambda: sim.now, apply=True)
    assert [(s.step, s.outcome) for s in done.steps] == [("policy", "done"), ("agreement", "done")]
    assert done.finished
    assert "asking the peer a reserve of 10,000 sat" in first.steps[1].reason
    assert done.steps[0].reason.endswith("the peer's reserve reads back as asked: 10,000 sat")

    point = done.plan.result["channel_point"]
    [channel] = [c for c in await sim.lnd.list_channels() if c.channel_point == point]
    [read] = await sim.lnd.get_policies([channel])
    assert read.local_policy is not None
    assert (read.local_policy.fee_rate_ppm, read.local_policy.cltv_delta) == (250, 80)
    assert read.local_policy.min_htlc_msat == 5_000
    assert (channel.remote_reserve_sat, channel.local_reserve_sat) == (10_000, 5_000)
    async with store.read() as reader:
        [agreement] = await lifecycle.agreements(reader, node_id, str(point))
    assert (agreement.name, agreement.contact) == ("hub", "ops@hub.example")
    assert agreement.terms == {
        "fee_rate_ppm": 250,
        "base_fee_msat": 0,
        "cltv_delta": 80,
        "min_htlc_msat": 5_000,
        "remote_reserve_sat": 10_000,
    }
    async with store.read() as reader:
        costs = await lifecycle.onchain_costs(reader, node_id)
    assert [(c.chan_id, c.fee_sat) for c in costs] == [(channel.chan_id, 3 * OPEN_VBYTES)]
    assert costs[0].at == funded_at, "dated when the funding was sent, not when it confirmed"
