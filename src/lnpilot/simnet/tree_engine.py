"""Shortest-path trees toward a destination for the whole graph at once, in numpy.

The simulated senders need a route per payment, thousands per second, and a backward
Dijkstra in pure Python costs tens of milliseconds on the 500-node core (measured in
`bench/simnet_speed.py` as `ref_dijkstra_ms`). This module computes the same tree with a
vectorised Bellman–Ford from the destination: every round relaxes, in one array operation,
all edges into the nodes that improved in the previous round, with LND's fee arithmetic
(outbound fee of the node's chosen outgoing edge plus the signed inbound fee of the incoming
edge, clamped at zero) and the same cost (fee plus attempt cost over the prior probability,
or the sender's own probabilities). It converges in about the graph's diameter in rounds.

The arrays mirror the network's open channels: rows are patched in place when policies
change, appended when channels open and disabled when they close.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

from lnpilot.simnet.mission_control import (
    APRIORI_HOP_PROBABILITY,
    CAPACITY_CUTOFF_FRACTION,
    CAPACITY_SMEARING_FRACTION,
)
from lnpilot.simnet.model import Channel, ChannelState
from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.routing import (
    ATTEMPT_COST_MSAT,
    ATTEMPT_COST_PPM,
    ProbabilityFn,
    SearchLimits,
    Tree,
)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_MAX_ROUNDS = 40


class TreeEngine:
    """Vectorised tree search over a network's open channels.

    One row per direction of each channel: u (start) → v (end), u's policy, v's inbound.
    """

    src: I64
    dst: I64
    cap: I64
    base: I64
    ppm: I64
    in_base: I64
    in_ppm: I64
    min_htlc: I64
    max_htlc: I64
    enabled: npt.NDArray[np.bool_]

    def __init__(self, network: SimNetwork) -> None:
        self.network = network
        self.rebuilds = 0
        self._online = np.zeros(0, dtype=bool)
        self._online_version = -1
        self._build()

    _INT_COLUMNS = (
        "src",
        "dst",
        "cap",
        "base",
        "ppm",
        "in_base",
        "in_ppm",
        "min_htlc",
        "max_htlc",
    )

    def _build(self) -> None:
        """Mirror every open channel (both directions) from scratch."""
        net = self.network
        self.names: list[str] = sorted(net.nodes)
        self.index: dict[str, int] = {k: i for i, k in enumerate(self.names)}
        self.edges: list[tuple[Channel, int]] = []
        self.edge_rows: dict[int, list[int]] = {}
        for name in self._INT_COLUMNS:
            setattr(self, name, np.zeros(0, dtype=np.int64))
        self.enabled = np.zeros(0, dtype=bool)
        self._append([c for c in net.channels.values() if c.state is ChannelState.OPEN])
        self._topology_seen = len(net.topology_changes)
        self._policies_seen = len(net.policy_changes)
        self.rebuilds += 1

    def _append(self, channels: list[Channel]) -> None:
        """Add rows for both directions of `channels`."""
        if not channels:
            return
        first = len(self.edges)
        for chan in channels:
            rows = self.edge_rows.setdefault(chan.chan_id, [])
            for d in (0, 1):
                rows.append(len(self.edges))
                self.edges.append((chan, d))
        extra = len(self.edges) - first
        for name in self._INT_COLUMNS:
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra, np.int64)]))
        self.enabled = np.concatenate([self.enabled, np.zeros(extra, dtype=bool)])
        for row in range(first, len(self.edges)):
            chan, d = self.edges[row]
            self.src[row] = self.index[chan.node1 if d == 0 else chan.node2]
            self.dst[row] = self.index[chan.node2 if d == 0 else chan.node1]
            self.cap[row] = chan.capacity_sat * 1000
            self._load_policy(row)

    def _load_policy(self, row: int) -> None:
        chan, d = self.edges[row]
        policy = chan.policies[d]
        v_policy = chan.policies[1 - d]
        self.base[row] = policy.base_fee_msat
        self.ppm[row] = policy.fee_rate_ppm
        self.in_base[row] = v_policy.inbound_base_fee_msat
        self.in_ppm[row] = v_policy.inbound_fee_rate_ppm
        self.min_htlc[row] = policy.min_htlc_msat
        self.max_htlc[row] = policy.max_htlc_msat
        self.enabled[row] = not policy.disabled and chan.state is ChannelState.OPEN

    def sync(self) -> None:
        """Follow the network: add or retire rows of opened/closed channels, patch policies."""
        net = self.network
        if len(net.nodes) != len(self.names):
            self._build()
            return
        changed: set[int] = set()
        if len(net.topology_changes) != self._topology_seen:
            opened = []
            for chan_id in dict.fromkeys(net.topology_changes[self._topology_seen :]):
                if chan_id in self.edge_rows:
                    changed.add(chan_id)
                elif net.channels[chan_id].state is ChannelState.OPEN:
                    opened.append(net.channels[chan_id])
            self._append(opened)
            self._topology_seen = len(net.topology_changes)
        if len(net.policy_changes) != self._policies_seen:
            changed.update(net.policy_changes[self._policies_seen :])
            self._policies_seen = len(net.policy_changes)
        for chan_id in changed:
            for row in self.edge_rows.get(chan_id, ()):
                self._load_policy(row)

    def search(
        self,
        dest: str,
        amt_msat: int,
        source: str | None = None,
        probability: ProbabilityFn | None = None,
        known_keys: Collection[int] = (),
        limits: SearchLimits | None = None,
        penalty_msat: int = ATTEMPT_COST_MSAT,
        penalty_ppm: int = ATTEMPT_COST_PPM,
    ) -> Tree:
        """The tree toward `dest` for `amt_msat` (see `routing.search_tree` for the model).

        For the directed channels in `known_keys` the sender's `probability` replaces the
        prior (evaluated at the payment amount); with a `source`, its own channels count
        with their real balance and certainty. `penalty_msat`/`penalty_ppm` are the per-hop
        attempt cost of the payer's implementation (LND's by default; see `senders`).
        """
        self.sync()
        n_nodes = len(self.names)
        t = self.index[dest]
        inf = np.inf
        dist = np.full(n_nodes, inf)
        amount = np.zeros(n_nodes, dtype=np.int64)
        fee = np.zeros(n_nodes, dtype=np.int64)
        parent = np.full(n_nodes, -1, dtype=np.int64)
        dist[t] = 0.0
        amount[t] = amt_msat
        node_online = self._node_online()
        usable = self.enabled & node_online[self.src] & node_online[self.dst]
        own_mask: npt.NDArray[np.bool_] | None = None
        if source is not None:
            own_mask = self._source_mask(source, usable, limits)
        if limits is not None and limits.ignored_pairs:
            for start, end in limits.ignored_pairs:
                if start in self.index and end in self.index:
                    pair = (self.src == self.index[start]) & (self.dst == self.index[end])
                    usable &= ~pair
        if limits is not None and limits.last_hop_pubkey is not None:
            last = self.index.get(limits.last_hop_pubkey, -1)
            usable &= (self.dst != t) | (self.src == last)
        fee_limit = limits.fee_limit_msat if limits is not None else None
        known = self._known_probabilities(probability, known_keys, amt_msat)
        changed = np.zeros(n_nodes, dtype=bool)
        changed[t] = True
        for _ in range(_MAX_ROUNDS):
            rows = np.nonzero(changed[self.dst] & usable)[0]
            if rows.size == 0:
                break
            changed[:] = False
            v = self.dst[rows]
            u = self.src[rows]
            amt_v = amount[v]
            par = parent[v]
            has_parent = par >= 0
            par_safe = np.where(has_parent, par, 0)
            out_fee = np.where(
                has_parent, self.base[par_safe] + amt_v * self.ppm[par_safe] // 1_000_000, 0
            )
            product = (amt_v + out_fee) * self.in_ppm[rows]
            inbound = self.in_base[rows] + np.where(
                product >= 0, product // 1_000_000, -(-product // 1_000_000)
            )
            total = np.where(has_parent, np.maximum(0, out_fee + inbound), 0)
            x = amt_v + total
            cap = self.cap[rows]
            ok = (x >= self.min_htlc[rows]) & (x <= self.max_htlc[rows]) & (x < cap) & (u != t)
            fee_u = fee[v] + total
            if fee_limit is not None:
                ok &= fee_u <= fee_limit
            # LND's capacity factor (mission_control.capacity_factor), vectorised; x < cap
            # wherever it matters, so the exponent stays above -2.5 there.
            exponent = (CAPACITY_CUTOFF_FRACTION - x / cap) / CAPACITY_SMEARING_FRACTION
            prob = APRIORI_HOP_PROBABILITY * (
                1.0 - 1.0 / (1.0 + np.exp(np.maximum(exponent, -50.0)))
            )
            if known is not None:
                sender_view = known[rows]
                hit = ~np.isnan(sender_view)
                prob[hit] = sender_view[hit]
            penalty = (penalty_msat + x * penalty_ppm // 1_000_000).astype(np.float64)
            if own_mask is not None:
                own = own_mask[rows]
                if own.any():
                    prob[own] = 1.0
                    ok[own] &= self._own_fits(rows[own], x[own])
            ok &= prob > 0.0
            cost = dist[v] + total + penalty / np.where(prob > 0.0, prob, 1.0)
            cost = np.where(ok, cost, inf)
            best = np.full(n_nodes, inf)
            np.minimum.at(best, u, cost)
            improved_rows = np.nonzero((cost == best[u]) & (cost < dist[u]))[0]
            if improved_rows.size == 0:
                break
            # One winner per node: the first row among equal costs (deterministic).
            winners_u, first = np.unique(u[improved_rows], return_index=True)
            chosen = improved_rows[first]
            dist[winners_u] = cost[chosen]
            amount[winners_u] = x[chosen]
            fee[winners_u] = fee_u[chosen]
            parent[winners_u] = rows[chosen]
            changed[winners_u] = True
        return self._tree(parent, dist)

    def _node_online(self) -> npt.NDArray[np.bool_]:
        """Online flags by node index, recomputed only when someone went on- or offline."""
        net = self.network
        if self._online_version != net.online_version or self._online.size != len(self.names):
            online = net.online
            self._online = np.fromiter((online[k] for k in self.names), bool, len(self.names))
            self._online_version = net.online_version
        return self._online

    def _source_mask(
        self, source: str, usable: npt.NDArray[np.bool_], limits: SearchLimits | None
    ) -> npt.NDArray[np.bool_]:
        """Rows of the source's own channels; others of its rows are made unusable when
        `outgoing_chan_ids` restricts the first hop."""
        own: npt.NDArray[np.bool_] = self.src == self.index[source]
        if limits is not None and limits.outgoing_chan_ids is not None:
            allowed = limits.outgoing_chan_ids
            for row in np.nonzero(own)[0].tolist():
                if self.edges[row][0].chan_id not in allowed:
                    usable[row] = False
        return own

    def _own_fits(self, rows: I64, x: I64) -> npt.NDArray[np.bool_]:
        """Whether each of the source's rows has its `x` to send now (balances are private)."""
        fits = np.ones(rows.size, dtype=bool)
        for i, row in enumerate(rows.tolist()):
            chan, d = self.edges[row]
            if chan.sendable_msat(d) < int(x[i]):
                fits[i] = False
        return fits

    def _known_probabilities(
        self, probability: ProbabilityFn | None, known_keys: Collection[int], amt_msat: int
    ) -> F64 | None:
        """Per row, the sender's own probability where it knows one, NaN elsewhere."""
        if probability is None or not known_keys:
            return None
        known = np.full(len(self.edges), np.nan)
        for key in known_keys:
            chan_id, d = key >> 1, key & 1
            for row in self.edge_rows.get(chan_id, ()):
                if self.edges[row][1] == d:
                    known[row] = probability(key, amt_msat, int(self.cap[row]))
        return known

    def _tree(self, parent: I64, dist: F64) -> Tree:
        next_edge: dict[str, tuple[Channel, int]] = {}
        costs: dict[str, float] = {}
        names = self.names
        edges = self.edges
        reached = np.nonzero(np.isfinite(dist))[0].tolist()
        parents = parent.tolist()
        dists = dist.tolist()
        for i in reached:
            costs[names[i]] = dists[i]
            p = parents[i]
            if p >= 0:
                next_edge[names[i]] = edges[p]
        return Tree(next_edge, costs)
