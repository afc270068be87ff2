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
#: Up to this many improved nodes, a round collects their rows from per-node lists instead of
#: a pass over every row.
_FEW_NODES = 16
_NO_ROW = np.iinfo(np.int64).max


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
    #: the most a row can carry: min(max_htlc, cap - 1) (an HTLC must stay below capacity)
    hi: I64
    enabled: npt.NDArray[np.bool_]
    #: `cap` as float64, the type `x / cap` divides in anyway
    cap_f: F64
    #: whether the row's end sets an inbound fee (the per-node shortcut does not hold there)
    has_in: npt.NDArray[np.bool_]

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
        "hi",
    )

    def _build(self) -> None:
        """Mirror every open channel (both directions) from scratch."""
        net = self.network
        self.names: list[str] = sorted(net.nodes)
        self.index: dict[str, int] = {k: i for i, k in enumerate(self.names)}
        self.edges: list[tuple[Channel, int]] = []
        self.edge_rows: dict[int, list[int]] = {}
        #: directed channel key (`chan_id << 1 | direction`) -> (row, capacity in msat)
        self.key_rows: dict[int, tuple[int, int]] = {}
        self._usable_cache: npt.NDArray[np.bool_] | None = None
        self._has_inbound = False
        self._max_min_htlc = 0
        self._big_cap = False
        self._rows_by_dst: list[I64] | None = None
        self._rows_by_src: list[I64] = []
        for name in self._INT_COLUMNS:
            setattr(self, name, np.zeros(0, dtype=np.int64))
        self.enabled = np.zeros(0, dtype=bool)
        self.has_in = np.zeros(0, dtype=bool)
        self.cap_f = np.zeros(0)
        self._append([c for c in net.channels.values() if c.state is ChannelState.OPEN])
        self._topology_seen = len(net.topology_changes)
        self._policies_seen = len(net.policy_changes)
        self._rows_changed()
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
                self.key_rows[chan.chan_id << 1 | d] = (len(self.edges), chan.capacity_sat * 1000)
                self.edges.append((chan, d))
        extra = len(self.edges) - first
        for name in self._INT_COLUMNS:
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra, np.int64)]))
        self.enabled = np.concatenate([self.enabled, np.zeros(extra, dtype=bool)])
        self.cap_f = np.concatenate([self.cap_f, np.zeros(extra)])
        self.has_in = np.concatenate([self.has_in, np.zeros(extra, dtype=bool)])
        for row in range(first, len(self.edges)):
            chan, d = self.edges[row]
            self.src[row] = self.index[chan.node1 if d == 0 else chan.node2]
            self.dst[row] = self.index[chan.node2 if d == 0 else chan.node1]
            self.cap[row] = chan.capacity_sat * 1000
            self.cap_f[row] = float(chan.capacity_sat * 1000)
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
        self.hi[row] = min(policy.max_htlc_msat, chan.capacity_sat * 1000 - 1)
        self.enabled[row] = not policy.disabled and chan.state is ChannelState.OPEN
        self.has_in[row] = bool(v_policy.inbound_base_fee_msat or v_policy.inbound_fee_rate_ppm)

    def sync(self) -> None:
        """Follow the network: add or retire rows of opened/closed channels, patch policies."""
        net = self.network
        if len(net.nodes) != len(self.names):
            self._build()
            self._rows_changed()
            return
        if (
            len(net.topology_changes) == self._topology_seen
            and len(net.policy_changes) == self._policies_seen
        ):
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
        self._rows_changed()

    def _rows_changed(self) -> None:
        """Forget what is derived from the rows (the usable mask, whether any inbound fee is
        set): recomputed on the next search."""
        self._usable_cache = None
        self._has_inbound = bool(self.has_in.any())
        self._max_min_htlc = int(self.min_htlc.max()) if self.min_htlc.size else 0
        self._big_cap = bool(self.cap.size) and int(self.cap.max()) >= 2**53
        if self._rows_by_dst is None or sum(a.size for a in self._rows_by_dst) != len(self.edges):
            self._rows_by_dst = self._group(self.dst)
            self._rows_by_src = self._group(self.src)

    def _group(self, column: I64) -> list[I64]:
        """Per node index, the rows whose `column` is that node, ascending."""
        order = np.argsort(column, kind="stable")
        bounds = np.searchsorted(column[order], np.arange(1, len(self.names)))
        return list(np.split(order, bounds))

    def _usable(self) -> npt.NDArray[np.bool_]:
        """Rows that are enabled with both ends online: a fresh copy (searches narrow it),
        of a mask kept until a row or a node's online flag changes."""
        node_online = self._node_online()  # may reset the cache when someone went offline
        if self._usable_cache is None:
            self._usable_cache = self.enabled & node_online[self.src] & node_online[self.dst]
        return self._usable_cache.copy()

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
        parent, dist = self._relax(
            dest, amt_msat, source, probability, known_keys, limits, penalty_msat, penalty_ppm
        )
        return self._tree(parent, dist)

    def search_path(
        self,
        dest: str,
        amt_msat: int,
        source: str,
        probability: ProbabilityFn | None = None,
        known_keys: Collection[int] = (),
        limits: SearchLimits | None = None,
        penalty_msat: int = ATTEMPT_COST_MSAT,
        penalty_ppm: int = ATTEMPT_COST_PPM,
        max_hops: int = 20,
    ) -> list[tuple[Channel, int]] | None:
        """`search` followed by `routing.path_from_tree` from `source`, without building the
        whole tree as dicts: a sender's own search serves only its own path."""
        t = self.index[dest]
        node = self.index[source]
        parent, _ = self._relax(
            dest,
            amt_msat,
            source,
            probability,
            known_keys,
            limits,
            penalty_msat,
            penalty_ppm,
            only_for=node,
        )
        parents = parent.tolist()
        dst = self.dst
        edges = self.edges
        path: list[tuple[Channel, int]] = []
        while node != t:
            row = parents[node]
            if row < 0 or len(path) >= max_hops:
                return None
            path.append(edges[row])
            node = int(dst[row])
        return path

    def _relax(
        self,
        dest: str,
        amt_msat: int,
        source: str | None,
        probability: ProbabilityFn | None,
        known_keys: Collection[int],
        limits: SearchLimits | None,
        penalty_msat: int,
        penalty_ppm: int,
        only_for: int | None = None,
    ) -> tuple[I64, F64]:
        """The rounds of the search: parent row and cost-to-go per node (see the module).

        With `only_for` (a node index), only that node's path has to be right: a node whose
        cost already exceeds that node's current cost stops relaxing (an edge never costs
        less than its end's cost-to-go, so nothing it leads to can reach that node at or
        below its final cost, and every update at or below that cost, the path's, happens
        exactly as without the cut). The other nodes' entries are then not the full tree's.

        Every round relaxes the edges into the nodes that improved in the previous round.
        What crosses such an edge (the amount, the fee so far, the cost so far and the
        attempt penalty) depends only on its end node unless that node sets an inbound fee
        on it, so it is computed once per node and gathered per edge; edges with an inbound
        fee are patched with the exact per-edge arithmetic. Edges that cannot carry the
        amount are dropped before probabilities and costs are computed (they never win).
        The arithmetic and its order are the plain round's (tests/simnet/test_fingerprint.py
        pins results computed before these shortcuts).
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
        src_all, dst_all = self.src, self.dst
        usable = self._usable()
        usable[self._rows_by_src[t]] = False  # no path goes on from the destination
        by_dst = self._rows_by_dst
        assert by_dst is not None
        own: tuple[I64, I64] | None = None
        if source is not None:
            own = self._source_rows(source, usable, limits)
        if limits is not None and limits.ignored_pairs:
            for start, end in limits.ignored_pairs:
                if start in self.index and end in self.index:
                    pair = (src_all == self.index[start]) & (dst_all == self.index[end])
                    usable &= ~pair
        if limits is not None and limits.last_hop_pubkey is not None:
            last = self.index.get(limits.last_hop_pubkey, -1)
            usable &= (dst_all != t) | (src_all == last)
        fee_limit = limits.fee_limit_msat if limits is not None else None
        known = self._known_probabilities(probability, known_keys, amt_msat)
        known_dst = dst_all[known[0]] if known is not None else None
        own_dst = dst_all[own[0]] if own is not None else None
        has_inbound = self._has_inbound
        min_htlc, hi, cap_f = self.min_htlc, self.hi, self.cap_f
        # amounts only grow from the destination back: at or above every row's minimum,
        # no row's minimum needs checking
        check_min = amt_msat < self._max_min_htlc
        changed = np.zeros(n_nodes, dtype=bool)
        changed[t] = True
        first_round = True
        nodes = np.array([t])
        for _ in range(_MAX_ROUNDS):
            if only_for is not None and not first_round:
                limit = dist[only_for]
                if limit < inf:
                    near = dist[nodes] <= limit
                    if not near.all():
                        changed[nodes[~near]] = False
                        nodes = nodes[near]
                        if nodes.size == 0:
                            break
            if nodes.size <= _FEW_NODES:  # the rows into a few nodes, without a full pass
                into = np.concatenate([by_dst[i] for i in nodes.tolist()])
                into.sort()
                rows = into[usable[into]]
            else:
                rows = np.nonzero(changed[dst_all] & usable)[0]
            if rows.size == 0:
                break
            v = dst_all[rows]
            u = src_all[rows]
            if first_round:  # v is the destination: nothing to forward, no fee yet
                first_round = False
                x = np.full(rows.size, amt_msat, dtype=np.int64)
                fee_u = np.zeros(rows.size, dtype=np.int64)
                cost_so_far = np.zeros(rows.size)  # dist[t] + 0
                ok = x <= hi[rows]
                if check_min:
                    ok &= x >= min_htlc[rows]
            else:  # every v has its outgoing edge (only the destination has none)
                par = parent[nodes]
                amt_n = amount[nodes]
                out_fee_n = self.base[par] + amt_n * self.ppm[par] // 1_000_000
                total_n = np.maximum(0, out_fee_n)
                x_node = np.zeros(n_nodes, dtype=np.int64)
                fee_node = np.zeros(n_nodes, dtype=np.int64)
                cost_node = np.zeros(n_nodes)
                x_node[nodes] = amt_n + total_n
                fee_node[nodes] = fee[nodes] + total_n
                cost_node[nodes] = dist[nodes] + total_n
                x = x_node[v]
                fee_u = fee_node[v]
                cost_so_far = cost_node[v]
                if has_inbound:
                    patch = np.nonzero(self.has_in[rows])[0]
                    if patch.size:
                        out_fee = np.zeros(n_nodes, dtype=np.int64)
                        out_fee[nodes] = out_fee_n
                        pr, pv = rows[patch], v[patch]
                        pof = out_fee[pv]
                        product = (amount[pv] + pof) * self.in_ppm[pr]
                        inbound = self.in_base[pr] + np.where(
                            product >= 0, product // 1_000_000, -(-product // 1_000_000)
                        )
                        total_p = np.maximum(0, pof + inbound)
                        x[patch] = amount[pv] + total_p
                        fee_u[patch] = fee[pv] + total_p
                        cost_so_far[patch] = dist[pv] + total_p
                # A row's cost is its cost so far plus a penalty >= 0: where that is not
                # below what u has, the row cannot win, and it is dropped here.
                ok = (x <= hi[rows]) & (dist[u] > cost_so_far)
                if check_min:
                    ok &= x >= min_htlc[rows]
            if fee_limit is not None:
                ok &= fee_u <= fee_limit
            keep = np.nonzero(ok)[0]
            if keep.size == 0:
                break
            rows, u, x, fee_u, cost_so_far = (
                rows[keep],
                u[keep],
                x[keep],
                fee_u[keep],
                cost_so_far[keep],
            )
            dist_u = dist[u]
            # LND's capacity factor (mission_control.capacity_factor), vectorised. The prior
            # is > 0 on every row left (x <= hi < cap; the exponent is clipped, so the
            # factor never underflows to 0); only the sender's own view can make it 0, and
            # only on its rows into this round's nodes.
            exponent = (CAPACITY_CUTOFF_FRACTION - x / cap_f[rows]) / CAPACITY_SMEARING_FRACTION
            prob = APRIORI_HOP_PROBABILITY * (
                1.0 - 1.0 / (1.0 + np.exp(np.maximum(exponent, -50.0)))
            )
            patched = self._big_cap
            if known is not None and changed[known_dst].any():
                self._patch(rows, prob, known[0], known[1])
                patched = True
            if own is not None and changed[own_dst].any():
                at, which = self._positions(rows, own[0])
                if at.size:
                    prob[at] = 1.0
                    prob[at[own[1][which] < x[at]]] = 0.0  # its balance cannot send it
                    patched = True
            good = prob > 0.0 if patched else None
            if good is not None and not good.all():
                keep = np.nonzero(good)[0]
                rows, u, x, fee_u, cost_so_far, prob, dist_u = (
                    rows[keep],
                    u[keep],
                    x[keep],
                    fee_u[keep],
                    cost_so_far[keep],
                    prob[keep],
                    dist_u[keep],
                )
            penalty = (penalty_msat + x * penalty_ppm // 1_000_000).astype(np.float64)
            cost = cost_so_far + penalty / prob
            best = np.full(n_nodes, inf)
            np.minimum.at(best, u, cost)
            improved_rows = np.nonzero((cost == best[u]) & (cost < dist_u))[0]
            if improved_rows.size == 0:
                break
            # One winner per node: the first row among equal costs (deterministic).
            first = np.full(n_nodes, _NO_ROW)
            np.minimum.at(first, u[improved_rows], improved_rows)
            winners_u = np.nonzero(first != _NO_ROW)[0]
            chosen = first[winners_u]
            dist[winners_u] = cost[chosen]
            amount[winners_u] = x[chosen]
            fee[winners_u] = fee_u[chosen]
            parent[winners_u] = rows[chosen]
            changed[:] = False
            changed[winners_u] = True
            nodes = winners_u
        return parent, dist

    @staticmethod
    def _positions(rows: I64, wanted: I64) -> tuple[I64, I64]:
        """Where the rows of `wanted` (ascending) sit in `rows` (ascending), for those
        present, and which of `wanted` they are."""
        at: I64 = np.searchsorted(rows, wanted)
        which: I64 = np.nonzero(at < rows.size)[0]
        at = at[which]
        hit = rows[at] == wanted[which]
        return at[hit], which[hit]

    @staticmethod
    def _patch(rows: I64, prob: F64, known_rows: I64, known_prob: F64) -> None:
        """Put the sender's own probabilities in `prob` where `rows` has a known row."""
        at = np.searchsorted(rows, known_rows)
        inside = at < rows.size
        at, k_rows, k_prob = at[inside], known_rows[inside], known_prob[inside]
        hit = rows[at] == k_rows
        prob[at[hit]] = k_prob[hit]

    def _node_online(self) -> npt.NDArray[np.bool_]:
        """Online flags by node index, recomputed only when someone went on- or offline."""
        net = self.network
        if self._online_version != net.online_version or self._online.size != len(self.names):
            online = net.online
            self._online = np.fromiter((online[k] for k in self.names), bool, len(self.names))
            self._online_version = net.online_version
            self._usable_cache = None
        return self._online

    def _source_rows(
        self, source: str, usable: npt.NDArray[np.bool_], limits: SearchLimits | None
    ) -> tuple[I64, I64]:
        """Rows of the source's own channels (ascending) and what it can send on each now
        (balances are private: the source alone knows them). Others of its rows are made
        unusable when `outgoing_chan_ids` restricts the first hop."""
        own = self._rows_by_src[self.index[source]]
        rows = own.tolist()
        if limits is not None and limits.outgoing_chan_ids is not None:
            allowed = limits.outgoing_chan_ids
            for row in rows:
                if self.edges[row][0].chan_id not in allowed:
                    usable[row] = False
        edges = self.edges
        sendable = np.fromiter(
            (edges[row][0].sendable_msat(edges[row][1]) for row in rows), np.int64, len(rows)
        )
        return own, sendable

    def _known_probabilities(
        self, probability: ProbabilityFn | None, known_keys: Collection[int], amt_msat: int
    ) -> tuple[I64, F64] | None:
        """The rows (ascending) where the sender knows better than the prior, and its
        probability there (at the payment amount)."""
        if probability is None or not known_keys:
            return None
        key_rows = self.key_rows
        found = []
        for key in known_keys:
            entry = key_rows.get(key)
            if entry is not None:
                found.append((entry[0], probability(key, amt_msat, entry[1])))
        if not found:
            return None
        found.sort()
        return (
            np.fromiter((row for row, _ in found), np.int64, len(found)),
            np.fromiter((prob for _, prob in found), np.float64, len(found)),
        )

    def _tree(self, parent: I64, dist: F64) -> Tree:
        names = self.names
        edges = self.edges
        reached = np.nonzero(np.isfinite(dist))[0]
        costs = dict(zip([names[i] for i in reached.tolist()], dist[reached].tolist(), strict=True))
        linked = reached[parent[reached] >= 0]
        next_edge = {
            names[i]: edges[p]
            for i, p in zip(linked.tolist(), parent[linked].tolist(), strict=True)
        }
        return Tree(next_edge, costs)
