"""Paying: find a route, send, learn from the failure, try another, as LND's payment loop.

One `Payer` serves every sender of a network: it holds each sender's mission control and the
shared tree cache. A payment tries routes until one settles, the failure is final (the
receiver refused), no route is left, or the attempt budget is spent.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from lnpilot.simnet.clock import NS_PER_S
from lnpilot.simnet.failures import HtlcFailure, PaymentFailureReason, WireFailure
from lnpilot.simnet.mission_control import MissionControl
from lnpilot.simnet.model import Channel, ChannelState
from lnpilot.simnet.network import AttemptStatus, SimNetwork
from lnpilot.simnet.routing import (
    DEFAULT_FINAL_CLTV_DELTA,
    NoRouteError,
    Route,
    RouteCache,
    SearchLimits,
    Tree,
    build_route,
    path_from_tree,
    search_tree,
)
from lnpilot.simnet.senders import DEFAULT_SENDER_MIX, SenderProfile, check_mix, profile_for
from lnpilot.simnet.tree_engine import TreeEngine

#: How many routes a simulated sender tries before giving up on a payment.
DEFAULT_MAX_ATTEMPTS = 10
#: How many alternative channels a detour tries at each node of the path.
_DETOUR_CANDIDATES = 4
#: LND's multi-path splitting: when no route carries the amount, the largest part is halved
#: down to `routing.DefaultShardMinAmt` (10,000 sat), into at most 16 parts (`max_parts`,
#: lncli's default).
MIN_SHARD_MSAT = 10_000_000
MAX_PARTS = 16
#: How many (tree, node) channel rankings the detours keep (the oldest is dropped first).
_RANKED_ENTRIES = 512


@dataclass(slots=True)
class PaymentOutcome:
    """How a payment ended: each attempt's route and failure, and the final verdict."""

    status: AttemptStatus
    attempts: list[tuple[Route, HtlcFailure | None]] = field(default_factory=list)
    failure_reason: PaymentFailureReason = PaymentFailureReason.FAILURE_REASON_NONE
    #: The routes of a payment that settled in several parts (empty for one route).
    parts: list[Route] = field(default_factory=list)

    @property
    def route(self) -> Route | None:
        """The route that settled (or is held), if any."""
        if self.status is AttemptStatus.FAILED or not self.attempts:
            return None
        return self.attempts[-1][0]

    @property
    def fee_msat(self) -> int:
        if self.parts:
            return sum(part.total_fees_msat for part in self.parts)
        route = self.route
        return route.total_fees_msat if route is not None else 0


@dataclass(slots=True)
class PayerStats:
    """Totals over all payments, for summaries and the benchmark."""

    payments: int = 0
    succeeded: int = 0
    attempts: int = 0
    route_searches: int = 0
    fees_msat: int = 0
    failures_by_wire: dict[str, int] = field(default_factory=dict)


class Payer:
    """Route finding and the retry loop for all senders of one network."""

    def __init__(
        self,
        network: SimNetwork,
        route_ttl_ns: int = 24 * 3600 * NS_PER_S,
        sender_mix: dict[str, float] | None = None,
    ) -> None:
        self.network = network
        self.engine = TreeEngine(network)
        self.cache = RouteCache(self._shared_tree, ttl_ns=route_ttl_ns)
        network.watch_listeners.append(self.cache.edge_changed)
        self.stats = PayerStats()
        self._missions: dict[str, MissionControl] = {}
        self.sender_mix = dict(DEFAULT_SENDER_MIX if sender_mix is None else sender_mix)
        check_mix(self.sender_mix)
        self._profiles: dict[str, SenderProfile] = {}
        #: (id(tree), node) -> (the tree, `channel_ids_version`, its ranking): see `_ranked`.
        self._ranked_cache: dict[
            tuple[int, str], tuple[Tree, int, list[tuple[float, int, Channel, int, str]]]
        ] = {}
        #: Called with (source, dest, amount, outcome) after every payment: for measuring
        #: runs (bench/simnet_calibration.py) without keeping every payment in memory.
        self.payment_listeners: list[Callable[[str, str, int, PaymentOutcome], None]] = []

    def _shared_tree(self, dest: str, amt_msat: int, penalty_msat: int, penalty_ppm: int) -> Tree:
        return self.engine.search(
            dest, amt_msat, penalty_msat=penalty_msat, penalty_ppm=penalty_ppm
        )

    def profile(self, pubkey: str) -> SenderProfile:
        """The implementation a simulated sender pays with (fixed by its pubkey)."""
        profile = self._profiles.get(pubkey)
        if profile is None:
            profile = self._profiles[pubkey] = profile_for(pubkey, self.sender_mix)
        return profile

    def mission_control(self, pubkey: str) -> MissionControl:
        """The sender's memory (created empty on first use)."""
        mc = self._missions.get(pubkey)
        if mc is None:
            mc = self._missions[pubkey] = MissionControl()
        return mc

    def find_route(
        self,
        source: str,
        dest: str,
        amt_msat: int,
        limits: SearchLimits | None = None,
        final_cltv_delta: int = DEFAULT_FINAL_CLTV_DELTA,
    ) -> Route:
        """The route the sender would try next; NoRouteError when there is none.

        Simulated senders use a cached tree when nothing they know contradicts its path,
        then a detour off it, then a search of their own over the arrays. Our node, and any
        request with limits, gets LND's backward Dijkstra with its own probabilities.
        """
        if amt_msat <= 0:
            raise NoRouteError("amount must be positive")
        if source == dest:
            raise NoRouteError("source and destination are the same node")
        net = self.network
        if not net.online[dest]:
            raise NoRouteError(f"destination {dest[:16]} is offline (all its channels disabled)")
        mc = self.mission_control(source)
        height = net.chain.block_height
        now_ns = net.now_ns

        def probability(key: int, amt: int, capacity_msat: int) -> float:
            return mc.probability(key, amt, capacity_msat, now_ns)

        self.stats.route_searches += 1  # counts full searches; cache hits subtract below
        if limits is None and source != net.watched:
            profile = self.profile(source)
            fee_limit_msat = profile.fee_limit_msat(amt_msat)
            penalty = (profile.hop_penalty_msat, profile.hop_penalty_ppm)
            tree = self.cache.get(now_ns, dest, amt_msat, *penalty)
            if not self._can_send(source, amt_msat):
                # Every route starts on one of the sender's channels with at least the amount,
                # so none exists: the path, the detours and the search below would all say so
                # (and `_usable` refuses such a route before it looks at mission control).
                raise NoRouteError(
                    f"no route from {source[:16]} to {dest[:16]} for {amt_msat} msat"
                )
            path = path_from_tree(tree.next_edge, source, dest)
            if path is not None:
                route = build_route(source, path, amt_msat, height, final_cltv_delta)
                if self._usable(route, mc, fee_limit_msat):
                    self.stats.route_searches -= 1
                    return route
            detour = self._detour(
                tree, source, dest, amt_msat, mc, final_cltv_delta, path, fee_limit_msat
            )
            if detour is not None:
                self.stats.route_searches -= 1
                return detour
            path = self.engine.search_path(
                dest,
                amt_msat,
                source,
                probability,
                mc.known_keys(),
                SearchLimits(fee_limit_msat=fee_limit_msat),
                *penalty,
            )
        else:
            tree = search_tree(
                net.in_edges,
                net.online,
                dest,
                amt_msat,
                source,
                probability if len(mc) else None,
                limits,
            )
            path = path_from_tree(tree.next_edge, source, dest)
        if path is None:
            raise NoRouteError(f"no route from {source[:16]} to {dest[:16]} for {amt_msat} msat")
        return build_route(source, path, amt_msat, height, final_cltv_delta)

    def _ranked(self, tree: Tree, node: str) -> list[tuple[float, int, Channel, int, str]]:
        """The node's channels whose peer `tree` reaches, by (peer's cost-to-go, chan_id),
        whatever their state (kept per tree and node until a node's channel list changes)."""
        version = self.network.channel_ids_version
        key = (id(tree), node)
        entry = self._ranked_cache.get(key)
        if entry is not None and entry[0] is tree and entry[1] == version:
            return entry[2]
        dist_get = tree.dist.get
        ranked = []
        for chan_id, chan, d, peer in self.network.neighbours(node):
            cost = dist_get(peer)
            if cost is not None:
                ranked.append((cost, chan_id, chan, d, peer))
        ranked.sort()
        if len(self._ranked_cache) >= _RANKED_ENTRIES:
            del self._ranked_cache[next(iter(self._ranked_cache))]
        self._ranked_cache[key] = (tree, version, ranked)
        return ranked

    def _can_send(self, source: str, amt_msat: int) -> bool:
        """Whether one of the sender's channels could start a route for `amt_msat`: open,
        not disabled by the sender, its peer online and the amount above the reserve. Each
        route check (the search's, and `_usable` for the first hop before anything else about
        the route) asks at least that, so False means no route can exist."""
        online = self.network.online
        open_state = ChannelState.OPEN
        for _, chan, d, peer in self.network.neighbours(source):
            if (
                chan.balance_msat[d] - chan.reserve_sat * 1000 >= amt_msat
                and chan.state is open_state
                and online[peer]
                and not chan.policies[d].disabled
            ):
                return True
        return False

    def _detour(
        self,
        tree: Tree,
        source: str,
        dest: str,
        amt_msat: int,
        mc: MissionControl,
        final_cltv_delta: int,
        path: list[tuple[Channel, int]] | None,
        fee_limit_msat: int,
    ) -> Route | None:
        """A cheap alternative: leave the tree's path at some node by another channel.

        After a failure LND searches again without the failed channel; most of the time the
        answer shares a prefix with the old path, leaves it by another channel and then
        follows the common tree. So, at each node of the tree's path (the sender first), the
        other channels are tried in order of the tree's cost-to-go, before a full search.
        """
        net = self.network
        online = net.online
        height = net.chain.block_height
        prefix: list[tuple[Channel, int]] = []
        visited = {source}
        node = source
        steps: list[tuple[Channel, int] | None] = list(path) if path else [None]
        open_state = ChannelState.OPEN
        # With fees >= 0 a channel costs at least its peer's cost-to-go: walking a node's
        # channels in that order, the scan can stop once the peer's cost exceeds the fourth
        # best seen, with the same four as a full scan and sort.
        may_stop = not net.negative_fee_seen
        for step in steps:
            # (cost, chan_id, ...): chan_ids are unique among a node's channels, so the
            # tuples sort by cost then chan_id without ever comparing the rest.
            candidates: list[tuple[float, int, Channel, int]] = []
            skip = step[0] if step is not None else None
            forwarding = node != source  # a forwarding node's own fee counts too
            fourth = math.inf
            for peer_cost, chan_id, chan, d, peer in self._ranked(tree, node):
                if peer_cost > fourth:
                    break
                if chan.state is not open_state or chan is skip:
                    continue
                if peer not in visited and online[peer]:
                    if forwarding:
                        policy = chan.policies[d]
                        cost = peer_cost + (
                            policy.base_fee_msat + amt_msat * policy.fee_rate_ppm // 1_000_000
                        )
                        if not may_stop or len(candidates) < _DETOUR_CANDIDATES:
                            candidates.append((cost, chan_id, chan, d))
                            if may_stop and len(candidates) == _DETOUR_CANDIDATES:
                                candidates.sort()
                                fourth = candidates[-1][0]
                        elif cost < fourth or (cost == fourth and chan_id < candidates[-1][1]):
                            bisect.insort(candidates, (cost, chan_id, chan, d))
                            candidates.pop()
                            fourth = candidates[-1][0]
                    else:  # in (cost, chan_id) order already: the first four are the four
                        candidates.append((peer_cost, chan_id, chan, d))
                        if len(candidates) == _DETOUR_CANDIDATES:
                            break
            candidates.sort()
            for _, _, chan, d in candidates[:_DETOUR_CANDIDATES]:
                peer = chan.node2 if d == 0 else chan.node1
                rest = path_from_tree(tree.next_edge, peer, dest)
                if rest is None or any(
                    (c.node2 if dd == 0 else c.node1) in visited for c, dd in rest
                ):
                    continue
                route = build_route(
                    source, [*prefix, (chan, d), *rest], amt_msat, height, final_cltv_delta
                )
                if self._usable(route, mc, fee_limit_msat):
                    return route
            if step is None:
                break
            prefix.append(step)
            node = step[0].node2 if step[1] == 0 else step[0].node1
            visited.add(node)
        return None

    def _usable(self, route: Route, mc: MissionControl, fee_limit_msat: int) -> bool:
        """Whether a cached path holds for this amount, this sender's knowledge and fee limit.

        The checks run in this order on purpose: mission control is consulted (and prunes
        forgotten failures) only for hops that pass everything else, hop by hop.
        """
        amounts = route.amounts_msat
        if amounts[0] - amounts[-1] > fee_limit_msat:
            return False
        chans = route.channels
        dirs = route.directions
        first = chans[0]
        d0 = dirs[0]
        if first.sendable_msat(d0) < amounts[0]:
            return False
        online = self.network.online
        if not online[first.node2 if d0 == 0 else first.node1]:
            return False
        now_ns = self.network.now_ns
        open_state = ChannelState.OPEN
        # with no failure remembered, `penalised` is False and changes nothing
        remembers = len(mc) > 0
        for i in range(len(chans)):
            chan = chans[i]
            d = dirs[i]
            if chan.state is not open_state or not online[chan.node2 if d == 0 else chan.node1]:
                return False
            policy = chan.policies[d]
            x = amounts[i]
            if policy.disabled or x < policy.min_htlc_msat or x > policy.max_htlc_msat:
                return False
            if remembers and mc.penalised(chan.chan_id << 1 | d, x, now_ns):
                return False
        return True

    def pay(
        self,
        source: str,
        dest: str,
        amt_msat: int,
        payment_hash: str | None = None,
        limits: SearchLimits | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        final_cltv_delta: int = DEFAULT_FINAL_CLTV_DELTA,
    ) -> PaymentOutcome:
        """Try routes until the payment settles or cannot; every attempt teaches the sender."""
        net = self.network
        outcome = PaymentOutcome(AttemptStatus.FAILED)
        mc = self.mission_control(source)
        splittable = payment_hash is None and limits is None and source != net.watched
        for tried in range(max_attempts):
            try:
                route = self.find_route(source, dest, amt_msat, limits, final_cltv_delta)
            except NoRouteError:
                if splittable and amt_msat >= 2 * MIN_SHARD_MSAT:
                    budget = max_attempts - tried
                    self._pay_in_parts(outcome, source, dest, amt_msat, budget, final_cltv_delta)
                    if outcome.status is not AttemptStatus.FAILED:
                        break
                outcome.failure_reason = self._no_route_reason(source, amt_msat)
                break
            status, failure = net.execute(route, payment_hash)
            self.stats.attempts += 1
            outcome.attempts.append((route, failure))
            self._learn(mc, route, failure)
            if failure is None:
                outcome.status = status
                outcome.failure_reason = PaymentFailureReason.FAILURE_REASON_NONE
                break
            wire = failure.wire.value
            self.stats.failures_by_wire[wire] = self.stats.failures_by_wire.get(wire, 0) + 1
            if failure.wire is WireFailure.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS:
                outcome.failure_reason = (
                    PaymentFailureReason.FAILURE_REASON_INCORRECT_PAYMENT_DETAILS
                )
                break
        else:
            outcome.failure_reason = PaymentFailureReason.FAILURE_REASON_NO_ROUTE
        self.stats.payments += 1
        if outcome.status is not AttemptStatus.FAILED:
            self.stats.succeeded += 1
            self.stats.fees_msat += outcome.fee_msat
        net.log.record(
            net.now_ns,
            "pay",
            src=source[:16],
            dst=dest[:16],
            amt=amt_msat,
            ok=int(outcome.status is not AttemptStatus.FAILED),
            tries=len(outcome.attempts),
            fee=outcome.fee_msat,
            **({"parts": len(outcome.parts)} if outcome.parts else {}),
        )
        for listener in self.payment_listeners:
            listener(source, dest, amt_msat, outcome)
        return outcome

    def _pay_in_parts(
        self,
        outcome: PaymentOutcome,
        source: str,
        dest: str,
        amt_msat: int,
        budget: int,
        final_cltv_delta: int,
    ) -> None:
        """LND's multi-path payment for an amount no single route carries.

        Parts are at most half the amount, halved again whenever no route carries the part
        (not below 10,000 sat, at most 16 parts); each part is locked at the receiver until
        the sum arrives, then all settle; if the attempts run out first, all fail back, so
        a payment is never half paid. Sets `outcome.status`/`parts` on success.
        """
        net = self.network
        mc = self.mission_control(source)
        part_max = amt_msat // 2
        remaining = amt_msat
        locked: list[tuple[Route, list[int]]] = []
        while remaining > 0 and budget > 0 and len(locked) < MAX_PARTS:
            part = min(remaining, part_max)
            try:
                route = self.find_route(source, dest, part, None, final_cltv_delta)
            except NoRouteError:
                if part_max // 2 < MIN_SHARD_MSAT:
                    break
                part_max //= 2
                continue
            htlc_ids, failure = net.lock(route)
            budget -= 1
            self.stats.attempts += 1
            outcome.attempts.append((route, failure))
            self._learn(mc, route, failure)
            if failure is None:
                locked.append((route, htlc_ids))
                remaining -= part
            else:
                wire = failure.wire.value
                self.stats.failures_by_wire[wire] = self.stats.failures_by_wire.get(wire, 0) + 1
        if remaining == 0:
            for route, htlc_ids in locked:
                net.settle_locked(route, htlc_ids)
            outcome.status = AttemptStatus.SETTLED
            outcome.failure_reason = PaymentFailureReason.FAILURE_REASON_NONE
            outcome.parts = [route for route, _ in locked]
        else:
            for route, htlc_ids in locked:
                net.release_locked(route, htlc_ids)

    def _learn(self, mc: MissionControl, route: Route, failure: HtlcFailure | None) -> None:
        now_ns = self.network.now_ns
        reached = len(route.channels) if failure is None else failure.hop_index
        for i in range(min(reached, len(route.channels))):
            chan = route.channels[i]
            mc.report_success(
                chan.chan_id << 1 | route.directions[i], route.amounts_msat[i], now_ns
            )
        if failure is not None and failure.hop_index < len(route.channels):
            i = failure.hop_index
            chan = route.channels[i]
            mc.report_failure(
                chan.chan_id << 1 | route.directions[i], route.amounts_msat[i], now_ns
            )

    def _no_route_reason(self, source: str, amt_msat: int) -> PaymentFailureReason:
        """LND says INSUFFICIENT_BALANCE when the sender's own channels cannot carry it."""
        net = self.network
        outbound = 0
        for chan_id in net.nodes[source].channel_ids:
            chan = net.channels[chan_id]
            if net.is_active(chan):
                outbound = max(outbound, chan.sendable_msat(chan.side_of(source)))
        if outbound < amt_msat:
            return PaymentFailureReason.FAILURE_REASON_INSUFFICIENT_BALANCE
        return PaymentFailureReason.FAILURE_REASON_NO_ROUTE
