"""Rules about the node and its backends, judged from the monitor's probes: reachable,
fast enough, synced to the chain, enough on-chain funds, HTLCs far enough from expiry."""

from __future__ import annotations

import statistics
from datetime import datetime

from lnpilot.monitor.checks.base import Context, Finding, channel_labels, peer_name
from lnpilot.monitor.config import (
    ExtensionInsecureRule,
    HtlcExpiryRule,
    NodeNotSyncedRule,
    NodeSlowRule,
    NodeUnreachableRule,
    OnchainReserveRule,
)
from lnpilot.store import GAP_INTERVALS


def _backend_labels(backend: str) -> dict[str, str]:
    return {"scope": "backend", "backend": backend}


def _ago(now: datetime, then: datetime) -> str:
    return f"{(now - then).total_seconds() / 60:.0f} min ago"


def stale_after_s(ctx: Context, rule: NodeUnreachableRule) -> float:
    """How old the collector's last cycle may be: ``stale_after_s``, or as many collection
    intervals as make a gap when the schedule is longer. Judged on the clock the collector
    runs on: the demo collects every 5 wall-clock seconds at 120x, 10 minutes apart on its
    clock, and that is its schedule, not an outage."""
    if ctx.collect_interval is None:
        return rule.stale_after_s
    return max(rule.stale_after_s, GAP_INTERVALS * ctx.collect_interval.total_seconds())


async def node_unreachable(ctx: Context, rule: NodeUnreachableRule) -> list[Finding]:
    """A backend whose last probe failed; and the collector, when its last cycle is older
    than :func:`stale_after_s` (it stops when it cannot read the node, and is then the only
    witness in a replay or a setup where the monitor does not probe)."""
    found = []
    for backend, probes in sorted((await ctx.probes(rule.stale_after_s)).items()):
        last = probes[-1]
        if last.ok:
            continue
        ok = [p for p in probes if p.ok]
        since = f"; last success {_ago(ctx.now, ok[-1].at)}" if ok else ""
        found.append(
            Finding(
                _backend_labels(backend),
                f"{backend} is unreachable: {last.error or 'no answer'}{since}",
                details={"error": last.error},
            )
        )
    state = await ctx.reader.collector_state(ctx.node_id)
    if state is not None and state.last_cycle_at is not None:
        age_s = (ctx.now - state.last_cycle_at).total_seconds()
        if age_s > stale_after_s(ctx, rule):
            found.append(
                Finding(
                    _backend_labels("collector"),
                    f"no collector cycle since {_ago(ctx.now, state.last_cycle_at)}: the node "
                    "or LNbits cannot be read, or the collector stopped",
                    value=age_s,
                )
            )
    return found


async def node_slow(ctx: Context, rule: NodeSlowRule) -> list[Finding]:
    found = []
    for backend, probes in sorted((await ctx.probes(rule.window_s)).items()):
        latencies = [p.latency_ms for p in probes if p.ok and p.latency_ms is not None]
        if not latencies:
            continue
        median = statistics.median(latencies)
        if median > rule.latency_ms:
            found.append(
                Finding(
                    _backend_labels(backend),
                    f"{backend} answers slowly: median {median:.0f} ms over "
                    f"{len(latencies)} probes (threshold {rule.latency_ms:.0f} ms)",
                    value=median,
                )
            )
    return found


async def node_not_synced(ctx: Context, rule: NodeNotSyncedRule) -> list[Finding]:
    return [
        Finding(
            {"scope": "node", "backend": probe.backend},
            f"the node is not synced to the chain (per {probe.backend}, block "
            f"{probe.block_height}); it may miss on-chain deadlines",
            details={"backend": probe.backend, "block_height": probe.block_height},
        )
        for probe in await ctx.latest_ok_probes(rule.for_s + 3600)
        if probe.synced_to_chain is False
    ]


async def onchain_reserve(ctx: Context, rule: OnchainReserveRule) -> list[Finding]:
    balances = [p for p in await ctx.latest_ok_probes(3600) if p.onchain_confirmed_sat is not None]
    if not balances:
        return []
    confirmed_sat = balances[-1].onchain_confirmed_sat
    assert confirmed_sat is not None
    channels = len(await ctx.channels())
    needed_sat = max(rule.min_sat, min(rule.max_sat, rule.per_channel_sat * channels))
    if confirmed_sat >= needed_sat:
        return []
    return [
        Finding(
            {"scope": "node"},
            f"on-chain balance {confirmed_sat:,} sat is below the {needed_sat:,} sat reserve "
            f"needed to close or fee-bump {channels} channels",
            value=float(confirmed_sat),
            details={"needed_sat": needed_sat, "channels": channels},
        )
    ]


async def htlc_expiry(ctx: Context, rule: HtlcExpiryRule) -> list[Finding]:
    """Per channel, the pending HTLC closest to expiry, when a backend shows them."""
    shown = [
        p
        for p in await ctx.latest_ok_probes(3600)
        if p.pending_htlcs is not None and p.block_height is not None
    ]
    if not shown:
        return []
    probe = shown[-1]
    assert probe.pending_htlcs is not None and probe.block_height is not None
    closest: dict[int, int] = {}
    for htlc in probe.pending_htlcs:
        chan_id, expiry = htlc.get("chan_id"), htlc.get("expiration_height")
        if isinstance(chan_id, int) and isinstance(expiry, int):
            left = expiry - probe.block_height
            closest[chan_id] = min(left, closest.get(chan_id, left))
    by_id = {c.chan_id: c for c in await ctx.channels()}
    found = []
    for chan_id, left in sorted(closest.items()):
        channel = by_id.get(chan_id)
        if channel is None:
            continue
        effective = rule.effective(scid=channel.scid, peer=channel.peer_pubkey)
        if not effective.enabled or left >= effective.blocks_left:
            continue
        found.append(
            Finding(
                channel_labels(channel),
                f"an HTLC on channel {channel.scid} with {peer_name(channel)} expires in "
                f"{left} blocks (threshold {effective.blocks_left}): the channel may be "
                "force-closed to settle it on chain",
                value=float(left),
                details={"block_height": probe.block_height},
            )
        )
    return found


async def extension_insecure(ctx: Context, rule: ExtensionInsecureRule) -> list[Finding]:
    """One finding per active LNbits extension with a known security problem, as the last
    probe that could read LNbits' installed extensions saw them."""
    seen = [p for p in await ctx.latest_ok_probes(3600) if p.extension_advisories is not None]
    if not seen:
        return []
    advisories = seen[-1].extension_advisories or ()
    return [
        Finding(
            {"scope": "lnbits", "extension": str(a["extension"])},
            f"LNbits extension {a['extension']} {a['installed_version']} is active with a "
            f"known security problem ({a['verdict']}, recorded on {a['recorded_version']}): "
            f"{a['problem']} What to do: {a['what_to_do']}",
            details=dict(a),
        )
        for a in advisories
        if a["active"] and (a["verdict"] == "affected" or rule.include_unverified)
    ]
