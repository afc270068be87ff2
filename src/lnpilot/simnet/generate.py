"""Scenario generator: a piece of the real graph, mainnet-like payers, and our node in it.

Experiments on one hand-made scenario tune to that scenario. `new_scenario` carves a
connected subgraph of N nodes out of a real snapshot (around a named node or a random
mid-sized one), keeps its real capacities and fee policies, adds what gossip does not show
(leaf wallets behind a few LSP hubs, shops, exchanges), joins our node with K channels, and
writes a demand family:

- `lsp`: mainnet's usual shape: leaf wallets pay shops, exchanges and each other; exchanges
  pay some back; busier in the evening.
- `balanced`: the same ends with flows of similar size in both directions.
- `sink`: leaves pay shops, and little comes back: channels toward shops drain.
- `source`: exchanges pay out to leaves, and little comes back.
- `bursty`: `balanced` with a strong daily cycle and bursts of six times the rate.

Our node's peers are an LSP hub, one or two shops and well-connected routing nodes, so that
it competes for traffic with routes of the same length: that is where price matters. By
default no two of them are more than two channels apart without us (each is a neighbour of
the others or shares one with them), so a route through our node is never shorter than one
around it: a newcomer with a handful of channels rarely saves anyone a hop, and a payer that
saves a hop (LND weighs one at 100 sat + 1,000 ppm over its probability) stays at almost any
fee. `shortcut=True` lifts that rule (what the generator did before). `shop_way_out=True`
gives a shop that is our peer a channel of its own to another routing hub, as big as ours and
funded by the shop, and starts our channel to it all ours (an open is funded by its
opener), so that its large cash-outs have a route besides ours; off by default, since on the
league's pieces it made our node idle in some and captive for the shop's payers in others
(docs/simnet.md, "Shops with a way out"). A
scenario in which our node forwards nothing measures nothing, so the generator runs it for
`check_hours` of virtual time and refuses it (GeneratorError) if our node forwarded nothing.

Everything is written out explicitly (nodes, channels, policies, balances), so a generated
file runs without the snapshot and means the same thing tomorrow.
"""

from __future__ import annotations

import gzip
import heapq
import json
import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lnpilot.simnet.scenario import Scenario, ScenarioError

#: The demand families `new_scenario` writes.
DEMAND_FAMILIES = ("balanced", "sink", "source", "lsp", "bursty")
#: How the carved channels' balances are split: around the middle (`centred`, beta(2, 2),
#: what `load_snapshot` does; the default, the one model in which payers leave a channel
#: whose fee rises, as operators report), near one end (`bimodal`, LND's bimodal estimator's
#: model), or `tiered`: centred between two of the piece's biggest fifth of nodes
#: (professionally run, rebalanced routing nodes), bimodal wherever a smaller node is an end.
#: docs/simnet.md measures what each gives.
BALANCE_MODELS = ("centred", "tiered", "bimodal")
#: The share of the piece's nodes, by capacity, whose channels among themselves stay centred.
_PROFESSIONAL_SHARE = 0.2
#: Bounds that keep a scenario meaningful and the league's runtime in reach.
MIN_NODES, MAX_NODES = 20, 3000
MAX_OUR_CHANNELS = 30
#: Hubs are the biggest nodes of the piece; LSPs and exchanges attach among them.
_HUBS = 10
_LSPS = 3
_EXCHANGES = 2
#: Capacity of each of our channels, half of it ours.
OUR_CHANNEL_SAT = 5_000_000


class GeneratorError(ValueError):
    """Arguments or a graph the generator cannot use; the message says what and why."""


class IdleScenarioError(GeneratorError):
    """The scenario builds, but our node forwarded nothing in the check run."""


@dataclass(frozen=True, slots=True)
class GeneratedScenario:
    """A generated scenario, its file text, and what the check run saw."""

    scenario: Scenario
    toml: str
    center_pubkey: str
    center_alias: str
    graph_nodes: int
    graph_channels: int
    check_hours: float
    check_payments: int
    check_success_rate: float
    check_forwards: int


# --- reading and carving -------------------------------------------------------------------


@dataclass(slots=True)
class _Graph:
    aliases: dict[str, str]
    channels: list[dict[str, Any]]
    adjacency: dict[str, dict[str, int]]  # capacity between two nodes, parallel ones added

    @property
    def capacity(self) -> dict[str, int]:
        return {k: sum(peers.values()) for k, peers in self.adjacency.items()}


def _routable(policy: dict[str, Any] | None) -> bool:
    if not policy:
        return False
    return not policy.get("disabled") and policy.get("fee_rate_ppm") is not None


def _read_graph(path: Path) -> _Graph:
    if not path.exists():
        raise GeneratorError(f"--graph: {path} does not exist")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        aliases = {n["id"]: n.get("alias") or n["id"][:20] for n in data["nodes"]}
        channels = [
            c
            for c in data["channels"]
            if _routable(c.get("policy1")) or _routable(c.get("policy2"))
        ]
        adjacency: dict[str, dict[str, int]] = {}
        for c in channels:
            a, b, cap = c["node1"], c["node2"], int(c["capacity_sat"])
            adjacency.setdefault(a, {})[b] = adjacency.get(a, {}).get(b, 0) + cap
            adjacency.setdefault(b, {})[a] = adjacency.get(b, {}).get(a, 0) + cap
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GeneratorError(
            f"--graph: {path} is not a gzipped graph snapshot in the schema of "
            f"../shared/data/README.md ({exc!r})"
        ) from exc
    return _Graph(aliases, channels, adjacency)


def _find_center(graph: _Graph, around: str) -> str:
    if around in graph.adjacency:
        return around
    matches = sorted(k for k, alias in graph.aliases.items() if alias == around)
    matches = [k for k in matches if k in graph.adjacency]
    if not matches:
        raise GeneratorError(
            f"--around: no node with pubkey or alias {around!r} and a routable channel in the graph"
        )
    if len(matches) > 1:
        raise GeneratorError(
            f"--around: alias {around!r} is used by {len(matches)} nodes; give a pubkey: "
            + ", ".join(matches)
        )
    return matches[0]


def _random_center(graph: _Graph, rng: random.Random) -> str:
    """A mid-sized node: between the 50th and 90th percentile of channel count."""
    ranked = sorted(graph.adjacency, key=lambda k: (len(graph.adjacency[k]), k))
    low, high = int(len(ranked) * 0.5), int(len(ranked) * 0.9)
    candidates = [k for k in ranked[low:high] if len(graph.adjacency[k]) >= 3] or ranked
    return candidates[rng.randrange(len(candidates))]


def _carve(graph: _Graph, center: str, size: int) -> list[str]:
    """Grow a connected piece from `center`, always adding the outside node with the most
    capacity into the piece (ties by pubkey): the piece a payer near `center` mostly uses."""
    inside = {center}
    order = [center]
    link: dict[str, int] = {}
    heap: list[tuple[int, str]] = []
    node = center
    while len(order) < size:
        for peer, cap in graph.adjacency[node].items():
            if peer not in inside:
                link[peer] = link.get(peer, 0) + cap
                heapq.heappush(heap, (-link[peer], peer))
        while heap and (heap[0][1] in inside or -heap[0][0] != link[heap[0][1]]):
            heapq.heappop(heap)
        if not heap:
            raise GeneratorError(
                f"--nodes: only {len(order)} nodes are connected to {center[:16]}…; "
                f"ask for at most {len(order)}"
            )
        _, node = heapq.heappop(heap)
        inside.add(node)
        order.append(node)
    return order


# --- writing -------------------------------------------------------------------------------


def _policy(raw: dict[str, Any] | None, capacity_sat: int) -> dict[str, Any]:
    if not _routable(raw):
        return {"disabled": True}
    assert raw is not None
    max_htlc = int(raw.get("max_htlc_msat") or 0)
    return {
        "base_fee_msat": int(raw["base_fee_msat"]),
        "fee_rate_ppm": int(raw["fee_rate_ppm"]),
        "min_htlc_msat": int(raw.get("min_htlc_msat") or 0),
        "max_htlc_msat": min(max_htlc, capacity_sat * 1000) if max_htlc else 0,
        "cltv_delta": max(1, int(raw.get("cltv_delta") or 40)),
    }


#: LND's bimodal estimator assumes a channel's liquidity sits mostly near one end, falling
#: off as exp(-x / scale) with `bimodalscalemsat` 300,000,000 msat (its default).
BIMODAL_SCALE_SAT = 300_000


def _bimodal_balance_sat(rng: random.Random, capacity_sat: int) -> int:
    """One end's balance drawn from LND's bimodal model: near an end, either end alike.

    Mainnet channels are mostly unbalanced (the reason LND added that estimator); a
    balanced split would make almost every attempt succeed, so payers would never learn.
    """
    near_end = min(capacity_sat, int(rng.expovariate(1.0 / BIMODAL_SCALE_SAT)))
    return near_end if rng.random() < 0.5 else capacity_sat - near_end


def _log_uniform(rng: random.Random, low: float, high: float) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _neighbours(channels: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Each node's peers over channels that route in at least one direction."""
    near: dict[str, set[str]] = {}
    for ch in channels:
        if ch["policy_a"].get("disabled") and ch["policy_b"].get("disabled"):
            continue
        near.setdefault(ch["a"], set()).add(ch["b"])
        near.setdefault(ch["b"], set()).add(ch["a"])
    return near


def _flows(
    family: str, leaves: list[str], shops: list[str], exchanges: list[str]
) -> list[dict[str, Any]]:
    """The family's flows. Rates are payments per hour for the whole scenario; amounts are
    log-normal (median, sigma) chosen so that the mix's mean is near River's published
    mean payment (44,700 sat, August 2023; see docs/simnet.md)."""
    evening = {"daily_amplitude": 0.5, "peak_hour_utc": 19.0}

    def flow(
        name: str,
        src: list[str],
        dst: list[str],
        per_hour: float,
        median: int,
        sigma: float,
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "sources": src,
            "dests": dst,
            "per_hour": per_hour,
            "amount_median_sat": median,
            "amount_sigma": sigma,
            **evening,
            **extra,
        }

    # Each family sets the shopping, deposit and person-to-person rates; cash-outs and
    # payouts follow so that, on average, every kind of end gets back what it pays (a leaf
    # that only paid would be empty in a day): a family changes where money flows, not
    # whether the ends run dry.
    shop, deposit, p2p = {
        "lsp": (90.0, 20.0, 30.0),
        "balanced": (45.0, 30.0, 30.0),
        "sink": (140.0, 5.0, 10.0),
        "source": (20.0, 60.0, 10.0),
        "bursty": (45.0, 30.0, 30.0),
    }[family]
    amounts = {  # (median sat, sigma) per flow
        "shopping": (8_000, 1.4),
        "deposits": (60_000, 1.2),
        "payouts": (40_000, 1.2),
        "p2p": (2_000, 1.5),
        "cash_out": (300_000, 0.8),
    }
    mean = {k: m * math.exp(sigma * sigma / 2) for k, (m, sigma) in amounts.items()}
    cash_out = shop * mean["shopping"] / mean["cash_out"]
    payout = (shop * mean["shopping"] + deposit * mean["deposits"]) / mean["payouts"]
    extra: dict[str, Any] = {}
    if family == "bursty":
        extra = {
            "daily_amplitude": 0.8,
            "burst_every_h": 12.0,
            "burst_hours": 2.0,
            "burst_factor": 6.0,
        }
    plan = [
        ("shopping", leaves, shops, shop),
        ("deposits", leaves, exchanges, deposit),
        ("payouts", exchanges, leaves, payout),
        ("p2p", leaves, leaves, p2p),
        ("cash_out", shops, exchanges, cash_out),
    ]
    return [
        flow(name, src, dst, round(rate, 2), *amounts[name], **extra)
        for name, src, dst, rate in plan
    ]


def _give_a_way_out(
    shop: str,
    shop_hubs: list[str],
    near: dict[str, set[str]],
    rng: random.Random,
    channel: Callable[[str, str, float, float], None],
) -> None:
    """Give a shop that is our peer a channel of its own to a routing hub it has none with,
    as big as ours and funded by the shop (all of it on its side, as an open leaves it).

    Why: by default our channel to a shop is split in half, so the shop starts with 2.5M sat
    of its outbound liquidity in our channel and 20% of its two other channels. A
    cash-out larger than what those hold has one route, ours, and the shop's own LND (which
    knows its balances exactly) pays our fee up to its 5% limit: a few such payments make the
    sweep's ceiling the best fixed fee (docs/simnet.md, "Why the ceiling won"). On mainnet a
    merchant has "few (2-3) channels with well connected and capitalized nodes" and keeps
    them usable (Loop out, reopen: lightningnode.info, the merchant node type), and a channel
    we open to it is funded by us. So our channel to a shop starts all ours (the caller),
    and the shop's own outbound sits here: it pays through us only what came in through us
    or where we are the cheaper route. A hub, not an LSP: the shop's payers still reach it
    through one routing node, where our node competes on price. The channel only adds routes
    that avoid us, so our node still saves no payer a hop.
    """
    free = [h for h in shop_hubs if h not in near.get(shop, set())]
    if free:
        channel(shop, free[rng.randrange(len(free))], OUR_CHANNEL_SAT, 1.0)


#: Who our node opens to first, per family: next to the ends whose flows we want to carry.
_FIRST_PEERS = {
    "lsp": ("lsp", "lsp", "shop"),
    "balanced": ("lsp", "shop", "exchange"),
    "sink": ("shop", "shop", "lsp"),
    "source": ("exchange", "lsp", "lsp"),
    "bursty": ("lsp", "shop", "exchange"),
}


def new_scenario(
    graph: Path,
    *,
    nodes: int,
    our_channels: int,
    demand: str,
    seed: int,
    around: str | None = None,
    random_center: bool = False,
    check_hours: float = 24.0,
    balances: str = "centred",
    shortcut: bool = False,
    shop_way_out: bool = False,
) -> GeneratedScenario:
    """Carve, populate and check a scenario (see the module docstring).

    Exactly one of `around` (a pubkey or unique alias) and `random_center` chooses the
    piece's center. `shortcut` lets our node join peers that are more than two channels
    apart, so that it saves payers a hop (what the generator did before; a newcomer with a
    handful of channels rarely does). `shop_way_out` gives a shop that is our peer a funded
    channel of its own and starts our channel to it all ours (`_give_a_way_out`; an
    experiment, off by default: docs/simnet.md, "Shops with a way out"). Raises
    GeneratorError naming the bad argument, or saying that our node forwarded nothing in the
    check run.
    """
    if (around is None) == (not random_center):
        raise GeneratorError("give exactly one of --around NODE and --random")
    if demand not in DEMAND_FAMILIES:
        raise GeneratorError(
            f"--demand: {demand!r} is not a demand family; use one of {', '.join(DEMAND_FAMILIES)}"
        )
    if not MIN_NODES <= nodes <= MAX_NODES:
        raise GeneratorError(f"--nodes: {nodes} is outside {MIN_NODES}..{MAX_NODES}")
    if not 1 <= our_channels <= MAX_OUR_CHANNELS:
        raise GeneratorError(f"--our-channels: {our_channels} is outside 1..{MAX_OUR_CHANNELS}")
    if seed < 0:
        raise GeneratorError(f"--seed: {seed} is negative; use 0 or more")
    if balances not in BALANCE_MODELS:
        raise GeneratorError(
            f"--balances: {balances!r} is not a balance model; use one of "
            f"{', '.join(BALANCE_MODELS)}"
        )
    if check_hours <= 0:
        raise GeneratorError(f"check_hours: {check_hours} must be positive")
    rng = random.Random(f"generate-{seed}")
    g = _read_graph(graph)
    if around is not None:
        center = _find_center(g, around)
    else:  # its own stream, so that a piece named by its center is the same piece
        center = _random_center(g, random.Random(f"center-{seed}"))
    piece = _carve(g, center, nodes)
    inside = set(piece)
    kept = [c for c in g.channels if c["node1"] in inside and c["node2"] in inside]
    capacity: dict[str, int] = {k: 0 for k in piece}
    for c in kept:
        capacity[c["node1"]] += int(c["capacity_sat"])
        capacity[c["node2"]] += int(c["capacity_sat"])
    ranked = sorted(piece, key=lambda k: (-capacity[k], k))
    name_of = {k: f"n{i}" for i, k in enumerate(ranked)}
    professional = set(ranked[: max(2, int(len(ranked) * _PROFESSIONAL_SHARE))])
    raw_nodes: list[dict[str, Any]] = [
        {
            "name": name_of[k],
            "alias": g.aliases.get(k, k[:20]),
            "uptime": round(0.95 + 0.05 * rng.random(), 4),
        }
        for k in ranked
    ]
    raw_channels: list[dict[str, Any]] = []
    for c in kept:
        cap = int(c["capacity_sat"])
        raw_channels.append(
            {
                "a": name_of[c["node1"]],
                "b": name_of[c["node2"]],
                "capacity_sat": cap,
                "a_balance_sat": (
                    int(cap * rng.betavariate(2.0, 2.0))
                    if balances == "centred"
                    or (
                        balances == "tiered"
                        and c["node1"] in professional
                        and c["node2"] in professional
                    )
                    else _bimodal_balance_sat(rng, cap)
                ),
                "policy_a": _policy(c.get("policy1"), cap),
                "policy_b": _policy(c.get("policy2"), cap),
            }
        )
    by_node: dict[str, list[int]] = {}
    for ch in raw_channels:
        for end, policy in ((ch["a"], ch["policy_a"]), (ch["b"], ch["policy_b"])):
            if not policy.get("disabled"):
                by_node.setdefault(end, []).append(policy["fee_rate_ppm"])
    all_ppms = [ppm for ppms in by_node.values() for ppm in ppms]
    median_ppm = int(statistics.median(all_ppms)) if all_ppms else 100
    # A real node prices its new channels as it prices its others (its median): the
    # routes our node competes with carry the real spread of fees, not one number.
    own_ppm = {k: int(statistics.median(v)) for k, v in by_node.items()}
    hubs = [name_of[k] for k in ranked[: min(_HUBS, len(ranked))]]
    lsps = rng.sample(hubs, min(_LSPS, len(hubs)))

    def channel(a: str, b: str, cap: float, a_share: float, a_ppm: int = 0) -> None:
        """A channel from a new end `a` to `b`, which charges what it usually charges."""
        raw_channels.append(
            {
                "a": a,
                "b": b,
                "capacity_sat": int(cap),
                "a_balance_sat": int(cap * a_share),
                "policy_a": {"base_fee_msat": 0, "fee_rate_ppm": a_ppm},
                "policy_b": {"base_fee_msat": 0, "fee_rate_ppm": own_ppm.get(b, median_ppm)},
            }
        )

    n_leaves = max(20, nodes // 5)
    leaves = [f"leaf{i}" for i in range(n_leaves)]
    for leaf in leaves:
        raw_nodes.append({"name": leaf})
        channel(leaf, lsps[rng.randrange(len(lsps))], _log_uniform(rng, 3e5, 5e6), 0.6)
    n_shops = max(4, nodes // 40)
    shops = [f"shop{i}" for i in range(n_shops)]
    mid = [name_of[k] for k in ranked[_HUBS : max(_HUBS + 1, len(ranked) // 3)]] or hubs
    # A shop has a routing hub and a smaller node as peers, not an LSP: its payers' LSPs
    # reach it through one routing node, where our node competes on price.
    shop_hubs = [h for h in hubs if h not in lsps] or hubs
    for shop in shops:
        raw_nodes.append({"name": shop})
        channel(shop, shop_hubs[rng.randrange(len(shop_hubs))], _log_uniform(rng, 2e6, 1e7), 0.2)
        channel(shop, mid[rng.randrange(len(mid))], _log_uniform(rng, 1e6, 5e6), 0.2)
    exchanges = [f"exchange{i}" for i in range(_EXCHANGES)]
    for exchange in exchanges:
        raw_nodes.append({"name": exchange, "onchain_sat": 1_000_000_000})
        for hub in rng.sample(hubs, min(4, len(hubs))):
            channel(exchange, hub, _log_uniform(rng, 2e7, 5e7), 0.5, median_ppm)
    raw_nodes.append({"name": "ours", "alias": "lnpilot", "onchain_sat": 100_000_000})
    pools = {"lsp": list(lsps), "shop": list(shops), "exchange": list(exchanges)}
    near = _neighbours(raw_channels)

    def saves_no_hop(candidate: str, chosen: list[str]) -> bool:
        """Whether joining `candidate` keeps our node off every shortcut: each chosen peer is
        its neighbour or shares one with it, so a route through us (peer, ours, peer: two
        channels) is never shorter than one around us."""
        if shortcut:
            return True
        mine = near.get(candidate, set())
        return all(p in mine or mine & near.get(p, set()) for p in chosen)

    peers: list[str] = []
    for kind in _FIRST_PEERS[demand][: max(1, our_channels - 2)]:
        pool = [n for n in pools[kind] if n not in peers and saves_no_hop(n, peers)]
        if pool:
            peers.append(pool[rng.randrange(len(pool))])
    others = [n for n in hubs + mid if n not in peers]
    while len(peers) < our_channels and others:
        candidate = others.pop(rng.randrange(min(len(others), 20)))
        if saves_no_hop(candidate, peers):
            peers.append(candidate)
    for peer in peers[:our_channels]:
        # A shop's channel from us is ours alone, as an open funds it (see _give_a_way_out).
        ours_share = 1.0 if shop_way_out and peer in shops else 0.5
        channel("ours", peer, OUR_CHANNEL_SAT, ours_share, median_ppm)
    if shop_way_out:
        for shop in (p for p in peers[:our_channels] if p in shops):
            _give_a_way_out(shop, shop_hubs, near, rng, channel)
    raw = {
        "simulation": {"our_node": "ours", "seed": seed},
        "nodes": raw_nodes,
        "channels": raw_channels,
        "demand": {"payments_per_day": 1000.0, "amount_median_sat": 20_000},
        "flows": _flows(demand, leaves, shops, exchanges),
    }
    try:
        scenario = Scenario.model_validate(raw)
    except ValueError as exc:  # a bug here, not the user's: say what broke
        raise GeneratorError(f"generated scenario is invalid: {exc}") from exc
    header = (
        f"# Generated by `lnpilot simnet scenario new`: {nodes} nodes of {graph.name} around "
        f"{g.aliases.get(center, center)} ({center}),\n# {our_channels} channels of ours"
        f"{' (shortcuts allowed)' if shortcut else ''}"
        f"{' (shops with a way out)' if shop_way_out else ''}, demand {demand}, "
        f"{balances} balances, seed {seed}.\n# Our fees start at the piece's "
        f"median, {median_ppm} ppm.\n"
    )
    check = _check(scenario, check_hours)
    result = GeneratedScenario(
        scenario=scenario,
        toml=header + to_toml(raw),
        center_pubkey=center,
        center_alias=g.aliases.get(center, center),
        graph_nodes=len(raw_nodes),
        graph_channels=len(raw_channels),
        check_hours=check_hours,
        check_payments=check[0],
        check_success_rate=check[1],
        check_forwards=check[2],
    )
    if result.check_forwards == 0:
        raise IdleScenarioError(
            f"our node forwarded nothing in the first {check_hours:g} virtual hours of this "
            f"scenario ({check[0]} payments): a scenario where it forwards nothing measures "
            f"nothing. Try another --seed, more --our-channels or another --demand."
        )
    return result


def first_busy_scenario(
    graph: Path, *, first_seed: int, tries: int = 5, **kwargs: Any
) -> GeneratedScenario:
    """`new_scenario` with seeds `first_seed`, `first_seed + 1`, … until our node forwards.

    What a caller that needs N scenarios of a family does (the league, the benches): some
    seeds give our node no competitive route at its starting fee. Raises the last
    IdleScenarioError after `tries` seeds.
    """
    error: IdleScenarioError | None = None
    for seed in range(first_seed, first_seed + tries):
        try:
            return new_scenario(graph, seed=seed, **kwargs)
        except IdleScenarioError as exc:
            error = exc
    assert error is not None
    raise error


def busy_scenario_files(
    out: Path,
    graph: Path,
    *,
    graphs: int,
    shapes: Sequence[str],
    nodes: int,
    shortcut: bool = False,
    shop_way_out: bool = False,
    on_skip: Callable[[Path, GeneratorError], None] | None = None,
) -> list[tuple[int, Path]]:
    """The league's scenario set as files in `out`, made once and reused: graph `g` is one
    piece of the snapshot, its first shape carved around a center `first_busy_scenario`
    draws (seeds from `100 g`), the other shapes around the same center (kept in a
    `.center` file). Returns `(g, path)` per scenario made or found; a shape the generator
    cannot make busy is left out and told to `on_skip`. One function, so every bench that
    compares with the league measures the same scenarios."""
    out.mkdir(parents=True, exist_ok=True)
    found: list[tuple[int, Path]] = []
    tag = ("-shortcut" if shortcut else "") + ("-wayout" if shop_way_out else "")
    for g in range(graphs):
        center_file = out / f"g{g}-n{nodes}.center"
        center = center_file.read_text().strip() if center_file.exists() else None
        for shape in shapes:
            path = out / f"g{g}-{shape}-n{nodes}{tag}.toml"
            if not path.exists():
                where: dict[str, Any] = (
                    {"random_center": True} if center is None else {"around": center}
                )
                try:
                    made = first_busy_scenario(
                        graph,
                        first_seed=100 * g,
                        nodes=nodes,
                        our_channels=6,
                        demand=shape,
                        shortcut=shortcut,
                        shop_way_out=shop_way_out,
                        **where,
                    )
                except GeneratorError as exc:  # our node forwards nothing: measures nothing
                    if on_skip is not None:
                        on_skip(path, exc)
                    continue
                center = made.center_pubkey
                center_file.write_text(center)
                path.write_text(made.toml, encoding="utf-8")
            found.append((g, path))
    return found


def _check(scenario: Scenario, hours: float) -> tuple[int, float, int]:
    """Payments, success rate and our forwards in the first `hours` of virtual time."""
    from lnpilot.simnet.simulation import Simulation  # the generator itself needs no engine

    try:
        sim = Simulation(scenario)
    except ScenarioError as exc:
        raise GeneratorError(f"generated scenario does not build: {exc}") from exc
    sim.run_for(hours * 3600)
    stats = sim.payer.stats
    rate = stats.succeeded / stats.payments if stats.payments else 0.0
    return stats.payments, round(rate, 4), len(sim.our_node.forwards)


# --- TOML ----------------------------------------------------------------------------------


def _value(value: Any) -> str:
    """One TOML value: JSON's string escapes are valid TOML basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def to_toml(raw: dict[str, Any]) -> str:
    """A scenario dict as TOML: top-level tables, then arrays of tables, one line per key."""
    out: list[str] = []
    for key, value in raw.items():
        if isinstance(value, dict):
            out.append(f"[{key}]")
            out.extend(f"{k} = {_value(v)}" for k, v in value.items())
            out.append("")
    for key, value in raw.items():
        if isinstance(value, list):
            for item in value:
                out.append(f"[[{key}]]")
                out.extend(f"{k} = {_value(v)}" for k, v in item.items())
                out.append("")
    return "\n".join(out)
