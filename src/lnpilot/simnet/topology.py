"""A generated Lightning-like graph: scale-free, with realistic capacities and fees.

Preferential attachment (each new node opens channels to existing nodes chosen in proportion
to their degree) gives the hub-and-spoke shape of the real network. Distributions follow the
public graph (see ../shared/data/README.md): capacity log-normal with a median of 10M sat,
fee rate log-normal with a median of about 250 ppm, base fee mostly 0 or 1000 msat, CLTV
delta mostly 40/80/144. Node keys are real secp256k1 keys so their invoices verify.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from lnpilot.simnet.model import Node, Policy
from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.secp256k1 import N, pubkey_of

_COLORS = ("#3399ff", "#ff9900", "#68f442", "#f44283", "#8a2be2", "#00c2c2")


@dataclass(frozen=True, slots=True)
class TopologyConfig:
    """Shape of a generated graph (a scenario's `[topology]` table)."""

    nodes: int = 100
    channels_per_node: int = 3
    capacity_median_sat: int = 10_000_000
    capacity_sigma: float = 1.0
    fee_rate_median_ppm: int = 250
    fee_rate_sigma: float = 1.2
    min_uptime: float = 0.9


def node_key(rng: random.Random) -> int:
    """A random valid private key."""
    return rng.randrange(1, N)


def random_policy(rng: random.Random, config: TopologyConfig, capacity_sat: int) -> Policy:
    """A policy drawn from the public graph's distributions."""
    draw = rng.random()
    base_fee_msat = 0 if draw < 0.56 else 1000 if draw < 0.92 else rng.randrange(1, 5000)
    ppm = rng.lognormvariate(math.log(config.fee_rate_median_ppm), config.fee_rate_sigma)
    cltv = rng.choices((40, 80, 144), weights=(0.25, 0.55, 0.2))[0]
    return Policy(
        base_fee_msat=base_fee_msat,
        fee_rate_ppm=max(0, min(20_000, int(ppm))),
        min_htlc_msat=1000,
        max_htlc_msat=capacity_sat * 990,
        cltv_delta=cltv,
    )


def generate(network: SimNetwork, config: TopologyConfig, seed: int) -> list[str]:
    """Add a generated graph to `network`; returns the new pubkeys (named n0, n1, ...)."""
    rng = random.Random(f"topology-{seed}")
    pubkeys: list[str] = []
    for i in range(config.nodes):
        privkey = node_key(rng)
        pubkey = pubkey_of(privkey).hex()
        uptime = (
            1.0
            if rng.random() < 0.5
            else config.min_uptime + rng.random() * (1.0 - config.min_uptime)
        )
        network.add_node(
            Node(
                pubkey=pubkey,
                alias=f"n{i}",
                uptime=uptime,
                color=_COLORS[i % len(_COLORS)],
                privkey=privkey,
                onchain_balance_sat=rng.randrange(1_000_000, 50_000_000),
            )
        )
        pubkeys.append(pubkey)
    # Preferential attachment: a node appears in `ends` once per channel end it has.
    ends: list[str] = []
    for i, pubkey in enumerate(pubkeys):
        peers: set[str] = set()
        wanted = min(i, config.channels_per_node)
        while len(peers) < wanted:
            peers.add(
                rng.choice(ends) if ends and rng.random() < 0.9 else pubkeys[rng.randrange(i)]
            )
        for peer in sorted(peers):
            capacity_sat = max(
                20_000,
                int(rng.lognormvariate(math.log(config.capacity_median_sat), config.capacity_sigma))
                // 1000
                * 1000,
            )
            share = rng.betavariate(2.0, 2.0)
            network.add_channel(
                pubkey,
                peer,
                capacity_sat,
                int(capacity_sat * 1000 * share),
                random_policy(rng, config, capacity_sat),
                random_policy(rng, config, capacity_sat),
                opener=pubkey,
            )
            ends.extend((pubkey, peer))
    return pubkeys
