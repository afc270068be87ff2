"""A run summarised as plain data (what `lnpilot simnet stats` prints).

Kept as a dict of JSON-friendly values (ints in msat/sat, strings, nested dicts) so that the
CLI can render it as a table or as `--json` without knowing the simulation's classes.
"""

from __future__ import annotations

from typing import Any

from lnpilot.simnet.model import ChannelState
from lnpilot.simnet.simulation import Simulation


def summarize(sim: Simulation) -> dict[str, Any]:
    """Network size, payment outcomes, chain state, our node's channels and earnings."""
    net = sim.network
    stats = sim.payer.stats
    open_channels = [c for c in net.channels.values() if c.state is ChannelState.OPEN]
    ours = sim.our_node
    local_msat = sum(v.local_balance_msat for v in ours.channels())
    remote_msat = sum(v.remote_balance_msat for v in ours.channels())
    return {
        "seed": sim.seed,
        "virtual_time": net.now().isoformat(),
        "elapsed_s": net.now_ns // 1_000_000_000,
        "nodes": len(net.nodes),
        "nodes_online": sum(1 for online in net.online.values() if online),
        "channels_open": len(open_channels),
        "capacity_sat": sum(c.capacity_sat for c in open_channels),
        "block_height": net.chain.block_height,
        "fee_rate_sat_per_vbyte": net.chain.fee_rate_sat_per_vbyte,
        "payments": stats.payments,
        "payments_succeeded": stats.succeeded,
        "success_rate": round(stats.succeeded / stats.payments, 4) if stats.payments else 0.0,
        "attempts": stats.attempts,
        "route_searches": stats.route_searches,
        "route_cache": {"hits": sim.payer.cache.hits, "misses": sim.payer.cache.misses},
        "fees_paid_msat": stats.fees_msat,
        "failures_by_reason": dict(sorted(stats.failures_by_wire.items())),
        "our_node": {
            "pubkey": ours.pubkey,
            "alias": ours.node.alias,
            "channels": len(ours.channels()),
            "local_balance_msat": local_msat,
            "remote_balance_msat": remote_msat,
            "forwards": len(ours.forwards),
            "forward_fees_msat": sum(f.fee_msat for f in ours.forwards),
            "failed_forwards": sum(1 for e in ours.htlc_events if e.kind.name == "LINK_FAIL"),
        },
        "events": dict(sorted(net.log.counts.items())),
        "event_log_hash": net.log.hexdigest(),
    }
