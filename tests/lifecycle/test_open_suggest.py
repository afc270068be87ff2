"""``open suggest`` over the public graph read from the simulated node's LND face
(``GET /v1/graph``, as LND serves it): candidates not yet our peers, ranked with the parts
of their score, sized never below a channel worth its on-chain cost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lnpilot.base.domain import FailedForward
from lnpilot.lifecycle.open import OpenError, min_worth_sat, suggest, suggest_open
from lnpilot.simnet.model import Node, Policy
from lnpilot.simnet.secp256k1 import pubkey_of
from lnpilot.store import Store

from .conftest import Sim

DAVE = "800000x3x0"


def _grow(sim: Sim) -> dict[str, str]:
    """Two nodes we have no channel with: hub (cheap, reached by two of our peers, three
    channels) and lone (dear, one channel, to hub)."""
    added = {}
    with sim.lock:
        for key, name in ((91, "hub"), (92, "lone")):
            pubkey = pubkey_of(key).hex()
            sim.net.add_node(Node(pubkey, name, privkey=key, onchain_balance_sat=1_000_000))
            added[name] = pubkey
        for a, b, ppm in (("alice", "hub", 10), ("carol", "hub", 10), ("lone", "hub", 2000)):
            first = sim.nodes.get(a) or added[a]
            sim.net.add_channel(
                first, added[b], 2_000_000, 1_000_000_000, Policy(0, ppm), Policy(0, ppm)
            )
    return added


async def test_candidates_come_from_the_graph_with_their_parts(sim: Sim) -> None:
    added = _grow(sim)
    graph = await sim.lnd.describe_graph()
    assert {n.pubkey for n in graph.nodes} >= set(added.values()) | {sim.nodes["ours"]}
    assert len(graph.edges) == 6 + 3
    channels = await sim.lnd.list_channels()

    found = suggest(
        graph,
        sim.nodes["ours"],
        channels,
        sim.now,
        budget_sat=10_000_000,
        count=5,
        fee_rate_sat_per_vbyte=10,
    )
    assert [c.alias for c in found.candidates] == ["hub", "lone"]  # our peers are left out
    hub, lone = found.candidates
    assert (hub.num_channels, hub.peers_reaching, hub.median_fee_rate_ppm) == (3, 2, 10)
    assert hub.parts["reach"] == pytest.approx(1 - 2 / 6, abs=1e-4)
    assert lone.parts["fees"] == 0.0 and lone.parts["reach"] == 1.0
    assert hub.parts["unserved"] == hub.parts["flows"] == 0.0  # no demand given
    weights = {"unserved": 0.25, "flows": 0.15, "capacity": 0.15, "channels": 0.1}
    weights |= {"freshness": 0.1, "fees": 0.15, "reach": 0.1}
    assert hub.score == pytest.approx(sum(weights[k] * v for k, v in hub.parts.items()), abs=1e-3)
    assert hub.recommended_capacity_sat == 5_000_000 and hub.address

    # A budget for one channel worth its cost proposes one; below it, none, named.
    assert min_worth_sat(10) == 320_000
    one = suggest(
        graph,
        sim.nodes["ours"],
        channels,
        sim.now,
        budget_sat=400_000,
        count=3,
        fee_rate_sat_per_vbyte=10,
    )
    assert len(one.candidates) == 1 and one.candidates[0].recommended_capacity_sat == 400_000
    assert "gives 1 channel(s) worth their cost, not 3" in one.reasons[1]
    with pytest.raises(OpenError, match="below the smallest channel worth its on-chain cost"):
        suggest(
            graph,
            sim.nodes["ours"],
            channels,
            sim.now,
            budget_sat=300_000,
            count=1,
            fee_rate_sat_per_vbyte=10,
        )


async def test_unserved_demand_ranks_the_node_that_reaches_it_first(sim: Sim, store: Store) -> None:
    """Forwards failed for lack of liquidity toward dave: "near", dear and small but with a
    channel to dave, outranks hub, and is sized to the month's unserved amount."""
    added = _grow(sim)
    with sim.lock:
        near = pubkey_of(93).hex()
        sim.net.add_node(Node(near, "near", privkey=93, onchain_balance_sat=1_000_000))
        sim.net.add_channel(
            near, sim.nodes["dave"], 2_000_000, 1_000_000_000, Policy(0, 2000), Policy(0, 2000)
        )
    node_id = (await sim.collector(store).cycle()).node_id
    to_dave = next(c for c in await sim.lnd.list_channels() if c.scid == DAVE).chan_id
    failed = [
        FailedForward(sim.now - timedelta(hours=h), None, to_dave, None, 400_000_000, why)
        for h, why in ((1, "INSUFFICIENT_BALANCE"), (2, "INSUFFICIENT_BALANCE"))
    ]
    failed.append(  # a fee refusal is not demand for liquidity
        FailedForward(
            sim.now - timedelta(hours=3), None, to_dave, None, 9_000_000, "FEE_INSUFFICIENT"
        )
    )
    failed.append(  # older than the 30 days read
        FailedForward(
            sim.now - timedelta(days=31), None, to_dave, None, 7_000_000, "INSUFFICIENT_BALANCE"
        )
    )
    async with store.transaction() as tx:
        await tx.append_failed_forwards(node_id, failed)

    with sim.lock:
        sim.net.set_fee_rate(4)
    found = await suggest_open(sim.lnd, store, node_id, sim.now, budget_sat=9_000_000, count=3)
    # no rate given: the node's estimate (GET /v1/transactions/fee) prices the channels
    assert (found.fee_rate_sat_per_vbyte, found.min_worth_sat) == (4, 128_000)
    assert found.fee_rate_source == "the node's estimate for 6 blocks"
    first, second, _ = found.candidates
    assert (first.pubkey, second.pubkey) == (near, added["hub"])
    assert first.parts["unserved"] == 1.0 and second.parts["unserved"] == 0.0
    assert first.unserved_reached_msat == 800_000_000
    assert first.recommended_capacity_sat == 800_000  # the month's unserved amount
    assert second.recommended_capacity_sat == 3_000_000  # its share of the budget
    assert "800,000 sat of forwards failed for lack of liquidity" in found.reasons[-1]
