"""``liquidity_margin_ppm``: the fee stays at what refills cost plus a margin, and says so."""

from __future__ import annotations

from lnpilot.base.domain import PolicyUpdate
from lnpilot.fees.planner import Action, plan

from .factories import channel, inputs, plan_inputs, policy

STATIC = '[[rule]]\nname = "default"\nstrategy = "static"\nstatic.fee_rate_ppm = %d\n'


def _with_margin(fee_ppm: int, margin_ppm: int) -> str:
    return (STATIC % fee_ppm).replace("\n", f"\nliquidity_margin_ppm = {margin_ppm}\n", 1)


def test_the_fee_is_raised_to_the_paid_refill_cost_plus_the_margin_with_the_reason() -> None:
    # refills paid 420 ppm, margin 80 ppm: floor 500; static wants 300, current 480
    chan = inputs(channel(1, fee_rate_ppm=480), rebalance_cost_ppm=420)
    decision = plan(policy(_with_margin(300, 80)), plan_inputs(chan)).decisions[0]
    assert decision.action is Action.UPDATE
    assert decision.proposal == PolicyUpdate(fee_rate_ppm=500)
    assert decision.reason == (
        "static 300 ppm; liquidity floor 500 ppm: refills paid 420 ppm in 30d + margin 80 ppm; "
        "fee_rate_ppm raised to its minimum 500"
    )
    assert decision.detail["liquidity_cost_ppm"] == 420
    assert decision.detail["liquidity_floor_ppm"] == 500


def test_a_channel_filled_for_free_costs_nothing_not_the_peers_fee() -> None:
    # no refill paid: floor = 0 + 50; the peer's 1,569 ppm does not enter (never_below_cost's
    # estimate would price it there)
    chan = inputs(channel(1, fee_rate_ppm=40, remote_fee_rate_ppm=1569))
    decision = plan(policy(_with_margin(10, 50)), plan_inputs(chan)).decisions[0]
    assert decision.proposal == PolicyUpdate(fee_rate_ppm=50)
    assert "liquidity floor 50 ppm: no refill paid in 30d + margin 50 ppm" in decision.reason
    assert decision.detail["liquidity_cost_ppm"] is None


def test_a_floor_below_the_strategys_fee_changes_nothing_and_is_not_in_the_reason() -> None:
    chan = inputs(channel(1, fee_rate_ppm=800), rebalance_cost_ppm=100)
    decision = plan(policy(_with_margin(800, 50)), plan_inputs(chan)).decisions[0]
    assert decision.action is Action.NONE
    assert decision.reason == "no change: static 800 ppm"
    assert decision.detail["liquidity_floor_ppm"] == 150


def test_left_out_the_floor_is_off() -> None:
    chan = inputs(channel(1, fee_rate_ppm=100), rebalance_cost_ppm=900)
    decision = plan(policy(STATIC % 100), plan_inputs(chan)).decisions[0]
    assert decision.action is Action.NONE
    assert "liquidity_floor_ppm" not in decision.detail
