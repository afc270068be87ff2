"""Payer implementations: their default fee limits and how much they care about fees."""

from __future__ import annotations

import pytest

from lnpilot.simnet.network import AttemptStatus
from lnpilot.simnet.scenario import ScenarioError, parse_scenario
from lnpilot.simnet.senders import CLN, LDK, LND, SenderProfile, profile_for
from lnpilot.simnet.simulation import Simulation


@pytest.mark.parametrize(
    ("profile", "amt_msat", "limit_msat"),
    [
        (LND, 1_000_000, 1_000_000),  # 100% up to 1,000 sat
        (LND, 1_000_001, 50_000),  # 5% above: 1_000_001 * 5 / 100 truncated
        (LND, 20_000_000, 1_000_000),
        (CLN, 20_000_000, 100_000),  # 0.5%
        (CLN, 100_000, 5_000),  # exemptfee 5,000 msat
        (LDK, 20_000_000, 250_000),  # 1% + 50 sat
        (LDK, 1_000, 50_010),
    ],
)
def test_default_fee_limits(profile: SenderProfile, amt_msat: int, limit_msat: int) -> None:
    assert profile.fee_limit_msat(amt_msat) == limit_msat


def test_profiles_follow_the_mix_and_are_stable() -> None:
    keys = [f"{i:066x}" for i in range(3000)]
    mix = {"lnd": 0.6, "cln": 0.2, "ldk": 0.2}
    drawn = [profile_for(k, mix).name for k in keys]
    assert drawn == [profile_for(k, mix).name for k in keys]
    assert 0.55 < drawn.count("lnd") / len(keys) < 0.65
    assert {profile_for(k, {"cln": 1.0}).name for k in keys} == {"cln"}


# A sender with two ways to the shop: one hop through "pricey" (2,000 ppm) or two hops
# through "cheap1" and "cheap2" at 0 ppm.
TWO_WAYS = """
[simulation]
our_node = "ours"

[demand]
sender_mix = {{ {mix} = 1.0 }}

[[nodes]]
name = "ours"
[[nodes]]
name = "payer"
[[nodes]]
name = "pricey"
[[nodes]]
name = "cheap1"
[[nodes]]
name = "cheap2"
[[nodes]]
name = "shop"

[[channels]]
a = "ours"
b = "payer"
capacity_sat = 1_000_000

[[channels]]
a = "payer"
b = "pricey"
capacity_sat = 10_000_000
a_balance_sat = 10_000_000
[[channels]]
a = "pricey"
b = "shop"
capacity_sat = 10_000_000
a_balance_sat = 10_000_000
policy_a = {{ base_fee_msat = 0, fee_rate_ppm = {pricey_ppm} }}

[[channels]]
a = "payer"
b = "cheap1"
capacity_sat = 10_000_000
a_balance_sat = 10_000_000
[[channels]]
a = "cheap1"
b = "cheap2"
capacity_sat = 10_000_000
a_balance_sat = 10_000_000
policy_a = {{ base_fee_msat = 0, fee_rate_ppm = 0 }}
[[channels]]
a = "cheap2"
b = "shop"
capacity_sat = 10_000_000
a_balance_sat = 10_000_000
policy_a = {{ base_fee_msat = 0, fee_rate_ppm = 0 }}

[dynamics]
fee_changes_per_node_per_day = 0
opens_per_day = 0
closes_per_day = 0
offline_mean_s = 0
"""


def _first_hop_alias(mix: str, pricey_ppm: int = 2_000) -> str | None:
    sim = Simulation(parse_scenario(TWO_WAYS.format(mix=f'"{mix}"', pricey_ppm=pricey_ppm)))
    outcome = sim.payer.pay(sim.resolve("payer", "t"), sim.resolve("shop", "t"), 20_000_000)
    route = outcome.route
    if route is None:
        return None
    chan = route.channels[0]
    other = chan.node2 if route.directions[0] == 0 else chan.node1
    return sim.network.nodes[other].alias


def test_lnd_pays_for_a_short_route_and_cln_ldk_save_the_fee() -> None:
    # LND: one more hop costs (100 sat + 20 sat) / 0.6 = 200 sat, the fee only 40 sat.
    assert _first_hop_alias("lnd") == "pricey"
    # Core Lightning and LDK charge a hop a few sat at most: the free route wins.
    assert _first_hop_alias("cln") == "cheap1"
    assert _first_hop_alias("ldk") == "cheap1"


def test_fee_limit_refuses_a_route_that_costs_too_much() -> None:
    # Only one way costs anything if the cheap way is cut: drain cheap1's channel.
    text = TWO_WAYS.replace(
        'a = "cheap1"\nb = "cheap2"\ncapacity_sat = 10_000_000\na_balance_sat = 10_000_000',
        'a = "cheap1"\nb = "cheap2"\ncapacity_sat = 10_000_000\na_balance_sat = 0',
    )
    for mix, paid in (("lnd", True), ("cln", False)):  # 2% fee: under 5%, over 0.5%
        sim = Simulation(parse_scenario(text.format(mix=f'"{mix}"', pricey_ppm=20_000)))
        payer, shop = sim.resolve("payer", "t"), sim.resolve("shop", "t")
        outcome = sim.payer.pay(payer, shop, 20_000_000)
        assert (outcome.status is AttemptStatus.SETTLED) is paid, mix


def test_unknown_profile_in_a_scenario_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"demand\.sender_mix.*unknown sender profile"):
        parse_scenario(TWO_WAYS.format(mix='"eclair"', pricey_ppm=1))


# Two ways of 60k sat each from the payer to the shop: 100k sat needs both.
TWO_SMALL_WAYS = """
[simulation]
our_node = "ours"

[[nodes]]
name = "ours"
[[nodes]]
name = "payer"
[[nodes]]
name = "left"
[[nodes]]
name = "shop"

[[channels]]
a = "payer"
b = "ours"
capacity_sat = 60_000
a_balance_sat = 60_000
policy_b = { base_fee_msat = 0, fee_rate_ppm = 0 }
[[channels]]
a = "ours"
b = "shop"
capacity_sat = 60_000
a_balance_sat = 60_000
policy_a = { base_fee_msat = 0, fee_rate_ppm = 0 }

[[channels]]
a = "payer"
b = "left"
capacity_sat = 60_000
a_balance_sat = 60_000
[[channels]]
a = "left"
b = "shop"
capacity_sat = 60_000
a_balance_sat = 60_000
policy_a = { base_fee_msat = 0, fee_rate_ppm = 0 }

[dynamics]
fee_changes_per_node_per_day = 0
opens_per_day = 0
closes_per_day = 0
offline_mean_s = 0
"""


def _shop_balance_msat(sim: Simulation) -> int:
    shop = sim.resolve("shop", "t")
    return sum(
        chan.balance_msat[chan.side_of(shop)]
        for chan in sim.network.channels.values()
        if shop in (chan.node1, chan.node2)
    )


def test_a_payment_no_route_carries_is_split_as_lnd_does() -> None:
    sim = Simulation(parse_scenario(TWO_SMALL_WAYS))
    before = _shop_balance_msat(sim)
    outcome = sim.payer.pay(sim.resolve("payer", "t"), sim.resolve("shop", "t"), 100_000_000)
    assert outcome.status is AttemptStatus.SETTLED
    assert len(outcome.parts) >= 2
    assert sum(part.amounts_msat[-1] for part in outcome.parts) == 100_000_000
    assert _shop_balance_msat(sim) - before == 100_000_000
    assert len(sim.our_node.forwards) >= 1  # one part crossed our node, and settled


def test_a_split_payment_that_cannot_complete_pays_nothing() -> None:
    sim = Simulation(parse_scenario(TWO_SMALL_WAYS))
    before = _shop_balance_msat(sim)
    outcome = sim.payer.pay(sim.resolve("payer", "t"), sim.resolve("shop", "t"), 130_000_000)
    assert outcome.status is AttemptStatus.FAILED
    assert not outcome.parts
    assert _shop_balance_msat(sim) == before  # locked parts were failed back
    assert not sim.our_node.forwards
    for chan in sim.network.channels.values():
        assert chan.in_flight_msat == [0, 0]
