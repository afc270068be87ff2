"""``open suggest`` over the public graph read from the simulated node's LND face
(``GET /v1/graph``, as LND serves it): candidates not yet our peers, ranked with the parts
of their score, sized never below a channel worth its on-chain cost."""

from __future__ import annotations

import pytest

from lnpilot.lifecycle.open import OpenError, min_worth_sat, suggest
from lnpilot.simnet.model import Node, Policy
from lnpilot.simnet.secp256k1 import pubkey_of

from .conftest import Sim


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
    assert hub.score == pytest.approx(
        sum(
            {"capacity": 0.25, "channels": 0.2, "freshness": 0.15, "fees": 0.2, "reach": 0.2}[k] * v
            for k, v in hub.parts.items()
        ),
        abs=1e-3,
    )
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
    assert "gives 1 channel(s) worth their cost, not 3" in one.reasons[-1]
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
