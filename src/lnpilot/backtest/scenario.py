"""The backtest's scenario: the modelled network plus the fitted demand as simnet flows.

Each fitted pair (peer in → peer out) is a flow from a payer leaf behind the incoming peer
to a payee leaf behind the outgoing one. The leaves have one channel each, to that peer,
free of fees (its fee would fall on every route alike, rivals' and ours, and so change
nothing between them), and deep enough to carry the whole run's volume: the only
liquidity that runs out is the one that runs out on the real node.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lnpilot.backtest.demand import FittedDemand, PairDemand
from lnpilot.backtest.model import OURS, NodeState, block_height_for, network_parts
from lnpilot.simnet.scenario import Scenario

#: With no history to fit: what is assumed between every two of our peers.
ASSUMED_PER_HOUR_PER_PAIR = 0.5
ASSUMED_MEDIAN_SAT = 20_000
ASSUMED_SIGMA = 1.2
#: A leaf's channel carries this many times the volume it is expected to pay or receive.
_LEAF_HEADROOM = 3
_MIN_LEAF_SAT = 1_000_000


@dataclass(frozen=True)
class BuiltScenario:
    scenario: Scenario
    raw: dict[str, Any]
    pairs: tuple[PairDemand, ...]
    graph_nodes: int
    graph_channels: int
    gaps: tuple[str, ...]


def assumed_pairs(peers: list[str]) -> tuple[PairDemand, ...]:
    """Flat demand between every ordered pair of distinct peers (no history to fit)."""
    return tuple(
        PairDemand(
            peer_in=a,
            peer_out=b,
            forwards=0,
            liquidity_failures=0,
            per_hour=ASSUMED_PER_HOUR_PER_PAIR,
            amount_median_sat=ASSUMED_MEDIAN_SAT,
            amount_sigma=ASSUMED_SIGMA,
            amount_max_sat=ASSUMED_MEDIAN_SAT * 50,
            daily_amplitude=0.0,
            peak_hour_utc=0.0,
        )
        for a in peers
        for b in peers
        if a != b
    )


def build(
    state: NodeState,
    demand: FittedDemand,
    *,
    pairs: tuple[PairDemand, ...] | None = None,
    local_balance_msat: Mapping[str, int] | None = None,
    start: datetime,
    hours: float,
    max_nodes: int,
) -> BuiltScenario:
    """The scenario for runs of up to `hours` virtual hours from `start` (with `pairs`
    instead of the demand's own, when given: the calibrated ones; `local_balance_msat`
    by scid instead of today's balances, for the replay of the recorded window)."""
    gaps = list(state.gaps)
    parts = network_parts(state, max_nodes, local_balance_msat)
    pairs = demand.pairs if pairs is None else pairs
    if not pairs:
        pairs = assumed_pairs(sorted({c.peer_pubkey for c in state.channels}))
        gaps.append(
            "the store holds no forward of the node in the history window (run the collector "
            "or the daemon first; the LNbits node API has no forwarding history): assumed "
            f"{ASSUMED_PER_HOUR_PER_PAIR:g} payments per hour between every two peers, "
            f"median {ASSUMED_MEDIAN_SAT:,} sat"
        )
    volume_sat: dict[str, float] = {}
    flows = []
    for i, pair in enumerate(pairs):
        src = f"src_{parts.names[pair.peer_in]}"
        dst = f"dst_{parts.names[pair.peer_out]}"
        mean_sat = pair.amount_median_sat * math.exp(pair.amount_sigma**2 / 2)
        expected = pair.per_hour * (1 + pair.daily_amplitude) * hours * mean_sat
        volume_sat[src] = volume_sat.get(src, 0.0) + expected
        volume_sat[dst] = volume_sat.get(dst, 0.0) + expected
        flows.append(
            {
                "name": f"pair{i}_{parts.names[pair.peer_in]}_{parts.names[pair.peer_out]}",
                "source": src,
                "dest": dst,
                "per_hour": pair.per_hour,
                "amount_median_sat": pair.amount_median_sat,
                "amount_sigma": pair.amount_sigma,
                "amount_max_sat": pair.amount_max_sat,
                "daily_amplitude": pair.daily_amplitude,
                "peak_hour_utc": pair.peak_hour_utc,
            }
        )
    nodes = list(parts.nodes)
    channels = list(parts.channels)
    free = {"base_fee_msat": 0, "fee_rate_ppm": 0}
    for leaf in sorted(volume_sat):
        peer = leaf.split("_", 1)[1]
        capacity_sat = max(_MIN_LEAF_SAT, int(volume_sat[leaf] * _LEAF_HEADROOM))
        nodes.append({"name": leaf})
        channels.append(
            {
                "a": leaf,
                "b": peer,
                "capacity_sat": capacity_sat,
                # A payer holds the sats; a payee's peer holds them, to pay it.
                "a_balance_sat": capacity_sat if leaf.startswith("src_") else 0,
                "policy_a": free,
                "policy_b": free,
            }
        )
    raw: dict[str, Any] = {
        "simulation": {
            "our_node": OURS,
            "seed": 0,
            "start": start.isoformat(),
            "block_height": block_height_for(state),
        },
        "nodes": nodes,
        "channels": channels,
        "demand": {"payments_per_day": 0.0},
        "flows": flows,
        # The node as it is: nobody opens or closes channels during the run.
        "dynamics": {"opens_per_day": 0.0, "closes_per_day": 0.0},
    }
    return BuiltScenario(
        scenario=Scenario.model_validate(raw),
        raw=raw,
        pairs=pairs,
        graph_nodes=parts.graph_nodes,
        graph_channels=parts.graph_channels,
        gaps=tuple(gaps),
    )
