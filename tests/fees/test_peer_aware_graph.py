"""peer_aware against the public graph: the fees other nodes charge toward our peer, read
through the LND backend from a simulated network, are what the strategy compares with.

carol is bob's (our) peer, and also alice's (300 ppm toward carol), dave's (500 ppm) and
erin's (20 ppm, but disabled: it carries nothing, so it is no competition). bob has a
second channel to carol at 150 ppm. frank has no channel at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from lnpilot.base.domain import Capability
from lnpilot.fees import evaluate
from lnpilot.fees.gather import gather
from lnpilot.fees.policy import parse_policy
from lnpilot.node import CapabilityMissing, CompositeNode, LndRest
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import Store

from .conftest import MACAROON, World, served

SCENARIO = """
[simulation]
our_node = "bob"
seed = 11
start = 1970-01-01T00:00:00Z

[[nodes]]
name = "alice"
[[nodes]]
name = "bob"
[[nodes]]
name = "carol"
[[nodes]]
name = "dave"
[[nodes]]
name = "erin"
[[nodes]]
name = "frank"

[[channels]]
a = "bob"
b = "carol"
capacity_sat = 1_000_000
scid = "800000x1x0"
policy_a = { base_fee_msat = 1000, fee_rate_ppm = 100 }

[[channels]]
a = "bob"
b = "carol"
capacity_sat = 1_000_000
scid = "800000x2x0"
policy_a = { base_fee_msat = 1000, fee_rate_ppm = 150 }

[[channels]]
a = "alice"
b = "carol"
capacity_sat = 2_000_000
scid = "800000x3x0"
policy_a = { base_fee_msat = 0, fee_rate_ppm = 300 }
policy_b = { base_fee_msat = 0, fee_rate_ppm = 7 }

[[channels]]
a = "carol"
b = "dave"
capacity_sat = 2_000_000
scid = "800000x4x0"
policy_a = { base_fee_msat = 0, fee_rate_ppm = 9 }
policy_b = { base_fee_msat = 0, fee_rate_ppm = 500 }

[[channels]]
a = "erin"
b = "carol"
capacity_sat = 2_000_000
scid = "800000x5x0"
policy_a = { base_fee_msat = 0, fee_rate_ppm = 20, disabled = true }
"""

PEER_AWARE = """
[safety]
max_step_pct = 1000
max_step_floor_ppm = 10000
min_interval = "1s"

[[rule]]
name = "default"
strategy = "peer_aware"
"""


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with served(SCENARIO, MACAROON) as served_world:
        yield served_world


def pubkey(sim: Simulation, name: str) -> str:
    return next(n.pubkey for n in sim.network.nodes.values() if n.alias == name)


async def test_the_graph_gives_each_channel_s_direction_toward_the_node(
    world: World, lnd: LndRest
) -> None:
    sim = world.sim
    toward = await lnd.policies_toward(pubkey(sim, "carol"))
    by_scid = {sim.network.channels[chan_id].scid: p for chan_id, p in toward.items()}
    assert {scid: p.fee_rate_ppm for scid, p in by_scid.items()} == {
        "800000x1x0": 100,
        "800000x2x0": 150,
        "800000x3x0": 300,
        "800000x4x0": 500,
        "800000x5x0": 20,
    }
    assert by_scid["800000x5x0"].disabled and not by_scid["800000x3x0"].disabled
    assert await lnd.policies_toward(pubkey(sim, "frank")) == {}  # in the graph, no channel
    assert await lnd.policies_toward("02" + "ee" * 32) == {}  # not in the graph at all


async def test_peer_aware_compares_with_the_enabled_rivals_and_our_other_channel(
    lnd: LndRest, store: Store
) -> None:
    gathered = await gather(lnd, store, parse_policy(PEER_AWARE), datetime.now(UTC))
    rates = {c.channel.scid: sorted(c.peer_fee_rates_ppm) for c in gathered.inputs.channels}
    # each of our channels sees the other one, alice and dave; erin's is disabled
    assert rates == {"800000x1x0": [150, 300, 500], "800000x2x0": [100, 300, 500]}

    report = await evaluate(lnd, store, parse_policy(PEER_AWARE), datetime.now(UTC))
    reasons = {r.decision.scid: r.decision.reason for r in report.results}
    assert "median of 3 other channel(s) toward the peer is 300 ppm" in reasons["800000x1x0"]
    assert "median of 3 other channel(s) toward the peer is 300 ppm" in reasons["800000x2x0"]


async def test_without_peer_aware_the_graph_is_not_read(lnd: LndRest, store: Store) -> None:
    static = parse_policy('[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 90\n')
    gathered = await gather(lnd, store, static, datetime.now(UTC))
    # only our own other channel: what the gatherer knows without the graph
    rates = {c.channel.scid: c.peer_fee_rates_ppm for c in gathered.inputs.channels}
    assert rates == {"800000x1x0": (150,), "800000x2x0": (100,)}


async def test_a_backend_without_the_graph_falls_back_to_our_own_channels(
    lnd: LndRest, store: Store
) -> None:
    # LND without its graph capability stands for LNbits, whose node API has no graph
    no_graph = LndRest(lnd.url, MACAROON)
    no_graph.capabilities = lnd.capabilities - {Capability.READ_GRAPH}
    try:
        with pytest.raises(
            CapabilityMissing, match=r"their fees\) \(read_graph\), which no configured backend"
        ):
            await CompositeNode([no_graph]).policies_toward("02" + "ee" * 32)
        gathered = await gather(no_graph, store, parse_policy(PEER_AWARE), datetime.now(UTC))
    finally:
        await no_graph.aclose()
    rates = {c.channel.scid: c.peer_fee_rates_ppm for c in gathered.inputs.channels}
    assert rates == {"800000x1x0": (150,), "800000x2x0": (100,)}
