"""Route choice: cheapest by fee and probability, limits respected, both searches agree."""

from __future__ import annotations

import pytest
from simnet_helpers import make_node, policy

from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.routing import NoRouteError, SearchLimits, path_from_tree, search_tree
from lnpilot.simnet.tree_engine import TreeEngine


def diamond(cheap_ppm: int = 10, dear_ppm: int = 2000) -> tuple[SimNetwork, list[str]]:
    """s → (x | y) → t, same capacities; x is cheap, y is dear."""
    net = SimNetwork(seed=3)
    s, x, y, t = (make_node(net, k, a) for k, a in ((11, "s"), (12, "x"), (13, "y"), (14, "t")))
    half = 1_000_000_000
    net.add_channel(s, x, 2_000_000, half, policy(), policy(), scid="700001x1x0")
    net.add_channel(s, y, 2_000_000, half, policy(), policy(), scid="700001x2x0")
    net.add_channel(
        x, t, 2_000_000, half, policy(fee_rate_ppm=cheap_ppm), policy(), scid="700001x3x0"
    )
    net.add_channel(
        y, t, 2_000_000, half, policy(fee_rate_ppm=dear_ppm), policy(), scid="700001x4x0"
    )
    return net, [s, x, y, t]


def hops(route_nodes: list[str], net: SimNetwork, source: str, dest: str, amt: int) -> list[str]:
    tree = search_tree(net.in_edges, net.online, dest, amt, source)
    path = path_from_tree(tree.next_edge, source, dest)
    assert path is not None
    return [c.node2 if d == 0 else c.node1 for c, d in path]


def test_cheapest_path_wins() -> None:
    net, (s, x, _y, t) = diamond()
    assert hops([], net, s, t, 100_000_000) == [x, t]


def test_disabled_cheap_edge_is_avoided() -> None:
    net, (s, x, y, t) = diamond()
    xt = next(c for c in net.channels.values() if {c.node1, c.node2} == {x, t})
    net.update_policy(xt.chan_id, x, disabled=True)
    assert hops([], net, s, t, 100_000_000) == [y, t]


def test_amount_above_max_htlc_takes_the_other_path() -> None:
    net, (s, x, y, t) = diamond()
    xt = next(c for c in net.channels.values() if {c.node1, c.node2} == {x, t})
    net.update_policy(xt.chan_id, x, max_htlc_msat=50_000_000)
    assert hops([], net, s, t, 100_000_000) == [y, t]
    assert hops([], net, s, t, 10_000_000) == [x, t]


def test_last_hop_and_outgoing_channel_limits() -> None:
    net, (s, _x, y, t) = diamond()
    payer = Payer(net)
    via_y = payer.find_route(s, t, 1_000_000, SearchLimits(last_hop_pubkey=y))
    assert via_y.hops[0].pubkey == y
    sy = next(c for c in net.channels.values() if {c.node1, c.node2} == {s, y})
    forced = payer.find_route(
        s, t, 1_000_000, SearchLimits(outgoing_chan_ids=frozenset({sy.chan_id}))
    )
    assert forced.channels[0] is sy


def test_fee_limit_excludes_dear_routes() -> None:
    net, (s, _x, _y, t) = diamond(cheap_ppm=5000, dear_ppm=6000)
    payer = Payer(net)
    with pytest.raises(NoRouteError):  # the cheapest route costs 5000 msat
        payer.find_route(s, t, 1_000_000, SearchLimits(fee_limit_msat=1000))
    assert payer.find_route(s, t, 1_000_000, SearchLimits(fee_limit_msat=5000)).hops


def test_vector_engine_matches_dijkstra_on_generated_graph() -> None:
    from lnpilot.simnet.topology import TopologyConfig, generate

    net = SimNetwork(seed=5)
    pubkeys = generate(net, TopologyConfig(nodes=40, channels_per_node=3), seed=5)
    engine = TreeEngine(net)
    for dest in pubkeys[:5]:
        slow = search_tree(net.in_edges, net.online, dest, 20_000_000)
        fast = engine.search(dest, 20_000_000)
        assert set(slow.dist) == set(fast.dist)
        for node, cost in slow.dist.items():
            assert abs(fast.dist[node] - cost) <= 1e-6 * max(1.0, cost)


def test_a_payment_well_inside_a_channel_pays_no_size_penalty() -> None:
    """LND's capacity factor keeps a channel's prior near 0.6 until the amount nears 75% of its
    capacity: a 400k sat payment takes the cheap 1M sat channel over a dear 5M sat one. The
    linear prior simnet had (0.6 x (1 - amt/capacity)) charged the small channel ~480 sat
    more per attempt and sent the payment to the big, dear one."""
    net = SimNetwork(seed=3)
    s, x, y, t = (make_node(net, k, a) for k, a in ((21, "s"), (22, "x"), (23, "y"), (24, "t")))
    half = 1_000_000_000
    net.add_channel(s, x, 2_000_000, half, policy(), policy(), scid="700002x1x0")
    net.add_channel(s, y, 2_000_000, half, policy(), policy(), scid="700002x2x0")
    net.add_channel(
        x, t, 1_000_000, half // 2, policy(fee_rate_ppm=10), policy(), scid="700002x3x0"
    )
    net.add_channel(
        y, t, 5_000_000, half * 5 // 2, policy(fee_rate_ppm=1000), policy(), scid="700002x4x0"
    )
    amt = 400_000_000
    tree = search_tree(net.in_edges, net.online, t, amt)
    path = path_from_tree(tree.next_edge, s, t)
    assert path is not None and [c.node2 if d == 0 else c.node1 for c, d in path] == [x, t]
    fast = TreeEngine(net).search(t, amt)
    for node, cost in tree.dist.items():
        assert abs(fast.dist[node] - cost) <= 1e-6 * max(1.0, cost)


def test_both_searches_agree_on_large_amounts() -> None:
    """The capacity factor is computed twice (scalar and numpy): the trees must not differ."""
    from lnpilot.simnet.topology import TopologyConfig, generate

    net = SimNetwork(seed=6)
    pubkeys = generate(net, TopologyConfig(nodes=40, channels_per_node=3), seed=6)
    engine = TreeEngine(net)
    for amt in (300_000_000, 1_500_000_000):
        for dest in pubkeys[:4]:
            slow = search_tree(net.in_edges, net.online, dest, amt)
            fast = engine.search(dest, amt)
            assert set(slow.dist) == set(fast.dist)
            for node, cost in slow.dist.items():
                assert abs(fast.dist[node] - cost) <= 1e-6 * max(1.0, cost)
