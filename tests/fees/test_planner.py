"""The planner's decisions: who is managed, what each limit does, and the words for it."""

from __future__ import annotations

from datetime import timedelta

from lnpilot.base.domain import ChannelState, PolicyUpdate
from lnpilot.fees.planner import Action, plan

from .factories import LNBITS_ONLY, NOW, channel, inputs, plan_inputs, policy

STATIC = '[[rule]]\nname = "default"\nstrategy = "static"\nstatic.fee_rate_ppm = %d\n'


def test_channels_that_cannot_be_managed_now_are_skipped_with_the_reason() -> None:
    inactive = inputs(channel(1, state=ChannelState.INACTIVE))
    decisions = plan(policy(STATIC % 200), plan_inputs(inactive)).decisions
    assert decisions[0].action is Action.SKIP
    assert decisions[0].reason == "inactive: fees stay as they are until the channel is active"


def test_an_unmanaged_override_is_left_alone() -> None:
    chan = inputs(channel(1))
    found = plan(
        policy(STATIC % 200 + '[channel."800000x1x0"]\nunmanaged = true\n'), plan_inputs(chan)
    )
    assert (found.decisions[0].action, found.decisions[0].reason) == (
        Action.SKIP,
        "unmanaged: the channel's override says so",
    )


def test_an_update_carries_the_reason_and_the_limits_that_shaped_it() -> None:
    chan = inputs(channel(1, fee_rate_ppm=100))
    found = plan(
        policy(STATIC % 500, 'max_step_pct = 25\nhysteresis_pct = 5\nmin_interval = "6h"'),
        plan_inputs(chan),
    )
    decision = found.decisions[0]
    assert decision.action is Action.UPDATE
    assert decision.proposal == PolicyUpdate(fee_rate_ppm=125)
    assert decision.reason == "static 500 ppm; fee_rate_ppm step limited to ±25 (wanted 500)"
    assert decision.rule == "default"
    assert decision.detail["local_ratio"] == "0.5"


def test_without_lnd_inbound_fees_are_not_proposed_and_the_reason_says_what_to_configure() -> None:
    chan = inputs(channel(1, local_sat=0, inbound_fee_rate_ppm=None))
    body = (STATIC % 100).replace("\n", '\ninbound = "discount"\n', 1)
    decision = plan(policy(body), plan_inputs(chan, capabilities=LNBITS_ONLY)).decisions[0]
    assert decision.action is Action.NONE
    assert decision.proposal == PolicyUpdate()
    assert (
        "set inbound fee not done: needs a direct LND REST connection"
        in decision.detail["reasons"][-1]
    )  # type: ignore[index]


def test_inbound_discount_goes_through_lnd() -> None:
    chan = inputs(channel(1, local_sat=0, remote_fee_rate_ppm=50))
    body = (STATIC % 100).replace("\n", '\ninbound = "discount"\n', 1)
    decision = plan(policy(body), plan_inputs(chan)).decisions[0]
    assert decision.proposal == PolicyUpdate(inbound_fee_rate_ppm=-50)


def test_a_change_below_hysteresis_is_not_sent() -> None:
    chan = inputs(channel(1, fee_rate_ppm=1000))
    decision = plan(
        policy(STATIC % 1040, "hysteresis_pct = 5\nhysteresis_ppm = 2"), plan_inputs(chan)
    ).decisions[0]
    assert decision.action is Action.NONE
    assert decision.reason.startswith("below hysteresis (fee_rate_ppm 1000 → 1040): static 1040")
    assert decision.proposal == PolicyUpdate(fee_rate_ppm=1040)  # what would have been sent


def test_the_minimum_interval_counts_from_the_last_change_by_anyone() -> None:
    chan = inputs(channel(1), last_change_at=NOW - timedelta(hours=1, minutes=10))
    decision = plan(policy(STATIC % 200, 'min_interval = "6h"'), plan_inputs(chan)).decisions[0]
    assert decision.action is Action.NONE
    assert decision.reason.startswith("min interval 6h: last change 1h ago, next in 4h: static 200")


def test_the_daily_budget_goes_to_the_largest_changes_first() -> None:
    small = inputs(channel(1, fee_rate_ppm=180))
    large = inputs(channel(2, fee_rate_ppm=20))
    medium = inputs(channel(3, fee_rate_ppm=100))
    recent = (NOW - timedelta(hours=23), NOW - timedelta(hours=25))  # one counts, one is old
    found = plan(
        policy(STATIC % 200, "daily_budget = 3\nmax_step_pct = 1000"),
        plan_inputs(small, large, medium, recent_updates=recent),
    )
    assert found.budget_used == 1
    assert [d.scid for d in found.updates] == ["800000x2x0", "800000x3x0"]
    waiting = found.decisions[0]
    assert waiting.action is Action.NONE
    assert waiting.reason.startswith("daily budget: 1 of 3 updates sent in the last 24h")


def test_bounds_merged_from_several_rules_that_conflict_stop_the_channel() -> None:
    body = (
        '[[rule]]\nname = "floor"\nmin_fee_rate_ppm = 500\n'
        + STATIC % 600
        + '[channel."800000x1x0"]\nmax_fee_rate_ppm = 100\n'
    )
    decision = plan(policy(body), plan_inputs(inputs(channel(1)))).decisions[0]
    assert decision.action is Action.SKIP
    assert decision.reason.endswith("fee_rate_ppm: 500 > 100")


def test_a_fee_outside_its_bounds_walks_back_even_when_the_strategy_holds() -> None:
    chan = inputs(channel(1, fee_rate_ppm=5000))
    body = '[[rule]]\nname = "default"\nstrategy = "peer_aware"\nmax_fee_rate_ppm = 2000\n'
    decision = plan(policy(body, "max_step_pct = 10"), plan_inputs(chan)).decisions[0]
    assert decision.proposal == PolicyUpdate(fee_rate_ppm=4500)
    assert decision.limits == (
        "fee_rate_ppm lowered to its maximum 2000",
        "fee_rate_ppm step limited to ±500 (wanted 2000)",
    )


def test_pins_htlc_limits_and_cltv() -> None:
    chan = inputs(channel(1, fee_rate_ppm=100, capacity_sat=2_000_000, local_sat=1_000_000))
    body = (STATIC % 300).replace(
        "\n", "\nmax_htlc_pct = 50\ncltv_delta = 40\nmin_htlc_msat = 2000\n", 1
    ) + '[channel."800000x1x0"]\npin_base_fee_msat = 500\npin_inbound_fee_rate_ppm = -20\n'
    decision = plan(policy(body), plan_inputs(chan)).decisions[0]
    assert decision.proposal == PolicyUpdate(
        base_fee_msat=500,
        fee_rate_ppm=300,
        inbound_fee_rate_ppm=-20,
        min_htlc_msat=2000,
        max_htlc_msat=1_000_000_000,
        cltv_delta=40,
    )


def test_never_below_cost_raises_the_minimum_to_the_cost_floor() -> None:
    chan = inputs(channel(1, fee_rate_ppm=100, remote_fee_rate_ppm=400))
    body = (STATIC % 100).replace("\n", "\nnever_below_cost = true\n", 1)
    decision = plan(policy(body), plan_inputs(chan)).decisions[0]
    assert decision.proposal == PolicyUpdate(fee_rate_ppm=440)
    assert decision.limits == ("fee_rate_ppm raised to its minimum 440",)


def test_the_same_inputs_give_the_same_plan_whatever_their_order() -> None:
    channels = [inputs(channel(i, fee_rate_ppm=10 * i, local_sat=100_000 * i)) for i in range(1, 8)]
    rules = policy(
        '[[rule]]\nname = "default"\nstrategy = "proportional"\ninbound = "discount"\n',
        "daily_budget = 3\nmax_step_pct = 50",
    )
    first = plan(rules, plan_inputs(*channels))
    again = plan(rules, plan_inputs(*reversed(channels)))
    assert first == again
    assert len(first.updates) == 3
