"""Whom to open a channel to, and how large: candidates from the public graph, explained.

Each node of the graph that is not us and not already our peer is scored on five parts,
each from 0 to 1, and the score is their weighted sum (``WEIGHTS``), so the ranking
explains itself:

- **capacity**: its public capacity, on a log scale from 1M sat (0) to 1B sat (1);
- **channels**: how many public channels it has, up to 50 (1);
- **freshness**: how recent its gossip is (our uptime proxy for a node we have no channel
  with): 1 within a day, falling to 0 at 14 days;
- **fees**: the median fee rate it charges on its channels, what our payments and
  forwards through it would pay: 0 ppm is 1, 1000 ppm or more is 0;
- **reach**: the share of our peers that do *not* already have a channel with it: a node
  our peers reach anyway adds less.

Not scored yet: where our own flows go and fail for lack of liquidity (the store knows the
channel a forward failed on, not where it was headed).

Capacity sizing: a channel must be worth its on-chain cost, an open and a cooperative close
(``OPEN_VBYTES`` + ``COOP_CLOSE_VBYTES`` at the fee rate), taken at most ``MAX_COST_SHARE``
of the capacity; and at least LND's minimum channel size. The budget is split evenly over
the candidates; when it cannot give each one a channel worth its cost, fewer are proposed.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.lifecycle.close import COOP_CLOSE_VBYTES
from lnpilot.node.models import Channel, Graph

#: A funding transaction of one P2WPKH input, the 2-of-2 output and change: about 150 vB.
OPEN_VBYTES = 150
#: The on-chain cost of opening and closing may be at most this share of the capacity.
MAX_COST_SHARE = 0.01
#: LND refuses smaller channels by default (``minchansize``).
LND_MIN_CHANNEL_SAT = 20_000
WEIGHTS = {"capacity": 0.25, "channels": 0.2, "freshness": 0.15, "fees": 0.2, "reach": 0.2}
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


@dataclass(frozen=True)
class Suggestion:
    candidates: list[Candidate]
    budget_sat: int
    fee_rate_sat_per_vbyte: int
    onchain_cost_sat: int
    min_worth_sat: int
    reasons: list[str]


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
) -> Suggestion:
    """The ``count`` best candidates, each sized within ``budget_sat``."""
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
    scored = []
    for node in graph.nodes:
        if node.pubkey == our_pubkey or node.pubkey in peers or node.pubkey not in neighbours:
            continue
        reaching = len(neighbours[node.pubkey] & peers)
        rates = fee_rates.get(node.pubkey)
        median = round(statistics.median(rates)) if rates else None
        age = now - node.last_update if node.last_update else None
        parts = {
            "capacity": _clamp((math.log10(max(capacity[node.pubkey], 1)) - 6) / 3),
            "channels": _clamp(count_of[node.pubkey] / 50),
            "freshness": 0.0 if age is None else _clamp(1 - (age - _FRESH) / (_STALE - _FRESH)),
            "fees": 0.0 if median is None else _clamp(1 - median / 1000),
            "reach": 1 - reaching / len(peers) if peers else 1.0,
        }
        score = round(sum(WEIGHTS[name] * value for name, value in parts.items()), 4)
        scored.append((score, node, parts, median, reaching))
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
                recommended_capacity_sat=each,
            )
            for score, node, parts, median, reaching in chosen
        ],
        budget_sat=budget_sat,
        fee_rate_sat_per_vbyte=fee_rate_sat_per_vbyte,
        onchain_cost_sat=_cost(fee_rate_sat_per_vbyte),
        min_worth_sat=smallest,
        reasons=reasons,
    )


def _cost(fee_rate_sat_per_vbyte: int) -> int:
    return fee_rate_sat_per_vbyte * (OPEN_VBYTES + COOP_CLOSE_VBYTES)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
