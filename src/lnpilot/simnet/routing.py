"""Path finding as LND does it: Dijkstra from the destination back to the sender.

Searching backwards lets each step know the exact amount the next node must forward, so
fees (outbound of the outgoing channel plus the signed inbound fee of the incoming one,
clamped at zero) accumulate exactly. The cost of an edge is the fee it adds plus an attempt
cost divided by the chance the channel carries the amount (LND's probability-weighted
distance, made additive): short, cheap, roomy paths win.

Without a sender, the search settles every node and yields a tree that serves all senders to
one destination; `RouteCache` keeps such trees per (destination, amount bucket) and the
payment loop falls back to a sender-specific search when the sender knows better (a
remembered failure, its own balance, a constraint).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lnpilot.simnet.mission_control import apriori_probability
from lnpilot.simnet.model import Channel, ChannelState, Policy

#: LND's default attempt cost: 100 sat plus 1000 ppm of the amount.
ATTEMPT_COST_MSAT = 100_000
ATTEMPT_COST_PPM = 1000
#: Final CLTV delta LND puts in invoices by default (BOLT 11's `c` field default is 18).
DEFAULT_FINAL_CLTV_DELTA = 18

#: A directed edge into a node v, flattened for the hot loop: (node u at the start, channel,
#: direction index of u, u's policy on it, v's policy on it, capacity in msat).
InEdge = tuple[str, Channel, int, Policy, Policy, int]
#: The probability a sender gives a directed channel for an amount (None: it knows nothing).
ProbabilityFn = Callable[[int, int, int], float]


class NoRouteError(Exception):
    """No path satisfies the amount, the limits and the constraints."""


@dataclass(frozen=True, slots=True)
class Hop:
    """One hop of a route, in LND's terms.

    `chan_id` is the channel into `pubkey`; `amt_to_forward_msat` is what `pubkey` forwards on
    (or receives, at the last hop); `fee_msat` is what `pubkey` keeps for forwarding.
    """

    chan_id: int
    chan_capacity_sat: int
    pubkey: str
    amt_to_forward_msat: int
    fee_msat: int
    expiry: int


@dataclass(slots=True)
class Route:
    """A concrete route: channels, directions and the amount crossing each channel."""

    source: str
    channels: list[Channel]
    directions: list[int]
    amounts_msat: list[int]
    expiries: list[int]

    @property
    def total_amt_msat(self) -> int:
        return self.amounts_msat[0]

    @property
    def total_fees_msat(self) -> int:
        return self.amounts_msat[0] - self.amounts_msat[-1]

    @property
    def total_time_lock(self) -> int:
        return self.expiries[0]

    @property
    def destination(self) -> str:
        last = self.channels[-1]
        return last.node2 if self.directions[-1] == 0 else last.node1

    @property
    def hops(self) -> list[Hop]:
        """The route as LND lists it (built on demand: simulated senders never need it)."""
        hops: list[Hop] = []
        n = len(self.channels)
        for i, chan in enumerate(self.channels):
            forwarded = self.amounts_msat[i + 1] if i + 1 < n else self.amounts_msat[i]
            expiry = self.expiries[i + 1] if i + 1 < n else self.expiries[i]
            hops.append(
                Hop(
                    chan_id=chan.chan_id,
                    chan_capacity_sat=chan.capacity_sat,
                    pubkey=chan.node2 if self.directions[i] == 0 else chan.node1,
                    amt_to_forward_msat=forwarded,
                    fee_msat=self.amounts_msat[i] - forwarded,
                    expiry=expiry,
                )
            )
        return hops


def build_route(
    source: str,
    path: Sequence[tuple[Channel, int]],
    amt_msat: int,
    block_height: int,
    final_cltv_delta: int = DEFAULT_FINAL_CLTV_DELTA,
) -> Route:
    """Fees and time locks of a given path for delivering `amt_msat`, from the last hop back.

    `expiries[i]` is the CLTV expiry of the HTLC crossing channel i.
    """
    if not path:
        raise NoRouteError("a route needs at least one channel")
    n = len(path)
    amounts = [0] * n
    expiries = [0] * n
    amounts[-1] = amt_msat
    expiries[-1] = block_height + final_cltv_delta
    amt = amt_msat
    expiry = expiries[-1]
    for i in range(n - 1, 0, -1):
        chan_out, dir_out = path[i]
        chan_in, dir_in = path[i - 1]
        out_policy = chan_out.policies[dir_out]
        in_policy = chan_in.policies[1 - dir_in]
        # `fees.forwarding_fee_msat`, inlined: this runs for every route the senders try
        total = out_policy.base_fee_msat + amt * out_policy.fee_rate_ppm // 1_000_000
        in_base = in_policy.inbound_base_fee_msat
        in_rate = in_policy.inbound_fee_rate_ppm
        if in_base or in_rate:
            product = (amt + total) * in_rate
            total += in_base + (product // 1_000_000 if product >= 0 else -(-product // 1_000_000))
        if total > 0:
            amt += total
        expiry += out_policy.cltv_delta
        amounts[i - 1] = amt
        expiries[i - 1] = expiry
    return Route(source, [c for c, _ in path], [d for _, d in path], amounts, expiries)


@dataclass(slots=True)
class SearchLimits:
    """What a sender asks of a route beyond the amount (LND's send/query options)."""

    fee_limit_msat: int | None = None
    outgoing_chan_ids: frozenset[int] | None = None
    last_hop_pubkey: str | None = None
    ignored_pairs: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Tree:
    """A shortest-path tree toward one destination: next edge and cost-to-go per node."""

    next_edge: dict[str, tuple[Channel, int]]
    dist: dict[str, float]


def search_tree(
    in_edges: dict[str, list[InEdge]],
    online: dict[str, bool],
    dest: str,
    amt_msat: int,
    source: str | None = None,
    probability: ProbabilityFn | None = None,
    limits: SearchLimits | None = None,
) -> Tree:
    """Backward Dijkstra from `dest`: the next edge toward `dest` for every reached node.

    With a `source`, the search stops when the source is settled and uses what only the
    source knows: its own channels' balances (no guessing: the amount fits or the channel is
    skipped), its probabilities and its limits. Without one, every node is settled and only
    public facts and the prior are used, so the tree serves any sender. Offline nodes are
    left out, as if their peers had already announced their channels disabled.

    This is the simulation's hot loop, hence the inlined fee arithmetic (the same as
    `fees.forwarding_fee_msat`: the outbound part depends only on the node, the signed inbound
    part on the edge, the sum clamped at zero).
    """
    inf = float("inf")
    dist: dict[str, float] = {dest: 0.0}
    amount_at: dict[str, int] = {dest: amt_msat}
    fee_at: dict[str, int] = {dest: 0}
    next_edge: dict[str, tuple[Channel, int]] = {}
    settled: set[str] = set()
    heap: list[tuple[float, int, str]] = [(0.0, 0, dest)] if online.get(dest) else []
    counter = 1
    open_state = ChannelState.OPEN
    fee_limit = limits.fee_limit_msat if limits else None
    outgoing = limits.outgoing_chan_ids if limits else None
    last_hop = limits.last_hop_pubkey if limits else None
    ignored = limits.ignored_pairs if limits else frozenset()
    heappop = heapq.heappop
    heappush = heapq.heappush
    while heap:
        cost_v, _, v = heappop(heap)
        if v in settled:
            continue
        settled.add(v)
        if v == source:
            break
        amt_v = amount_at[v]
        fee_v = fee_at[v]
        edge_v = next_edge.get(v)
        is_dest = edge_v is None
        out_fee = 0
        if edge_v is not None:
            out_policy = edge_v[0].policies[edge_v[1]]
            out_fee = out_policy.base_fee_msat + amt_v * out_policy.fee_rate_ppm // 1_000_000
        forward_amt = amt_v + out_fee
        for u, chan, d, policy, v_policy, capacity_msat in in_edges.get(v, ()):
            if u in settled or policy.disabled or chan.state is not open_state:
                continue
            if not online[u]:
                continue
            if is_dest:
                if last_hop is not None and u != last_hop:
                    continue
                x = amt_v
            else:
                total = out_fee
                in_base = v_policy.inbound_base_fee_msat
                in_rate = v_policy.inbound_fee_rate_ppm
                if in_base or in_rate:
                    product = forward_amt * in_rate
                    total += in_base + (
                        product // 1_000_000 if product >= 0 else -(-product // 1_000_000)
                    )
                    if total < 0:
                        total = 0
                x = amt_v + total
            if x < policy.min_htlc_msat or x > policy.max_htlc_msat or x >= capacity_msat:
                continue
            fee_u = fee_v + x - amt_v
            if fee_limit is not None and fee_u > fee_limit:
                continue
            penalty: float
            if u == source:
                if outgoing is not None and chan.chan_id not in outgoing:
                    continue
                if chan.balance_msat[d] - chan.reserve_sat_of(d) * 1000 < x:
                    continue
                penalty = ATTEMPT_COST_MSAT + x * ATTEMPT_COST_PPM // 1_000_000
            else:
                if ignored and (u, v) in ignored:
                    continue
                if probability is not None:
                    prob = probability(chan.chan_id << 1 | d, x, capacity_msat)
                    if prob <= 0.0:
                        continue
                else:
                    prob = apriori_probability(x, capacity_msat)
                penalty = (ATTEMPT_COST_MSAT + x * ATTEMPT_COST_PPM // 1_000_000) / prob
            cost_u = cost_v + (x - amt_v) + penalty
            if cost_u < dist.get(u, inf):
                dist[u] = cost_u
                amount_at[u] = x
                fee_at[u] = fee_u
                next_edge[u] = (chan, d)
                heappush(heap, (cost_u, counter, u))
                counter += 1
    return Tree(next_edge, dist)


def path_from_tree(
    next_edge: dict[str, tuple[Channel, int]], source: str, dest: str, max_hops: int = 20
) -> list[tuple[Channel, int]] | None:
    """Follow the tree from `source` to `dest` (None if `source` was not reached)."""
    path: list[tuple[Channel, int]] = []
    node = source
    while node != dest:
        edge = next_edge.get(node)
        if edge is None or len(path) >= max_hops:
            return None
        path.append(edge)
        chan, d = edge
        node = chan.node2 if d == 0 else chan.node1
    return path


#: Every amount up to this many msat (268k sat) shares one tree per destination.
SMALL_AMOUNT_BUCKET_MSAT = 1 << 28


def amount_bucket_msat(amt_msat: int) -> int:
    """The ceiling of `amt_msat`'s bucket: trees are built for it and shared within it.

    Coarse on purpose: a tree costs milliseconds and is shared by every payment in its
    bucket; the exact fees are always recomputed on the path for the real amount. Small
    payments, most of them, share one bucket; above it buckets double. A tree built for the
    ceiling respects maximum HTLC sizes and capacities for every amount in the bucket; a
    minimum HTLC above a small amount is caught when the path is checked.

    Not coarser than doubling: with powers of 16, a 300k sat payment was routed on a tree
    built for 4.3M sat, in which only channels above 4.3M sat exist and the prior of the
    rest is near zero, so large payments crowded onto the few big channels whatever their
    fee (docs/simnet.md, "Why the ceiling won").
    """
    if amt_msat <= SMALL_AMOUNT_BUCKET_MSAT:
        return SMALL_AMOUNT_BUCKET_MSAT
    return 1 << (amt_msat - 1).bit_length()


class RouteCache:
    """Sender-independent trees per (destination, amount bucket), bounded and aged.

    A tree computed for a bucket's ceiling serves every amount in it (see
    `amount_bucket_msat`); the caller re-checks the path it extracts against current facts
    and the sender's own knowledge. Trees affected by a change of our node's
    channels are dropped at once (`edge_changed`), so the strategies under test see their
    effect immediately; other nodes' changes are picked up when a tree is older than
    `ttl_ns` of virtual time (a stand-in for gossip delay and senders' graph refreshes).
    """

    def __init__(
        self,
        compute: Callable[[str, int, int, int], Tree],
        max_entries: int = 4096,
        ttl_ns: int = 24 * 3600 * 1_000_000_000,
    ) -> None:
        self.compute = compute
        self.max_entries = max_entries
        self.ttl_ns = ttl_ns
        self._trees: OrderedDict[tuple[str, int, int, int], tuple[int, Tree]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(
        self,
        now_ns: int,
        dest: str,
        amt_msat: int,
        penalty_msat: int = ATTEMPT_COST_MSAT,
        penalty_ppm: int = ATTEMPT_COST_PPM,
    ) -> Tree:
        """The tree for `dest` at `amt_msat`'s bucket, computed if absent or stale.

        Payers whose implementations weigh hops differently (`senders`) get their own trees.
        """
        ceiling = amount_bucket_msat(amt_msat)
        key = (dest, ceiling, penalty_msat, penalty_ppm)
        entry = self._trees.get(key)
        if entry is not None and now_ns - entry[0] <= self.ttl_ns:
            self.hits += 1
            return entry[1]
        self.misses += 1
        tree = self.compute(dest, ceiling, penalty_msat, penalty_ppm)
        self._trees[key] = (now_ns, tree)
        self._trees.move_to_end(key)
        if len(self._trees) > self.max_entries:
            self._trees.popitem(last=False)
        return tree

    def edge_changed(self, chan: Channel) -> None:
        """Drop the trees that use `chan` or that `chan` could now make cheaper."""
        ends = ((chan.node1, chan.node2, 0), (chan.node2, chan.node1, 1))
        stale = []
        for key, (_, tree) in self._trees.items():
            for u, v, d in ends:
                edge = tree.next_edge.get(u)
                if edge is not None and edge[0] is chan:
                    stale.append(key)
                    break
                dist_v = tree.dist.get(v)
                if (
                    dist_v is not None
                    and not chan.policies[d].disabled
                    and dist_v + key[2] < tree.dist.get(u, float("inf"))
                ):
                    stale.append(key)
                    break
        for key in stale:
            del self._trees[key]
