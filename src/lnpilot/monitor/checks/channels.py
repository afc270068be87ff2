"""Rules about our channels: use, liquidity, forecast, activity, closes, failed forwards."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from lnpilot.base.domain import Channel, ChannelState, CloseType, scid_from_chan_id
from lnpilot.monitor.checks.base import Context, Finding, channel_labels, peer_name, sat_text
from lnpilot.monitor.config import (
    ChannelClosedRule,
    ChannelInactiveRule,
    DepletionForecastRule,
    FailedForwardsRule,
    RatioBandRule,
    UtilisationRule,
)
from lnpilot.store.levels import Resolution

#: Close types where a party broadcast its commitment alone: funds wait for time locks,
#: HTLCs resolve on chain, and the peer relationship is in question.
FORCE_CLOSES = frozenset({CloseType.LOCAL_FORCE, CloseType.REMOTE_FORCE, CloseType.BREACH})


async def utilisation(ctx: Context, rule: UtilisationRule) -> list[Finding]:
    totals = await ctx.reader.channel_totals(
        ctx.node_id, ctx.now - timedelta(seconds=rule.window_s), ctx.end, now=ctx.now
    )
    found = []
    for channel in await ctx.channels():
        assert channel.chan_id is not None
        flow = totals.get(channel.chan_id)
        effective = rule.effective(scid=channel.scid, peer=channel.peer_pubkey)
        if flow is None or not effective.enabled or channel.capacity_sat <= 0:
            continue
        routed_msat = flow.volume_in_msat + flow.volume_out_msat
        used = routed_msat / (channel.capacity_sat * 1000)
        if used > effective.threshold:
            hours = rule.window_s / 3600
            found.append(
                Finding(
                    channel_labels(channel),
                    f"channel {channel.scid} with {peer_name(channel)} routed "
                    f"{sat_text(routed_msat)} in {hours:g} h, {used:.0%} of its capacity "
                    f"(threshold {effective.threshold:.0%})",
                    value=used,
                    details={"routed_msat": routed_msat, "capacity_sat": channel.capacity_sat},
                )
            )
    return found


async def ratio_band(ctx: Context, rule: RatioBandRule) -> list[Finding]:
    found = []
    for channel in await ctx.channels():
        effective = rule.effective(scid=channel.scid, peer=channel.peer_pubkey)
        ratio = channel.local_ratio
        if not effective.enabled or effective.low <= ratio <= effective.high:
            continue
        side = "outbound" if ratio < effective.low else "inbound"
        found.append(
            Finding(
                channel_labels(channel),
                f"channel {channel.scid} with {peer_name(channel)} is short of {side} "
                f"liquidity: local ratio {ratio:.0%} outside "
                f"[{effective.low:.0%}, {effective.high:.0%}]",
                value=ratio,
                details={
                    "short_of": side,
                    "local_balance_msat": channel.local_balance_msat,
                    "remote_balance_msat": channel.remote_balance_msat,
                },
            )
        )
    return found


async def depletion_forecast(ctx: Context, rule: DepletionForecastRule) -> list[Finding]:
    start = ctx.now - timedelta(seconds=rule.lookback_s)
    state = await ctx.reader.collector_state(ctx.node_id)
    last_cycle = state.last_cycle_at if state is not None else None
    found = []
    for channel in await ctx.channels():
        assert channel.chan_id is not None
        effective = rule.effective(scid=channel.scid, peer=channel.peer_pubkey)
        if not effective.enabled:
            continue
        series = await ctx.reader.channel_series(
            ctx.node_id,
            channel.chan_id,
            start,
            ctx.now,
            resolution=Resolution.FIVE_MINUTES,
            now=ctx.now,
        )
        points = {
            p.balance.last_at: p.balance.local_balance_last_msat
            for p in series.points
            if p.balance is not None
        }
        if last_cycle is not None and start <= last_cycle <= ctx.now:
            points[last_cycle] = channel.local_balance_msat
        finding = _forecast(channel, points, effective)
        if finding is not None:
            found.append(finding)
    return found


def _forecast(
    channel: Channel, points: dict[datetime, int], rule: DepletionForecastRule
) -> Finding | None:
    """Fit the local balance's trend (least squares, msat per second) and judge the side
    it is draining: local when falling, remote when rising."""
    if len(points) < rule.min_points:
        return None
    slope = trend_per_s(points)
    if slope is None or slope == 0:
        return None
    capacity_msat = channel.capacity_sat * 1000
    floor_msat = int(capacity_msat * rule.floor_ratio)
    if slope < 0:
        side, left_msat = "outbound", channel.local_balance_msat - floor_msat
    else:
        side, left_msat = "inbound", channel.remote_balance_msat - floor_msat
    hours = max(left_msat, 0) / abs(slope) / 3600
    if hours >= rule.horizon_h:
        return None
    return Finding(
        channel_labels(channel),
        f"channel {channel.scid} with {peer_name(channel)} runs out of {side} liquidity in "
        f"about {hours:.1f} h at the trend of the last {rule.lookback_s / 3600:g} h "
        f"({sat_text(int(abs(slope) * 3600))}/h)",
        value=hours,
        details={"side": side, "trend_msat_per_h": int(slope * 3600), "hours_left": hours},
    )


def trend_per_s(points: dict[datetime, int]) -> float | None:
    """Least-squares slope of value over time (units per second); None if time is flat."""
    times = sorted(points)
    t0 = times[0]
    xs = [(t - t0).total_seconds() for t in times]
    ys = [float(points[t]) for t in times]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


async def channel_inactive(ctx: Context, rule: ChannelInactiveRule) -> list[Finding]:
    return [
        Finding(
            channel_labels(channel),
            f"channel {channel.scid} with {peer_name(channel)} is inactive: it cannot route",
            details={"local_balance_msat": channel.local_balance_msat},
        )
        for channel in await ctx.channels()
        if channel.state is ChannelState.INACTIVE
        and rule.effective(scid=channel.scid, peer=channel.peer_pubkey).enabled
    ]


async def channel_closed(ctx: Context, rule: ChannelClosedRule) -> list[Finding]:
    since = ctx.now - timedelta(seconds=rule.lookback_s)
    found = []
    for closed, seen_at in await ctx.book.closed_between(ctx.node_id, since, ctx.end):
        effective = rule.effective(scid=closed.scid, peer=closed.peer_pubkey)
        if not effective.enabled:
            continue
        force = closed.close_type in FORCE_CLOSES
        settled = (
            f", {closed.settled_balance_sat:,} sat settled to us"
            if closed.settled_balance_sat is not None
            else ""
        )
        found.append(
            Finding(
                {
                    "scope": "channel",
                    "scid": closed.scid or closed.channel_point,
                    "peer": closed.peer_pubkey,
                },
                f"channel {closed.scid or closed.channel_point} with {closed.peer_pubkey[:16]} "
                f"was closed ({closed.close_type.value}, by {closed.close_initiator.value})"
                f"{settled}",
                severity=effective.force_severity if force else None,
                details={
                    "close_type": closed.close_type.value,
                    "close_initiator": closed.close_initiator.value,
                    "closing_txid": closed.closing_txid,
                    "capacity_sat": closed.capacity_sat,
                    "seen_at": seen_at.isoformat(),
                },
            )
        )
    return found


async def failed_forwards(ctx: Context, rule: FailedForwardsRule) -> list[Finding]:
    failed = await ctx.reader.failed_forwards(
        ctx.node_id, ctx.now - timedelta(seconds=rule.window_s), ctx.end
    )
    counts = Counter(
        f.chan_id_out for f in failed if f.for_lack_of_liquidity and f.chan_id_out is not None
    )
    by_id = {c.chan_id: c for c in await ctx.channels()}
    hours = rule.window_s / 3600
    found = []
    for chan_id, count in sorted(counts.items()):
        channel = by_id.get(chan_id)
        scid = channel.scid if channel is not None else scid_from_chan_id(chan_id)
        peer = channel.peer_pubkey if channel is not None else None
        effective = rule.effective(scid=scid, peer=peer)
        rate = count / hours
        if not effective.enabled or count < effective.min_count or rate <= effective.max_per_hour:
            continue
        labels = (
            channel_labels(channel)
            if channel is not None
            else {"scope": "channel", "scid": scid or str(chan_id)}
        )
        found.append(
            Finding(
                labels,
                f"{count} forwards out of channel {scid} failed for lack of liquidity in "
                f"{hours:g} h ({rate:.1f}/h, threshold {effective.max_per_hour:g}/h)",
                value=rate,
                details={"failed": count},
            )
        )
    return found
