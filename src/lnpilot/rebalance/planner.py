"""The planner: from the channels, their history and the budget to one decision per channel.

A pure function (:func:`plan`), so it can be tested exhaustively and gives the same plan for
the same inputs. Every channel gets exactly one decision with a reason, whether it is
rebalanced, lends its liquidity, or is left alone, because a rebalancer that does nothing
without saying why loses its operator's trust.

How targets meet sources:

1. targets (below band, routing outbound, not busy, not cooling down after a failure) are
   served in order of the fees they earned over the direction window, then of how far they
   are below their centre: the channels that earn the most are refilled first;
2. for each, sources (above their band; with ``sources = "above_centre"``, above their
   band's centre) are tried cheapest first, i.e. lowest outbound fee rate, since that is
   the income their liquidity forgoes; a source never gives below its centre, and never to
   a target with the same peer (the liquidity would go round to where it came from);
3. the first source that passes the amount floor and the economic guard
   (:mod:`.economics`), and, with ``payback_margin_pct``, whose refill the target's fee on
   its recent outflow repays, is taken, and the fee limit is taken out of the budget room
   (:mod:`.budget`), so the orders of one plan never promise more than the budget has.

An operator's request (``lnpilot rebalance run --channel``) narrows the targets to one
channel, considered as soon as it is below its centre, with an optional amount and an
explicit fee limit that replaces the economic one.

With ``[rebalance.swap] enabled``, each target's refill is also priced as a swap in (and,
as advice, an inbound discount: :mod:`.methods`), and the cheapest usable method per
million moved is chosen; the decision's ``detail["methods"]`` keeps every method's cost or
why it could not be used. A swap needs no source, so a target with none may still be
served; its cost comes out of the same budget room.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from lnpilot.base.domain import Channel, ChannelState
from lnpilot.lnbits.resources.boltz import SwapQuote
from lnpilot.rebalance.budget import Room, Spending, room
from lnpilot.rebalance.candidates import Assessed, ChannelInput, amount_cap_msat, assess
from lnpilot.rebalance.economics import fee_limit_msat, guard, payback, sat_text
from lnpilot.rebalance.methods import (
    Method,
    Priced,
    SwapOffer,
    choose,
    price_inbound_discount,
    price_swap_in,
    price_swap_out,
)
from lnpilot.rebalance.settings import RebalanceSettings
from lnpilot.rebalance.targets import Band, FlowDirection
from lnpilot.store.records import JsonValue


class Role(enum.StrEnum):
    TARGET = "target"
    SOURCE = "source"
    NONE = "none"


class RebalanceAction(enum.StrEnum):
    REBALANCE = "rebalance"  # a target to refill, or a source that lends to one
    SKIP = "skip"  # would be rebalanced, but something stops it (the reason says what)
    NONE = "none"  # nothing to do


@dataclass(frozen=True)
class Request:
    """An operator's explicit ask: one target, an amount, a fee limit (all optional)."""

    chan_id: int | None = None
    amount_msat: int | None = None
    max_fee_ppm: int | None = None


@dataclass(frozen=True)
class RebalanceInputs:
    now: datetime
    channels: tuple[ChannelInput, ...]
    spending: Spending
    earned_msat: int
    request: Request = Request()
    #: The Boltz pair swaps are priced on, or why there is none (``[rebalance.swap]``).
    swap_offer: SwapOffer | None = None
    swap_unavailable: str | None = None
    #: Why circular rebalances cannot be executed here (no channel-targeted path), if so.
    circular_unavailable: str | None = None


@dataclass(frozen=True)
class Order:
    """A rebalance to execute: move ``amount_msat`` from ``source`` into ``target``, paying
    at most ``max_fee_ppm`` of what moves and ``fee_limit_msat`` in all; smaller retries go
    down to ``min_amount_msat``."""

    target: Channel
    source: Channel
    amount_msat: int
    min_amount_msat: int
    max_fee_ppm: int
    fee_limit_msat: int


@dataclass(frozen=True)
class SwapOrder:
    """A swap in to create for ``target``: ``quote`` is Boltz's price for ``amount_sat``,
    ``cost_msat`` that plus our own funding fee, what the budget is charged."""

    target: Channel
    amount_sat: int
    quote: SwapQuote
    funding_fee_sat: int
    cost_msat: int


@dataclass(frozen=True)
class Decision:
    channel: Channel
    role: Role
    action: RebalanceAction
    reason: str
    direction: FlowDirection | None = None
    ratio_permille: int | None = None
    band: Band | None = None
    order: Order | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    swap: SwapOrder | None = None


@dataclass(frozen=True)
class RebalancePlan:
    now: datetime
    decisions: tuple[Decision, ...]
    room: Room

    @property
    def orders(self) -> list[Order]:
        return [d.order for d in self.decisions if d.order is not None]

    @property
    def swap_orders(self) -> list[SwapOrder]:
        return [d.swap for d in self.decisions if d.swap is not None]

    def summary(self) -> str:
        """The plan in one line: what it does, or why it does nothing."""
        orders, swaps = self.orders, self.swap_orders
        if orders or swaps:
            total_msat = sum(o.amount_msat for o in orders) + sum(
                s.amount_sat * 1000 for s in swaps
            )
            what = f"{len(orders)} rebalance(s)" + (f" and {len(swaps)} swap(s)" if swaps else "")
            return f"{what} planned, {sat_text(total_msat)} sat to move"
        skipped = [d for d in self.decisions if d.action is RebalanceAction.SKIP]
        if skipped:
            reasons = sorted({d.reason.split(":")[0] for d in skipped})
            return f"nothing to do: {len(skipped)} target(s) skipped ({'; '.join(reasons)})"
        return "nothing to do: no channel is below its band"


def plan(inputs: RebalanceInputs, settings: RebalanceSettings) -> RebalancePlan:
    """One decision per channel, in the order the channels were given (module docstring)."""
    section = settings.section
    request = inputs.request
    assessed = [assess(item, settings) for item in inputs.channels]
    decisions: dict[int, Decision] = {}
    targets: list[Assessed] = []
    sources: list[Assessed] = []
    for a in assessed:
        decision, role = _classify(a, inputs, settings)
        if decision is not None:
            decisions[id(a)] = decision
        elif role is Role.TARGET:
            targets.append(a)
        else:
            sources.append(a)
    targets.sort(key=lambda a: (-a.earned_msat, -a.deficit_msat, a.channel.chan_id or 0))
    sources.sort(key=lambda a: (_fee_ppm(a.channel), a.deficit_msat, a.channel.chan_id or 0))
    budget_room = room(section.budget, inputs.spending, inputs.earned_msat)
    left_msat = budget_room.msat
    excess = {id(s): -s.deficit_msat for s in sources}
    lent_to: dict[int, list[str]] = {id(s): [] for s in sources}
    planned = 0
    for t in targets:
        if planned >= section.max_per_run:
            decisions[id(t)] = _skip(t, f"run limit reached (max_per_run = {section.max_per_run})")
            continue
        if left_msat <= 0:
            decisions[id(t)] = _skip(t, f"budget exhausted ({budget_room.binding})")
            continue
        decision, fee_msat, source = _pair(
            t,
            sources,
            excess,
            left_msat,
            request,
            budget_room,
            section.sources == "above_centre",
            section.direction_window_days,
        )
        if section.swap.enabled:
            decision, fee_msat, source = _weigh(
                t, decision, fee_msat, source, inputs, settings, left_msat
            )
        decisions[id(t)] = decision
        if decision.swap is not None:
            planned += 1
            left_msat -= fee_msat
        if decision.order is not None and source is not None:
            planned += 1
            left_msat -= fee_msat
            excess[id(source)] -= decision.order.amount_msat
            lent_to[id(source)].append(t.channel.scid or str(t.channel.chan_id))
    for s in sources:
        if lent_to[id(s)]:
            reason = f"source for {', '.join(lent_to[id(s)])}: {s.position()}"
            decisions[id(s)] = _decision(s, Role.SOURCE, RebalanceAction.REBALANCE, reason)
        elif section.swap.enabled and s.ratio_permille > s.band.high_permille:
            decisions[id(s)] = _offer_swap_out(s, inputs, left_msat)
        else:
            decisions[id(s)] = _decision(
                s, Role.SOURCE, RebalanceAction.NONE, f"{s.position()}; not needed"
            )
    return RebalancePlan(inputs.now, tuple(decisions[id(a)] for a in assessed), budget_room)


def _classify(
    a: Assessed, inputs: RebalanceInputs, settings: RebalanceSettings
) -> tuple[Decision | None, Role]:
    """A final decision for a channel that can be neither target nor source, else its role."""
    channel, request = a.channel, inputs.request
    if not a.target.enabled:
        return _decision(
            a, Role.NONE, RebalanceAction.NONE, "unmanaged (enabled = false)"
        ), Role.NONE
    if channel.state is not ChannelState.ACTIVE or channel.chan_id is None:
        return _decision(
            a, Role.NONE, RebalanceAction.NONE, f"not active ({channel.state})"
        ), Role.NONE
    below = a.ratio_permille < a.band.low_permille
    above = a.ratio_permille > a.band.high_permille
    if settings.section.sources == "above_centre" or request.chan_id is not None:
        above = a.deficit_msat < 0
    if request.chan_id is not None and channel.chan_id == request.chan_id:
        if a.input.busy:
            return _skip(a, "a rebalance on this channel is already in flight"), Role.TARGET
        if a.deficit_msat <= 0 and request.amount_msat is None:
            reason = f"already at or above its centre ({a.position()})"
            return _skip(a, reason), Role.TARGET
        return None, Role.TARGET
    if above:
        if a.input.busy:
            reason = f"{a.position()}; a rebalance on it is already in flight"
            return _decision(a, Role.SOURCE, RebalanceAction.NONE, reason), Role.SOURCE
        return None, Role.SOURCE
    if not below or request.chan_id is not None:
        return _decision(a, Role.NONE, RebalanceAction.NONE, a.position()), Role.NONE
    minimum = settings.section.min_forwards_out
    if a.forwards_out < minimum:
        days = settings.section.direction_window_days
        reason = (
            f"does not route outbound: {a.forwards_out} forwards out in {days}d "
            f"(min_forwards_out = {minimum}); {a.position()}"
        )
        return _skip(a, reason), Role.TARGET
    if a.input.busy:
        return _skip(a, "a rebalance on this channel is already in flight"), Role.TARGET
    last = a.input.last
    retry_at = (
        last.finished_at + timedelta(seconds=settings.section.retry_after_s) if last else None
    )
    if last is not None and last.moved_msat == 0 and retry_at is not None and retry_at > inputs.now:
        reason = f"last rebalance failed; retry after {retry_at:%Y-%m-%d %H:%M} UTC"
        return _skip(a, reason), Role.TARGET
    return None, Role.TARGET


def _pair(
    t: Assessed,
    sources: Sequence[Assessed],
    excess: dict[int, int],
    left_msat: int,
    request: Request,
    budget_room: Room,
    sources_above_centre: bool,
    window_days: int,
) -> tuple[Decision, int, Assessed | None]:
    """The target's decision with the first source that works, its fee limit, the source.

    An operator's explicit fee limit (``request.max_fee_ppm``) replaces the economics, the
    payback check included: the operator has decided what the liquidity is worth."""
    want_msat, why = _wanted(t, request)
    available = [s for s in sources if excess[id(s)] > 0]
    if not available:
        where = "its centre" if sources_above_centre else "band"
        return _skip(t, f"no source above {where}; {t.position()}"), 0, None
    others = [s for s in available if s.channel.peer_pubkey != t.channel.peer_pubkey]
    if not others:
        return _skip(t, "only sources to the same peer"), 0, None
    min_msat = t.target.min_amount_sat * 1000
    refusals: list[str] = []
    for s in others:
        amount_msat = min(want_msat, excess[id(s)])
        if amount_msat < min_msat:
            refusals.append(
                f"amount below minimum: {sat_text(amount_msat)} sat from {s.channel.scid} "
                f"(min_amount_sat = {t.target.min_amount_sat})"
            )
            continue
        verdict = guard(
            t.channel,
            s.channel,
            amount_msat,
            fee_factor_pct=t.target.fee_factor_pct,
            cap_ppm=t.target.max_fee_ppm,
            override_ppm=request.max_fee_ppm,
            of=t.target.guard,
        )
        if verdict.refusal is not None:
            refusals.append(f"{verdict.refusal} (source {s.channel.scid})")
            continue
        assert verdict.last_hop_fee_msat is not None  # a guard that passes knows it
        if left_msat <= verdict.last_hop_fee_msat:
            return _skip(t, f"budget exhausted ({budget_room.binding})"), 0, None
        limit_msat = min(fee_limit_msat(amount_msat, verdict.max_fee_ppm), left_msat)
        unpaid = _unpaid(t, amount_msat, limit_msat, window_days, request)
        if unpaid is not None:
            refusals.append(f"{unpaid} (source {s.channel.scid})")
            continue
        order = Order(
            target=t.channel,
            source=s.channel,
            amount_msat=amount_msat,
            min_amount_msat=min_msat,
            max_fee_ppm=verdict.max_fee_ppm,
            fee_limit_msat=limit_msat,
        )
        reason = (
            f"{t.position()}: {sat_text(amount_msat)} sat from {s.channel.scid} at most "
            f"{verdict.max_fee_ppm} ppm ({sat_text(limit_msat)} sat)"
        )
        detail: dict[str, JsonValue] = {
            "amount_why": why,
            "last_hop_fee_msat": verdict.last_hop_fee_msat,
            "source_fee_rate_ppm": _fee_ppm(s.channel),
            "target_fee_rate_ppm": _fee_ppm(t.channel),
            "budget_left_msat": left_msat,
        }
        decision = _decision(t, Role.TARGET, RebalanceAction.REBALANCE, reason, order, detail)
        return decision, limit_msat, s
    detail = {"refusals": list(refusals)}
    return _decision(t, Role.TARGET, RebalanceAction.SKIP, refusals[0], detail=detail), 0, None


def _unpaid(
    t: Assessed, amount_msat: int, cost_msat: int, window_days: int, request: Request
) -> str | None:
    """Why a refill of ``t`` would not pay for itself (``payback_margin_pct``), or None:
    also when the check is off, or an operator's fee limit replaces the economics."""
    margin_pct = t.target.payback_margin_pct
    if margin_pct is None or request.max_fee_ppm is not None:
        return None
    outflow_msat = t.flow.volume_out_msat if t.flow is not None else 0
    return payback(
        _fee_ppm(t.channel), outflow_msat, amount_msat, cost_msat, margin_pct, window_days
    )


def _wanted(t: Assessed, request: Request) -> tuple[int, str]:
    """How much the target should get, and why that much."""
    if request.amount_msat is not None:
        return request.amount_msat, "asked for"
    cap_msat, why = amount_cap_msat(t)
    return min(t.deficit_msat, cap_msat), why


def _weigh(
    t: Assessed,
    decision: Decision,
    fee_msat: int,
    source: Assessed | None,
    inputs: RebalanceInputs,
    settings: RebalanceSettings,
    left_msat: int,
) -> tuple[Decision, int, Assessed | None]:
    """The circular decision against a swap in (and an inbound discount, as advice): the
    cheapest usable one wins; every method's price goes into the detail."""
    swap_settings = settings.section.swap
    request = inputs.request
    want_msat, _ = _wanted(t, request)
    order = decision.order
    if order is not None and inputs.circular_unavailable is None:
        circular = Priced(
            Method.CIRCULAR,
            order.amount_msat,
            order.fee_limit_msat,
            True,
            f"at most {order.max_fee_ppm} ppm from {order.source.scid} (its fee limit)",
        )
    else:
        circular = Priced(
            Method.CIRCULAR,
            order.amount_msat if order is not None else want_msat,
            order.fee_limit_msat if order is not None else None,
            False,
            inputs.circular_unavailable or decision.reason,
        )
    priced = [circular]
    quote: SwapQuote | None = None
    if inputs.swap_offer is None:
        why = inputs.swap_unavailable or "no Boltz pair to price it"
        priced.append(Priced(Method.SWAP_IN, want_msat, None, False, why))
    else:
        limit_ppm = request.max_fee_ppm
        if limit_ppm is None:
            limit_ppm = min(
                _fee_ppm(t.channel) * t.target.fee_factor_pct // 100, t.target.max_fee_ppm
            )
        swap_in, quote = price_swap_in(
            want_msat, inputs.swap_offer, max_fee_ppm=limit_ppm, left_msat=left_msat
        )
        priced.append(swap_in)
    if swap_settings.inbound_discount_ppm:
        priced.append(
            price_inbound_discount(want_msat, swap_settings.inbound_discount_ppm, t.channel.scid)
        )
    chosen = choose(priced)
    methods: list[JsonValue] = [p.as_json() for p in priced]
    if chosen is None or chosen.method is not Method.SWAP_IN:
        detail = {
            **decision.detail,
            "methods": methods,
            "method": chosen.method.value if chosen else None,
        }
        if chosen is None and order is not None:  # the order cannot be executed here
            reasons = "; ".join(f"{p.method.value}: {p.reason}" for p in priced)
            return (
                _decision(
                    t,
                    Role.TARGET,
                    RebalanceAction.SKIP,
                    f"no usable method ({reasons})",
                    detail=detail,
                ),
                0,
                None,
            )
        return replace(decision, detail=detail), fee_msat, source
    assert quote is not None and chosen.cost_msat is not None  # a usable swap was priced
    unpaid = _unpaid(
        t,
        quote.lightning_sat * 1000,
        chosen.cost_msat,
        settings.section.direction_window_days,
        request,
    )
    if unpaid is not None:
        detail = {"methods": methods, "method": Method.SWAP_IN.value}
        return (
            _decision(t, Role.TARGET, RebalanceAction.SKIP, f"swap in: {unpaid}", detail=detail),
            0,
            None,
        )
    swap = SwapOrder(
        target=t.channel,
        amount_sat=quote.lightning_sat,
        quote=quote,
        funding_fee_sat=swap_settings.funding_fee_sat,
        cost_msat=chosen.cost_msat,
    )
    reason = (
        f"{t.position()}: swap in {quote.lightning_sat:,} sat, {chosen.reason}; "
        f"circular: {circular.reason}"
    )
    detail = {"methods": methods, "method": Method.SWAP_IN.value, "budget_left_msat": left_msat}
    made = _decision(t, Role.TARGET, RebalanceAction.REBALANCE, reason, detail=detail)
    return replace(made, swap=swap), chosen.cost_msat, None


def _offer_swap_out(s: Assessed, inputs: RebalanceInputs, left_msat: int) -> Decision:
    """A channel too full that no target needs: the swap out that would bring it to its
    centre, priced, as an offer (never started here: a reverse swap needs an on-chain
    address to receive on, and LNbits cannot make the payment leave through this channel).
    Its limit is what the channel earns back on the inbound side it gains: its fee rate ×
    ``fee_factor_pct``, capped by ``max_fee_ppm``, like a swap in's."""
    scid = s.channel.scid or str(s.channel.chan_id)
    amount_msat = -s.deficit_msat
    if inputs.swap_offer is None:
        why = inputs.swap_unavailable or "no Boltz pair to price it"
        priced = Priced(Method.SWAP_OUT, amount_msat, None, False, why)
    else:
        limit_ppm = min(_fee_ppm(s.channel) * s.target.fee_factor_pct // 100, s.target.max_fee_ppm)
        priced, _ = price_swap_out(
            amount_msat, inputs.swap_offer, max_fee_ppm=limit_ppm, left_msat=left_msat
        )
    amount_sat = priced.amount_msat // 1000
    if priced.usable:
        offer = (
            f"offer: swap out {amount_sat:,} sat to drain it ({priced.reason}): "
            f"lnpilot swap out {amount_sat} --channel {scid} --address ADDRESS"
        )
    else:
        offer = f"swap out {sat_text(priced.amount_msat)} sat not offered: {priced.reason}"
    reason = f"{s.position()}; not needed as a source; {offer}"
    detail: dict[str, JsonValue] = {"methods": [priced.as_json()], "offer": priced.usable}
    return _decision(s, Role.SOURCE, RebalanceAction.NONE, reason, detail=detail)


def _fee_ppm(channel: Channel) -> int:
    return channel.local_policy.fee_rate_ppm if channel.local_policy is not None else 0


def _skip(a: Assessed, reason: str) -> Decision:
    return _decision(a, Role.TARGET, RebalanceAction.SKIP, reason)


def _decision(
    a: Assessed,
    role: Role,
    action: RebalanceAction,
    reason: str,
    order: Order | None = None,
    detail: dict[str, JsonValue] | None = None,
) -> Decision:
    inputs: dict[str, JsonValue] = {
        "direction_why": a.direction_reason,
        "rule": a.target.rule,
        "forwards_out": a.forwards_out,
        "earned_msat": a.earned_msat,
        "band_target_permille": a.band.target_permille,
    }
    return Decision(
        channel=a.channel,
        role=role,
        action=action,
        reason=reason,
        direction=a.direction,
        ratio_permille=a.ratio_permille,
        band=a.band,
        order=order,
        detail={**inputs, **(detail or {})},
    )
