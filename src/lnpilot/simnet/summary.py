"""A run summarised as plain data (what `lnpilot simnet stats` prints and the demo shows).

Kept as a dict of JSON-friendly values (ints in msat/sat, strings, nested dicts) so that the
CLI can render it as a table or as `--json` without knowing the simulation's classes.
"""

from __future__ import annotations

from collections import Counter
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
            "per_channel": channel_rows(sim),
        },
        "events": dict(sorted(net.log.counts.items())),
        "event_log_hash": net.log.hexdigest(),
    }


def channel_rows(sim: Simulation) -> list[dict[str, Any]]:
    """Our open, opening and closing channels: balances, status, forwards and fees earned.

    A forward's fee is credited to its outgoing channel, as LND's forwarding history and
    node managers count it: that is the liquidity the fee paid for. Status is `active`,
    `offline` (the peer is), `disabled` (by our policy), `pending` or `closing`.
    """
    ours = sim.our_node
    forwards_in: Counter[int] = Counter()
    forwards_out: Counter[int] = Counter()
    fees_msat: Counter[int] = Counter()
    for fwd in ours.forwards:
        forwards_in[fwd.chan_id_in] += 1
        forwards_out[fwd.chan_id_out] += 1
        fees_msat[fwd.chan_id_out] += fwd.fee_msat
    pending = ours.pending_channels()
    views = [
        *((v, "") for v in ours.channels()),
        *((v, "pending") for v in pending.pending_open),
        *((v, "closing") for v in pending.waiting_close),
    ]
    rows: list[dict[str, Any]] = []
    for view, status in views:
        if not status:
            status = "disabled" if view.local_policy.disabled else "offline"
            status = "active" if view.active and status == "offline" else status
        rows.append(
            {
                "chan_id": view.chan_id,
                "scid": view.scid,
                "peer": view.remote_pubkey,
                "peer_alias": sim.network.nodes[view.remote_pubkey].alias,
                "capacity_sat": view.capacity_sat,
                "local_balance_msat": view.local_balance_msat,
                "remote_balance_msat": view.remote_balance_msat,
                "status": status,
                "forwards_in": forwards_in[view.chan_id],
                "forwards_out": forwards_out[view.chan_id],
                "fees_msat": fees_msat[view.chan_id],
            }
        )
    return rows
