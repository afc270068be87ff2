"""Properties of the safety limits, over generated channels, policies and run sequences:
bounds, steps, intervals and the daily budget are never exceeded, the inbound discount never
exceeds its bound, and the same inputs always give the same plan."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lnpilot.fees.inputs import ChannelInputs
from lnpilot.fees.planner import plan
from lnpilot.fees.policy import PolicyFile, parse_policy
from lnpilot.fees.safety import Bounds, limit, rate_step_ppm

from .factories import DAY_S, NOW, channel, inputs, plan_inputs, window


def distance(value: int, bounds: Bounds) -> int:
    """How far ``value`` is outside ``bounds`` (0 inside)."""
    if bounds.low is not None and value < bounds.low:
        return bounds.low - value
    if bounds.high is not None and value > bounds.high:
        return value - bounds.high
    return 0


@given(
    current=st.integers(-10_000, 10_000),
    target=st.integers(-10_000, 10_000),
    low=st.none() | st.integers(-5_000, 5_000),
    span=st.integers(0, 5_000),
    open_high=st.booleans(),
    step=st.integers(1, 3_000),
)
def test_limit_never_steps_too_far_nor_moves_away_from_the_bounds(
    current: int, target: int, low: int | None, span: int, open_high: bool, step: int
) -> None:
    high = None if open_high or low is None else low + span
    bounds = Bounds(low, high)
    value = limit("x", current, target, bounds, step).value
    assert abs(value - current) <= step
    if distance(current, bounds) == 0:
        assert distance(value, bounds) == 0
    else:
        assert distance(value, bounds) < distance(current, bounds)


def make_channel(
    index: int, fee: int, inbound: int, local_permille: int, capacity: int, remote: int
) -> ChannelInputs:
    """A channel with some history, so that every strategy has something to decide from."""
    return inputs(
        channel(
            index,
            fee_rate_ppm=fee,
            inbound_fee_rate_ppm=inbound,
            capacity_sat=capacity,
            local_sat=capacity * local_permille // 1000,
            remote_fee_rate_ppm=remote,
        ),
        windows={
            7 * DAY_S: window(local_permille % 7, capacity * (local_permille % 5) // 10),
            2 * DAY_S: window(local_permille % 3, 1000),
        },
    )


channels = st.lists(
    st.tuples(
        st.integers(0, 6_000),
        st.integers(-2_000, 0),
        st.integers(0, 1000),
        st.integers(20_000, 10_000_000),
        st.integers(0, 3_000),
    ),
    min_size=1,
    max_size=8,
).map(lambda specs: [make_channel(i, *spec) for i, spec in enumerate(specs, 1)])


@st.composite
def policies(draw: st.DrawFn) -> PolicyFile:
    strategy = draw(st.sampled_from(["static", "proportional", "flow_adaptive", "cost_floor"]))
    low = draw(st.integers(0, 3_000))
    high = low + draw(st.integers(0, 3_000))
    safety = (
        f"max_step_pct = {draw(st.integers(1, 100))}\n"
        f"max_step_floor_ppm = {draw(st.integers(1, 50))}\n"
        f"hysteresis_pct = {draw(st.integers(0, 20))}\n"
        f"hysteresis_ppm = {draw(st.integers(0, 20))}\n"
        f"daily_budget = {draw(st.integers(0, 10))}\n"
        f'min_interval = "{draw(st.integers(1, 24))}h"\n'
    )
    never_below_cost = draw(st.booleans())
    return parse_policy(
        f"""
        [safety]
        {safety}
        [[rule]]
        name = "default"
        strategy = "{strategy}"
        static.fee_rate_ppm = {draw(st.integers(0, 10_000))}
        min_fee_rate_ppm = {low}
        max_fee_rate_ppm = {high}
        never_below_cost = {str(never_below_cost).lower()}
        inbound = "discount"
        inbound_discount = {{ max_discount_ppm = {draw(st.integers(0, 1_000))} }}
        flow_adaptive = {{ step_pct = {draw(st.integers(1, 100))}, max_ramp = 20 }}
        """
    )


def fee_bounds(rules: PolicyFile, remote_fee_rate_ppm: int) -> Bounds:
    rule = rules.rule[0]
    low = rule.min_fee_rate_ppm
    if rule.never_below_cost:
        floor = -(-remote_fee_rate_ppm * 110 // 100)
        low = max(low or 0, floor)
    return Bounds(low, rule.max_fee_rate_ppm)


@settings(max_examples=300)
@given(found=channels, rules=policies())
def test_no_proposal_exceeds_bounds_steps_discount_bound_or_budget(
    found: list[ChannelInputs], rules: PolicyFile
) -> None:
    decided = plan(rules, plan_inputs(*found))
    assert len(decided.updates) <= rules.safety.daily_budget
    by_scid = {c.channel.scid: c.channel for c in found}
    for decision in decided.decisions:
        chan = by_scid[decision.scid]
        current = chan.local_policy
        assert current is not None and chan.remote_policy is not None
        new_fee = decision.proposal.fee_rate_ppm
        if new_fee is not None:
            bounds = fee_bounds(rules, chan.remote_policy.fee_rate_ppm)
            if not bounds.empty:
                assert abs(new_fee - current.fee_rate_ppm) <= rate_step_ppm(
                    current.fee_rate_ppm, rules.safety
                )
                before, after = distance(current.fee_rate_ppm, bounds), distance(new_fee, bounds)
                assert after == 0 if before == 0 else after < before
        new_inbound = decision.proposal.inbound_fee_rate_ppm
        if new_inbound is not None:
            assert current.inbound_fee_rate_ppm is not None
            discount = rules.rule[0].inbound_discount
            assert discount is not None
            bound = min(discount.max_discount_ppm, chan.remote_policy.fee_rate_ppm)
            if current.inbound_fee_rate_ppm >= -bound:
                assert new_inbound >= -bound
            assert abs(new_inbound - current.inbound_fee_rate_ppm) <= rate_step_ppm(
                current.inbound_fee_rate_ppm, rules.safety
            )


@settings(max_examples=60, deadline=None)
@given(
    found=channels,
    rules=policies(),
    gaps_min=st.lists(st.integers(0, 12 * 60), min_size=1, max_size=20),
)
def test_over_any_run_sequence_the_budget_and_the_interval_hold(
    found: list[ChannelInputs], rules: PolicyFile, gaps_min: list[int]
) -> None:
    """Plans at arbitrary times, each applied as decided (the fees changing on the node)."""
    current = {c.channel.scid: c for c in found}
    sent: list[tuple[str, datetime]] = []
    now = NOW
    for gap in gaps_min:
        now += timedelta(minutes=gap)
        recent = tuple(at for _, at in sent)
        decided = plan(rules, plan_inputs(*current.values(), now=now, recent_updates=recent))
        for decision in decided.updates:
            assert decision.scid is not None
            before = current[decision.scid]
            assert before.channel.local_policy is not None
            changed = {k: v for k, v in vars(decision.proposal).items() if v is not None}
            after = replace(before.channel.local_policy, **changed)
            current[decision.scid] = replace(
                before, channel=replace(before.channel, local_policy=after), last_change_at=now
            )
            sent.append((decision.scid, now))
    times = [at for _, at in sent]
    for at in times:
        in_day = [t for t in times if at - timedelta(days=1) < t <= at]
        assert len(in_day) <= rules.safety.daily_budget
    interval = timedelta(seconds=rules.safety.min_interval_s)
    for scid in current:
        mine = [at for s, at in sent if s == scid]
        assert all(b - a >= interval for a, b in itertools.pairwise(mine))


@given(found=channels, rules=policies())
def test_the_same_inputs_give_the_same_plan(found: list[ChannelInputs], rules: PolicyFile) -> None:
    assert plan(rules, plan_inputs(*found)) == plan(rules, plan_inputs(*reversed(found)))
