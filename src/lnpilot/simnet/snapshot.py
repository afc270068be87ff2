"""Loading a real Lightning graph snapshot (the neutral JSON schema of `../shared/data/`).

Node ids, aliases, capacities and policies are real; balances are not public, so each
channel's split is drawn from a seeded beta distribution around the middle. The snapshot's
short channel ids are placeholders (`0x<i>x0`), so channels get fresh, unique ids of the real
form. Directions without a known policy are loaded disabled, as the schema asks.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

from lnpilot.simnet.model import Node, Policy
from lnpilot.simnet.network import SimNetwork

#: Block range the fresh short channel ids are drawn from (mainnet heights of 2019–2025).
_FIRST_BLOCK = 580_000
_BLOCKS = 300_000


def _policy(raw: dict[str, Any] | None) -> Policy:
    if raw is None or (raw.get("disabled") and raw.get("fee_rate_ppm") is None):
        return Policy(disabled=True)
    return Policy(
        base_fee_msat=int(raw["base_fee_msat"]),
        fee_rate_ppm=int(raw["fee_rate_ppm"]),
        min_htlc_msat=int(raw["min_htlc_msat"]),
        max_htlc_msat=int(raw["max_htlc_msat"]),
        cltv_delta=int(raw["cltv_delta"]),
        disabled=bool(raw["disabled"]),
    )


def load_snapshot(path: Path, network: SimNetwork, seed: int = 0) -> int:
    """Add the snapshot's nodes and channels to `network`; returns the channel count.

    Every node starts online with an uptime drawn between 0.95 and 1.0 (the snapshot has no
    uptime data) and some on-chain funds so it can open channels.
    """
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    rng = random.Random(f"snapshot-{seed}")
    for raw in data["nodes"]:
        network.add_node(
            Node(
                pubkey=raw["id"],
                alias=raw.get("alias") or raw["id"][:20],
                uptime=0.95 + 0.05 * rng.random(),
                onchain_balance_sat=rng.randrange(1_000_000, 100_000_000),
            )
        )
    count = 0
    used: set[tuple[int, int]] = set()
    for raw in data["channels"]:
        capacity_sat = int(raw["capacity_sat"])
        share = rng.betavariate(2.0, 2.0)
        block = _FIRST_BLOCK + rng.randrange(_BLOCKS)
        tx = rng.randrange(1, 4000)
        while (block, tx) in used:
            tx = rng.randrange(1, 4000)
        used.add((block, tx))
        policy1 = _policy(raw.get("policy1"))
        policy2 = _policy(raw.get("policy2"))
        for policy in (policy1, policy2):
            if policy.max_htlc_msat > capacity_sat * 1000:
                policy.max_htlc_msat = capacity_sat * 1000
        network.add_channel(
            raw["node1"],
            raw["node2"],
            capacity_sat,
            int(capacity_sat * 1000 * share),
            policy1,
            policy2,
            scid=f"{block}x{tx}x{rng.randrange(2)}",
            opener=raw["node1"] if rng.random() < 0.5 else raw["node2"],
        )
        count += 1
    return count
