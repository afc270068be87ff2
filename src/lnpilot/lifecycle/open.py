"""Whom to open a channel to, and how large: candidates from the public graph, explained.

Each node of the graph that is not us and not already our peer is scored on seven parts,
each from 0 to 1, and the score is their weighted sum (``WEIGHTS``), so the ranking
explains itself. The two that weigh most are our own observations
(:mod:`lnpilot.lifecycle.demand`, the last 30 days, by the peer a forward left to):

- **unserved**: the share of the forwards that failed for lack of liquidity whose
  destination peer the node has a channel to: a second way to where we failed;
- **flows**: the share of the volume we forwarded whose destination peer it reaches;

and five from the public graph:

- **capacity**: its public capacity, on a log scale from 1M sat (0) to 1B sat (1);
- **channels**: how many public channels it has, up to 50 (1);
- **freshness**: how recent its gossip is (our uptime proxy for a node we have no channel
  with): 1 within a day, falling to 0 at 14 days;
- **fees**: the median fee rate it charges on its channels, what our payments and
  forwards through it would pay: 0 ppm is 1, 1000 ppm or more is 0;
- **reach**: the share of our peers that do *not* already have a channel with it: a node
  our peers reach anyway adds less.

Capacity sizing: a channel must be worth its on-chain cost, an open and a cooperative close
(``OPEN_VBYTES`` + ``COOP_CLOSE_VBYTES`` at the fee rate), taken at most ``MAX_COST_SHARE``
of the capacity; and at least LND's minimum channel size. The budget is split evenly over
the candidates; when it cannot give each one a channel worth its cost, fewer are proposed.
A candidate that reaches unserved demand is sized to that demand (the month's failed
amount toward what it reaches), within the same floor and its share of the budget.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from lnpilot.base.domain import Channel, Graph, PolicyUpdate
from lnpilot.lifecycle.close import (
    COOP_CLOSE_VBYTES,
    Journal,
    Outcome,
    PlanState,
    RunReport,
    advance,
    load_plan,
    store_plan,
)
from lnpilot.lifecycle.demand import Demand, read_demand
from lnpilot.lifecycle.onchain import FeeRateUnknown, fee_rate
from lnpilot.node.backend import DESCRIPTIONS, CapabilityMissing, NodeBackend
from lnpilot.store import Store, lifecycle
from lnpilot.store.lifecycle import Agreement, PlanRecord
from lnpilot.store.records import JsonValue

#: A funding transaction of one P2WPKH input, the 2-of-2 output and change: about 150 vB.
OPEN_VBYTES = 150
#: The on-chain cost of opening and closing may be at most this share of the capacity.
MAX_COST_SHARE = 0.01
#: LND refuses smaller channels by default (``minchansize``).
LND_MIN_CHANNEL_SAT = 20_000
#: The reserve asked of the peer: LND wants it above the dust limit (354 sat for anchor
#: channels) and at most a fifth of the capacity (``remote_chan_reserve_sat``).
MIN_REMOTE_RESERVE_SAT = 354
MAX_REMOTE_RESERVE_SHARE = 5
WEIGHTS = {
    "unserved": 0.25,
    "flows": 0.15,
    "capacity": 0.15,
    "channels": 0.1,
    "freshness": 0.1,
    "fees": 0.15,
    "reach": 0.1,
}
_FRESH = timedelta(days=1)
_STALE = timedelta(days=14)


class OpenError(ValueError):
    """A suggestion or plan that cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class Candidate:
    """A node to open to, its score with each part, and the capacity recommended for it."""

    pubkey: str
    alias: str | None
    address: str | None
    score: float
    parts: dict[str, float]
    capacity_sat: int
    num_channels: int
    median_fee_rate_ppm: int | None
    peers_reaching: int
    last_update: datetime | None
    recommended_capacity_sat: int
    #: of our last 30 days: failed for lack of liquidity, and forwarded, toward peers it reaches
    unserved_reached_msat: int = 0
    flows_reached_msat: int = 0


@dataclass(frozen=True)
class Suggestion:
    candidates: list[Candidate]
    budget_sat: int
    fee_rate_sat_per_vbyte: int
    onchain_cost_sat: int
    min_worth_sat: int
    reasons: list[str]
    #: "given", or the node's estimate (:mod:`lnpilot.lifecycle.onchain`)
    fee_rate_source: str = "given"


def min_worth_sat(fee_rate_sat_per_vbyte: int) -> int:
    """The smallest channel worth its on-chain cost at this fee rate (module docstring)."""
    cost = fee_rate_sat_per_vbyte * (OPEN_VBYTES + COOP_CLOSE_VBYTES)
    return max(LND_MIN_CHANNEL_SAT, math.ceil(cost / MAX_COST_SHARE))


def suggest(
    graph: Graph,
    our_pubkey: str,
    channels: list[Channel],
    now: datetime,
    *,
    budget_sat: int,
    count: int,
    fee_rate_sat_per_vbyte: int,
    demand: Demand | None = None,
) -> Suggestion:
    """The ``count`` best candidates, each sized within ``budget_sat``."""
    demand = demand or Demand()
    if count < 1:
        raise OpenError(f"count {count}: give at least 1")
    if fee_rate_sat_per_vbyte < 1:
        raise OpenError(f"fee rate {fee_rate_sat_per_vbyte} sat/vB: give at least 1")
    smallest = min_worth_sat(fee_rate_sat_per_vbyte)
    affordable = budget_sat // smallest
    if affordable < 1:
        raise OpenError(
            f"a budget of {budget_sat:,} sat is below the smallest channel worth its on-chain "
            f"cost ({smallest:,} sat at {fee_rate_sat_per_vbyte} sat/vB): raise the budget"
        )
    peers = {c.peer_pubkey for c in channels}
    neighbours: dict[str, set[str]] = {}
    fee_rates: dict[str, list[int]] = {}
    capacity: dict[str, int] = {}
    count_of: dict[str, int] = {}
    for edge in graph.edges:
        for end, other, policy in (
            (edge.node1, edge.node2, edge.node1_policy),
            (edge.node2, edge.node1, edge.node2_policy),
        ):
            neighbours.setdefault(end, set()).add(other)
            capacity[end] = capacity.get(end, 0) + edge.capacity_sat
            count_of[end] = count_of.get(end, 0) + 1
            if policy is not None and not policy.disabled:
                fee_rates.setdefault(end, []).append(policy.fee_rate_ppm)
    unserved_msat = sum(demand.unserved_msat.values())
    served_msat = sum(demand.served_msat.values())
    scored = []
    for node in graph.nodes:
        if node.pubkey == our_pubkey or node.pubkey in peers or node.pubkey not in neighbours:
            continue
        reaches = neighbours[node.pubkey]
        reaching = len(reaches & peers)
        unserved = demand.unserved_toward(reaches)
        flows = demand.served_toward(reaches)
        rates = fee_rates.get(node.pubkey)
        median = round(statistics.median(rates)) if rates else None
        age = now - node.last_update if node.last_update else None
        parts = {
            "unserved": unserved / unserved_msat if unserved_msat else 0.0,
            "flows": flows / served_msat if served_msat else 0.0,
            "capacity": _clamp((math.log10(max(capacity[node.pubkey], 1)) - 6) / 3),
            "channels": _clamp(count_of[node.pubkey] / 50),
            "freshness": 0.0 if age is None else _clamp(1 - (age - _FRESH) / (_STALE - _FRESH)),
            "fees": 0.0 if median is None else _clamp(1 - median / 1000),
            "reach": 1 - reaching / len(peers) if peers else 1.0,
        }
        score = round(sum(WEIGHTS[name] * value for name, value in parts.items()), 4)
        scored.append((score, node, parts, median, reaching, unserved, flows))
    scored.sort(key=lambda found: (-found[0], found[1].pubkey))
    chosen = scored[: min(count, affordable)]
    each = max(smallest, budget_sat // max(len(chosen), 1))
    reasons = [
        f"an open and a close cost about {_cost(fee_rate_sat_per_vbyte):,} sat on chain at "
        f"{fee_rate_sat_per_vbyte} sat/vB: no channel below {smallest:,} sat "
        f"(cost at most {MAX_COST_SHARE:.0%} of it)"
    ]
    if affordable < count:
        reasons.append(f"the budget gives {affordable} channel(s) worth their cost, not {count}")
    if unserved_msat:
        reasons.append(
            f"{unserved_msat // 1000:,} sat of forwards failed for lack of liquidity in 30 days; "
            "a candidate reaching their destinations is sized to what it reaches"
        )
    else:
        reasons.append("no forward failed for lack of liquidity in 30 days: sized by budget")
    return Suggestion(
        candidates=[
            Candidate(
                pubkey=node.pubkey,
                alias=node.alias,
                address=node.addresses[0] if node.addresses else None,
                score=score,
                parts={name: round(value, 4) for name, value in parts.items()},
                capacity_sat=capacity[node.pubkey],
                num_channels=count_of[node.pubkey],
                median_fee_rate_ppm=median,
                peers_reaching=reaching,
                last_update=node.last_update,
                recommended_capacity_sat=_sized(unserved, smallest, each),
                unserved_reached_msat=unserved,
                flows_reached_msat=flows,
            )
            for score, node, parts, median, reaching, unserved, flows in chosen
        ],
        budget_sat=budget_sat,
        fee_rate_sat_per_vbyte=fee_rate_sat_per_vbyte,
        onchain_cost_sat=_cost(fee_rate_sat_per_vbyte),
        min_worth_sat=smallest,
        reasons=reasons,
    )


async def suggest_open(
    node: NodeBackend,
    store: Store,
    node_id: int,
    now: datetime,
    *,
    budget_sat: int | None = None,
    count: int = 3,
    fee_rate_sat_per_vbyte: int | None = None,
    fee_rate_flag: str = "--fee-rate",
) -> Suggestion:
    """:func:`suggest` over what the node says now: the one call behind ``lnpilot open
    suggest``, ``GET /api/v1/open/suggestions`` and the dashboard, so they rank alike.

    The budget defaults to the wallet's confirmed balance, the fee rate to the node's
    estimate (``fee_rate_flag`` is the input named when it has none). Nothing is sent."""
    try:
        rate = await fee_rate(node, fee_rate_sat_per_vbyte, flag=fee_rate_flag)
    except FeeRateUnknown as exc:
        raise OpenError(str(exc)) from None
    if budget_sat is None:
        budget_sat = (await node.onchain_balance()).confirmed_sat
    info = await node.get_info()
    async with store.read() as reader:
        demand = await read_demand(reader, node_id, now)
    found = suggest(
        await node.describe_graph(),
        info.pubkey,
        await node.list_channels() + await node.list_pending_channels(),
        now,
        budget_sat=budget_sat,
        count=count,
        fee_rate_sat_per_vbyte=rate.sat_per_vbyte,
        demand=demand,
    )
    return replace(found, fee_rate_source=rate.source)


def _sized(unserved_msat: int, smallest_sat: int, share_sat: int) -> int:
    """The month's unserved demand it reaches, within [smallest worth it, budget share]."""
    if not unserved_msat:
        return share_sat
    return min(share_sat, max(smallest_sat, math.ceil(unserved_msat / 1000)))


def _cost(fee_rate_sat_per_vbyte: int) -> int:
    return fee_rate_sat_per_vbyte * (OPEN_VBYTES + COOP_CLOSE_VBYTES)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


# --- the open procedure ------------------------------------------------------------------

OPEN_KIND = "open"


class OpenStep(enum.StrEnum):
    CONNECT = "connect"
    OPEN = "open"
    POLICY = "policy"
    AGREEMENT = "agreement"


@dataclass(frozen=True)
class OpenTerms:
    """The security and policy parameters set on the channel, and the agreement's words."""

    fee_rate_ppm: int | None = None
    base_fee_msat: int | None = None
    inbound_fee_rate_ppm: int | None = None
    cltv_delta: int | None = None
    min_htlc_msat: int | None = None
    max_htlc_msat: int | None = None
    #: the reserve we ask the peer to keep, set at open (LND's ``remote_chan_reserve_sat``)
    remote_reserve_sat: int | None = None
    name: str | None = None
    note: str | None = None
    contact: str | None = None


async def plan_open(
    node: NodeBackend,
    store: Store,
    node_id: int,
    peer_pubkey: str,
    capacity_sat: int,
    *,
    by: str,
    now: datetime,
    terms: OpenTerms,
    address: str | None = None,
    sat_per_vbyte: int | None = None,
) -> PlanRecord:
    """Store an open plan: checked against the graph, LND's minimum and the wallet."""
    if len(peer_pubkey) != 66 or not all(ch in "0123456789abcdef" for ch in peer_pubkey):
        raise OpenError(f"{peer_pubkey!r} is not a node pubkey (66 lowercase hex digits)")
    if capacity_sat < LND_MIN_CHANNEL_SAT:
        raise OpenError(
            f"capacity {capacity_sat:,} sat is below LND's minimum of {LND_MIN_CHANNEL_SAT:,}"
        )
    balance = (await node.onchain_balance()).confirmed_sat
    if capacity_sat > balance:
        raise OpenError(
            f"capacity {capacity_sat:,} sat is above the wallet's confirmed {balance:,} sat"
        )
    reserve = terms.remote_reserve_sat
    if reserve is not None:
        if not node.open_reserve_settable():
            raise OpenError(
                f"the {node.name} backend cannot set the reserve asked of the peer: leave it "
                "out (the node chooses) or configure LND REST"
            )
        largest = capacity_sat // MAX_REMOTE_RESERVE_SHARE
        if not MIN_REMOTE_RESERVE_SAT <= reserve <= largest:
            raise OpenError(
                f"reserve {reserve:,} sat asked of the peer: give {MIN_REMOTE_RESERVE_SAT} to "
                f"{largest:,} sat (above the dust limit, at most a fifth of the capacity)"
            )
    if terms.cltv_delta is not None and not 18 <= terms.cltv_delta <= 2016:
        raise OpenError(f"CLTV delta {terms.cltv_delta}: give 18 to 2016 blocks")
    for name, value in (("fee rate", terms.fee_rate_ppm), ("base fee", terms.base_fee_msat)):
        if value is not None and value < 0:
            raise OpenError(f"{name} {value} is negative: give 0 or more")
    missing = _policy_update(terms.__dict__).needed_capabilities() - node.capabilities
    if missing:
        words = ", ".join(sorted(DESCRIPTIONS[c] for c in missing))
        raise OpenError(
            f"the {node.name} backend cannot set {words}: leave them out of the terms or "
            "configure LND REST"
        )
    try:
        graph = await node.describe_graph()
    except CapabilityMissing:
        if address is None:
            raise OpenError(
                f"the {node.name} backend has no public graph to find {peer_pubkey}'s address "
                "in: give its address (host:port)"
            ) from None
        graph = Graph(nodes=(), edges=())
    known = {n.pubkey: n for n in graph.nodes}
    if peer_pubkey not in known and address is None:
        raise OpenError(
            f"peer {peer_pubkey} is not in the public graph: give its address (host:port)"
        )
    if address is None and not known[peer_pubkey].addresses:
        raise OpenError(f"peer {peer_pubkey} announces no address: give one (host:port)")
    host = address or known[peer_pubkey].addresses[0]
    params: dict[str, JsonValue] = {
        "capacity_sat": capacity_sat,
        "address": host,
        "sat_per_vbyte": sat_per_vbyte,
        "terms": {k: v for k, v in terms.__dict__.items() if v is not None},
    }
    plan = PlanRecord(
        node_id=node_id,
        kind=OPEN_KIND,
        created_at=now,
        created_by=by,
        updated_at=now,
        state=PlanState.PLANNED,
        next_step=OpenStep.CONNECT,
        peer_pubkey=peer_pubkey,
        params=params,
        basis={"onchain_confirmed_sat": balance},
    )
    return await store_plan(
        store, plan, f"open {capacity_sat:,} sat to {peer_pubkey} at {host}", params
    )


async def run_open(
    node: NodeBackend,
    store: Store,
    plan_id: int,
    *,
    by: str,
    clock: Callable[[], datetime],
    apply: bool = False,
) -> RunReport:
    """Connect, open, set the policy once the channel confirms, store the agreement."""
    plan = await load_plan(store, plan_id, OPEN_KIND, OpenError)
    journal = Journal(store, plan_id, by, clock, [])
    if plan.next_step is None:
        return RunReport(plan, journal.written)
    terms = plan.params.get("terms")
    agreed = dict(terms) if isinstance(terms, dict) else {}
    capacity = int(str(plan.params["capacity_sat"]))
    if not apply:
        reserve_sat = _maybe(agreed, "remote_reserve_sat")
        asking = f" asking the peer a reserve of {reserve_sat:,} sat" if reserve_sat else ""
        set_after = {k: v for k, v in agreed.items() if k != "remote_reserve_sat"}
        await journal(
            plan.next_step,
            Outcome.DRY_RUN,
            f"would connect to {plan.peer_pubkey}, open {capacity:,} sat{asking}, set "
            f"{set_after or 'no'} terms once it confirms and store the agreement (dry run: "
            "nothing sent)",
        )
        return RunReport(plan, journal.written)
    while plan.next_step is not None:
        step = OpenStep(plan.next_step)
        now = clock()
        if step is OpenStep.CONNECT:
            peers = {p.pubkey for p in await node.list_peers()}
            if plan.peer_pubkey in peers:
                await journal(step, Outcome.DONE, "connected already")
            else:
                await node.connect_peer(plan.peer_pubkey, str(plan.params["address"]))
                await journal(step, Outcome.DONE, f"connected to {plan.params['address']}")
            plan = await advance(store, plan, now, PlanState.RUNNING, OpenStep.OPEN)
        elif step is OpenStep.OPEN:
            balance = (await node.onchain_balance()).confirmed_sat
            if capacity > balance:
                await journal(
                    step, Outcome.REFUSED, f"the wallet holds {balance:,} sat now: make a new plan"
                )
                plan = await advance(store, plan, now, PlanState.STALE, None)
                break
            rate = plan.params.get("sat_per_vbyte")
            reserve = _maybe(agreed, "remote_reserve_sat")
            point = await node.open_channel(
                plan.peer_pubkey,
                capacity,
                sat_per_vbyte=rate if isinstance(rate, int) else None,
                remote_reserve_sat=reserve,
            )
            asked = f", asking the peer a reserve of {reserve:,} sat" if reserve else ""
            await journal(step, Outcome.DONE, f"funding sent: channel point {point}{asked}")
            sent: dict[str, JsonValue] = {**plan.result, "channel_point": point}
            if isinstance(rate, int):
                # an estimate for accounting: the typical funding size at the rate asked for
                sent |= {"onchain_fee_sat": rate * OPEN_VBYTES, "onchain_fee_at": now.isoformat()}
            plan = await advance(store, plan, now, PlanState.RUNNING, OpenStep.POLICY, sent)
        elif step is OpenStep.POLICY:
            point = str(plan.result["channel_point"])
            channel = next(
                (c for c in await node.list_channels() if c.channel_point == point), None
            )
            if channel is None:
                await journal(step, Outcome.WAITING, "the funding is not confirmed yet")
                break
            update = _policy_update(agreed)
            if update.needed_capabilities():
                await node.update_policy(channel, update)
                reason = "set right after the open (LND's open takes none of them)"
            else:
                reason = "no policy agreed: the node's defaults stay"
            reason += _reserve_read_back(_maybe(agreed, "remote_reserve_sat"), channel)
            await journal(step, Outcome.DONE, reason, scid=channel.scid)
            plan = await advance(
                store,
                plan,
                now,
                PlanState.RUNNING,
                OpenStep.AGREEMENT,
                {**plan.result, "scid": channel.scid, "chan_id": channel.chan_id},
            )
        else:
            chan_id = plan.result.get("chan_id")
            async with store.transaction() as tx:
                await lifecycle.add_agreement(
                    tx,
                    Agreement(
                        node_id=plan.node_id,
                        peer_pubkey=plan.peer_pubkey,
                        created_at=now,
                        channel_point=str(plan.result["channel_point"]),
                        chan_id=chan_id if isinstance(chan_id, int) else None,
                        name=_text(agreed, "name"),
                        note=_text(agreed, "note"),
                        contact=_text(agreed, "contact"),
                        terms={k: v for k, v in agreed.items() if k not in _WORDS},
                    ),
                )
            await journal(step, Outcome.DONE, "agreement stored")
            plan = await advance(store, plan, now, PlanState.DONE, None)
    return RunReport(plan, journal.written)


_WORDS = ("name", "note", "contact")


def _policy_update(terms: Mapping[str, object]) -> PolicyUpdate:
    """The terms set on the channel once it confirms (the rest are words, or the reserve,
    set at open)."""
    return PolicyUpdate(
        base_fee_msat=_maybe(terms, "base_fee_msat"),
        fee_rate_ppm=_maybe(terms, "fee_rate_ppm"),
        inbound_fee_rate_ppm=_maybe(terms, "inbound_fee_rate_ppm"),
        min_htlc_msat=_maybe(terms, "min_htlc_msat"),
        max_htlc_msat=_maybe(terms, "max_htlc_msat"),
        cltv_delta=_maybe(terms, "cltv_delta"),
    )


def _reserve_read_back(asked_sat: int | None, channel: Channel) -> str:
    """The reserve the node shows for the peer, against what the plan asked: a peer that
    countered, or a backend that dropped it, shows here rather than in a silent default."""
    if asked_sat is None:
        return ""
    shown = channel.remote_reserve_sat
    if shown == asked_sat:
        return f"; the peer's reserve reads back as asked: {asked_sat:,} sat"
    return f"; the peer's reserve reads back as {shown} sat, not the {asked_sat:,} sat asked"


def _maybe(terms: Mapping[str, object], name: str) -> int | None:
    value = terms.get(name)
    return value if isinstance(value, int) else None


def _text(terms: dict[str, JsonValue], name: str) -> str | None:
    value = terms.get(name)
    return value if isinstance(value, str) else None
