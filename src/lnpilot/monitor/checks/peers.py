"""Rules about the peers we have channels with: offline, and flapping connections."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from lnpilot.base.domain import Peer
from lnpilot.monitor.checks.base import Context, Finding, peer_name
from lnpilot.monitor.config import PeerFlappingRule, PeerOfflineRule
from lnpilot.store.records import JsonValue


def _peer_labels(pubkey: str, alias: str | None) -> dict[str, str]:
    labels = {"scope": "peer", "peer": pubkey}
    if alias:
        labels["peer_alias"] = alias
    return labels


async def peer_offline(ctx: Context, rule: PeerOfflineRule) -> list[Finding]:
    """Only peers with an open channel count: a peer without one is none of our business."""
    with_channels: dict[str, list[str]] = {}
    for channel in await ctx.channels():
        with_channels.setdefault(channel.peer_pubkey, []).append(channel.scid or "")
    found = []
    for peer in await ctx.peers():
        scids = with_channels.get(peer.pubkey)
        if peer.connected or not scids or not rule.effective(peer=peer.pubkey).enabled:
            continue
        found.append(
            Finding(
                _peer_labels(peer.pubkey, peer.alias),
                f"peer {peer_name(peer)} is disconnected; its channels "
                f"{', '.join(sorted(scids))} cannot route",
                details={"channels": list[JsonValue](sorted(scids))},
            )
        )
    return found


async def peer_flapping(ctx: Context, rule: PeerFlappingRule) -> list[Finding]:
    events = await ctx.reader.peer_events(
        ctx.node_id, ctx.now - timedelta(seconds=rule.window_s), ctx.end
    )
    disconnects = Counter(e.pubkey for e in events if not e.connected)
    known: dict[str, Peer] = {p.pubkey: p for p in await ctx.peers()}
    found = []
    for pubkey, count in sorted(disconnects.items()):
        effective = rule.effective(peer=pubkey)
        if not effective.enabled or count <= effective.max_disconnects:
            continue
        peer = known.get(pubkey, Peer(pubkey))
        found.append(
            Finding(
                _peer_labels(pubkey, peer.alias),
                f"peer {peer_name(peer)} disconnected {count} times in "
                f"{rule.window_s / 3600:g} h (threshold {effective.max_disconnects})",
                value=float(count),
            )
        )
    return found
