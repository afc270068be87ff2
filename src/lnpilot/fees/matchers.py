"""Does a rule's ``match`` hold for a channel, and why (not)?

Every condition gives its verdict in words, because ``lnpilot fees check`` and the journal
must say why a channel landed on a rule, and why it did not land on the ones above. A
condition whose input is unknown (a window the history does not cover, an alias the backend
does not show, no on-chain fee rate) does not hold: a rule should not fire on data nobody
has, and the reason says what was missing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lnpilot.fees.inputs import ChannelInputs, PlanInputs, format_ratio, permille
from lnpilot.fees.policy import ActivityMatch, Bounded, Match, PolicyFile
from lnpilot.fees.values import format_duration

BLOCKS_PER_DAY = 144

#: One condition's verdict: True holds, False does not, None unknown (does not hold).
Check = tuple[bool | None, str]


@dataclass(frozen=True)
class Verdict:
    """Whether a match holds; ``reasons`` are every condition when it does, else the first
    that did not (an empty match holds with no reasons)."""

    matched: bool
    reasons: tuple[str, ...]


def channel_groups(policy: PolicyFile, inputs: ChannelInputs) -> frozenset[str]:
    """The groups the channel belongs to: by its id, by its peer, or by its override."""
    channel = inputs.channel
    names = {
        name
        for name, members in policy.groups.items()
        if channel.peer_pubkey in members or (channel.scid is not None and channel.scid in members)
    }
    override = policy.channel.get(channel.scid or "")
    if override is not None:
        names.update(override.groups)
    return frozenset(names)


def evaluate(
    match: Match, inputs: ChannelInputs, plan: PlanInputs, groups: frozenset[str]
) -> Verdict:
    reasons = []
    for holds, reason in _checks(match, inputs, plan, groups):
        if holds is not True:
            return Verdict(False, (reason,))
        reasons.append(reason)
    return Verdict(True, tuple(reasons))


def _checks(
    match: Match, inputs: ChannelInputs, plan: PlanInputs, groups: frozenset[str]
) -> Iterator[Check]:
    channel = inputs.channel
    if match.channel is not None:
        holds = channel.scid in match.channel
        yield holds, f"channel {channel.scid} {_is_in(holds)} {', '.join(match.channel)}"
    if match.peer is not None:
        holds = channel.peer_pubkey in match.peer
        yield holds, f"peer {channel.peer_pubkey[:16]}… {_is_in(holds)} the listed peers"
    if match.alias is not None:
        alias = channel.peer_alias
        if alias is None:
            yield None, "peer alias unknown"
        else:
            holds = any(fnmatch.fnmatchcase(alias.lower(), p.lower()) for p in match.alias)
            yield (
                holds,
                f"alias {alias!r} {'matches' if holds else 'matches none of'} "
                + (", ".join(repr(p) for p in match.alias)),
            )
    if match.group is not None:
        holds = bool(groups & set(match.group))
        yield holds, f"{'in' if holds else 'not in'} group " + " or ".join(match.group)
    if match.capacity_sat is not None:
        yield _ranged("capacity_sat", channel.capacity_sat, match.capacity_sat, str)
    if match.local_ratio is not None:
        yield _ranged("local_ratio", inputs.local_permille, match.local_ratio, format_ratio)
    if match.peer_local_ratio is not None:
        value = plan.peer_local_permille(channel.peer_pubkey)
        yield _ranged("peer_local_ratio", value, match.peer_local_ratio, format_ratio)
    if match.age_days is not None:
        if inputs.age_blocks is None:
            yield None, "channel age unknown"
        else:
            days = inputs.age_blocks // BLOCKS_PER_DAY
            yield _ranged("age_days", days, match.age_days, str)
    if match.activity is not None:
        yield from _activity(match.activity, inputs)
    if match.liquidity_failures is not None:
        condition = match.liquidity_failures
        name = f"liquidity_failures({format_duration(condition.window_s)})"
        stats = inputs.windows.get(condition.window_s)
        if stats is None or stats.liquidity_failures is None:
            yield None, f"{name} unknown: failed forwards not observed over the whole window"
        else:
            yield _ranged(name, stats.liquidity_failures, condition, str)
    if match.peer_uptime is not None:
        uptime_condition = match.peer_uptime
        name = f"peer_uptime({format_duration(uptime_condition.window_s)})"
        uptime = inputs.peer_uptime_permille.get(uptime_condition.window_s)
        if uptime is None:
            yield None, f"{name} unknown: the peer was not watched over the whole window"
        else:
            yield _ranged(name, uptime, uptime_condition, format_ratio)
    if match.onchain_fee_rate is not None:
        rate = plan.onchain_fee_rate_sat_per_vbyte
        if rate is None:
            yield None, "on-chain fee rate unknown"
        else:
            yield _ranged("onchain_fee_rate", rate, match.onchain_fee_rate, lambda v: f"{v} sat/vB")


def _activity(condition: ActivityMatch, inputs: ChannelInputs) -> Iterator[Check]:
    window = format_duration(condition.window_s)
    stats = inputs.windows.get(condition.window_s)
    if stats is None:
        yield None, f"activity({window}) unknown: the history does not cover {window}"
        return
    flow = stats.flow
    counted: tuple[tuple[str, int, Bounded | None], ...] = (
        ("forwards_out", flow.forwards_out, condition.forwards_out),
        ("forwards_in", flow.forwards_in, condition.forwards_in),
        ("volume_out_sat", flow.volume_out_msat // 1000, condition.volume_out_sat),
        ("volume_in_sat", flow.volume_in_msat // 1000, condition.volume_in_sat),
    )
    for name, value, bounds in counted:
        if bounds is not None:
            yield _ranged(f"{name}({window})", value, bounds, str)
    if condition.out_share is not None:
        share = permille(flow.volume_out_msat, flow.volume_out_msat + flow.volume_in_msat)
        yield _ranged(f"out_share({window})", share, condition.out_share, format_ratio)


def _ranged(name: str, value: int, bounds: Bounded, show: Callable[[int], str]) -> Check:
    low, high = bounds.min, bounds.max
    holds = (low is None or value >= low) and (high is None or value <= high)
    limits = []
    if low is not None:
        limits.append(f">= {show(low)}")
    if high is not None:
        limits.append(f"<= {show(high)}")
    verb = "is" if holds else "is not"
    return holds, f"{name} {show(value)} {verb} {' and '.join(limits)}"


def _is_in(holds: bool) -> str:
    return "in" if holds else "not in"
