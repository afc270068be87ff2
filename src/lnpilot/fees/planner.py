"""From inputs and a policy to a plan: one explained decision per channel.

:func:`plan` is a pure function: no clock, no I/O, channels taken in short-channel-id order,
so the same inputs give the same plan, and the daemon, ``lnpilot fees plan`` and the
benchmark all run exactly this. Every channel gets a decision, including the ones where
nothing changes, with the reason in words: the rule, what the strategy saw and wanted, and
each limit that changed or stopped it (:mod:`lnpilot.fees.safety`).

The decision carries the update that would be sent (``proposal``) even when a limit stops
it, so "why nothing changed" shows what would have.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from lnpilot.base.domain import Capability, ChannelPolicy, ChannelState, PolicyUpdate
from lnpilot.fees import safety
from lnpilot.fees.inputs import AGREED_FEES, ChannelInputs, PlanInputs, format_ratio
from lnpilot.fees.policy import PolicyFile
from lnpilot.fees.rules import Resolution, resolve
from lnpilot.fees.strategies import (
    INBOUND,
    OUTBOUND,
    LiquidityFloor,
    StrategyContext,
    Target,
    discount_bound_ppm,
    liquidity_cost,
    liquidity_floor,
)
from lnpilot.fees.values import format_duration
from lnpilot.node.backend import how_to_get
from lnpilot.store.records import JsonValue


class Action(enum.StrEnum):
    UPDATE = "update"  # send ``proposal``
    NONE = "none"  # managed, nothing to send now (the reason says why)
    SKIP = "skip"  # not managed now: pending, inactive, unmanaged, policy unknown


@dataclass(frozen=True)
class ChannelDecision:
    """What lnpilot decided for one channel, and why."""

    chan_id: int | None
    scid: str | None
    peer_pubkey: str
    peer_alias: str | None
    action: Action
    reason: str
    rule: str | None = None
    current: ChannelPolicy | None = None
    proposal: PolicyUpdate = field(default_factory=PolicyUpdate)
    state: str | None = None
    state_since: datetime | None = None
    limits: tuple[str, ...] = ()
    detail: Mapping[str, JsonValue] = field(default_factory=dict)
    priority: int = 0


@dataclass(frozen=True)
class Plan:
    """One evaluation: a decision per channel and the state of the daily budget."""

    at: datetime
    policy_digest: str
    decisions: tuple[ChannelDecision, ...]
    budget_limit: int
    budget_used: int  # updates already sent in the 24 hours before ``at``

    @property
    def updates(self) -> tuple[ChannelDecision, ...]:
        return tuple(d for d in self.decisions if d.action is Action.UPDATE)


@dataclass(frozen=True)
class _Field:
    """A policy field lnpilot may set: what setting it needs, and how its changes count."""

    name: str
    capability: Capability
    fee_rate: bool  # hysteresis by size; other fields count any change
    fee: bool  # bounded and step-limited


_FIELDS = (
    _Field("fee_rate_ppm", Capability.SET_OUTBOUND_FEE, fee_rate=True, fee=True),
    _Field("base_fee_msat", Capability.SET_OUTBOUND_FEE, fee_rate=False, fee=True),
    _Field("inbound_fee_rate_ppm", Capability.SET_INBOUND_FEE, fee_rate=True, fee=True),
    _Field("inbound_base_fee_msat", Capability.SET_INBOUND_FEE, fee_rate=False, fee=True),
    _Field("min_htlc_msat", Capability.SET_HTLC_LIMITS, fee_rate=False, fee=False),
    _Field("max_htlc_msat", Capability.SET_HTLC_LIMITS, fee_rate=False, fee=False),
    _Field("cltv_delta", Capability.SET_CLTV_DELTA, fee_rate=False, fee=False),
)


def plan(policy: PolicyFile, inputs: PlanInputs) -> Plan:
    """Decide for every channel of ``inputs``; updates beyond the daily budget wait."""
    ordered = sorted(inputs.channels, key=lambda c: (c.channel.scid or "", c.channel.channel_point))
    decisions = [_decide(policy, inputs, channel) for channel in ordered]
    used = safety.budget_used(inputs.recent_updates, inputs.now)
    left = safety.budget_left(inputs.recent_updates, inputs.now, policy.safety)
    wanting = sorted(
        (d for d in decisions if d.action is Action.UPDATE),
        key=lambda d: (-d.priority, d.scid or ""),
    )
    over_budget = {id(d) for d in wanting[left:]}
    note = f"daily budget: {used} of {policy.safety.daily_budget} updates sent in the last 24h"
    decisions = [
        replace(
            d,
            action=Action.NONE,
            reason=f"{note}; larger changes went first",
            limits=(*d.limits, note),
        )
        if id(d) in over_budget
        else d
        for d in decisions
    ]
    return Plan(inputs.now, policy.digest, tuple(decisions), policy.safety.daily_budget, used)


def _unmanaged_reason(inputs: ChannelInputs) -> str | None:
    channel = inputs.channel
    if channel.chan_id is None or channel.scid is None:
        return "not confirmed yet: no channel id"
    if channel.state is not ChannelState.ACTIVE:
        return f"{channel.state.value}: fees stay as they are until the channel is active"
    if channel.local_policy is None:
        return "our policy is not known: the node does not show it"
    return None


def _decide(policy: PolicyFile, plan_inputs: PlanInputs, inputs: ChannelInputs) -> ChannelDecision:
    channel = inputs.channel
    base = ChannelDecision(
        chan_id=channel.chan_id,
        scid=channel.scid,
        peer_pubkey=channel.peer_pubkey,
        peer_alias=channel.peer_alias,
        action=Action.SKIP,
        reason="",
        current=channel.local_policy,
    )
    skipped = _unmanaged_reason(inputs)
    if skipped is not None:
        return replace(base, reason=skipped)
    assert channel.local_policy is not None
    resolution = resolve(policy, inputs, plan_inputs)
    base = replace(base, rule=resolution.rule, detail=_detail(inputs, resolution))
    if resolution.unmanaged:
        return replace(base, reason="unmanaged: the channel's override says so")
    ctx = StrategyContext(inputs, plan_inputs, resolution.settings, channel.local_policy)
    targets, reasons, state = _targets(ctx, resolution)
    bounds = _bounds(ctx, resolution)
    conflicts = [f"{name}: {b.low} > {b.high}" for name, b in bounds.items() if b.empty]
    if conflicts:
        return replace(
            base,
            reason="bounds conflict (min above max, merged from several rules): "
            + "; ".join(conflicts),
        )
    proposal, limits, priority = _limit(ctx, targets, bounds, policy)
    reasons += _capability_notes(ctx, targets)
    detail: dict[str, JsonValue] = {
        **base.detail,
        "reasons": list[JsonValue](reasons),
        "targets": dict[str, JsonValue](targets),
    }
    floor = _floor(ctx)
    if floor is not None:
        detail["liquidity_cost_ppm"] = floor.cost_ppm if floor.paid else None
        detail["liquidity_floor_ppm"] = floor.floor_ppm
        wanted = targets.get("fee_rate_ppm", channel.local_policy.fee_rate_ppm)
        if wanted < floor.floor_ppm:  # the floor is what moved or held the fee: say so
            limits = [floor.words, *limits]
    base = replace(
        base,
        action=Action.NONE,
        proposal=PolicyUpdate(**proposal),
        state=state,
        state_since=ctx.state_since(state) if state is not None else None,
        limits=tuple(limits),
        detail=detail,
        priority=priority,
    )
    summary = "; ".join([reasons[0], *limits]) if reasons else "; ".join(limits)
    if not proposal:
        return replace(base, reason=f"no change: {summary or 'nothing to manage'}")
    if not _worth_gossiping(channel.local_policy, proposal, policy):
        return replace(
            base,
            reason=f"below hysteresis ({_changes(channel.local_policy, proposal)}): {summary}",
        )
    wait = safety.interval_wait(inputs.last_change_at, plan_inputs.now, policy.safety)
    if wait > timedelta(0):
        assert inputs.last_change_at is not None
        ago = int((plan_inputs.now - inputs.last_change_at).total_seconds())
        interval = format_duration(policy.safety.min_interval_s)
        note = (
            f"min interval {interval}: last change {format_duration(ago, approximate=True)} "
            f"ago, next in {format_duration(int(wait.total_seconds()), approximate=True)}"
        )
        return replace(base, reason=f"{note}: {summary}", limits=(*base.limits, note))
    return replace(base, action=Action.UPDATE, reason=summary)


@dataclass(frozen=True)
class _Pin:
    """A fee field held at one value, and where that comes from (for the reason)."""

    value: int
    source: str  # "" for the policy file's pin: its long-standing wording


def _pins(resolution: Resolution, inputs: ChannelInputs) -> dict[str, _Pin]:
    """The pinned fee fields: the policy file's ``pin_*`` first, then the fees agreed with the
    peer at open. The file wins where both pin a field: the operator wrote it later, on
    purpose, and the reason says what the agreement had said."""
    override, agreed = resolution.override, inputs.agreed
    pins: dict[str, _Pin] = {}
    for name in AGREED_FEES:
        from_file = getattr(override, f"pin_{name}") if override is not None else None
        from_agreement = agreed.fees.get(name) if agreed is not None else None
        if from_file is not None:
            source = ""
            if agreed is not None and from_agreement is not None and from_agreement != from_file:
                source = f" by the policy file, over {agreed.words} ({from_agreement})"
            pins[name] = _Pin(from_file, source)
        elif from_agreement is not None:
            assert agreed is not None
            pins[name] = _Pin(from_agreement, f" by {agreed.words}")
    return pins


def _targets(
    ctx: StrategyContext, resolution: Resolution
) -> tuple[dict[str, int], list[str], str | None]:
    """The value each managed field should take, the reasons, and the controller state."""
    settings = resolution.settings
    pins = _pins(resolution, ctx.inputs)
    targets: dict[str, int] = {}
    reasons: list[str] = []
    state = None

    def take(name: str, wanted: Target | int | None, what: str) -> None:
        pin = pins.get(name)
        if pin is not None:
            targets[name] = pin.value
            reasons.append(f"{what} pinned at {pin.value}{pin.source}")
        elif isinstance(wanted, Target):
            reasons.append(wanted.reason)
            if wanted.fee_rate_ppm is not None:
                targets[name] = wanted.fee_rate_ppm
        elif wanted is not None:
            targets[name] = wanted

    outbound = None
    if "fee_rate_ppm" not in pins:
        assert settings.strategy is not None
        outbound = OUTBOUND[settings.strategy](ctx)
        state = outbound.state
    take("fee_rate_ppm", outbound, "fee rate")
    take("base_fee_msat", settings.base_fee_msat, "base fee")
    inbound = None
    if settings.inbound not in (None, "keep"):
        assert settings.inbound is not None
        inbound = INBOUND[settings.inbound](ctx)
    take("inbound_fee_rate_ppm", inbound, "inbound fee rate")
    take("inbound_base_fee_msat", inbound.base_fee_msat if inbound else None, "inbound base fee")
    take("min_htlc_msat", settings.min_htlc_msat, "min HTLC")
    if settings.max_htlc_pct is not None:
        capacity_msat = ctx.inputs.channel.capacity_sat * 1000
        take("max_htlc_msat", capacity_msat * settings.max_htlc_pct // 100, "max HTLC")
    take("cltv_delta", settings.cltv_delta, "CLTV delta")
    return targets, reasons, state


def _floor(ctx: StrategyContext) -> LiquidityFloor | None:
    """The liquidity floor when the rule asks for one (``liquidity_margin_ppm``)."""
    margin_ppm = ctx.settings.liquidity_margin_ppm
    return liquidity_floor(ctx.inputs, margin_ppm) if margin_ppm is not None else None


def _bounds(ctx: StrategyContext, resolution: Resolution) -> dict[str, safety.Bounds]:
    settings = resolution.settings
    rate = safety.Bounds(settings.min_fee_rate_ppm, settings.max_fee_rate_ppm)
    if settings.never_below_cost:
        rate = rate.tightened(low=liquidity_cost(ctx).floor_ppm)
    floor = _floor(ctx)
    if floor is not None:
        rate = rate.tightened(low=floor.floor_ppm)
    inbound_rate = safety.Bounds(
        settings.min_inbound_fee_rate_ppm, settings.max_inbound_fee_rate_ppm
    )
    if settings.inbound == "discount":
        inbound_rate = inbound_rate.tightened(low=-discount_bound_ppm(ctx)[0])
    bounds = {
        "fee_rate_ppm": rate,
        "base_fee_msat": safety.Bounds(settings.min_base_fee_msat, settings.max_base_fee_msat),
        "inbound_fee_rate_ppm": inbound_rate,
        "inbound_base_fee_msat": safety.Bounds(),
    }
    # a pin is the operator's word for this channel (or the peer's, agreed): it wins
    for name, pin in _pins(resolution, ctx.inputs).items():
        bounds[name] = safety.Bounds(pin.value, pin.value)
    return bounds


def _manageable(ctx: StrategyContext, spec: _Field) -> bool:
    """Can the field be set by a configured backend, and is its current value known?"""
    return spec.capability in ctx.plan.capabilities and getattr(ctx.current, spec.name) is not None


def _capability_notes(ctx: StrategyContext, targets: Mapping[str, int]) -> list[str]:
    missing = {
        spec.capability for spec in _FIELDS if spec.name in targets and not _manageable(ctx, spec)
    }
    return [
        f"{capability.value.replace('_', ' ')} not done: needs {how_to_get(capability)}"
        for capability in sorted(missing)
    ]


def _limit(
    ctx: StrategyContext,
    targets: Mapping[str, int],
    bounds: Mapping[str, safety.Bounds],
    policy: PolicyFile,
) -> tuple[dict[str, int], list[str], int]:
    """The fields to send after bounds and steps, the limits that applied, and a priority
    (the largest relative fee rate change, per mille) for the daily budget."""
    proposal: dict[str, int] = {}
    limits: list[str] = []
    priority = 0
    for spec in _FIELDS:
        if not _manageable(ctx, spec):
            continue
        current: int = getattr(ctx.current, spec.name)
        field_bounds = bounds.get(spec.name, safety.Bounds())
        if spec.name in targets:
            target = targets[spec.name]
        elif spec.fee and field_bounds != safety.Bounds():
            target = current  # no wish, but the value must still respect its bounds
        else:
            continue
        value = target
        if spec.fee:
            step = (
                safety.rate_step_ppm(current, policy.safety)
                if spec.fee_rate
                else policy.safety.max_base_step_msat
            )
            limited = safety.limit(spec.name, current, target, field_bounds, step)
            value = limited.value
            limits += limited.notes
        delta = ctx.settings.min_fee_ppm_delta
        if spec.name == "fee_rate_ppm" and delta and 0 < abs(value - current) < delta:
            limits.append(
                f"min_fee_ppm_delta {delta}: a change of {abs(value - current)} ppm is not sent"
            )
            value = current
        if value != current:
            proposal[spec.name] = value
            if spec.fee_rate:
                priority = max(priority, abs(value - current) * 1000 // max(abs(current), 1))
    return proposal, limits, priority


def _worth_gossiping(
    current: ChannelPolicy, proposal: Mapping[str, int], policy: PolicyFile
) -> bool:
    rates = {spec.name for spec in _FIELDS if spec.fee_rate}
    return any(
        name not in rates
        or safety.rate_change_matters(getattr(current, name), value, policy.safety)
        for name, value in proposal.items()
    )


def _changes(current: ChannelPolicy, proposal: Mapping[str, int]) -> str:
    return ", ".join(
        f"{name} {getattr(current, name)} → {value}" for name, value in proposal.items()
    )


def _detail(inputs: ChannelInputs, resolution: Resolution) -> dict[str, JsonValue]:
    """The inputs and the rule reading behind a decision, for the journal."""
    channel = inputs.channel
    windows: dict[str, JsonValue] = {}
    for window_s, stats in sorted(inputs.windows.items()):
        flow = stats.flow
        windows[format_duration(window_s)] = {
            "forwards_out": flow.forwards_out,
            "forwards_in": flow.forwards_in,
            "volume_out_msat": flow.volume_out_msat,
            "volume_in_msat": flow.volume_in_msat,
            "fee_out_msat": flow.fee_out_msat,
            "liquidity_failures": stats.liquidity_failures,
            "liquidity_failed_msat": stats.liquidity_failed_msat,
        }
    uptime: dict[str, JsonValue] = {
        format_duration(w): format_ratio(v) for w, v in sorted(inputs.peer_uptime_permille.items())
    }
    remote = channel.remote_policy
    agreed = inputs.agreed
    return {
        "capacity_sat": channel.capacity_sat,
        "local_balance_msat": channel.local_balance_msat,
        "remote_balance_msat": channel.remote_balance_msat,
        "local_ratio": format_ratio(inputs.local_permille),
        "age_blocks": inputs.age_blocks,
        "windows": windows,
        "peer_uptime": uptime,
        "peer_fee_rates_ppm": list[JsonValue](inputs.peer_fee_rates_ppm),
        "last_change_at": inputs.last_change_at.isoformat() if inputs.last_change_at else None,
        "remote_fee_rate_ppm": remote.fee_rate_ppm if remote is not None else None,
        "agreed_fees": (
            {"agreement_id": agreed.agreement_id, "name": agreed.name, **agreed.fees}
            if agreed is not None
            else None
        ),
        "rule": resolution.rule,
        "defaults_from": list[JsonValue](resolution.defaults_from),
        "matched": list[JsonValue](resolution.matched),
        "passed": [f"{name}: {why}" for name, why in resolution.passed],
    }
